package metrics

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DurationBuckets are the request duration histogram's bounds in seconds.
// 0.5 s, the P95 latency objective, is a bound, so the objective is read
// from a bucket exactly rather than interpolated.
func DurationBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
}

// requests are helloagents_http_requests_total,
// helloagents_http_request_duration_seconds and
// helloagents_http_requests_in_flight: client_golang's own vector types.
type requests struct {
	total     *prometheus.CounterVec   // method, route, status_class
	durations *prometheus.HistogramVec // method, route
	inFlight  prometheus.Gauge
}

func newRequests() requests {
	return requests{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by method, route pattern and status class.",
		}, []string{"method", "route", "status_class"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method and route pattern.",
			Buckets: DurationBuckets(),
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
}

func (r requests) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.total, r.durations, r.inFlight}
}

// Route records the requests of one route label. It resolves each of its
// label sets in the vectors once, on first use, and keeps the child, so a
// request does no label hashing nor map lookup: an array index and an
// atomic load. A Route is safe for concurrent use.
type Route struct {
	label     string
	req       requests
	counters  [numMethods][numClasses]atomic.Pointer[prometheus.Counter]
	observers [numMethods]atomic.Pointer[prometheus.Observer]
}

// Route returns the recorder of a ServeMux pattern ("GET /api/v1/courses"
// → route "/api/v1/courses"); the server asks for one per pattern it
// registers, when it registers it, never per request. For a pattern with a
// method, the series of that method with status classes 2xx, 4xx and 5xx
// and its duration histogram are created at once, so a dashboard's error
// ratio of a route reads 0 before the route's first error rather than
// nothing. The other label sets appear on their first request.
func (m *Metrics) Route(pattern string) *Route {
	rt := &Route{label: RouteLabel(pattern), req: m.requests}
	if method, _, ok := cutMethod(pattern); ok {
		mi := methodIndex(method)
		for _, code := range []int{http.StatusOK, http.StatusNotFound, http.StatusInternalServerError} {
			rt.counter(mi, classIndex(code))
		}
		rt.observer(mi)
	}
	return rt
}

// Unmatched returns the recorder of every request that no pattern matched:
// one route label (UnmatchedRoute) whatever the path.
func (m *Metrics) Unmatched() *Route { return m.unmatched }

// Observe records one answered request: its method, status code and the
// time it took.
func (rt *Route) Observe(method string, status int, elapsed time.Duration) {
	mi := methodIndex(method)
	rt.counter(mi, classIndex(status)).Inc()
	rt.observer(mi).Observe(elapsed.Seconds())
}

// counter is the child of helloagents_http_requests_total for this route,
// method index mi and status class index ci, resolved on first use. Two
// first requests racing both get the vector's one child.
func (rt *Route) counter(mi, ci int) prometheus.Counter {
	p := &rt.counters[mi][ci]
	if c := p.Load(); c != nil {
		return *c
	}
	c := rt.req.total.WithLabelValues(methodName(mi), rt.label, className(ci))
	p.Store(&c)
	return c
}

// observer is the duration histogram's child for this route and method
// index mi, resolved on first use.
func (rt *Route) observer(mi int) prometheus.Observer {
	p := &rt.observers[mi]
	if o := p.Load(); o != nil {
		return *o
	}
	o := rt.req.durations.WithLabelValues(methodName(mi), rt.label)
	p.Store(&o)
	return o
}
