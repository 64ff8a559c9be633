package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/getsentry/sentry-go"

	"github.com/helloagents/infra/backend/errorreport"
	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/logging"
	"github.com/helloagents/infra/backend/store"
)

type lister func(ctx context.Context, limit int) ([]store.Course, error)

func (f lister) Courses(ctx context.Context, limit int) ([]store.Course, error) { return f(ctx, limit) }

func check(name string, s health.Status) health.Check {
	return health.Check{Name: name, Run: func(context.Context) health.Result { return health.Result{Status: s, Message: "m"} }}
}

// newAPI builds the handler with a JSON logger writing to the returned buffer.
func newAPI(t *testing.T, mod func(*Deps)) (http.Handler, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	d := Deps{
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Health: health.Runner{Version: "1.0.0", Timeout: time.Second},
		Full:   []health.Check{check("database", health.Healthy), check("sandbox_pool", health.Unhealthy)},
		Ready:  []health.Check{check("database", health.Healthy)},
		Courses: lister(func(_ context.Context, limit int) ([]store.Course, error) {
			return []store.Course{{ID: 1, Slug: "a", Title: "A"}}[:min(limit, 1)], nil
		}),
	}
	if mod != nil {
		mod(&d)
	}
	return New(d), &logs
}

func do(h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequestWithContext(context.Background(), method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRoutes(t *testing.T) {
	h, _ := newAPI(t, nil)
	tests := []struct {
		method, target string
		code           int
		contains       string
	}{
		{"GET", "/health/live", 200, `"status":"healthy"`},
		{"HEAD", "/health/live", 200, ""},
		{"GET", "/health/ready", 200, `"database":{"status":"healthy"`},
		{"GET", "/health", 503, `"sandbox_pool":{"status":"unhealthy"`},
		{"GET", "/api/v1/courses", 200, `"courses":[{"id":1,"slug":"a"`},
		{"GET", "/api/v1/courses?limit=0", 400, `limit=\"0\" is invalid: want an integer from 1 to 100`},
		{"GET", "/nope", 404, "not found"},
		{"POST", "/health", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			w := do(h, tt.method, tt.target, nil)
			if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("got %d %s, want %d containing %s", w.Code, w.Body, tt.code, tt.contains)
			}
			for _, k := range []string{"X-Content-Type-Options", "Content-Security-Policy",
				"Strict-Transport-Security", "Referrer-Policy", RequestIDHeader} {
				if w.Header().Get(k) == "" {
					t.Errorf("missing header %s", k)
				}
			}
		})
	}
}

func TestCoursesErrorHidesCause(t *testing.T) {
	h, logs := newAPI(t, func(d *Deps) {
		d.Courses = lister(func(context.Context, int) ([]store.Course, error) {
			return nil, errors.New("failed to connect to postgres://app:hunter2@db:5432/x")
		})
	})
	w := do(h, "GET", "/api/v1/courses", nil)
	if w.Code != 503 || strings.Contains(w.Body.String(), "postgres") {
		t.Errorf("got %d %s", w.Code, w.Body)
	}
	if strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), "list courses") {
		t.Errorf("log: %s", logs)
	}
}

func TestRequestID(t *testing.T) {
	h, _ := newAPI(t, nil)
	if id := do(h, "GET", "/health/live", nil).Header().Get(RequestIDHeader); len(id) != 24 {
		t.Errorf("generated id %q", id)
	}
	if id := do(h, "GET", "/health/live", map[string]string{RequestIDHeader: "edge-123"}).Header().Get(RequestIDHeader); id != "edge-123" {
		t.Errorf("kept id %q", id)
	}
	if id := do(h, "GET", "/health/live", map[string]string{RequestIDHeader: "bad id\n<script>"}).Header().Get(RequestIDHeader); strings.Contains(id, "script") {
		t.Errorf("malformed id echoed: %q", id)
	}
}

func TestAccessLogRedacts(t *testing.T) {
	h, logs := newAPI(t, nil)
	w := do(h, "GET", "/api/v1/courses?limit=1&token=tok-secret", map[string]string{
		"Authorization": "Bearer bearer-secret", "Cookie": "sid=cookie-secret", "User-Agent": "probe",
		RequestIDHeader: "req-1",
	})
	if w.Code != 200 {
		t.Fatalf("code %d", w.Code)
	}
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %v\n%s", err, logs)
	}
	want := map[string]any{"msg": "request", "method": "GET", "route": "GET /api/v1/courses",
		"status": float64(200), "request_id": "req-1"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["duration_us"].(float64); !ok {
		t.Errorf("duration_us missing: %v", line)
	}
	for _, s := range []string{"tok-secret", "bearer-secret", "cookie-secret"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log leaks %q: %s", s, logs)
		}
	}
	if !strings.Contains(logs.String(), `"User-Agent":"probe"`) {
		t.Errorf("debug headers missing: %s", logs)
	}
}

func TestPanicRecovered(t *testing.T) {
	tr := &sentry.MockTransport{}
	hub, err := errorreport.NewHub(errorreport.Options{DSN: "https://k@127.0.0.1/1", Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	h, logs := newAPI(t, func(d *Deps) {
		d.Hub = hub
		d.Courses = lister(func(context.Context, int) ([]store.Course, error) { panic("boom password=hunter2") })
	})
	w := do(h, "GET", "/api/v1/courses", map[string]string{"Cookie": "sid=cookie-secret"})
	if w.Code != 500 || !strings.Contains(w.Body.String(), "internal error") {
		t.Errorf("got %d %s", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "panic serving request") || strings.Contains(logs.String(), "hunter2") {
		t.Errorf("log: %s", logs)
	}
	events := tr.Events()
	if len(events) != 1 {
		t.Fatalf("sentry events = %d, want 1", len(events))
	}
	raw, _ := json.Marshal(events[0])
	for _, s := range []string{"hunter2", "cookie-secret", "192.0.2.1"} { // 192.0.2.1: httptest's RemoteAddr
		if strings.Contains(string(raw), s) {
			t.Errorf("sentry event leaks %q", s)
		}
	}
	// The server keeps serving.
	if w := do(h, "GET", "/health/live", nil); w.Code != 200 {
		t.Errorf("after panic: %d", w.Code)
	}
}

func TestCORS(t *testing.T) {
	const ok, evil = "https://app.example.com", "https://evil.example"
	h, _ := newAPI(t, func(d *Deps) { d.AllowedOrigins = []string{ok} })
	if got := do(h, "GET", "/api/v1/courses", map[string]string{"Origin": ok}).Header().Get("Access-Control-Allow-Origin"); got != ok {
		t.Errorf("allowed origin: ACAO = %q", got)
	}
	if got := do(h, "GET", "/api/v1/courses", map[string]string{"Origin": evil}).Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("disallowed origin: ACAO = %q", got)
	}
	pre := do(h, "OPTIONS", "/api/v1/courses", map[string]string{"Origin": ok, "Access-Control-Request-Method": "GET"})
	if pre.Code != 204 || pre.Header().Get("Access-Control-Allow-Origin") != ok ||
		!strings.Contains(pre.Header().Get("Access-Control-Allow-Methods"), "GET") {
		t.Errorf("preflight: %d %v", pre.Code, pre.Header())
	}
	bad := do(h, "OPTIONS", "/api/v1/courses", map[string]string{"Origin": evil, "Access-Control-Request-Method": "GET"})
	if bad.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from disallowed origin allowed: %v", bad.Header())
	}
	none, _ := newAPI(t, nil)
	if got := do(none, "GET", "/health", map[string]string{"Origin": ok}).Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("no allow-list: ACAO = %q", got)
	}
}

// TestAccessLogLimitsRepeats proves a probe storm during an outage writes
// one line, not one per probe, while other requests are still logged.
func TestAccessLogLimitsRepeats(t *testing.T) {
	h, logs := newAPI(t, nil)
	start := time.Now()
	const probes = 200
	for range probes {
		if w := do(h, "GET", "/health", nil); w.Code != 503 {
			t.Fatalf("code %d", w.Code)
		}
	}
	do(h, "GET", "/health/live", nil)
	elapsed := time.Since(start)
	var failed, live int
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, l)
		}
		switch line["route"] {
		case "GET /health":
			failed++
		case "GET /health/live":
			live++
		}
	}
	// One line per started interval at most: the bound holds however slow
	// the machine is.
	if limit := 1 + int(elapsed/logging.RepeatInterval); failed < 1 || failed > limit {
		t.Errorf("%d lines for %d failing probes in %s; want 1..%d", failed, probes, elapsed, limit)
	}
	if live != 1 {
		t.Errorf("healthy request logged %d times; want 1", live)
	}
}

// TestAccessLogBoundsUnmatchedPath proves the client's path is logged only
// as a bounded prefix.
func TestAccessLogBoundsUnmatchedPath(t *testing.T) {
	h, logs := newAPI(t, nil)
	long := "/" + strings.Repeat("é", 5000)
	do(h, "GET", long, nil)
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %v\n%s", err, logs)
	}
	route, _ := line["route"].(string)
	if !strings.HasPrefix(route, "unmatched /é") || len(route) > len("unmatched ")+maxLoggedPath+32 {
		t.Errorf("route = %q (%d bytes); want a bounded prefix", route, len(route))
	}
	if !utf8.ValidString(route) {
		t.Errorf("route cut inside a rune: %q", route)
	}
}
