// Package stacktest gives tests the committed stack files with their
// placeholders (the all-zero image digest, the documented Cloudflare ids)
// replaced by real-looking values, so the files render while validation
// keeps refusing the placeholders themselves.
package stacktest

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Fill replaces, in every value of raw, each placeholder with a value of
// the same form derived from it (the same hex length; a digest suffix keeps
// its "@sha256:" prefix). It returns raw.
func Fill(raw map[string]string, placeholders []string) map[string]string {
	for k, v := range raw {
		for _, p := range placeholders {
			v = strings.ReplaceAll(v, p, Substitute(p))
		}
		raw[k] = v
	}
	return raw
}

// Substitute is the real-looking value Fill puts in place of placeholder p.
func Substitute(p string) string {
	prefix, hexPart := "", p
	if i := strings.LastIndex(p, ":"); i >= 0 {
		prefix, hexPart = p[:i+1], p[i+1:]
	}
	sum := sha256.Sum256([]byte(p))
	return prefix + hex.EncodeToString(sum[:])[:len(hexPart)]
}
