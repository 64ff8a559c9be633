package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/monitoring"
)

// TestStatusAgainstRealPrometheus runs Debian's Prometheus (the version
// the regions run) scraping a stand-in for the backend's metrics listener,
// and reads the region's numbers through status. Every scrape serves one
// more round of traffic: 100 requests answered 2xx in 200 ms and 1
// answered 5xx in 700 ms, so whatever the number of scrapes the error
// ratio is 1/101 and the P95 falls in the 100-250 ms bucket at
// 0.1 + 0.15 × 95.95/100 s.
func TestStatusAgainstRealPrometheus(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("prometheus not found (apt-get install prometheus): %v", err)
		}
		t.Skip("prometheus not installed (apt-get install prometheus); set CI=1 to make this a failure")
	}
	exporter := fakeBackendMetrics(t)
	promURL, promLog := startPrometheus(t, bin, exporter.Listener.Addr().String())

	// Wait for three scrapes: rate needs two samples.
	base, _ := url.Parse(promURL)
	p := prometheus{base: base, client: http.DefaultClient, timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		n, err := p.query(ctx, `count_over_time(helloagents_http_requests_total{job="backend",status_class="5xx"}[1h])`)
		if err == nil && n != nil && *n >= 3 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no three scrapes of the backend within a minute (last: %v, %v)\n%s", deref(n), err, promLog())
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}

	eu := region(t, 200, report(health.Healthy, health.Healthy, ""))
	d := deps{
		outputs: func(context.Context, string) (map[string]any, error) {
			return map[string]any{"backendImage": image, "healthUrls": map[string]any{"eu-west": eu.URL + "/health/ready"}}, nil
		},
		config: func(context.Context, string) (map[string]string, error) {
			return map[string]string{
				"helloagents:regions": `[{"name":"eu-west","dockerHost":"ssh://eu"}]`,
				"helloagents:slo":     `{"availability":0.98}`,
			}, nil
		},
		client:   http.DefaultClient,
		replicas: &fakeReplicas{byRegion: map[string][]Replica{"eu-west": {{Name: "b-0", State: "running", Health: "healthy"}}}},
	}
	var out, errOut bytes.Buffer
	args := []string{"--stack", "staging", "--json", "--prometheus", "eu-west=" + promURL}
	if code := run(t.Context(), args, func(string) string { return "" }, d, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, &out, &errOut)
	}
	var st Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	m := st.Regions[0].Metrics
	if m.Error != "" {
		t.Fatalf("metrics unavailable: %s\n%s", m.Error, promLog())
	}
	ratio := 1.0 / 101
	for _, c := range []struct {
		name      string
		got       *float64
		want, tol float64
	}{
		{"error ratio", m.ErrorRatio, ratio, 1e-9},
		{"p95", m.P95Seconds, 0.1 + 0.15*(0.95*101)/100, 1e-9},
		{"error budget left", m.ErrorBudgetLeft, 1 - ratio/0.02, 1e-9}, // availability 0.98 from the stack config
	} {
		if c.got == nil || math.Abs(*c.got-c.want) > c.tol {
			t.Errorf("%s = %v, want %v", c.name, deref(c.got), c.want)
		}
	}
}

// fakeBackendMetrics serves the backend's request metrics (the same
// client_golang vectors as backend/metrics); each scrape adds a round of
// traffic first.
func fakeBackendMetrics(t *testing.T) *httptest.Server {
	t.Helper()
	reg := promclient.NewRegistry()
	requests := promclient.NewCounterVec(promclient.CounterOpts{
		Name: "helloagents_http_requests_total", Help: "HTTP requests answered.",
	}, []string{"method", "route", "status_class"})
	durations := promclient.NewHistogramVec(promclient.HistogramOpts{
		Name: "helloagents_http_request_duration_seconds", Help: "Time to answer.", Buckets: monitoring.DurationBuckets(),
	}, []string{"method", "route"})
	reg.MustRegister(requests, durations)
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	const route = "GET /api/v1/courses"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.WithLabelValues(http.MethodGet, route, "2xx").Add(100)
		requests.WithLabelValues(http.MethodGet, route, "5xx").Add(1)
		for range 100 {
			durations.WithLabelValues(http.MethodGet, route).Observe(0.2)
		}
		durations.WithLabelValues(http.MethodGet, route).Observe(0.7)
		metrics.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startPrometheus runs prometheus scraping target every second as job
// "backend", and returns its URL once ready, and its log (complete once
// the test has ended it).
func startPrometheus(t *testing.T, bin, target string) (string, func() string) {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
  external_labels: {stack: staging, region: eu-west}
scrape_configs:
  - job_name: backend
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() { cancel(); <-exited }
	t.Cleanup(stop)
	logText := func() string { stop(); return log.String() }

	u := "http://" + addr
	ready, cancelReady := context.WithTimeout(t.Context(), time.Minute)
	defer cancelReady()
	for {
		req, _ := http.NewRequestWithContext(ready, http.MethodGet, u+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return u, logText
			}
		}
		select {
		case <-exited:
			t.Fatalf("prometheus exited\n%s", log.String())
		case <-ready.Done():
			t.Fatalf("prometheus not ready within a minute: %v\n%s", err, logText())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
