package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/helloagents/infra/backend/metrics"
	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/testkit"
)

// metricsEnv is a server configuration with metrics on, against a
// database that is down (nothing listens on its port): the server serves
// anyway, and no PostgreSQL is needed.
func metricsEnv(t *testing.T, port, metricsPort int) map[string]string {
	return map[string]string{
		"DATABASE_URL": fmt.Sprintf("postgres://app@127.0.0.1:%d/app?sslmode=disable", freePort(t)),
		"HOST":         "127.0.0.1", "PORT": strconv.Itoa(port), "METRICS_PORT": strconv.Itoa(metricsPort),
		"APP_VERSION": "1.0.0", "IMAGE_FINGERPRINT": "3f9a1c0b2d",
		"HEALTH_CHECK_TIMEOUT": "500ms", "SHUTDOWN_DELAY": "0s", "SHUTDOWN_TIMEOUT": "5s",
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

// TestMetricsServer runs the real server binary against a real PostgreSQL
// with METRICS_PORT set, drives traffic, and scrapes the metrics listener
// as Prometheus would. It checks what the dashboards and the SLO rules
// read: the exact request series (route template, method, status class;
// every unknown path one "unmatched" route), the duration histogram's
// {method,route} series and its 0.5 s bucket, build info, the database
// pool and health components; that the two ports serve apart; and that
// scrapes during the pre-stop delay see the replica shutting down, and the
// listener closes when the process exits.
func TestMetricsServer(t *testing.T) {
	pg := pgtest.Start(t)
	bin := buildServer(t)
	mport := freePort(t)
	mbase := fmt.Sprintf("http://127.0.0.1:%d", mport)
	// The pre-stop delay is the longest allowed; the test's second SIGTERM ends it.
	p := startServer(t, bin, "DATABASE_URL="+pg.CreateDB(t, "metrics")+"&pool_max_conns=7", "METRICS_PORT="+strconv.Itoa(mport),
		"APP_VERSION=2.3.4", "IMAGE_FINGERPRINT=sha256:3f9a1c0b2d", "SHUTDOWN_DELAY=1m", "SHUTDOWN_TIMEOUT=5s")
	waitFor(t, p.base+"/health/ready", 200, 30*time.Second) // migrated
	// No client asks for /health yet: the replica's own full check
	// (refreshHealth, started beside the listeners) reports every
	// component, not only readiness's.
	first := scrapeUntilReported(t, mbase, []string{"database", "sandbox_pool", "ai_service", "backups"}, 30*time.Second)
	before := requestCounts(first)

	traffic := []struct {
		method, path string
		code         int // 0: whatever it is (the full /health depends on the host)
	}{
		{"GET", "/health/live", 200},
		{"GET", "/health/live", 200},
		{"HEAD", "/health/live", 200},
		{"GET", "/api/v1/courses", 200},
		{"GET", "/api/v1/courses?limit=0", 400},
		{"GET", "/health", 0},
		{"GET", "/scan/1/wp-login.php", 404},
		{"GET", "/scan/2/.env", 404},
		{"GET", "/api/v1/courses/42", 404},
		{"GET", metrics.Path, 404}, // the API port does not serve the metrics
		{"POST", "/health/live", 405},
		{"BREW", "/health/live", 405},
	}
	want := map[string]float64{}
	for _, r := range traffic {
		code := request(t, r.method, p.base+r.path)
		if r.code != 0 && code != r.code {
			t.Fatalf("%s %s = %d, want %d", r.method, r.path, code, r.code)
		}
		route := "unmatched"
		if code != 404 && code != 405 {
			route, _, _ = strings.Cut(r.path, "?")
		}
		method := r.method
		if method == "BREW" {
			method = "OTHER"
		}
		want[fmt.Sprintf("method=%s,route=%s,status_class=%dxx", method, route, code/100)]++
	}
	// The metrics port serves /metrics and nothing else.
	for _, path := range []string{"/health/live", "/api/v1/courses", "/"} {
		if code := request(t, "GET", mbase+path); code != 404 {
			t.Errorf("metrics port: GET %s = %d, want 404", path, code)
		}
	}

	fams := scrape(t, mbase)
	after := requestCounts(fams)
	// Exactly these label sets: each registered pattern's GET 2xx/4xx/5xx
	// (from the start), and what the traffic added.
	wantSeries := map[string]bool{}
	for _, route := range []string{"/health", "/health/ready", "/health/live", "/api/v1/courses"} {
		for _, class := range []string{"2xx", "4xx", "5xx"} {
			wantSeries["method=GET,route="+route+",status_class="+class] = true
		}
	}
	for k := range want {
		wantSeries[k] = true
	}
	if got := slices.Sorted(maps.Keys(after)); !slices.Equal(got, slices.Sorted(maps.Keys(wantSeries))) {
		t.Errorf("helloagents_http_requests_total series:\n got %q\nwant %q", got, slices.Sorted(maps.Keys(wantSeries)))
	}
	for k, n := range want {
		if d := after[k] - before[k]; d != n {
			t.Errorf("helloagents_http_requests_total{%s} grew by %v, want %v", k, d, n)
		}
	}

	checkDurations(t, fams, map[string]bool{
		"method=GET,route=/health": true, "method=GET,route=/health/ready": true, "method=GET,route=/health/live": true,
		"method=HEAD,route=/health/live": true, "method=GET,route=/api/v1/courses": true,
		"method=GET,route=unmatched": true, "method=POST,route=unmatched": true, "method=OTHER,route=unmatched": true,
	})
	for _, c := range []struct {
		name, labels string
		want         float64
	}{
		{"helloagents_build_info", "fingerprint=sha256:3f9a1c0b2d,version=2.3.4", 1},
		{"helloagents_health_component_status", "component=database,status=healthy", 1},
		{"helloagents_http_requests_in_flight", "", 0},
		{"helloagents_db_pool_max_conns", "", 7}, // pool_max_conns in DATABASE_URL
	} {
		if got, ok := value(fams, c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s{%s} = %v (present %t), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if n := len(fams["helloagents_build_info"].GetMetric()); n != 1 {
		t.Errorf("helloagents_build_info: %d series, want 1", n)
	}
	if got, _ := value(fams, "helloagents_db_pool_acquires_total", ""); got < 1 {
		t.Errorf("helloagents_db_pool_acquires_total = %v after readiness probes and a query, want >= 1", got)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "helloagents_db_pool_idle_conns",
		"helloagents_db_pool_total_conns", "helloagents_db_pool_acquired_conns", "helloagents_db_pool_empty_acquires_total",
		"helloagents_db_pool_canceled_acquires_total", "helloagents_db_pool_acquire_duration_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "/scan") || strings.Contains(l.GetValue(), "BREW") {
					t.Errorf("%s: label %s=%q carries what the client sent", name, l.GetName(), l.GetValue())
				}
			}
		}
	}

	p.signal(t, syscall.SIGTERM) // the pre-stop delay begins
	waitShutdownScraped(t, p, mbase)
	p.signal(t, syscall.SIGTERM) // ends the delay: drain, exit
	p.waitExit(t, 30*time.Second)
	dialer := net.Dialer{Timeout: time.Second}
	if _, err := dialer.DialContext(context.Background(), "tcp", fmt.Sprintf("127.0.0.1:%d", mport)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("metrics port after exit: dial err = %v, want connection refused", err)
	}
}

// componentSeriesAtOne counts component's health status series whose value is 1.
func componentSeriesAtOne(fams map[string]*dto.MetricFamily, component string) int {
	n := 0
	for _, m := range fams["helloagents_health_component_status"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "component" && l.GetValue() == component && m.GetGauge().GetValue() == 1 {
				n++
			}
		}
	}
	return n
}

// scrapeUntilReported scrapes until each component has exactly one
// status series at 1 and returns that scrape; past limit it fails with the
// components still missing. The first full check runs concurrently with
// startup, so readiness alone does not mean it has finished.
func scrapeUntilReported(t *testing.T, base string, components []string, limit time.Duration) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		fams := scrape(t, base)
		var missing []string
		for _, c := range components {
			if n := componentSeriesAtOne(fams, c); n != 1 {
				missing = append(missing, fmt.Sprintf("%s (%d series at 1)", c, n))
			}
		}
		if len(missing) == 0 {
			return fams
		}
		if time.Now().After(deadline) {
			t.Fatalf("before any GET /health, after %v: helloagents_health_component_status has no single current status for %s", limit, strings.Join(missing, ", "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// requestCounts is helloagents_http_requests_total by sorted labels.
func requestCounts(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fams["helloagents_http_requests_total"].GetMetric() {
		out[labels(m)] = m.GetCounter().GetValue()
	}
	return out
}

// checkDurations proves the duration histogram is a histogram with exactly
// the want series, each with the 0.5 s bucket (the P95 objective) among
// cumulative buckets that never decrease.
func checkDurations(t *testing.T, fams map[string]*dto.MetricFamily, want map[string]bool) {
	t.Helper()
	f := fams["helloagents_http_request_duration_seconds"]
	if f.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("helloagents_http_request_duration_seconds is %v, want a histogram", f.GetType())
	}
	got := map[string]bool{}
	for _, m := range f.GetMetric() {
		got[labels(m)] = true
		h, half, last := m.GetHistogram(), false, uint64(0)
		for _, b := range h.GetBucket() {
			half = half || b.GetUpperBound() == 0.5
			if b.GetCumulativeCount() < last || b.GetCumulativeCount() > h.GetSampleCount() {
				t.Errorf("%s: bucket le=%v holds %d after %d, of %d", labels(m), b.GetUpperBound(), b.GetCumulativeCount(), last, h.GetSampleCount())
			}
			last = b.GetCumulativeCount()
		}
		if !half {
			t.Errorf("%s: no le=0.5 bucket", labels(m))
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("duration histogram series:\n got %v\nwant %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
}

// waitShutdownScraped probes readiness (so a report is computed) and
// scrapes until the report's "server" component, added once the server is
// shutting down, shows unhealthy. The pre-stop delay lasts until the test
// ends it, so the bound is only against a hung server.
func waitShutdownScraped(t *testing.T, p *serverProc, mbase string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		request(t, "GET", p.base+"/health/ready")
		if got, ok := value(scrape(t, mbase), "helloagents_health_component_status", "component=server,status=unhealthy"); ok && got == 1 {
			return
		}
	}
	t.Fatalf("no scrape during the pre-stop delay showed the server component unhealthy\n%s", p.out.String())
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
			var stdout, stderr testkit.SyncBuffer
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

// request is the status code of method url (a fresh connection each: the
// server under test may be closing them).
func request(t *testing.T, method, url string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
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

// labels are m's labels as sorted "name=value" pairs joined by commas.
func labels(m *dto.Metric) string {
	var ls []string
	for _, l := range m.GetLabel() {
		ls = append(ls, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(ls, ",")
}

// value is the sample of family name whose labels (see labels) are want.
func value(fams map[string]*dto.MetricFamily, name, want string) (float64, bool) {
	for _, m := range fams[name].GetMetric() {
		if labels(m) != want {
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
