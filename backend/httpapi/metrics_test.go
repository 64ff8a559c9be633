package httpapi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/metrics"
	"github.com/helloagents/infra/backend/store"
)

// newMeteredAPI is newAPI with metrics on a fresh registry. The course
// lister fails for limit=7 (503) and panics for limit=13 (500), so one
// handler has known, failing and crashing routes.
func newMeteredAPI(t *testing.T, mod func(*Deps)) (http.Handler, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.Options{Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := newAPI(t, func(d *Deps) {
		d.Metrics = m
		d.Courses = lister(func(_ context.Context, limit int) ([]store.Course, error) {
			switch limit {
			case 7:
				return nil, errors.New("connection refused")
			case 13:
				panic("boom")
			}
			return []store.Course{}, nil
		})
		if mod != nil {
			mod(d)
		}
	})
	return h, reg
}

// TestMetricsCountRequests drives the real handler and compares the exact
// request series: the route is the matched pattern's path (each registered
// pattern's 2xx, 4xx and 5xx exist from the start), every unknown path and
// refused method is "unmatched", a non-standard method is OTHER; and the
// duration histogram has one series per method and route.
func TestMetricsCountRequests(t *testing.T) {
	h, reg := newMeteredAPI(t, nil)
	requests := []struct {
		method, target string
		code           int
	}{
		{"GET", "/health/live", 200},
		{"GET", "/health/live", 200},
		{"HEAD", "/health/live", 200},
		{"GET", "/health/ready", 200},
		{"GET", "/health", 503}, // sandbox_pool is unhealthy in newAPI
		{"GET", "/api/v1/courses", 200},
		{"GET", "/api/v1/courses?limit=0", 400},
		{"GET", "/api/v1/courses?limit=7", 503},
		{"GET", "/api/v1/courses?limit=13", 500},
		{"GET", "/nope", 404},
		{"GET", "/api/v1/courses/42", 404},
		{"POST", "/health", 405},
		{"BREW", "/health/live", 405},
	}
	for _, r := range requests {
		if w := do(h, r.method, r.target, nil); w.Code != r.code {
			t.Fatalf("%s %s = %d, want %d", r.method, r.target, w.Code, r.code)
		}
	}
	want := `
# HELP helloagents_http_requests_total HTTP requests answered, by method, route pattern and status class.
# TYPE helloagents_http_requests_total counter
helloagents_http_requests_total{method="GET",route="/health/live",status_class="2xx"} 2
helloagents_http_requests_total{method="GET",route="/health/live",status_class="4xx"} 0
helloagents_http_requests_total{method="GET",route="/health/live",status_class="5xx"} 0
helloagents_http_requests_total{method="HEAD",route="/health/live",status_class="2xx"} 1
helloagents_http_requests_total{method="GET",route="/health/ready",status_class="2xx"} 1
helloagents_http_requests_total{method="GET",route="/health/ready",status_class="4xx"} 0
helloagents_http_requests_total{method="GET",route="/health/ready",status_class="5xx"} 0
helloagents_http_requests_total{method="GET",route="/health",status_class="2xx"} 0
helloagents_http_requests_total{method="GET",route="/health",status_class="4xx"} 0
helloagents_http_requests_total{method="GET",route="/health",status_class="5xx"} 1
helloagents_http_requests_total{method="GET",route="/api/v1/courses",status_class="2xx"} 1
helloagents_http_requests_total{method="GET",route="/api/v1/courses",status_class="4xx"} 1
helloagents_http_requests_total{method="GET",route="/api/v1/courses",status_class="5xx"} 2
helloagents_http_requests_total{method="GET",route="unmatched",status_class="4xx"} 2
helloagents_http_requests_total{method="POST",route="unmatched",status_class="4xx"} 1
helloagents_http_requests_total{method="OTHER",route="unmatched",status_class="4xx"} 1
# HELP helloagents_http_requests_in_flight HTTP requests being served.
# TYPE helloagents_http_requests_in_flight gauge
helloagents_http_requests_in_flight 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"helloagents_http_requests_total", "helloagents_http_requests_in_flight"); err != nil {
		t.Error(err)
	}
	wantCounts := map[string]uint64{
		"GET /health/live": 2, "HEAD /health/live": 1, "GET /health/ready": 1, "GET /health": 1,
		"GET /api/v1/courses": 4, "GET unmatched": 2, "POST unmatched": 1, "OTHER unmatched": 1,
	}
	if got := histogramCounts(t, reg); !maps.Equal(got, wantCounts) {
		t.Errorf("duration histogram counts = %v, want %v", got, wantCounts)
	}
}

// histogramCounts is the number of observations of each duration histogram
// series, by "method route".
func histogramCounts(t *testing.T, reg *prometheus.Registry) map[string]uint64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, f := range fams {
		if f.GetName() != "helloagents_http_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			out[label(m, "method")+" "+label(m, "route")] = m.GetHistogram().GetSampleCount()
		}
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestMetricsUnmatchedCardinality proves the raw path never becomes a
// label: 100 distinct unknown paths (and as many odd methods) add one
// series to each metric, route="unmatched".
func TestMetricsUnmatchedCardinality(t *testing.T) {
	h, reg := newMeteredAPI(t, nil)
	names := []string{"helloagents_http_requests_total", "helloagents_http_request_duration_seconds"}
	before := map[string]int{}
	for _, name := range names {
		n, err := testutil.GatherAndCount(reg, name)
		if err != nil {
			t.Fatal(err)
		}
		before[name] = n
	}
	for i := range 100 {
		if w := do(h, "GET", fmt.Sprintf("/scan/%d/wp-login.php?x=%d", i, i), nil); w.Code != 404 {
			t.Fatalf("code %d", w.Code)
		}
		if w := do(h, fmt.Sprintf("X-%d", i), "/health/live", nil); w.Code != 405 {
			t.Fatalf("code %d", w.Code)
		}
	}
	for _, name := range names {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != before[name]+2 {
			t.Errorf("%s: %d series (err %v), want %d + 2 (GET and OTHER, unmatched)", name, n, err, before[name])
		}
	}
	if got := histogramCounts(t, reg); got["GET unmatched"] != 100 || got["OTHER unmatched"] != 100 {
		t.Errorf("unmatched observations = %v, want 100 GET and 100 OTHER", got)
	}
}

// TestMetricsNotOnAPIPort proves the API handler does not serve the
// metrics, with metrics on or off: they have a listener of their own.
func TestMetricsNotOnAPIPort(t *testing.T) {
	metered, _ := newMeteredAPI(t, nil)
	plain, _ := newAPI(t, nil)
	for name, h := range map[string]http.Handler{"metrics=on": metered, "metrics=off": plain} {
		t.Run(name, func(t *testing.T) {
			if w := do(h, "GET", metrics.Path, nil); w.Code != http.StatusNotFound {
				t.Errorf("GET %s on the API = %d %s, want 404", metrics.Path, w.Code, w.Body)
			}
		})
	}
}

// TestMetricsHealthComponents proves each health report sets the
// component status gauge, and a status change moves the 1.
func TestMetricsHealthComponents(t *testing.T) {
	status := health.Healthy
	h, reg := newMeteredAPI(t, func(d *Deps) {
		db := health.Check{Name: "database", Run: func(context.Context) health.Result { return health.Result{Status: status, Message: "m"} }}
		d.Full, d.Ready = []health.Check{db, check("ai_service", health.NotConfigured)}, []health.Check{db}
	})
	do(h, "GET", "/health", nil)
	status = health.Unhealthy
	do(h, "GET", "/health/ready", nil)
	want := `
# HELP helloagents_health_component_status 1 for each health component's current status (as last reported by /health, /health/ready or the replica's periodic full check), 0 for its earlier ones.
# TYPE helloagents_health_component_status gauge
helloagents_health_component_status{component="ai_service",status="not_configured"} 1
helloagents_health_component_status{component="database",status="healthy"} 0
helloagents_health_component_status{component="database",status="unhealthy"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "helloagents_health_component_status"); err != nil {
		t.Error(err)
	}
}

// TestMetricsInFlight proves a request is counted in flight while it is
// served, and no longer once answered.
func TestMetricsInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h, reg := newMeteredAPI(t, func(d *Deps) {
		d.Courses = lister(func(context.Context, int) ([]store.Course, error) {
			close(entered)
			<-release
			return nil, nil
		})
	})
	inFlight := func(n int) error {
		return testutil.GatherAndCompare(reg, strings.NewReader(fmt.Sprintf(`
# HELP helloagents_http_requests_in_flight HTTP requests being served.
# TYPE helloagents_http_requests_in_flight gauge
helloagents_http_requests_in_flight %d
`, n)), "helloagents_http_requests_in_flight")
	}
	done := make(chan int)
	go func() { done <- do(h, "GET", "/api/v1/courses", nil).Code }()
	<-entered
	if err := inFlight(1); err != nil {
		t.Errorf("while serving: %v", err)
	}
	close(release)
	if code := <-done; code != 200 {
		t.Fatalf("code %d", code)
	}
	if err := inFlight(0); err != nil {
		t.Errorf("after the answer: %v", err)
	}
}
