package redact

import (
	"net/http"
	"strings"
	"testing"
)

func TestQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"limit=10", "limit=10"},
		{"token=abc&limit=10", "limit=10&token=%5BREDACTED%5D"},
		{"api_key=k1&Session=s", "Session=%5BREDACTED%5D&api_key=%5BREDACTED%5D"},
		{"%zz", Mask},
	}
	for _, tt := range tests {
		if got := Query(tt.in); got != tt.want {
			t.Errorf("Query(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHeaders(t *testing.T) {
	h := http.Header{
		"Authorization":   {"Bearer abc"},
		"Cookie":          {"sid=1"},
		"X-Api-Key":       {"k"},
		"X-Forwarded-For": {"203.0.113.9"},
		"User-Agent":      {"curl/8"},
		"Accept":          {"a", "b"},
	}
	got := Headers(h)
	for _, k := range []string{"Authorization", "Cookie", "X-Api-Key", "X-Forwarded-For"} {
		if got[k] != Mask {
			t.Errorf("%s = %q, want masked", k, got[k])
		}
	}
	if got["User-Agent"] != "curl/8" || got["Accept"] != "a, b" {
		t.Errorf("plain headers changed: %v", got)
	}
	m := map[string]string{"Cookie": "x", "Host": "h"}
	HeaderMap(m)
	if m["Cookie"] != Mask || m["Host"] != "h" {
		t.Errorf("HeaderMap: %v", m)
	}
}

func TestText(t *testing.T) {
	tests := []struct{ in, secret string }{
		{"failed to connect to postgres://app:hunter2@db:5432/x", "hunter2"},
		{"cannot parse `host=db user=app password=hunter2 dbname=x`", "hunter2"},
		{`dial http://tok:sekret@pool.internal/health`, "sekret"},
		{"api_key: sk-123", "sk-123"},
	}
	for _, tt := range tests {
		got := Text(tt.in)
		if strings.Contains(got, tt.secret) || !strings.Contains(got, Mask) {
			t.Errorf("Text(%q) = %q", tt.in, got)
		}
	}
	if got := Text("connection refused"); got != "connection refused" {
		t.Errorf("plain text changed: %q", got)
	}
}
