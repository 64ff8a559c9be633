// Package metrics is the backend's Prometheus instrumentation: HTTP requests
// by route, the health components, the database pool and the build.
//
// Everything registers on a registry the caller owns, never on the global
// default one, so two servers (or two tests) in one process do not share
// counters; the server serves it on a listener of its own (METRICS_PORT),
// so the public API port never exposes it.
package metrics

import (
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric of the backend.
const Namespace = "helloagents"

// Path is the only path the metrics listener serves.
const Path = "/metrics"

// Options are what New needs beyond the registry.
type Options struct {
	// Version and Fingerprint label helloagents_build_info.
	Version, Fingerprint string
	// PoolStat, when not nil, is read at every scrape for the helloagents_db_pool_* metrics.
	PoolStat func() *pgxpool.Stat
}

// Metrics records requests and health reports. It is safe for concurrent
// use.
type Metrics struct {
	requests  requests
	unmatched *Route
	health    componentStatus
}

// New registers the backend's metrics, the Go runtime's and the process's
// on reg.
func New(reg *prometheus.Registry, o Options) (*Metrics, error) {
	m := &Metrics{requests: newRequests(), health: newComponentStatus()}
	m.unmatched = &Route{label: UnmatchedRoute, req: m.requests}
	cs := append(m.requests.collectors(), m.health.gauge, buildInfo(o),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if o.PoolStat != nil {
		cs = append(cs, NewPoolCollector(o.PoolStat))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// buildInfo is the constant helloagents_build_info, 1 with the build's labels.
func buildInfo(o Options) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{"version": o.Version, "fingerprint": o.Fingerprint},
	})
	g.Set(1)
	return g
}

// Handler serves reg at GET /metrics and nothing else; errors of the
// exposition go to errLog.
func Handler(reg *prometheus.Registry, errLog *log.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: errLog, Registry: reg, Timeout: 10 * time.Second,
	}))
	return mux
}

// RequestStarted counts a request in flight until RequestFinished.
func (m *Metrics) RequestStarted() { m.requests.inFlight.Inc() }

// RequestFinished ends what RequestStarted counted, also for a request
// whose handler aborted.
func (m *Metrics) RequestFinished() { m.requests.inFlight.Dec() }
