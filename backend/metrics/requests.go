package metrics

import (
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// numBuckets is the number of bounds of the duration histogram.
const numBuckets = 10

// durationBounds are DurationBuckets as durations, so a request's bucket
// is found by comparing integers.
func durationBounds() [numBuckets]time.Duration {
	return [numBuckets]time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond,
		50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2500 * time.Millisecond, 5 * time.Second}
}

// DurationBuckets are the request duration histogram's bounds in seconds.
// 0.5 s, the P95 latency objective, is a bound, so the objective is read
// from a bucket exactly rather than interpolated.
func DurationBuckets() []float64 {
	var out []float64
	for _, b := range durationBounds() {
		out = append(out, b.Seconds())
	}
	return out
}

// requests are helloagents_http_requests_total, _request_duration_seconds
// and _requests_in_flight. They are striped: with every CPU serving
// requests, one shared copy of each counter (as client_golang's CounterVec
// and HistogramVec keep) has its cache lines bounce between the cores on
// every update, which costs more than the update. Each update goes to a
// stripe picked at random instead (4 per CPU, so two cores rarely pick the
// same), and a scrape sums the stripes.
type requests struct {
	bounds    [numBuckets]time.Duration
	stripes   uint32 // a power of two
	inFlight  stripedInt
	byPattern sync.Map // ServeMux pattern → *routeStats, read on every request

	mu      sync.Mutex
	byRoute map[string]*routeStats // route label → its stats, what a scrape reads

	counterDesc, histDesc *prometheus.Desc
}

// routeStats are the observations of one route label, by method and
// status class, each made on first use (only label sets that occurred are
// exported).
type routeStats struct {
	route  string
	series [numMethods][numClasses]atomic.Pointer[[]cell]
}

// cell is one stripe of a label set: observations per bucket (the last is
// past every bound) and the sum of their durations, padded to 128 bytes so
// that stripes updated by different cores do not share a cache line.
type cell struct {
	buckets [numBuckets + 1]atomic.Uint64
	sumNs   atomic.Uint64
	_       [128 - (numBuckets+2)*8]byte
}

func newRequests() *requests {
	stripes := uint32(1)
	for stripes < uint32(4*runtime.GOMAXPROCS(0)) && stripes < 64 {
		stripes *= 2
	}
	return &requests{
		bounds:   durationBounds(),
		stripes:  stripes,
		inFlight: newStripedInt(stripes),
		byRoute:  make(map[string]*routeStats),
		counterDesc: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "http", "requests_total"),
			"HTTP requests answered, by method, route pattern and status class.", []string{"method", "route", "status_class"}, nil),
		histDesc: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "http", "request_duration_seconds"),
			"Time to answer an HTTP request, by route pattern.", []string{"route"}, nil),
	}
}

// observe records one answered request.
func (r *requests) observe(method int, pattern string, class int, d time.Duration) {
	c := &r.cells(r.route(pattern), method, class)[rand.Uint32()&(r.stripes-1)]
	i := 0
	for i < numBuckets && d > r.bounds[i] {
		i++
	}
	c.buckets[i].Add(1)
	c.sumNs.Add(uint64(max(d, 0)))
}

// route returns the stats of pattern's route, making them on its first
// request. Patterns that share a path ("GET /x", "POST /x") share them.
func (r *requests) route(pattern string) *routeStats {
	if rs, ok := r.byPattern.Load(pattern); ok {
		return rs.(*routeStats)
	}
	route := Route(pattern)
	r.mu.Lock()
	rs := r.byRoute[route]
	if rs == nil {
		rs = &routeStats{route: route}
		r.byRoute[route] = rs
	}
	r.mu.Unlock()
	r.byPattern.Store(pattern, rs)
	return rs
}

// cells returns the stripes of one label set, making them on first use;
// of two first requests racing, one's stripes win and both use them.
func (r *requests) cells(rs *routeStats, method, class int) []cell {
	p := &rs.series[method][class]
	if cs := p.Load(); cs != nil {
		return *cs
	}
	cs := make([]cell, r.stripes)
	p.CompareAndSwap(nil, &cs)
	return *p.Load()
}

// Describe sends the descriptors of the counter and the histogram.
func (r *requests) Describe(ch chan<- *prometheus.Desc) {
	ch <- r.counterDesc
	ch <- r.histDesc
}

// Collect sums the stripes of every label set: a counter per label set, a
// histogram per route.
func (r *requests) Collect(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	routes := slices.Collect(maps.Values(r.byRoute))
	r.mu.Unlock()
	for _, rs := range routes {
		r.collectRoute(ch, rs)
	}
}

func (r *requests) collectRoute(ch chan<- prometheus.Metric, rs *routeStats) {
	var buckets [numBuckets + 1]uint64
	var sumNs uint64
	seen := false
	for m := range numMethods {
		for c := range numClasses {
			cs := rs.series[m][c].Load()
			if cs == nil {
				continue
			}
			n := sumCells(*cs, &buckets, &sumNs)
			ch <- prometheus.MustNewConstMetric(r.counterDesc, prometheus.CounterValue, float64(n), methodName(m), rs.route, className(c))
			seen = true
		}
	}
	if !seen {
		return
	}
	cumulative, count := make(map[float64]uint64, numBuckets), uint64(0)
	for i, b := range r.bounds {
		count += buckets[i]
		cumulative[b.Seconds()] = count
	}
	count += buckets[numBuckets]
	ch <- prometheus.MustNewConstHistogram(r.histDesc, count, float64(sumNs)/1e9, cumulative, rs.route)
}

// sumCells adds the stripes' bucket counts and durations to buckets and
// sumNs, and returns how many observations the stripes hold.
func sumCells(cs []cell, buckets *[numBuckets + 1]uint64, sumNs *uint64) uint64 {
	var n uint64
	for i := range cs {
		for b := range cs[i].buckets {
			v := cs[i].buckets[b].Load()
			buckets[b] += v
			n += v
		}
		*sumNs += cs[i].sumNs.Load()
	}
	return n
}

// inFlightGauge reads the in-flight count at scrape time.
func (r *requests) inFlightGauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "http_requests_in_flight",
		Help: "HTTP requests being served.",
	}, func() float64 { return float64(r.inFlight.load()) })
}

// stripedInt is an integer whose additions go to random stripes (a single
// stripe may go negative; the sum is the value).
type stripedInt struct {
	cells []paddedInt
	mask  uint32
}

// paddedInt fills a 128-byte line pair, so stripes do not share one.
type paddedInt struct {
	n atomic.Int64
	_ [120]byte
}

func newStripedInt(stripes uint32) stripedInt {
	return stripedInt{cells: make([]paddedInt, stripes), mask: stripes - 1}
}

func (s *stripedInt) add(d int64) { s.cells[rand.Uint32()&s.mask].n.Add(d) }

func (s *stripedInt) load() int64 {
	var n int64
	for i := range s.cells {
		n += s.cells[i].n.Load()
	}
	return n
}
