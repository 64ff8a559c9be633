// Package prometheustest runs Debian's Prometheus (the package the
// regions' Prometheus image installs) for tests, scraping a stand-in for
// the backend's metrics listener whose numbers the tests know exactly.
package prometheustest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"

	"github.com/helloagents/infra/backend/testkit"
	"github.com/helloagents/infra/monitoring"
)

// Route is the one route of BackendMetrics' traffic.
const Route = "GET /api/v1/courses"

// What each scrape of BackendMetrics adds: OK requests answered 2xx in
// OKSeconds, Failed answered 5xx in FailedSeconds.
const (
	OK            = 100
	OKSeconds     = 0.2
	Failed        = 1
	FailedSeconds = 0.7
)

// ErrorRatio is the error ratio of BackendMetrics' traffic over any window
// of two scrapes or more: every scrape adds the same mix.
const ErrorRatio = float64(Failed) / (OK + Failed)

// P95 is the 95th percentile of that traffic as histogram_quantile reads
// it: in the (0.1, 0.25] bucket, where all OK requests are, linearly.
const P95 = 0.1 + (0.25-0.1)*(0.95*(OK+Failed))/OK

// BackendMetrics serves helloagents_http_requests_total and
// helloagents_http_request_duration_seconds as backend/metrics does
// (client_golang vectors, the same buckets); every scrape first adds a
// round of traffic: OK and Failed requests on Route (a ReplicaMetrics of
// fingerprint "test" without health probes).
func BackendMetrics(t testing.TB) *httptest.Server {
	t.Helper()
	return ReplicaMetrics(t, Replica{Fingerprint: "test", Started: time.Now(),
		OK: OK, Failed: Failed, OKSeconds: OKSeconds, FailedSeconds: FailedSeconds})
}

// Replica is a stand-in backend replica of a known build: every scrape of
// ReplicaMetrics first adds OK requests answered 2xx in OKSeconds, Failed
// answered 5xx in FailedSeconds (both on Route), and Probes health probes
// (route /health/ready, half of them 503, each in ProbeSeconds) that a
// judgement of the API's requests must leave out.
type Replica struct {
	Fingerprint   string    // helloagents_build_info's fingerprint label
	Started       time.Time // process_start_time_seconds
	OK, Failed    int
	OKSeconds     float64
	FailedSeconds float64
	Probes        int
	ProbeSeconds  float64
}

// HealthRoute is the route label of the probes of a Replica.
const HealthRoute = "/health/ready"

// ReplicaMetrics serves r's metrics as backend/metrics does (the request
// counter and histogram, helloagents_build_info, process_start_time_seconds).
func ReplicaMetrics(t testing.TB, r Replica) *httptest.Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "helloagents_http_requests_total", Help: "HTTP requests answered.",
	}, []string{"method", "route", "status_class"})
	durations := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "helloagents_http_request_duration_seconds", Help: "Time to answer.", Buckets: monitoring.DurationBuckets(),
	}, []string{"method", "route"})
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "helloagents_build_info", Help: "Always 1.",
		ConstLabels: prometheus.Labels{"version": "test", "fingerprint": r.Fingerprint},
	})
	info.Set(1)
	start := prometheus.NewGauge(prometheus.GaugeOpts{Name: "process_start_time_seconds", Help: "Start time."})
	start.Set(float64(r.Started.UnixNano()) / 1e9)
	reg.MustRegister(requests, durations, info, start)
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		requests.WithLabelValues(http.MethodGet, Route, "2xx").Add(float64(r.OK))
		requests.WithLabelValues(http.MethodGet, Route, "5xx").Add(float64(r.Failed))
		if r.Probes > 0 {
			requests.WithLabelValues(http.MethodGet, HealthRoute, "2xx").Add(float64(r.Probes - r.Probes/2))
			requests.WithLabelValues(http.MethodGet, HealthRoute, "5xx").Add(float64(r.Probes / 2))
		}
		d := durations.WithLabelValues(http.MethodGet, Route)
		for range r.OK {
			d.Observe(r.OKSeconds)
		}
		for range r.Failed {
			d.Observe(r.FailedSeconds)
		}
		for range r.Probes {
			durations.WithLabelValues(http.MethodGet, HealthRoute).Observe(r.ProbeSeconds)
		}
		metrics.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Config is what the test Prometheus scrapes and evaluates.
type Config struct {
	// Backend is the address (host:port) scraped as job "backend" every
	// second.
	Backend string
	// Backends are more addresses scraped in that job.
	Backends []string
	// Rules, when set, is the rule file it loads, evaluated every second.
	Rules []byte
}

// Server is a running Prometheus.
type Server struct {
	// URL is its base URL: http://127.0.0.1:port.
	URL  string
	API  v1.API
	stop func()
	log  *bytes.Buffer
}

// Log stops Prometheus and returns what it logged.
func (s *Server) Log() string {
	s.stop()
	return s.log.String()
}

// Start runs Prometheus until the test ends and returns it once ready.
// Without the binary the test is skipped, or fails under CI.
func Start(t testing.TB, c Config) *Server {
	t.Helper()
	bin := testkit.RequireTool(t, "prometheus", "apt-get install prometheus")
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: backend
    static_configs:
      - targets: [%s]
`, targets(c))
	if c.Rules != nil {
		write(t, filepath.Join(dir, "rules.yml"), c.Rules)
		cfg += fmt.Sprintf("rule_files: [%q]\n", filepath.Join(dir, "rules.yml"))
	}
	write(t, filepath.Join(dir, "prometheus.yml"), []byte(cfg))
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	s := &Server{URL: "http://" + addr, log: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.stop = func() { cancel(); <-exited }
	t.Cleanup(s.stop)
	client, err := api.NewClient(api.Config{Address: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	s.API = v1.NewAPI(client)

	ready, cancelReady := context.WithTimeout(t.Context(), time.Minute)
	defer cancelReady()
	for {
		req, err := http.NewRequestWithContext(ready, http.MethodGet, s.URL+"/-/ready", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", s.log)
		case <-ready.Done():
			t.Fatalf("prometheus not ready within a minute: %v\n%s", err, s.Log())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Query runs an instant query.
func (s *Server) Query(ctx context.Context, q string) (model.Vector, error) {
	v, _, _, err := s.API.Query(ctx, q, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("%s: a %s, want a vector", q, v.Type())
	}
	return vec, nil
}

// WaitFor polls q until its first sample is at least min; it fails the
// test after a minute.
func (s *Server) WaitFor(t testing.TB, q string, minimum float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		vec, err := s.Query(ctx, q)
		if err == nil && len(vec) > 0 && float64(vec[0].Value) >= minimum {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not reach %v within a minute (last: %v, %v)\n%s", q, minimum, vec, err, s.Log())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// targets is the YAML flow list of the scraped addresses.
func targets(c Config) string {
	var ts []string
	for _, a := range append([]string{c.Backend}, c.Backends...) {
		if a != "" {
			ts = append(ts, strconv.Quote(a))
		}
	}
	return strings.Join(ts, ", ")
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
