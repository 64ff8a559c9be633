package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/internal/fakebackend"
)

// fastOptions keeps failing cases quick: short timeout and backoff, few
// requests, and a P95 limit no loaded machine can miss (the slow case sets
// its own).
func fastOptions(api string) Options {
	return Options{API: api, Retries: 1, Backoff: time.Millisecond, Timeout: 200 * time.Millisecond,
		Requests: 5, P95Limit: time.Minute}
}

// rawHealth breaks the contract of /health: it answers body with 200.
func rawHealth(body string) func(*fakebackend.Backend) {
	return func(b *fakebackend.Backend) { b.Intercept(health.FullPath, fakebackend.Raw(http.StatusOK, body)) }
}

// frontendServer answers 200 with a page, or code when non-zero; the
// server stops when the test ends.
func frontendServer(t *testing.T, code int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code != 0 {
			w.WriteHeader(code)
		}
		fmt.Fprint(w, "<!doctype html><title>HelloAgents</title>")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func byName(rep Report) map[string]Check {
	m := map[string]Check{}
	for _, c := range rep.Checks {
		m[c.Name] = c
	}
	return m
}

func TestRun(t *testing.T) {
	type backend = fakebackend.Backend
	tests := []struct {
		name     string
		set      func(*backend) // nil: a healthy backend
		frontend int            // 0: healthy frontend; -1: none given; else its status
		tune     func(*Options)
		passed   bool
		failing  map[string]string // check name -> substring of its detail
	}{
		{name: "healthy platform", passed: true},
		{name: "healthy without frontend skips CORS and frontend", frontend: -1, passed: true},
		// A standby region (backend/README.md, "Standby internals") is healthy and ready.
		{name: "standby region", set: func(b *backend) { b.SetStandby(2100 * time.Millisecond) }, passed: true},
		{name: "503 with an unhealthy database", set: func(b *backend) { b.SetComponent(fakebackend.Database, health.Unhealthy, "connection refused") },
			failing: map[string]string{"GET /health": "status 503", "component database": "unhealthy: connection refused"}},
		{name: "200 but body says unhealthy", set: func(b *backend) {
			b.SetComponent(fakebackend.AIService, health.Unhealthy, "connection refused")
			b.ForceStatus(health.FullPath, 200)
		}, failing: map[string]string{"GET /health": `body says "unhealthy"`, "component ai_service": "unhealthy"}},
		{name: "readiness times out", set: func(b *backend) { b.Intercept(health.ReadyPath, fakebackend.Hang()) },
			failing: map[string]string{"GET /health/ready": "no answer within 200ms"}},
		{name: "wrong JSON", set: rawHealth(`<html>ok</html>`),
			failing: map[string]string{"GET /health": "not a health JSON document"}},
		{name: "JSON missing fields", set: rawHealth(`{"status":"healthy","components":{"database":{"status":"healthy"}}}`),
			failing: map[string]string{"GET /health": `"timestamp" missing; "version" missing; component "database": "message" missing`}},
		{name: "bad timestamp", set: rawHealth(`{"status":"healthy","timestamp":"yesterday","version":"1","components":{"db":{"status":"healthy","message":""}}}`),
			failing: map[string]string{"GET /health": `"timestamp" "yesterday": want RFC 3339`}},
		{name: "retry rides out a slow start", set: func(b *backend) { b.FailReady(2) }, tune: func(o *Options) { o.Retries = 2 }, passed: true},
		{name: "retries exhausted", set: func(b *backend) { b.FailReady(5) }, tune: func(o *Options) { o.Retries = 2 },
			failing: map[string]string{"GET /health/ready": "status 503, unhealthy: unhealthy components: database"}},
		{name: "courses not JSON", set: func(b *backend) { b.SetCourses("text/html", "<p>") },
			failing: map[string]string{"GET /api/v1/courses": `Content-Type "text/html"`}},
		{name: "courses invalid JSON", set: func(b *backend) { b.SetCourses("application/json; charset=utf-8", `{"courses":[`) },
			failing: map[string]string{"GET /api/v1/courses": "invalid JSON"}},
		{name: "missing CORS headers", set: func(b *backend) { b.DenyCORS() },
			failing: map[string]string{"CORS preflight /api/v1/courses": "no Access-Control-Allow-Origin for origin http://127.0.0.1"}},
		{name: "frontend down", frontend: 502,
			failing: map[string]string{"GET frontend": "status 502"}},
		{name: "missing security headers", set: func(b *backend) { b.DropSecurityHeaders() }, failing: map[string]string{
			"header X-Content-Type-Options":                 `X-Content-Type-Options "" (want nosniff)`,
			"header X-Frame-Options or CSP frame-ancestors": "neither",
			"header Referrer-Policy":                        "missing"}},
		{name: "CSP frame-ancestors stands in for X-Frame-Options", set: func(b *backend) {
			b.DropSecurityHeaders()
			b.SetHeader("X-Content-Type-Options", "nosniff")
			b.SetHeader("Referrer-Policy", "no-referrer")
			b.SetHeader("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		}, passed: true},
		{name: "slow P95", set: func(b *backend) { b.DelayCourses(30 * time.Millisecond) }, tune: func(o *Options) {
			o.P95Limit = 20 * time.Millisecond
			o.Requests = 3
		}, failing: map[string]string{"response time P95": "over 3 requests, 0 errors (limit 20ms)"}},
		{name: "min pass rate relaxes the smoke suite", set: func(b *backend) { b.DenyCORS() },
			tune: func(o *Options) { o.MinPassRate = 0.8 }, passed: true,
			failing: map[string]string{"CORS preflight /api/v1/courses": "no Access-Control-Allow-Origin"}},
		{name: "min pass rate never relaxes health", set: func(b *backend) { b.SetComponent(fakebackend.Database, health.Unhealthy, "connection refused") },
			tune:    func(o *Options) { o.MinPassRate = 0.01 },
			failing: map[string]string{"component database": "unhealthy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := fakebackend.New(t)
			if tt.set != nil {
				tt.set(api)
			}
			opts := fastOptions(api.URL)
			if tt.frontend >= 0 {
				opts.Frontend = frontendServer(t, tt.frontend).URL + "/"
			}
			if tt.tune != nil {
				tt.tune(&opts)
			}
			rep := Run(context.Background(), opts)
			if rep.Passed() != tt.passed {
				t.Errorf("Passed() = %v, want %v; failed: %+v", rep.Passed(), tt.passed, rep.Failed())
			}
			checks := byName(rep)
			for name, want := range tt.failing {
				c, ok := checks[name]
				if !ok {
					t.Errorf("no check %q in %+v", name, rep.Checks)
					continue
				}
				if c.Status != Fail || !strings.Contains(c.Detail, want) {
					t.Errorf("check %q = %s %q, want fail containing %q", name, c.Status, c.Detail, want)
				}
			}
			if len(tt.failing) == 0 && len(rep.Failed()) > 0 {
				t.Errorf("unexpected failures: %+v", rep.Failed())
			}
			if tt.frontend < 0 {
				for _, n := range []string{"GET frontend", "CORS preflight /api/v1/courses"} {
					if checks[n].Status != Skip {
						t.Errorf("check %q = %s, want skip without a frontend", n, checks[n].Status)
					}
				}
			}
		})
	}
}

// The checks every report carries for a healthy platform with a frontend.
func TestRunCoversContract(t *testing.T) {
	opts := fastOptions(fakebackend.New(t).URL)
	opts.Frontend = frontendServer(t, 0).URL
	rep := Run(context.Background(), opts)
	checks := byName(rep)
	for _, name := range []string{
		"GET /health", "GET /health/ready", "GET /health/live",
		"component database", "component sandbox_pool", "component ai_service",
		"GET /api/v1/courses", "CORS preflight /api/v1/courses", "GET frontend",
		"header X-Content-Type-Options", "header X-Frame-Options or CSP frame-ancestors",
		"header Referrer-Policy", "header Strict-Transport-Security", "response time P95",
	} {
		if _, ok := checks[name]; !ok {
			t.Errorf("missing check %q", name)
		}
	}
	if checks["header Strict-Transport-Security"].Status != Skip {
		t.Errorf("HSTS on plain http: %+v, want skip", checks["header Strict-Transport-Security"])
	}
	if rep.Latency == nil || rep.Latency.Requests != 5 || rep.Latency.Errors != 0 {
		t.Errorf("latency = %+v, want 5 requests, 0 errors", rep.Latency)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Passed        bool    `json:"passed"`
		SmokePassRate float64 `json:"smokePassRate"`
		Checks        []struct {
			Name, Group, Status string
			DurationMS          *float64 `json:"durationMs"`
		} `json:"checks"`
		Latency struct {
			P95MS *float64 `json:"p95Ms"`
		} `json:"latency"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !got.Passed || got.SmokePassRate != 1 || len(got.Checks) != len(rep.Checks) ||
		got.Checks[0].DurationMS == nil || got.Latency.P95MS == nil {
		t.Errorf("JSON report lacks fields: %s", b)
	}
}

func TestHTTPSNeedsHSTS(t *testing.T) {
	noHSTS := fakebackend.NewHandler()
	noHSTS.SetHeader("Strict-Transport-Security", "")
	srv := newTLS(t, noHSTS)
	opts := fastOptions(srv.URL)
	opts.Client = srv.Client()
	c := byName(Run(context.Background(), opts))["header Strict-Transport-Security"]
	if c.Status != Fail {
		t.Errorf("HSTS check over https without the header = %+v, want fail", c)
	}
	hsts := fakebackend.NewHandler()
	hsts.SetHeader("Strict-Transport-Security", "max-age=31536000")
	srv = newTLS(t, hsts)
	opts = fastOptions(srv.URL)
	opts.Client = srv.Client()
	rep := Run(context.Background(), opts)
	if !rep.Passed() {
		t.Errorf("https with HSTS failed: %+v", rep.Failed())
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		opts Options
		want string // "" for valid
	}{
		{Options{API: "http://127.0.0.1:1"}, ""},
		{Options{API: "http://127.0.0.1:1", Retries: NoRetries, MinPassRate: 0.5}, ""},
		{Options{}, "API \"\": required"},
		{Options{API: "ftp://x"}, `scheme "ftp"`},
		{Options{API: "/health"}, `scheme ""`},
		{Options{API: "http:///health"}, "no host"},
		{Options{API: "http://x", Frontend: "x.dev"}, "frontend \"x.dev\""},
		{Options{API: "http://x", MinPassRate: 1.5}, "min pass rate 1.5: must be in (0, 1]"},
		{Options{API: "http://x", Retries: -2, Requests: -1}, "retries -2"},
		{Options{API: "http://user:secret@x"}, ""},
	}
	for _, tt := range tests {
		err := tt.opts.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Validate(%+v) = %v, want nil", tt.opts, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("Validate(%+v) = %v, want error containing %q", tt.opts, err, tt.want)
		}
	}
	rep := Run(context.Background(), Options{API: "ftp://user:secret@x"})
	if rep.Passed() || len(rep.Checks) != 1 || rep.Checks[0].Name != "options" {
		t.Errorf("Run with bad options = %+v, want one failed options check", rep)
	}
	if b, _ := json.Marshal(rep); strings.Contains(string(b), "secret") {
		t.Errorf("report leaks the URL password: %s", b)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{ms(7), 95, 7 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20), 95, 19 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20), 50, 10 * time.Millisecond},
		{ms(1, 2, 3), 95, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %d) = %v, want %v", tt.sorted, tt.p, got, tt.want)
		}
	}
}

func TestAPIFromHealthURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://eu-west.api.example.dev/health/ready", "https://eu-west.api.example.dev"},
		{"http://127.0.0.1:8080/health/ready", "http://127.0.0.1:8080"},
		{"https://example.dev/api/health", "https://example.dev/api"},
		{"https://example.dev/health/ready?x=1", "https://example.dev"},
	}
	for _, tt := range tests {
		got, err := APIFromHealthURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("APIFromHealthURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := APIFromHealthURL("eu-west/health"); err == nil {
		t.Error("APIFromHealthURL of a relative URL: want error")
	}
}

// An API that answers nothing gets a quick verdict: the smoke suite is not
// run against it (it would only repeat the connection errors).
func TestRunUnreachable(t *testing.T) {
	srv := httptest.NewServer(fakebackend.NewHandler())
	url := srv.URL
	srv.Close()
	rep := Run(context.Background(), fastOptions(url))
	if rep.Passed() {
		t.Fatal("Passed() against a closed server")
	}
	checks := byName(rep)
	if c := checks["smoke suite"]; c.Status != Fail || !strings.Contains(c.Detail, "not run") {
		t.Errorf("smoke suite = %+v, want fail, not run", c)
	}
	if _, ok := checks["GET /api/v1/courses"]; ok || rep.Latency != nil {
		t.Error("smoke checks ran against an unreachable API")
	}
	if c := checks["GET /health"]; c.Attempts != 2 || !strings.Contains(c.Detail, "connection refused") {
		t.Errorf("GET /health = %+v, want 2 attempts, connection refused", c)
	}
}
