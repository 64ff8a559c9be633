// Package redact removes secrets and personal data from what the backend
// writes to its logs and sends to Sentry: header values, query values and
// free text such as driver error messages.
package redact

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Mask replaces a redacted value.
const Mask = "[REDACTED]"

// sensitiveTerms mark a header or query key as secret when the lower-cased
// key contains one of them.
var sensitiveTerms = []string{
	"auth", "cookie", "token", "secret", "password", "passwd", "pwd", "key",
	"session", "signature", "credential", "csrf", "xsrf", "dsn", "jwt",
}

// personalHeaders carry the client's address: personal data, not secrets,
// but kept out of Sentry and logs all the same.
var personalHeaders = map[string]bool{
	"x-forwarded-for": true, "x-real-ip": true, "forwarded": true, "cf-connecting-ip": true,
	"true-client-ip": true, "x-client-ip": true, "cf-connecting-ipv6": true,
}

// IsSensitive reports whether a header or parameter named key holds a secret
// or personal data.
func IsSensitive(key string) bool {
	k := strings.ToLower(key)
	if personalHeaders[k] {
		return true
	}
	for _, t := range sensitiveTerms {
		if strings.Contains(k, t) {
			return true
		}
	}
	return false
}

// Query returns rawQuery with the values of sensitive keys masked. An
// unparsable query is masked whole.
func Query(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Mask
	}
	for k, vs := range vals {
		if IsSensitive(k) {
			for i := range vs {
				vs[i] = Mask
			}
		}
	}
	return vals.Encode()
}

// Headers flattens h with sensitive values masked, for a log line.
func Headers(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if IsSensitive(k) {
			out[k] = Mask
			continue
		}
		out[k] = strings.Join(h[k], ", ")
	}
	return out
}

// HeaderMap masks sensitive entries of an already flattened header map in place.
func HeaderMap(h map[string]string) {
	for k := range h {
		if IsSensitive(k) {
			h[k] = Mask
		}
	}
}

var (
	urlCredsRE = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.\-]*://)[^/@\s]+@`)
	kvSecretRE = regexp.MustCompile(`(?i)\b(password|passwd|pwd|api[_-]?key|token|secret)(\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)`)
)

// Text masks credentials inside free text: the user-info part of URLs
// (scheme://user:pass@) and key=value pairs such as password=...
func Text(s string) string {
	s = urlCredsRE.ReplaceAllString(s, "${1}"+Mask+"@")
	return kvSecretRE.ReplaceAllString(s, "${1}${2}"+Mask)
}
