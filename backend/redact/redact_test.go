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

// TestTextCatchesBothFormerRedactors holds every case of the two redactors
// this package replaced (notify.Redact in the root module and the former
// Text): a secret either one caught must still be caught, and what is not
// secret must stay.
func TestTextCatchesBothFormerRedactors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string   // the whole result, when exact
		secrets  []string // must not survive
		keep     []string // must survive
	}{
		// From notify's TestRedact.
		{name: "URL user info", in: "postgres://app:pw@db:5432/app", want: "postgres://" + Mask + "@db:5432/app"},
		{name: "token parameter", in: "token=abc&x=1", want: "token=" + Mask + "&x=1"},
		{name: "DSN key with a colon", in: "SENTRY_DSN: https://k@o1.sentry.io", want: "SENTRY_DSN: " + Mask},
		{name: "plain text", in: "region eu passed", want: "region eu passed"},
		{name: "bearer token", in: "Bearer xyz", want: "Bearer " + Mask},
		// From notify's TestNoSecretInAnyPayload.
		{name: "gate error with URL credentials",
			in:      `gate of region eu failed: Get "https://deploy:hunter2@api-eu.example.dev/health/ready": 503`,
			secrets: []string{"hunter2"}, keep: []string{"api-eu.example.dev/health/ready", ": 503"}},
		{name: "env-style API key", in: "AI_API_KEY=sk-live-123 next", want: "AI_API_KEY=" + Mask + " next"},
		{name: "Authorization header", in: "Authorization: Bearer abc.def.ghi posted",
			secrets: []string{"abc.def.ghi"}, keep: []string{"Authorization", "posted"}},
		{name: "double-quoted password", in: `password="s3cr3t" x`, want: "password=" + Mask + " x"},
		{name: "Slack webhook path", in: "https://hooks.slack.com/services/T0/B0/hook-token-SECRET",
			want: "https://hooks.slack.com/" + Mask},
		{name: "basic credentials", in: "Basic dXNlcjpwYXNz", want: "Basic " + Mask},
		{name: "prose about basic auth is kept", in: "basic auth failed", want: "basic auth failed"},
		{name: "access key", in: "aws_access_key=AKIA-SECRET", want: "aws_access_key=" + Mask},
		{name: "authorization parameter", in: "authorization=tok-SECRET", want: "authorization=" + Mask},
		{name: "credential key", in: "credentials: c-SECRET", want: "credentials: " + Mask},
		// From this package's TestText.
		{name: "postgres URL in a driver error", in: "failed to connect to postgres://app:hunter2@db:5432/x",
			secrets: []string{"hunter2"}, keep: []string{"db:5432/x"}},
		{name: "libpq key/value string", in: "cannot parse `host=db user=app password=hunter2 dbname=x`",
			secrets: []string{"hunter2"}, keep: []string{"host=db", "dbname=x"}},
		{name: "http URL user info", in: `dial http://tok:sekret@pool.internal/health`,
			want: "dial http://" + Mask + "@pool.internal/health"},
		{name: "api_key with a colon", in: "api_key: sk-123", want: "api_key: " + Mask},
		{name: "refused connection", in: "connection refused", want: "connection refused"},
		// From this package's TestTextForms.
		{name: "URL credentials mid-sentence", in: "dial postgres://u:pw-SECRET@h/db: refused",
			want: "dial postgres://" + Mask + "@h/db: refused"},
		{name: "password parameter", in: "bad password=pw-SECRET here", want: "bad password=" + Mask + " here"},
		{name: "access_token query", in: "GET /x?access_token=tok-SECRET&a=1", want: "GET /x?access_token=" + Mask + "&a=1"},
		{name: "single-quoted password", in: "conn host=h password='a b SECRET' dbname=d",
			want: "conn host=h password=" + Mask + " dbname=d"},
		{name: "quoted api_key", in: `api_key: "k-SECRET"`, want: "api_key: " + Mask},
		// Patterns only one side had.
		{name: "pwd (former Text only)", in: "pwd=p-SECRET", want: "pwd=" + Mask},
		{name: "signature (former Text only)", in: "x_signature=s-SECRET", want: "x_signature=" + Mask},
		{name: "dotted key (former Text only)", in: "db.password=p-SECRET", want: "db.password=" + Mask},
		{name: "value with a comma (notify stopped there)", in: "token=a,b-SECRET", want: "token=" + Mask},
		{name: "no shortening", in: strings.Repeat("é", 601), want: strings.Repeat("é", 601)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Text(tc.in)
			if tc.want != "" && got != tc.want {
				t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
			}
			for _, s := range tc.secrets {
				if strings.Contains(got, s) {
					t.Errorf("Text(%q) = %q leaks %q", tc.in, got, s)
				}
			}
			for _, k := range tc.keep {
				if !strings.Contains(got, k) {
					t.Errorf("Text(%q) = %q lacks %q", tc.in, got, k)
				}
			}
			if len(tc.secrets) > 0 && !strings.Contains(got, Mask) {
				t.Errorf("Text(%q) = %q: no %s", tc.in, got, Mask)
			}
		})
	}
}
