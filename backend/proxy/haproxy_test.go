package proxy

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/internal/dockerdns"
	"github.com/helloagents/infra/backend/internal/promtest"
	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/testkit"
)

// TestRunning starts the real haproxy (Debian's 2.6, the image's package)
// with haproxy.cfg in front of one test replica, found through a stand-in
// for Docker's DNS as in a container network, and checks what the
// configuration promises: the exporter answers /metrics on its own port
// with per-replica series, the public frontend does not serve it, and only
// the requests that need a line are logged (a 200 is not; a 500 and a
// retried request are).
func TestRunning(t *testing.T) {
	bin := haproxyBinary(t)

	var flaky atomic.Int32
	replica := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(http.StatusInternalServerError)
		case "/flaky": // 503 the first time: the proxy retries it
			if flaky.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
		case "/metrics":
			_, _ = io.WriteString(w, "the replica's own /metrics\n")
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	}))
	t.Cleanup(replica.Close)
	replicaPort := replica.Listener.Addr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()

	dns := dockerdns.Start(t, "backend")
	dns.Add("replica", netip.MustParseAddr("127.0.0.1"))

	public, metrics := pgtest.FreePort(t), pgtest.FreePort(t)
	env := Defaults()
	maps.Copy(env, map[string]string{
		EnvAddr: "127.0.0.1", EnvPort: strconv.Itoa(public), EnvMonitorPort: strconv.Itoa(pgtest.FreePort(t)),
		EnvMetricsAddr: "127.0.0.1", EnvMetricsPort: strconv.Itoa(metrics),
		EnvResolver: dns.Addr(), EnvBackendHost: "backend", EnvBackendPort: strconv.Itoa(int(replicaPort)),
		EnvMaxServers: "2",
	})
	logs := startHAProxy(t, bin, env)

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
	publicURL := fmt.Sprintf("http://127.0.0.1:%d", public)
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d", metrics)

	// Bounded wait until the replica is in: DNS resolved, first check passed.
	waitFor(t, 30*time.Second, func() bool {
		code, _ := get(client, publicURL+"/ready-yet")
		return code == http.StatusOK
	}, "the proxy to answer 200 through the replica")

	// One keep-alive connection in order: HAProxy logs a request when its
	// transaction ends, before it reads the next one from the connection,
	// so once the last request's line is there every earlier line is too.
	for _, step := range []struct {
		path string
		want int
	}{
		{"/ok", 200}, {"/fail", 500}, {"/flaky", 200},
	} {
		if code, body := get(client, publicURL+step.path); code != step.want {
			t.Fatalf("GET %s through the proxy = %d %q, want %d", step.path, code, body, step.want)
		}
	}
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(logs.String(), "GET /flaky ") },
		"the log line of the retried request")
	lines := map[string][]string{}
	for line := range strings.Lines(logs.String()) {
		for _, path := range []string{"/ready-yet", "/ok", "/fail", "/flaky"} {
			if strings.Contains(line, "GET "+path+" ") {
				lines[path] = append(lines[path], line)
			}
		}
	}
	t.Run("log", func(t *testing.T) {
		if got := lines["/ok"]; len(got) != 0 {
			t.Errorf("a 200 was logged: %q", got)
		}
		if got := lines["/fail"]; len(got) != 1 || !strings.Contains(got[0], " 500 ") {
			t.Errorf("log lines of the 500 = %q, want one with status 500", got)
		}
		// httplog's fields: ... Tq/Tw/Tc/Tr/Ta status bytes ... fc/bc/sc/srv/retries ...
		if got := lines["/flaky"]; len(got) != 1 || !strings.Contains(got[0], " 200 ") || !strings.Contains(got[0], "/1 ") {
			t.Errorf("log lines of the retried request = %q, want one with status 200 and retries 1", got)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		// The first health check runs within a check interval of the
		// replica's arrival: wait (bounded) for its result.
		server := []string{"proxy", "replicas", "server", "replica1"}
		checked := promtest.Key("haproxy_server_check_status", append(server, "state", "L7OK")...)
		var series promtest.Samples
		waitFor(t, 10*time.Second, func() bool {
			var err error
			series, err = promtest.Scrape(t.Context(), metricsURL+MetricsPath)
			return err == nil && series[checked] == 1
		}, "GET "+MetricsPath+" to answer with "+checked+" 1")
		for _, tt := range []struct {
			series string
			min    float64
		}{
			{promtest.Key("haproxy_backend_http_responses_total", "proxy", "replicas", "code", "2xx"), 3}, // /ready-yet, /ok, /flaky
			{promtest.Key("haproxy_backend_http_responses_total", "proxy", "replicas", "code", "5xx"), 1},
			{promtest.Key("haproxy_backend_retry_warnings_total", "proxy", "replicas"), 1},
			{promtest.Key("haproxy_server_http_responses_total", append(server, "code", "5xx")...), 1},
			{promtest.Key("haproxy_server_status", append(server, "state", "UP")...), 1},
			{promtest.Key("haproxy_server_check_code", server...), 200},
		} {
			v, ok := series[tt.series]
			if !ok || v < tt.min {
				t.Errorf("%s = %v (present %v), want >= %v", tt.series, v, ok, tt.min)
			}
		}
		for _, name := range []string{"haproxy_server_queue_time_average_seconds", "haproxy_server_response_time_average_seconds", "haproxy_server_total_time_average_seconds"} {
			if _, ok := series[promtest.Key(name, server...)]; !ok {
				t.Errorf("no %s for replica1", name)
			}
		}
		if code, _ := get(client, metricsURL+"/"); code != http.StatusNotFound {
			t.Errorf("GET / on the metrics port = %d, want 404", code)
		}
	})

	t.Run("not public", func(t *testing.T) {
		code, body := get(client, publicURL+MetricsPath)
		if code != http.StatusOK || body != "the replica's own /metrics\n" || strings.Contains(body, "haproxy_") {
			t.Errorf("GET %s on the public frontend = %d %q, want the replica's answer", MetricsPath, code, body)
		}
	})
}

// haproxyBinary finds haproxy: a skip when it is missing, a failure under CI.
func haproxyBinary(t *testing.T) string {
	t.Helper()
	bin := testkit.RequireTool(t, "haproxy", "apt-get install haproxy")
	return bin
}

// startHAProxy runs haproxy -db with haproxy.cfg and only env as its
// environment until the test ends; it returns its standard output, where
// the configuration sends the log.
func startHAProxy(t *testing.T, bin string, env map[string]string) *testkit.SyncBuffer {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, "-db", "-f", "haproxy.cfg")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	var stdout, stderr testkit.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Wait() // the test's context ended: haproxy was killed
		if t.Failed() {
			t.Logf("haproxy stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	})
	return &stdout
}

// get returns the status and body of a GET, or 0 and the error.
func get(c *http.Client, url string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(b)
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
	}
}
