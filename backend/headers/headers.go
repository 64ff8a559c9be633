// Package headers holds the security headers every response of the backend's
// API carries. The server's middleware sets them and the operator tools' test
// double (internal/fakebackend) answers with them, so the two cannot drift.
// It imports nothing but net/http: the root module's tests use it.
package headers

import "net/http"

// Security returns the headers for an API that only returns JSON: nothing may
// frame it (CSP frame-ancestors, which supersedes X-Frame-Options in every
// current browser), sniff it, or load sub-resources from it; nothing caches
// it. HSTS is honoured by browsers only over HTTPS, which the edge enforces.
// The keys are canonical; each call returns a fresh copy.
func Security() http.Header {
	return http.Header{
		"X-Content-Type-Options":    {"nosniff"},
		"Referrer-Policy":           {"no-referrer"},
		"Content-Security-Policy":   {"default-src 'none'; frame-ancestors 'none'"},
		"Strict-Transport-Security": {"max-age=63072000; includeSubDomains"},
		"Cache-Control":             {"no-store"},
	}
}
