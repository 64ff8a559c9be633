package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsEnv is a server configuration with metrics on, against a
// database that is down (nothing listens on its port): the server serves
// anyway, and no PostgreSQL is needed.
func metricsEnv(t *testing.T, port, metricsPort int) map[string]string {
	return map[string]string{
		"DATABASE_URL": fmt.Sprintf("postgres://app@127.0.0.1:%d/app?sslmode=disable", freePort(t)),
		"HOST":         "127.0.0.1", "PORT": strconv.Itoa(port), "METRICS_PORT": strconv.Itoa(metricsPort),
		"APP_VERSION": "1.0.0", "IMAGE_FINGERPRINT": "3f9a1c0b2d",
		"HEALTH_CHECK_TIMEOUT": "500ms", "SHUTDOWN_DELAY": "3s", "SHUTDOWN_TIMEOUT": "5s",
	}
}

// twoPorts returns two distinct free ports.
func twoPorts(t *testing.T) (int, int) {
	for {
		if a, b := freePort(t), freePort(t); a != b {
			return a, b
		}
	}
}

// TestMetricsListener runs the whole server with METRICS_PORT: the
// metrics are served there only (the API port answers 404), count what the
// API served, keep being served through the pre-stop delay (the last
// scrapes see the replica shutting down), and the listener closes when the
// server exits.
func TestMetricsListener(t *testing.T) {
	port, mport := twoPorts(t)
	api, mbase := fmt.Sprintf("http://127.0.0.1:%d", port), fmt.Sprintf("http://127.0.0.1:%d", mport)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, nil, envFunc(metricsEnv(t, port, mport)), &stdout, &stderr) }()
	waitFor(t, api+"/health/live", 200, 30*time.Second)

	for _, c := range []struct {
		url  string
		code int
	}{{api + "/metrics", 404}, {api + "/health", 503}, {mbase + "/health/live", 404}, {mbase + "/metrics", 200}} {
		if got := status(t, c.url); got != c.code {
			t.Errorf("GET %s = %d, want %d", c.url, got, c.code)
		}
	}
	fams := scrape(t, mbase)
	for _, c := range []struct {
		name   string
		labels string
		want   float64
	}{
		{"helloagents_build_info", "fingerprint=3f9a1c0b2d,version=1.0.0", 1},
		{"helloagents_http_requests_total", "method=GET,route=/health/live,status_class=2xx", 1},
		{"helloagents_http_requests_total", "method=GET,route=unmatched,status_class=4xx", 1},
		{"helloagents_http_requests_total", "method=GET,route=/health,status_class=5xx", 1},
		{"helloagents_health_component_status", "component=database,status=unhealthy", 1},
		{"helloagents_db_pool_acquired_conns", "", 0},
	} {
		if got, ok := value(fams, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s{%s} = %v (present %t), want %v", c.name, c.labels, got, ok, c.want)
		}
	}

	cancel() // SIGTERM: the pre-stop delay (3 s) begins
	if !shutdownScraped(t, api, mbase, 2*time.Second) {
		t.Error("no scrape during the pre-stop delay showed the server component unhealthy")
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", mport), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("metrics port after exit: dial err = %v, want connection refused", err)
	}
}

// TestMetricsStartFailures proves a bad METRICS_PORT or one already taken
// stops the server at start with exit 1 and a message naming it.
func TestMetricsStartFailures(t *testing.T) {
	port, mport := twoPorts(t)
	taken, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", fmt.Sprintf("127.0.0.1:%d", mport))
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name     string
		metrics  int
		want     string
		inStdout bool // a configuration error goes to stderr, a start error to the log
	}{
		{"same as PORT", port, fmt.Sprintf(`METRICS_PORT="%d" is invalid: want a TCP port number from 1 to 65535 other than PORT (%d)`, port, port), false},
		{"port taken", mport, fmt.Sprintf("metrics: listen on 127.0.0.1:%d", mport), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			code := run(t.Context(), nil, envFunc(metricsEnv(t, port, tt.metrics)), &stdout, &stderr)
			out := stderr.String()
			if tt.inStdout {
				out = stdout.String()
			}
			if code != 1 || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, output lacks %q:\nstdout: %s\nstderr: %s", code, tt.want, stdout.String(), stderr.String())
			}
		})
	}
}

// shutdownScraped probes readiness (so a report is computed) and scrapes
// until the report's "server" component, added once the server is shutting
// down, shows unhealthy, for at most limit.
func shutdownScraped(t *testing.T, api, mbase string, limit time.Duration) bool {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		status(t, api+"/health/ready")
		if got, ok := value(scrape(t, mbase), "helloagents_health_component_status", "component=server,status=unhealthy"); ok && got == 1 {
			return true
		}
	}
	return false
}

// status is the status code of GET url.
func status(t *testing.T, url string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// scrape fetches and parses the metrics as Prometheus would.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/metrics", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return fams
}

// value is the sample of family name whose labels, as sorted
// "name=value" pairs joined by commas, are labels.
func value(fams map[string]*dto.MetricFamily, name, labels string) (float64, bool) {
	for _, m := range fams[name].GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		if strings.Join(ls, ",") != labels {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}
