package metrics

import (
	"context"
	"fmt"
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
		{RouteLabel, "GET /api/v1/courses", "/api/v1/courses"},
		{RouteLabel, "GET /health/live", "/health/live"},
		{RouteLabel, "POST  /x/{id}", "/x/{id}"},
		{RouteLabel, "/health", "/health"},
		{RouteLabel, "", UnmatchedRoute},
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
// bucket bound of the histogram as registered, inclusive (le).
func TestDurationBucketsHoldObjective(t *testing.T) {
	m, reg := newMetrics(t, Options{})
	rt := m.Route("GET /x")
	for _, d := range []time.Duration{300 * time.Millisecond, 500 * time.Millisecond, 700 * time.Millisecond} {
		rt.Observe("GET", 200, d)
	}
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
# HELP helloagents_health_component_status 1 for each health component's current status (as last reported by /health, /health/ready or the replica's periodic full check), 0 for its earlier ones.
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

// TestObserveConcurrent records from many goroutines at once, each with
// its own Route of the same patterns (as two registrations would), and is
// for the race detector: every request is counted once, in one series per
// label set.
func TestObserveConcurrent(t *testing.T) {
	m, reg := newMetrics(t, Options{})
	done := make(chan struct{})
	for i := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			routes := []*Route{m.Route("GET /a"), m.Route("GET /b"), m.Unmatched()}
			for j := range 100 {
				m.RequestStarted()
				routes[j%3].Observe(http.MethodGet, 200+100*(i%4), time.Millisecond)
				m.RequestFinished()
				m.ObserveHealth(health.Report{Components: map[string]health.Result{"database": {Status: health.Healthy}}})
			}
		}()
	}
	for range 8 {
		<-done
	}
	// 3 routes × 4 classes (2xx..5xx), the 2 registered ones' 2xx, 4xx and 5xx created up front among them.
	if n, err := testutil.GatherAndCount(reg, "helloagents_http_requests_total"); err != nil || n != 12 {
		t.Errorf("%d series (err %v), want 3 routes × 4 classes", n, err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total, observed, inFlight := 0.0, uint64(0), -1.0
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			switch f.GetName() {
			case "helloagents_http_requests_total":
				total += s.GetCounter().GetValue()
			case "helloagents_http_request_duration_seconds":
				observed += s.GetHistogram().GetSampleCount()
			case "helloagents_http_requests_in_flight":
				inFlight = s.GetGauge().GetValue()
			}
		}
	}
	if total != 800 || observed != 800 || inFlight != 0 {
		t.Errorf("%v requests counted, %d observed, %v in flight; want 800, 800, 0", total, observed, inFlight)
	}
}

// TestRoutes proves the exact series: a registered pattern's method has its
// 2xx, 4xx and 5xx counters and its histogram before any request; two
// patterns of one path ("GET /x", "POST /x") are one route label with a
// series per method; methods outside the standard set are OTHER, codes
// outside 100..599 "other"; and a registry that checks every collected
// metric against its descriptors accepts them.
func TestRoutes(t *testing.T) {
	tests := []struct {
		name    string
		observe func(m *Metrics)
		want    string
	}{
		{
			name:    "registered, no request yet",
			observe: func(m *Metrics) { m.Route("GET /x") },
			want: `
helloagents_http_requests_total{method="GET",route="/x",status_class="2xx"} 0
helloagents_http_requests_total{method="GET",route="/x",status_class="4xx"} 0
helloagents_http_requests_total{method="GET",route="/x",status_class="5xx"} 0
` + histogram("GET", "/x", [11]int{}, 0),
		},
		{
			name:    "pattern without a method: nothing up front",
			observe: func(m *Metrics) { m.Route("/x") },
			want:    "",
		},
		{
			name: "two patterns of one path",
			observe: func(m *Metrics) {
				m.Route("GET /x").Observe("GET", 200, time.Millisecond)
				post := m.Route("POST /x")
				post.Observe("POST", 201, 30*time.Millisecond)
				post.Observe("POST", 500, 6*time.Second)
			},
			want: `
helloagents_http_requests_total{method="GET",route="/x",status_class="2xx"} 1
helloagents_http_requests_total{method="GET",route="/x",status_class="4xx"} 0
helloagents_http_requests_total{method="GET",route="/x",status_class="5xx"} 0
helloagents_http_requests_total{method="POST",route="/x",status_class="2xx"} 1
helloagents_http_requests_total{method="POST",route="/x",status_class="4xx"} 0
helloagents_http_requests_total{method="POST",route="/x",status_class="5xx"} 1
` + histogram("GET", "/x", [11]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 0.001) +
				histogram("POST", "/x", [11]int{0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2}, 6.03),
		},
		{
			name: "unmatched, odd method and code",
			observe: func(m *Metrics) {
				m.Unmatched().Observe("BREW", 418, 0)
				m.Unmatched().Observe("get", 999, 0)
				m.Unmatched().Observe("HEAD", 404, 0)
			},
			want: `
helloagents_http_requests_total{method="HEAD",route="unmatched",status_class="4xx"} 1
helloagents_http_requests_total{method="OTHER",route="unmatched",status_class="4xx"} 1
helloagents_http_requests_total{method="OTHER",route="unmatched",status_class="other"} 1
` + histogram("HEAD", "unmatched", [11]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 0) +
				histogram("OTHER", "unmatched", [11]int{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, 0),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m, err := New(reg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			tt.observe(m)
			var want strings.Builder
			if c, h, ok := strings.Cut(tt.want, "helloagents_http_request_duration_seconds"); ok {
				want.WriteString(countersHeader + c + histogramHeader + "helloagents_http_request_duration_seconds" + h)
			} else if tt.want != "" {
				want.WriteString(countersHeader + tt.want)
			}
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want.String()),
				"helloagents_http_requests_total", "helloagents_http_request_duration_seconds"); err != nil {
				t.Error(err)
			}
		})
	}
}

const countersHeader = `
# HELP helloagents_http_requests_total HTTP requests answered, by method, route pattern and status class.
# TYPE helloagents_http_requests_total counter
`

const histogramHeader = `# HELP helloagents_http_request_duration_seconds Time to answer an HTTP request, by method and route pattern.
# TYPE helloagents_http_request_duration_seconds histogram
`

// histogram is the exposition of one duration histogram series with
// cumulative bucket counts cum (the last is +Inf, also the count).
func histogram(method, route string, cum [11]int, sum float64) string {
	var b strings.Builder
	les := []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"}
	for i, le := range les {
		fmt.Fprintf(&b, "helloagents_http_request_duration_seconds_bucket{method=%q,route=%q,le=%q} %d\n", method, route, le, cum[i])
	}
	fmt.Fprintf(&b, "helloagents_http_request_duration_seconds_sum{method=%q,route=%q} %v\n", method, route, sum)
	fmt.Fprintf(&b, "helloagents_http_request_duration_seconds_count{method=%q,route=%q} %d\n", method, route, cum[10])
	return b.String()
}
