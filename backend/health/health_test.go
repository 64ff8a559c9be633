package health

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type pingFunc func(context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

var fixed = func() time.Time { return time.Date(2024, 1, 9, 10, 30, 0, 123456789, time.FixedZone("x", 3600)) }

func TestRunStatuses(t *testing.T) {
	ok := Check{"a", func(context.Context) Result { return Result{Healthy, "fine"} }}
	bad := Check{"b", func(context.Context) Result { return Result{Unhealthy, "broken"} }}
	off := Check{"c", func(context.Context) Result { return Result{Disabled, "off"} }}
	nc := Check{"d", func(context.Context) Result { return Result{NotConfigured, "none"} }}
	boom := Check{"e", func(context.Context) Result { panic("boom") }}
	tests := []struct {
		name   string
		checks []Check
		want   Status
	}{
		{"none (liveness)", nil, Healthy},
		{"all healthy", []Check{ok, off, nc}, Healthy},
		{"partial failure", []Check{ok, bad, off}, Unhealthy},
		{"panicking check", []Check{ok, boom}, Unhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Runner{Version: "1.0.0", Timeout: time.Second, Now: fixed}.Run(context.Background(), tt.checks)
			if rep.Status != tt.want {
				t.Errorf("status = %s, want %s (%+v)", rep.Status, tt.want, rep)
			}
			if len(rep.Components) != len(tt.checks) {
				t.Errorf("components = %v, want %d", rep.Components, len(tt.checks))
			}
			if rep.Timestamp != "2024-01-09T09:30:00.123456Z" || rep.Version != "1.0.0" {
				t.Errorf("timestamp/version = %q/%q", rep.Timestamp, rep.Version)
			}
		})
	}
}

// A check that ignores its context must not hold the report past the timeout.
func TestRunAbandonsHungCheck(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	hung := Check{"database", func(context.Context) Result { <-release; return Result{Healthy, ""} }}
	ok := Check{"ai_service", func(context.Context) Result { return Result{Configured, "ok"} }}
	// Long enough for the quick check to finish even on a loaded machine
	// under the race detector; the hung one never does.
	rep := Runner{Timeout: 300 * time.Millisecond}.Run(context.Background(), []Check{hung, ok})
	if rep.Status != Unhealthy {
		t.Fatalf("status = %s", rep.Status)
	}
	if got := rep.Components["database"]; got.Status != Unhealthy || !strings.Contains(got.Message, "did not answer within 300ms") {
		t.Errorf("database = %+v", got)
	}
	if got := rep.Components["ai_service"]; got.Status != Configured {
		t.Errorf("ai_service = %+v (a finished check must keep its result)", got)
	}
}

// Each check waits for the other to start: this only finishes if they run concurrently.
func TestRunConcurrently(t *testing.T) {
	aStarted, bStarted := make(chan struct{}), make(chan struct{})
	wait := func(mine, other chan struct{}) func(context.Context) Result {
		return func(ctx context.Context) Result {
			close(mine)
			select {
			case <-other:
				return Result{Healthy, "ok"}
			case <-ctx.Done():
				return Result{Unhealthy, "alone"}
			}
		}
	}
	rep := Runner{Timeout: 10 * time.Second}.Run(context.Background(),
		[]Check{{"a", wait(aStarted, bStarted)}, {"b", wait(bStarted, aStarted)}})
	if rep.Status != Healthy {
		t.Errorf("checks did not run concurrently: %+v", rep)
	}
}

func TestDatabaseMessagesHaveNoSecrets(t *testing.T) {
	const dsn = "postgres://app:hunter2@db.internal:5432/helloagents"
	tests := []struct {
		name string
		err  error
		want Result
	}{
		{"ok", nil, Result{Healthy, "Database connection successful"}},
		{"refused", errors.New("failed to connect to " + dsn + ": dial tcp 10.0.0.5:5432: connection refused"),
			Result{Unhealthy, "Database connection failed"}},
		{"timeout", context.DeadlineExceeded, Result{Unhealthy, "Database did not answer in time"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logged error
			c := Database(pingFunc(func(context.Context) error { return tt.err }), func(err error) { logged = err })
			got := c.Run(context.Background())
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if !errors.Is(logged, tt.err) {
				t.Errorf("onError got %v", logged)
			}
			assertClean(t, got.Message, "hunter2", "db.internal", "5432", "10.0.0.5", "postgres://")
		})
	}
}

func TestSandboxPool(t *testing.T) {
	okSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer okSrv.Close()
	badSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer badSrv.Close()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://user:tok3n@" + l.Addr().String() + "/health"
	l.Close()
	withCreds := func(u string) string { return strings.Replace(u, "http://", "http://user:tok3n@", 1) }

	tests := []struct {
		name, url string
		want      Status
		msg       string
	}{
		{"disabled", "", Disabled, "Container pool is not enabled"},
		{"healthy", withCreds(okSrv.URL), Healthy, "Container pool is available"},
		{"http 500", withCreds(badSrv.URL), Unhealthy, "Container pool answered HTTP 500"},
		{"unreachable", closed, Unhealthy, "Container pool is unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SandboxPool(tt.url, &http.Client{}).Run(context.Background())
			if got.Status != tt.want || got.Message != tt.msg {
				t.Errorf("got %+v, want %s %q", got, tt.want, tt.msg)
			}
			assertClean(t, got.Message, "tok3n", "127.0.0.1", "user")
		})
	}
}

func TestAIService(t *testing.T) {
	if got := AIService("").Run(context.Background()); got.Status != NotConfigured {
		t.Errorf("empty key: %+v", got)
	}
	got := AIService("sk-live-abc").Run(context.Background())
	if got != (Result{Configured, "AI service API key is configured"}) {
		t.Errorf("key: %+v", got)
	}
	assertClean(t, got.Message, "sk-live-abc")
}

func TestHandlerBody(t *testing.T) {
	r := Runner{Version: "1.0.0", Now: fixed}
	tests := []struct {
		name   string
		checks []Check
		code   int
		body   string
	}{
		{"healthy", []Check{
			Database(pingFunc(func(context.Context) error { return nil }), nil),
			SandboxPool("", nil),
			AIService("k"),
		}, 200, `{"status":"healthy","timestamp":"2024-01-09T09:30:00.123456Z","version":"1.0.0","components":{` +
			`"ai_service":{"status":"configured","message":"AI service API key is configured"},` +
			`"database":{"status":"healthy","message":"Database connection successful"},` +
			`"sandbox_pool":{"status":"disabled","message":"Container pool is not enabled"}}}`},
		{"unhealthy", []Check{Database(pingFunc(func(context.Context) error { return errors.New("x") }), nil)},
			503, `{"status":"unhealthy","timestamp":"2024-01-09T09:30:00.123456Z","version":"1.0.0","components":{` +
				`"database":{"status":"unhealthy","message":"Database connection failed"}}}`},
		{"live", nil, 200, `{"status":"healthy","timestamp":"2024-01-09T09:30:00.123456Z","version":"1.0.0","components":{}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			r.Handler(tt.checks...).ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), "GET", "/health", nil))
			if rec.Code != tt.code {
				t.Errorf("code = %d, want %d", rec.Code, tt.code)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tt.body {
				t.Errorf("body\n got %s\nwant %s", got, tt.body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
			var rep Report
			if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func assertClean(t *testing.T, msg string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("message %q contains %q", msg, s)
		}
	}
}

func TestGated(t *testing.T) {
	up := Database(pingFunc(func(context.Context) error { return nil }), nil)
	down := Database(pingFunc(func(context.Context) error { return errors.New("refused") }), nil)
	open, closed := make(chan struct{}), make(chan struct{})
	close(closed)
	const pending = "Database schema migration has not completed"
	tests := []struct {
		name  string
		check Check
		done  chan struct{}
		want  Result
	}{
		{"database down, not migrated: the cause", down, open, Result{Unhealthy, "Database connection failed"}},
		{"database up, not migrated: pending", up, open, Result{Unhealthy, pending}},
		{"database up, migrated", up, closed, Result{Healthy, "Database connection successful"}},
		{"database down, migrated", down, closed, Result{Unhealthy, "Database connection failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Gated(tt.check, tt.done, pending)
			if g.Name != "database" {
				t.Errorf("name = %q", g.Name)
			}
			if got := g.Run(context.Background()); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// After SIGTERM the full and readiness reports are 503 with a "server"
// component, the other components still reported; liveness stays 200.
func TestShuttingDown(t *testing.T) {
	var stopping bool
	r := Runner{Version: "1.0.0", Now: fixed, ShuttingDown: func() bool { return stopping }}
	db := Database(pingFunc(func(context.Context) error { return nil }), nil)
	serve := func(checks ...Check) (int, string) {
		rec := httptest.NewRecorder()
		r.Handler(checks...).ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), "GET", "/health/ready", nil))
		return rec.Code, strings.TrimSpace(rec.Body.String())
	}
	if code, body := serve(db); code != 200 || strings.Contains(body, `"server"`) {
		t.Errorf("before shutdown: %d %s", code, body)
	}
	stopping = true
	want := `{"status":"unhealthy","timestamp":"2024-01-09T09:30:00.123456Z","version":"1.0.0","components":{` +
		`"database":{"status":"healthy","message":"Database connection successful"},` +
		`"server":{"status":"unhealthy","message":"Server is shutting down"}}}`
	if code, body := serve(db); code != 503 || body != want {
		t.Errorf("shutting down: %d\n got %s\nwant %s", code, body, want)
	}
	if code, body := serve(); code != 200 {
		t.Errorf("liveness while shutting down: %d %s", code, body)
	}
}

// TestOnReport proves every report computed, through Run or a handler,
// reaches OnReport as it is returned (the server's metrics read it).
func TestOnReport(t *testing.T) {
	var got []Report
	r := Runner{Version: "1.0.0", Timeout: time.Second, Now: fixed, OnReport: func(rep Report) { got = append(got, rep) }}
	ok := Check{"a", func(context.Context) Result { return Result{Healthy, "fine"} }}
	bad := Check{"b", func(context.Context) Result { return Result{Unhealthy, "broken"} }}
	tests := []struct {
		name   string
		checks []Check
		want   map[string]Status
	}{
		{"healthy", []Check{ok}, map[string]Status{"a": Healthy}},
		{"unhealthy", []Check{ok, bad}, map[string]Status{"a": Healthy, "b": Unhealthy}},
		{"liveness", nil, map[string]Status{}},
	}
	for _, tt := range tests {
		got = nil
		rep := r.Run(context.Background(), tt.checks)
		r.Handler(tt.checks...).ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(context.Background(), "GET", "/health", nil))
		wantCalls := 2
		if len(tt.checks) == 0 {
			wantCalls = 1 // the liveness handler computes no report
		}
		if len(got) != wantCalls {
			t.Fatalf("%s: %d reports observed, want %d", tt.name, len(got), wantCalls)
		}
		if got[0].Status != rep.Status || len(got[0].Components) != len(tt.want) {
			t.Errorf("%s: observed %+v, returned %+v", tt.name, got[0], rep)
		}
		for name, s := range tt.want {
			if got[0].Components[name].Status != s {
				t.Errorf("%s: component %s = %s, want %s", tt.name, name, got[0].Components[name].Status, s)
			}
		}
	}
}
