// Package redact removes secrets and personal data from what the
// repository writes or sends: the backend's logs and Sentry events, the
// backup jobs' alerts and the delivery notifications (root module, package
// notify). Header values, query values and free text such as driver error
// messages; every mask is Mask.
package redact

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Mask replaces a redacted value, everywhere: one spelling, so a reader (and
// a test) recognises a masked value whichever component wrote it.
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
	// authRE is an Authorization header's value: Bearer <token>, Basic <b64>.
	// A Basic credential is base64 of user:password, eight characters at
	// least, so prose such as "basic auth failed" stays readable.
	authRE = regexp.MustCompile(`(?i)\b(bearer\s+[A-Za-z0-9._~+/=-]+|basic\s+[A-Za-z0-9._~+/=-]{8,})`)
	// kvSecretRE is a key=value or key: value whose key names a secret; the
	// value may be quoted ('a b', "a b").
	kvSecretRE = regexp.MustCompile(`(?i)([a-z0-9_.\-]*(?:password|passwd|pwd|api[_-]?key|access[_-]?key|token|secret|signature|credential|authorization|dsn)[a-z0-9_.\-]*)(\s*[=:]\s*)('(?:[^'\\]|\\.)*'|"[^"]*"|[^\s&]+)`)
	// hookPathRE is a Slack-style webhook path: its last segments are the
	// webhook's token (hooks.slack.com/services/T0/B0/<token>).
	hookPathRE = regexp.MustCompile(`(?i)(hooks\.[a-z0-9.-]+/)\S+`)
	// kvPairRE is one key=value pair of a libpq key/value connection
	// string: host=db password='a b' dbname=app.
	kvPairRE = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)
	schemeRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.\-]*://`)
)

// Text masks credentials inside free text: the user-info part of URLs
// (scheme://user:pass@), Bearer and Basic credentials, key=value and
// key: value pairs whose key names a secret (password=..., access_token=...,
// SENTRY_DSN: ..., password='quoted value') and the token part of
// hooks.* webhook paths. It is the one redactor of the repository: the
// backend's logs and Sentry events, the backup jobs' alerts and the
// delivery notifications all use it, so a pattern added here protects
// every one of them. It does not shorten s: callers that bound a length
// (a notification field) do so themselves.
func Text(s string) string {
	s = urlCredsRE.ReplaceAllString(s, "${1}"+Mask+"@")
	s = authRE.ReplaceAllStringFunc(s, func(m string) string { return strings.Fields(m)[0] + " " + Mask })
	s = kvSecretRE.ReplaceAllString(s, "${1}${2}"+Mask)
	return hookPathRE.ReplaceAllString(s, "${1}"+Mask)
}

// Value returns a configuration value that may carry credentials, for an
// error message, with every credential masked whatever its form:
//
//   - a URL (postgres://u:pw@h/db, s3://KEY:SECRET@bucket, https://h/?token=t):
//     the whole user info, every query value and the fragment are masked;
//   - a key/value connection string (host=h password=pw dbname=db): the
//     values of sensitive keys (password, sslpassword, ...) are masked;
//   - anything else: Text's masking.
//
// What stays is what locates the problem: scheme, host, path, key names.
func Value(s string) string {
	if schemeRE.MatchString(s) {
		return urlValue(s)
	}
	if kvPairRE.MatchString(s) && strings.Contains(s, "=") && !strings.Contains(s, "://") {
		return kvPairRE.ReplaceAllStringFunc(s, func(pair string) string {
			m := kvPairRE.FindStringSubmatch(pair)
			if IsSensitive(m[1]) {
				return m[1] + m[2] + Mask
			}
			return pair
		})
	}
	return Text(s)
}

// urlValue is Value for a string that starts with a scheme.
func urlValue(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return unparsableURL(s)
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != nil {
		b.WriteString(Mask + "@")
	}
	b.WriteString(u.Host)
	b.WriteString(u.EscapedPath())
	if u.RawQuery != "" || u.ForceQuery {
		writeMaskedQuery(&b, u.RawQuery)
	}
	if u.Fragment != "" {
		b.WriteString("#" + Mask)
	}
	return b.String()
}

// unparsableURL keeps the scheme and host part only.
func unparsableURL(s string) string {
	rest := schemeRE.ReplaceAllString(s, "")
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = Mask + "@" + rest[i+1:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i] + "?" + Mask
	}
	return schemeRE.FindString(s) + Text(rest)
}

// writeMaskedQuery writes the query's keys, sorted, each with a masked
// value; an unparsable query is masked whole.
func writeMaskedQuery(b *strings.Builder, rawQuery string) {
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		b.WriteString("?" + Mask)
		return
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		b.WriteString(sep + url.QueryEscape(k) + "=" + Mask)
	}
}
