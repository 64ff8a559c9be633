package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helloagents/infra/backend/health"
)

// componentStatus is helloagents_health_component_status: 1 for each
// component's current status. It remembers the status it last set per
// component so that a change turns the old status's series to 0 (a query
// for status="unhealthy" == 1 then stops matching) instead of leaving two
// series at 1.
type componentStatus struct {
	gauge *prometheus.GaugeVec
	mu    sync.Mutex
	last  map[string]health.Status
}

func newComponentStatus() componentStatus {
	return componentStatus{
		gauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "health_component_status",
			Help: "1 for each health component's current status (as last reported by /health, /health/ready or the replica's periodic full check), 0 for its earlier ones.",
		}, []string{"component", "status"}),
		last: make(map[string]health.Status),
	}
}

// ObserveHealth records the status of every component of rep. It is
// health.Runner's OnReport hook: each report computed updates the gauge.
func (m *Metrics) ObserveHealth(rep health.Report) {
	c := &m.health
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, res := range rep.Components {
		old, seen := c.last[name]
		if seen && old == res.Status {
			continue
		}
		if seen {
			c.gauge.WithLabelValues(name, string(old)).Set(0)
		}
		c.gauge.WithLabelValues(name, string(res.Status)).Set(1)
		c.last[name] = res.Status
	}
}
