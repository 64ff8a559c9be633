package verify

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/testkit"
	"github.com/helloagents/infra/healthcheck"
)

// buildServer compiles the real backend (a sibling module) into dir.
func buildServer(t *testing.T, dir string) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("..", "backend"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, "cmd", "server")); err != nil {
		t.Fatalf("backend server sources not found at %s: %v", src, err)
	}
	bin := filepath.Join(dir, "server")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "-ldflags", "-X main.version=1.0.0-verify", "./cmd/server")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/server in %s: %v\n%s", src, err, out)
	}
	return bin
}

// TestRealBackend runs verify and Gate against the real backend process with
// a real PostgreSQL: everything passes while the database is up, and the
// health checks (not only the status codes) fail once it is stopped.
func TestRealBackend(t *testing.T) {
	pg := pgtest.Start(t)
	bin := buildServer(t, t.TempDir())
	frontend := frontendServer(t, 0)
	port := pgtest.FreePort(t)
	api := "http://127.0.0.1:" + strconv.Itoa(port)

	var logs testkit.SyncBuffer
	// When the test ends its context is cancelled: the server gets SIGTERM
	// (a graceful drain), and SIGKILL if it is still there 15 s later.
	cmd := exec.CommandContext(t.Context(), bin)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+pg.URL("postgres"),
		"HOST=127.0.0.1",
		"PORT="+strconv.Itoa(port),
		"APP_VERSION=1.0.0",
		"AI_API_KEY=test-key-not-a-secret",
		"CORS_ALLOWED_ORIGINS="+frontend.URL,
		"HEALTH_CHECK_TIMEOUT=2s",
		"SHUTDOWN_TIMEOUT=5s",
		// No proxy to take it out of rotation here: stop at once.
		"SHUTDOWN_DELAY=0s",
	)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start backend: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Wait() // reports the cancellation; the exit status tells more
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Logf("backend exited with status %d after SIGTERM", code)
		}
		if t.Failed() {
			t.Logf("backend output:\n%s", logs.String())
		}
	})

	// Ready: the gate the promotion uses, bounded (about 60 s at most).
	hc := healthcheck.Default()
	hc.Interval, hc.Timeout, hc.Retries, hc.StartPeriod = 200*time.Millisecond, 2*time.Second, 300, 0
	ctx := context.Background()
	if err := Gate(ctx, api+"/health/ready", hc, nil); err != nil {
		t.Fatalf("backend never became ready: %v", err)
	}

	opts := Options{API: api, Frontend: frontend.URL, Retries: 2, Backoff: 100 * time.Millisecond,
		Timeout: 5 * time.Second, Requests: 20,
		P95Limit: time.Minute} // not a timing assertion: the P95 target is the benchmark's business
	rep := Run(ctx, opts)
	for _, c := range rep.Checks {
		t.Logf("%-4s %-46s %s", c.Status, c.Name, c.Detail)
	}
	if !rep.Passed() {
		t.Fatalf("verify against the healthy backend failed: %+v", rep.Failed())
	}
	checks := byName(rep)
	for name, want := range map[string]Status{
		"component database": Pass, "component sandbox_pool": Pass, "component ai_service": Pass,
		"CORS preflight /api/v1/courses": Pass, "GET frontend": Pass,
		"header X-Content-Type-Options": Pass, "header Referrer-Policy": Pass,
		"header X-Frame-Options or CSP frame-ancestors": Pass,
	} {
		if checks[name].Status != want {
			t.Errorf("check %q = %s (%s), want %s", name, checks[name].Status, checks[name].Detail, want)
		}
	}
	t.Logf("real backend: verify took %s; latency P50 %s, P95 %s, max %s over %d requests",
		rep.Duration, rep.Latency.P50, rep.Latency.P95, rep.Latency.Max, rep.Latency.Requests)

	// A frontend origin the backend does not allow is refused.
	other := opts
	other.Frontend, other.Retries = "http://evil.example", NoRetries
	if c := byName(Run(ctx, other))["CORS preflight /api/v1/courses"]; c.Status != Fail {
		t.Errorf("CORS for a foreign origin = %s (%s), want fail", c.Status, c.Detail)
	}

	// Database down: readiness and full health must fail, naming the database.
	pg.Stop(t)
	down := opts
	down.Retries, down.Requests = NoRetries, 2
	rep = Run(ctx, down)
	t.Logf("database down: verify took %s to fail", rep.Duration)
	if rep.Passed() {
		t.Fatal("verify passed with the database stopped")
	}
	checks = byName(rep)
	for _, name := range []string{"GET /health", "GET /health/ready", "component database"} {
		if c := checks[name]; c.Status != Fail || !strings.Contains(c.Detail, "unhealthy") {
			t.Errorf("with the database down, %q = %s %q, want fail naming unhealthy", name, c.Status, c.Detail)
		}
	}
	if c := checks["GET /health/live"]; c.Status != Pass {
		t.Errorf("liveness with the database down = %s %q, want pass (the process is alive)", c.Status, c.Detail)
	}
	hc.Retries = 2
	gateStart := time.Now()
	err := Gate(ctx, api+"/health/ready", hc, &http.Client{})
	t.Logf("database down: Gate (interval %s, retries %d) failed after %s", hc.Interval, hc.Retries, time.Since(gateStart))
	if err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Errorf("Gate with the database down = %v, want a 503 failure", err)
	}
	if strings.Contains(fmt.Sprint(rep), "test-key-not-a-secret") || strings.Contains(logs.String(), "test-key-not-a-secret") {
		t.Error("the AI API key leaked into the report or the logs")
	}
}
