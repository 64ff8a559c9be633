// Package stacktest gives tests the committed stack files with their
// placeholders (the all-zero image digest, the documented Cloudflare ids)
// replaced by real-looking values, so the files render while validation
// keeps refusing the placeholders themselves.
package stacktest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

// OperatorSecrets are what an operator sets with `pulumi config set
// --secret`, by full key: values a test then looks for in every output and
// log to prove none leaks. Each call returns a fresh copy.
func OperatorSecrets() map[string]string {
	return map[string]string{
		"helloagents:cloudflareApiToken": "cf-token-SECRET",
		"helloagents:r2AccessKeyId":      "r2-id-SECRET",
		"helloagents:r2SecretAccessKey":  "r2-key-SECRET",
		"helloagents:sentryDsn":          "https://abc@o1.ingest.sentry.io/1",
		"helloagents:aiApiKey":           "ai-key-SECRET",
		"helloagents:registryPassword":   "registry-SECRET",
	}
}

// Stack returns the committed Pulumi.<stack>.yaml in dir, read with read
// (config.ReadStackFile, which this package cannot import: config's own
// tests import this one), its placeholders filled and, outside dev, the
// OperatorSecrets set.
func Stack(t testing.TB, dir, stack string, read func(string) (map[string]string, error), placeholders []string) map[string]string {
	t.Helper()
	raw, err := read(filepath.Join(dir, "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	Fill(raw, placeholders)
	if stack != "dev" {
		maps.Copy(raw, OperatorSecrets())
	}
	return raw
}

// ReadmeSection returns the text of the "## <title>" section of the
// Markdown file at path.
func ReadmeSection(t testing.TB, path, title string) string {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(text), "\n## "+title+"\n")
	if !ok {
		t.Fatalf("%s has no %q section", path, "## "+title)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

// SplitRow splits a Markdown table row into its trimmed cells.
func SplitRow(line string) []string {
	cells := strings.Split(strings.Trim(line, "|"), "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}

// WithFields lays fields over the JSON object at the full key of raw, a nil
// deleting a field, and returns raw.
func WithFields(t testing.TB, raw map[string]string, fullKey string, fields map[string]any) map[string]string {
	t.Helper()
	obj := map[string]any{}
	if text, ok := raw[fullKey]; ok {
		if err := json.Unmarshal([]byte(text), &obj); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range fields {
		if v == nil {
			delete(obj, k)
			continue
		}
		obj[k] = v
	}
	text, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	raw[fullKey] = string(text)
	return raw
}
