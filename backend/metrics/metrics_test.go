package metrics

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/helloagents/infra/backend/health"
)

func newMetrics(t *testing.T, o Options) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg, o)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// TestLabels proves every label is one of a bounded set, whatever the
// client sends.
func TestLabels(t *testing.T) {
	tests := []struct {
		fn       func(string) string
		in, want string
	}{
		{Route, "GET /api/v1/courses", "/api/v1/courses"},
		{Route, "GET /health/live", "/health/live"},
		{Route, "/health", "/health"},
		{Route, "", UnmatchedRoute},
		{Method, "GET", "GET"},
		{Method, "DELETE", "DELETE"},
		{Method, "get", OtherMethod},
		{Method, "BREW", OtherMethod},
		{Method, strings.Repeat("X", 1000), OtherMethod},
	}
	for _, tt := range tests {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("%q → %q, want %q", tt.in, got, tt.want)
		}
	}
	classes := []struct {
		code int
		want string
	}{{101, "1xx"}, {200, "2xx"}, {204, "2xx"}, {304, "3xx"}, {404, "4xx"}, {499, "4xx"}, {500, "5xx"}, {503, "5xx"}, {0, "other"}, {600, "other"}}
	for _, c := range classes {
		if got := StatusClass(c.code); got != c.want {
			t.Errorf("StatusClass(%d) = %q, want %q", c.code, got, c.want)
		}
	}
}

// TestDurationBucketsHoldObjective proves the P95 objective (0.5 s) is a
// bucket bound of the histogram as registered.
func TestDurationBucketsHoldObjective(t *testing.T) {
	m, reg := newMetrics(t, Options{})
	m.ObserveRequest("GET", "GET /x", 200, 300*time.Millisecond)
	m.ObserveRequest("GET", "GET /x", 200, 500*time.Millisecond) // a bound is inclusive (le)
	m.ObserveRequest("GET", "GET /x", 200, 700*time.Millisecond)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "helloagents_http_request_duration_seconds" {
			continue
		}
		for _, b := range f.GetMetric()[0].GetHistogram().GetBucket() {
			if b.GetUpperBound() == 0.5 {
				if b.GetCumulativeCount() != 2 {
					t.Errorf("le=0.5 holds %d, want 2", b.GetCumulativeCount())
				}
				return
			}
		}
	}
	t.Errorf("no le=0.5 bucket among %v", DurationBuckets())
}

// TestObserveHealth proves the component gauge follows the reports: 1 for
// the current status, 0 for the one before, components never reported absent.
func TestObserveHealth(t *testing.T) {
	m, reg := newMetrics(t, Options{})
	report := func(c map[string]health.Status) {
		rep := health.Report{Components: map[string]health.Result{}}
		for name, s := range c {
			rep.Components[name] = health.Result{Status: s}
		}
		m.ObserveHealth(rep)
	}
	report(map[string]health.Status{"database": health.Healthy, "backups": health.Disabled})
	report(map[string]health.Status{"database": health.Standby})
	report(map[string]health.Status{"database": health.Degraded, health.ShutdownComponent: health.Unhealthy})
	report(map[string]health.Status{"database": health.Degraded})
	want := `
# HELP helloagents_health_component_status 1 for each health component's current status (as last reported by /health or /health/ready), 0 for its earlier ones.
# TYPE helloagents_health_component_status gauge
helloagents_health_component_status{component="backups",status="disabled"} 1
helloagents_health_component_status{component="database",status="degraded"} 1
helloagents_health_component_status{component="database",status="healthy"} 0
helloagents_health_component_status{component="database",status="standby"} 0
helloagents_health_component_status{component="server",status="unhealthy"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "helloagents_health_component_status"); err != nil {
		t.Error(err)
	}
}

// TestHandler scrapes the handler as Prometheus would and parses the text:
// GET /metrics only, build info labelled, runtime metrics present.
func TestHandler(t *testing.T) {
	_, reg := newMetrics(t, Options{Version: "1.2.3", Fingerprint: "3f9a1c0b2d"})
	h := Handler(reg, log.New(io.Discard, "", 0))
	tests := []struct {
		method, path string
		code         int
	}{
		{"GET", Path, 200},
		{"HEAD", Path, 200},
		{"POST", Path, 405},
		{"GET", "/health/live", 404},
		{"GET", "/", 404},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequestWithContext(context.Background(), tt.method, tt.path, nil))
		if w.Code != tt.code {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, w.Code, tt.code)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequestWithContext(context.Background(), "GET", Path, nil))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(w.Body)
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	bi := fams["helloagents_build_info"]
	if bi == nil || len(bi.GetMetric()) != 1 || bi.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Fatalf("build info = %v", bi)
	}
	var labels []string
	for _, l := range bi.GetMetric()[0].GetLabel() {
		labels = append(labels, l.GetName()+"="+l.GetValue())
	}
	if want := []string{"fingerprint=3f9a1c0b2d", "version=1.2.3"}; !slices.Equal(labels, want) {
		t.Errorf("build info labels = %v, want %v", labels, want)
	}
	for _, name := range []string{"go_goroutines", "helloagents_http_requests_in_flight"} {
		if fams[name] == nil {
			t.Errorf("%s missing from the exposition", name)
		}
	}
}

// TestNewRefusesSecondRegistration proves registration errors are returned
// with context, not panics: the registry is the caller's.
func TestNewRefusesSecondRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg, Options{}); err != nil {
		t.Fatal(err)
	}
	_, err := New(reg, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "metrics: register: ") {
		t.Errorf("second New on one registry: err = %v", err)
	}
}

// TestObserveRequestConcurrent records from many goroutines at once (and
// is for the race detector): the stripes add up to every request.
func TestObserveRequestConcurrent(t *testing.T) {
	m, reg := newMetrics(t, Options{})
	done := make(chan struct{})
	for i := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for j := range 100 {
				m.RequestStarted()
				m.ObserveRequest(http.MethodGet, []string{"GET /a", "GET /b", ""}[j%3], 200+100*(i%4), time.Millisecond)
				m.RequestFinished()
				m.ObserveHealth(health.Report{Components: map[string]health.Result{"database": {Status: health.Healthy}}})
			}
		}()
	}
	for range 8 {
		<-done
	}
	if n, err := testutil.GatherAndCount(reg, "helloagents_http_requests_total"); err != nil || n != 12 {
		t.Errorf("%d series (err %v), want 3 routes × 4 classes", n, err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total, inFlight := 0.0, -1.0
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			switch f.GetName() {
			case "helloagents_http_requests_total":
				total += s.GetCounter().GetValue()
			case "helloagents_http_requests_in_flight":
				inFlight = s.GetGauge().GetValue()
			}
		}
	}
	if total != 800 || inFlight != 0 {
		t.Errorf("stripes sum to %v requests, %v in flight; want 800, 0", total, inFlight)
	}
}

// TestPatternsSharingAPath proves two patterns of one path ("GET /x",
// "POST /x") are one route: one histogram series, a counter per method,
// and a registry that checks every collected metric against its
// descriptors accepts them.
func TestPatternsSharingAPath(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := New(reg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveRequest("GET", "GET /x", 200, time.Millisecond)
	m.ObserveRequest("POST", "POST /x", 201, 30*time.Millisecond)
	m.ObserveRequest("POST", "POST /x", 500, 6*time.Second)
	want := `
# HELP helloagents_http_requests_total HTTP requests answered, by method, route pattern and status class.
# TYPE helloagents_http_requests_total counter
helloagents_http_requests_total{method="GET",route="/x",status_class="2xx"} 1
helloagents_http_requests_total{method="POST",route="/x",status_class="2xx"} 1
helloagents_http_requests_total{method="POST",route="/x",status_class="5xx"} 1
# HELP helloagents_http_request_duration_seconds Time to answer an HTTP request, by route pattern.
# TYPE helloagents_http_request_duration_seconds histogram
helloagents_http_request_duration_seconds_bucket{route="/x",le="0.005"} 1
helloagents_http_request_duration_seconds_bucket{route="/x",le="0.01"} 1
helloagents_http_request_duration_seconds_bucket{route="/x",le="0.025"} 1
helloagents_http_request_duration_seconds_bucket{route="/x",le="0.05"} 2
helloagents_http_request_duration_seconds_bucket{route="/x",le="0.1"} 2
helloagents_http_request_duration_seconds_bucket{route="/x",le="0.25"} 2
helloagents_http_request_duration_seconds_bucket{route="/x",le="0.5"} 2
helloagents_http_request_duration_seconds_bucket{route="/x",le="1"} 2
helloagents_http_request_duration_seconds_bucket{route="/x",le="2.5"} 2
helloagents_http_request_duration_seconds_bucket{route="/x",le="5"} 2
helloagents_http_request_duration_seconds_bucket{route="/x",le="+Inf"} 3
helloagents_http_request_duration_seconds_sum{route="/x"} 6.031
helloagents_http_request_duration_seconds_count{route="/x"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"helloagents_http_requests_total", "helloagents_http_request_duration_seconds"); err != nil {
		t.Error(err)
	}
}
