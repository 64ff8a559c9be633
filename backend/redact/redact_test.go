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

// TestValue covers every form a credential takes in a configuration value:
// no secret survives, and what locates the problem stays.
func TestValue(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		secrets  []string
		keep     []string
	}{
		{"postgres URL", "postgres://app:pw-SECRET@db:5432/app?sslmode=disable",
			[]string{"pw-SECRET"}, []string{"postgres://", "db:5432/app", "sslmode="}},
		{"password in the query", "postgres://app@db/app?password=pw-SECRET",
			[]string{"pw-SECRET"}, []string{"db/app", "password=" + Mask}},
		{"s3 user info", "s3://AKIA-KEY:SECRET-KEY@bucket/prefix",
			[]string{"AKIA-KEY", "SECRET-KEY"}, []string{"s3://" + Mask + "@bucket/prefix"}},
		{"token in the query", "https://pool.internal/health?token=tok-SECRET&x=1",
			[]string{"tok-SECRET"}, []string{"https://pool.internal/health?token=" + Mask}},
		{"any query value", "http://h/p?sig=abc-SECRET",
			[]string{"abc-SECRET"}, []string{"http://h/p?sig=" + Mask}},
		{"fragment", "https://h/p#tok-SECRET", []string{"tok-SECRET"}, []string{"https://h/p#" + Mask}},
		{"key/value DSN", "host=db password=pw-SECRET dbname=app",
			[]string{"pw-SECRET"}, []string{"host=db", "dbname=app", "password=" + Mask}},
		{"key/value DSN, quoted", "host=db password='p w\\' SECRET' sslpassword = k-SECRET dbname=app",
			[]string{"SECRET"}, []string{"host=db", "dbname=app"}},
		{"unparsable URL", "postgres://u:pw-SECRET@db:99999999/%zz?password=x-SECRET",
			[]string{"pw-SECRET", "x-SECRET"}, []string{"postgres://"}},
		{"plain value", "not a url", nil, []string{"not a url"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Value(tc.in)
			for _, s := range tc.secrets {
				if strings.Contains(got, s) {
					t.Errorf("Value(%q) = %q leaks %q", tc.in, got, s)
				}
			}
			for _, k := range tc.keep {
				if !strings.Contains(got, k) {
					t.Errorf("Value(%q) = %q lacks %q", tc.in, got, k)
				}
			}
		})
	}
}

func TestTextForms(t *testing.T) {
	for _, tc := range []struct{ in, secret string }{
		{"dial postgres://u:pw-SECRET@h/db: refused", "pw-SECRET"},
		{"bad password=pw-SECRET here", "pw-SECRET"},
		{"GET /x?access_token=tok-SECRET&a=1", "tok-SECRET"},
		{"conn host=h password='a b SECRET' dbname=d", "SECRET"},
		{`api_key: "k-SECRET"`, "k-SECRET"},
	} {
		if got := Text(tc.in); strings.Contains(got, tc.secret) {
			t.Errorf("Text(%q) = %q leaks %q", tc.in, got, tc.secret)
		}
	}
}
