package fakebackend_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/internal/fakebackend"
)

// answer is a response, its body read.
type answer struct {
	code   int
	header http.Header
	body   string
}

// do sends one request, a preflight's headers with it when origin is set.
func do(ctx context.Context, t *testing.T, method, url, origin string) (answer, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(body)}, nil
}

func get(t *testing.T, url string) (int, health.Report) {
	t.Helper()
	a, err := do(t.Context(), t, http.MethodGet, url, "")
	if err != nil {
		t.Fatal(err)
	}
	var rep health.Report
	if err := json.Unmarshal([]byte(a.body), &rep); err != nil {
		t.Fatalf("GET %s: %v in %q", url, err, a.body)
	}
	return a.code, rep
}

func TestBackend(t *testing.T) {
	for _, tc := range []struct {
		name     string
		set      func(b *fakebackend.Backend)
		path     string
		code     int
		status   health.Status
		comps    int
		version  string
		hitsPath string
	}{
		{"healthy full", nil, health.FullPath, 200, health.Healthy, 4, "1.0.0", health.FullPath},
		{"healthy ready", nil, health.ReadyPath, 200, health.Healthy, 1, "1.0.0", health.ReadyPath},
		{"liveness has no components", nil, health.LivePath, 200, health.Healthy, 0, "1.0.0", health.LivePath},
		{"database down: full 503", func(b *fakebackend.Backend) {
			b.SetComponent(fakebackend.Database, health.Unhealthy, "Database connection failed")
		}, health.FullPath, 503, health.Unhealthy, 4, "1.0.0", health.FullPath},
		{"database down: ready 503", func(b *fakebackend.Backend) {
			b.SetComponent(fakebackend.Database, health.Unhealthy, "Database connection failed")
		}, health.ReadyPath, 503, health.Unhealthy, 1, "1.0.0", health.ReadyPath},
		{"database down: live 200", func(b *fakebackend.Backend) {
			b.SetComponent(fakebackend.Database, health.Unhealthy, "Database connection failed")
		}, health.LivePath, 200, health.Healthy, 0, "1.0.0", health.LivePath},
		{"version", func(b *fakebackend.Backend) { b.SetVersion("abc123") }, health.FullPath, 200, health.Healthy, 4, "abc123", health.FullPath},
		{"intercepted", func(b *fakebackend.Backend) {
			b.Intercept(health.ReadyPath, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, `{"status":"starting"}`)
			}))
		}, health.ReadyPath, 200, "starting", 0, "", health.ReadyPath},
		{"raw body", func(b *fakebackend.Backend) {
			b.Intercept(health.FullPath, fakebackend.Raw(418, `{"status":"teapot"}`))
		}, health.FullPath, 418, "teapot", 0, "", health.FullPath},
		{"standby: full healthy", func(b *fakebackend.Backend) { b.SetStandby(2100 * time.Millisecond) },
			health.FullPath, 200, health.Healthy, 4, "1.0.0", health.FullPath},
		{"standby: ready healthy", func(b *fakebackend.Backend) { b.SetStandby(2100 * time.Millisecond) },
			health.ReadyPath, 200, health.Healthy, 1, "1.0.0", health.ReadyPath},
		{"forced 200 on an unhealthy report", func(b *fakebackend.Backend) {
			b.SetComponent(fakebackend.AIService, health.Unhealthy, "connection refused")
			b.ForceStatus(health.FullPath, 200)
		}, health.FullPath, 200, health.Unhealthy, 4, "1.0.0", health.FullPath},
		{"forced 503 on a healthy report", func(b *fakebackend.Backend) { b.ForceStatus(health.ReadyPath, 503) },
			health.ReadyPath, 503, health.Healthy, 1, "1.0.0", health.ReadyPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := fakebackend.New(t)
			if tc.set != nil {
				tc.set(b)
			}
			code, rep := get(t, b.URL+tc.path)
			if code != tc.code || rep.Status != tc.status || len(rep.Components) != tc.comps || rep.Version != tc.version {
				t.Errorf("GET %s: %d %+v, want %d, status %s, %d components, version %q",
					tc.path, code, rep, tc.code, tc.status, tc.comps, tc.version)
			}
			if n := b.Hits(tc.hitsPath); n != 1 {
				t.Errorf("Hits(%s) = %d, want 1", tc.hitsPath, n)
			}
		})
	}
}

// TestComponents: the components' messages are backend/health's, for a
// primary and for a standby region.
func TestComponents(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(b *fakebackend.Backend)
		want map[string]health.Result
	}{
		{"primary", nil, map[string]health.Result{
			fakebackend.Database: {Status: health.Healthy, Message: "Database connection successful"},
			fakebackend.Backups:  {Status: health.Healthy, Message: "last WAL segment archived 30s ago; last full backup 5h0m0s ago"},
		}},
		{"standby", func(b *fakebackend.Backend) { b.SetStandby(2100 * time.Millisecond) }, map[string]health.Result{
			fakebackend.Database: {Status: health.Standby, Message: "Read-only standby, replaying WAL, lag 2.1s"},
			fakebackend.Backups: {Status: health.Healthy,
				Message: "Standby: WAL is archived by the primary region; last full backup 5h0m0s ago"},
		}},
		{"standby far behind", func(b *fakebackend.Backend) { b.SetStandby(5 * time.Minute) }, map[string]health.Result{
			fakebackend.Database: {Status: health.Degraded,
				Message: "Read-only standby, replaying WAL, lag 5m0s (more than 3m0s behind)"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := fakebackend.New(t)
			if tc.set != nil {
				tc.set(b)
			}
			_, rep := get(t, b.URL+health.FullPath)
			for name, want := range tc.want {
				if got := rep.Components[name]; got != want {
					t.Errorf("component %s = %+v, want %+v", name, got, want)
				}
			}
		})
	}
}

// TestFailReady: the first n readiness probes get 503 with the database
// unhealthy; the full report is not affected.
func TestFailReady(t *testing.T) {
	for _, tc := range []struct {
		n     int
		codes []int
	}{
		{0, []int{200, 200}},
		{1, []int{503, 200, 200}},
		{2, []int{503, 503, 200}},
	} {
		b := fakebackend.New(t)
		b.FailReady(tc.n)
		if code, _ := get(t, b.URL+health.FullPath); code != 200 {
			t.Errorf("FailReady(%d): GET /health = %d, want 200", tc.n, code)
		}
		for i, want := range tc.codes {
			code, rep := get(t, b.URL+health.ReadyPath)
			db := rep.Components[fakebackend.Database]
			if code != want || (want == 503) != (db.Status == health.Unhealthy) {
				t.Errorf("FailReady(%d): probe %d = %d, database %+v; want %d", tc.n, i+1, code, db, want)
			}
		}
		if n := b.Hits(health.ReadyPath); n != len(tc.codes) {
			t.Errorf("FailReady(%d): Hits = %d, want %d", tc.n, n, len(tc.codes))
		}
	}
}

// TestAPI: the course catalogue, CORS and the security headers, by default
// as backend/httpapi answers and as each knob changes them.
func TestAPI(t *testing.T) {
	const origin = "http://127.0.0.1:5173"
	for _, tc := range []struct {
		name   string
		set    func(b *fakebackend.Backend)
		method string
		origin string
		code   int
		header map[string]string // "" for absent
		body   string            // substring
	}{
		{"courses", nil, http.MethodGet, "", 200, map[string]string{
			"Content-Type": "application/json", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'", "X-Frame-Options": "",
			"Strict-Transport-Security": "max-age=63072000; includeSubDomains", "Cache-Control": "no-store",
		}, `"slug":"agents-101"`},
		{"courses set", func(b *fakebackend.Backend) { b.SetCourses("text/html", "<p>") }, http.MethodGet, "", 200,
			map[string]string{"Content-Type": "text/html"}, "<p>"},
		{"preflight", nil, http.MethodOptions, origin, 204, map[string]string{
			"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "GET, OPTIONS",
			"X-Content-Type-Options": "nosniff",
		}, ""},
		{"preflight denied", func(b *fakebackend.Backend) { b.DenyCORS() }, http.MethodOptions, origin, 204,
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""}, ""},
		{"security headers dropped", func(b *fakebackend.Backend) { b.DropSecurityHeaders() }, http.MethodGet, "", 200,
			map[string]string{"X-Content-Type-Options": "", "Referrer-Policy": "", "Content-Security-Policy": "",
				"Strict-Transport-Security": "", "Cache-Control": "", "Content-Type": "application/json"}, "agents-101"},
		{"header set", func(b *fakebackend.Backend) { b.SetHeader("X-Frame-Options", "DENY") }, http.MethodGet, "", 200,
			map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}, ""},
		{"header removed", func(b *fakebackend.Backend) { b.SetHeader("Strict-Transport-Security", "") }, http.MethodGet, "", 200,
			map[string]string{"Strict-Transport-Security": "", "Referrer-Policy": "no-referrer"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := fakebackend.New(t)
			if tc.set != nil {
				tc.set(b)
			}
			a, err := do(t.Context(), t, tc.method, b.URL+fakebackend.CoursesPath, tc.origin)
			if err != nil {
				t.Fatal(err)
			}
			if a.code != tc.code || !strings.Contains(a.body, tc.body) {
				t.Errorf("%s: %d %q, want %d containing %q", tc.method, a.code, a.body, tc.code, tc.body)
			}
			for k, want := range tc.header {
				if got := a.header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestNoAnswer: a slow catalogue (an hour) and a hung intercept answer
// nothing before the client gives up, which it does once the server has the
// request.
func TestNoAnswer(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(b *fakebackend.Backend)
		path string
	}{
		{"slow courses", func(b *fakebackend.Backend) { b.DelayCourses(time.Hour) }, fakebackend.CoursesPath},
		{"hung readiness", func(b *fakebackend.Backend) { b.Intercept(health.ReadyPath, fakebackend.Hang()) }, health.ReadyPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := fakebackend.New(t)
			tc.set(b)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go func() {
				for b.Hits(tc.path) == 0 {
					time.Sleep(time.Millisecond)
				}
				cancel()
			}()
			if _, err := do(ctx, t, http.MethodGet, b.URL+tc.path, ""); !errors.Is(err, context.Canceled) {
				t.Errorf("GET %s = %v, want the client's cancellation", tc.path, err)
			}
		})
	}
}
