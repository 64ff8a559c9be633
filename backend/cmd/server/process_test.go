package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/testkit"
)

// buildServer compiles this command once per test binary run.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "-ldflags", "-X main.version=9.9.9-test", ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// closedPortURL is a database URL nothing listens on: the database check
// fails at once with "connection refused".
func closedPortURL(t *testing.T) string {
	return fmt.Sprintf("postgres://app:hunter2@127.0.0.1:%d/x?sslmode=disable", freePort(t))
}

// SIGTERM while a request is in flight (no pre-stop delay): the request
// completes with its full answer, new connections are refused, and the
// process exits 0.
func TestShutdownDrainsInFlightRequests(t *testing.T) {
	bin := buildServer(t)
	started, release := make(chan struct{}), make(chan struct{})
	pool := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	}))
	defer pool.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.CommandContext(context.Background(), bin) // ended by SIGTERM or the deferred Kill
	cmd.Env = append(os.Environ(), "DATABASE_URL="+closedPortURL(t), "HOST=127.0.0.1", "PORT="+strconv.Itoa(port),
		"SANDBOX_POOL_URL="+pool.URL, "HEALTH_CHECK_TIMEOUT=30s", "SHUTDOWN_DELAY=0s", "SHUTDOWN_TIMEOUT=30s")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			t.Logf("server killed after the test: %v", <-exited)
		}
	}()
	waitFor(t, base+"/health/live", 200, 30*time.Second)

	type answer struct {
		code int
		body string
		err  error
	}
	inflight := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/health", nil)
		resp, err := client.Do(req)
		if err != nil {
			inflight <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- answer{resp.StatusCode, string(b), err}
	}()
	<-started // the /health request is now blocked in the sandbox pool check
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Draining: the listener closes, so new connections fail (bounded wait).
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := net.Dialer{Timeout: time.Second}
		c, err := d.DialContext(context.Background(), "tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepts connections 10s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(release)

	a := <-inflight
	if a.err != nil {
		t.Fatalf("in-flight request cut off by shutdown: %v", a.err)
	}
	// Database down (closed port), sandbox pool healthy: a complete 503 body.
	if a.code != 503 || !strings.Contains(a.body, `"sandbox_pool":{"status":"healthy"`) ||
		!strings.Contains(a.body, `"version":"9.9.9-test"`) {
		t.Errorf("in-flight answer = %d %s", a.code, a.body)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, stdout.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit after draining")
	}
	for _, want := range []string{"shutting down", `"msg":"stopped"`} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "hunter2") {
		t.Error("log contains the database password")
	}
}

// A database that accepts connections but never answers must not hold the
// health endpoints past HEALTH_CHECK_TIMEOUT.
func TestHungDatabaseBoundedByTimeout(t *testing.T) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accept and stay silent
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	var out testkit.SyncBuffer
	go func() {
		exited <- run(ctx, nil, envFunc(map[string]string{
			"DATABASE_URL": "postgres://app@" + l.Addr().String() + "/x?sslmode=disable",
			"HOST":         "127.0.0.1", "PORT": strconv.Itoa(port), "HEALTH_CHECK_TIMEOUT": "300ms",
			"SHUTDOWN_DELAY": "0s",
		}), &out, &out)
	}()
	defer func() { cancel(); <-exited }()
	waitFor(t, base+"/health/live", 200, 30*time.Second)
	for _, path := range []string{"/health", "/health/ready"} {
		code, body := get(t, base+path) // the client gives up after 10 s
		db, _ := body["components"].(map[string]any)["database"].(map[string]any)
		if code != 503 || db["status"] != "unhealthy" {
			t.Errorf("%s = %d %v", path, code, body)
		}
	}
}

func TestHealthcheckCommand(t *testing.T) {
	srv := func(code int) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/health/live" && r.URL.Path != "/health/ready" {
				code = 404
			}
			w.WriteHeader(code)
		}))
	}
	ok, bad := srv(200), srv(503)
	defer ok.Close()
	defer bad.Close()
	hostPort := func(s *httptest.Server) (string, string) {
		h, p, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
		return h, p
	}
	okHost, okPort := hostPort(ok)
	_, badPort := hostPort(bad)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"healthy", nil, map[string]string{"HOST": okHost, "PORT": okPort}, 0},
		{"wildcard host probes loopback", nil, map[string]string{"HOST": "0.0.0.0", "PORT": okPort}, 0},
		{"ready path", []string{"/health/ready"}, map[string]string{"PORT": okPort}, 0},
		{"unhealthy", nil, map[string]string{"PORT": badPort}, 1},
		{"nothing listening", nil, map[string]string{"PORT": strconv.Itoa(freePort(t))}, 1},
		{"bad port", nil, map[string]string{"PORT": "http"}, 1},
		{"bad path", []string{"health"}, map[string]string{"PORT": okPort}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := run(context.Background(), append([]string{"healthcheck"}, tt.args...), envFunc(tt.env), io.Discard, &stderr); got != tt.want {
				t.Errorf("exit %d, want %d (%s)", got, tt.want, stderr.String())
			}
		})
	}
}

func TestBadConfigurationExits(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), nil, envFunc(map[string]string{"PORT": "0", "SENTRY_TRACES_SAMPLE_RATE": "2"}), io.Discard, &stderr)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"DATABASE_URL is required", `PORT="0"`, `SENTRY_TRACES_SAMPLE_RATE="2"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q: %s", want, stderr.String())
		}
	}
	if code := run(context.Background(), []string{"bogus"}, envFunc(nil), io.Discard, &stderr); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"version"}, envFunc(nil), &out, &stderr); code != 0 || strings.TrimSpace(out.String()) != version {
		t.Errorf("version: %d %q", code, out.String())
	}
}
