package metrics

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector exports a pgx pool's statistics. It reads them at scrape
// time (pgxpool.Pool.Stat takes the pool's lock once), so nothing runs
// between scrapes and the values are as of the scrape.
type poolCollector struct {
	stat                                      func() *pgxpool.Stat
	acquired, idle, total, max                *prometheus.Desc
	acquires, acquireSeconds, empty, canceled *prometheus.Desc
}

// NewPoolCollector returns the collector of the helloagents_db_pool_*
// metrics; stat is usually (*pgxpool.Pool).Stat.
func NewPoolCollector(stat func() *pgxpool.Stat) prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "db_pool", name), help, nil, nil)
	}
	return &poolCollector{
		stat:           stat,
		acquired:       d("acquired_conns", "Connections of the database pool in use."),
		idle:           d("idle_conns", "Idle connections of the database pool."),
		total:          d("total_conns", "Connections of the database pool (in use, idle and being opened)."),
		max:            d("max_conns", "Most connections the database pool opens."),
		acquires:       d("acquires_total", "Connections acquired from the database pool."),
		acquireSeconds: d("acquire_duration_seconds_total", "Time spent acquiring connections from the database pool."),
		empty:          d("empty_acquires_total", "Acquires that found no idle connection and had to wait for one (a new or a released one)."),
		canceled:       d("canceled_acquires_total", "Acquires whose context ended before they got a connection."),
	}
}

// Describe sends every descriptor.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max, c.acquires, c.acquireSeconds, c.empty, c.canceled} {
		ch <- d
	}
}

// Collect reads the pool's statistics once and sends them.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stat()
	gauge := func(d *prometheus.Desc, v int32) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.acquired, s.AcquiredConns())
	gauge(c.idle, s.IdleConns())
	gauge(c.total, s.TotalConns())
	gauge(c.max, s.MaxConns())
	counter(c.acquires, float64(s.AcquireCount()))
	counter(c.acquireSeconds, s.AcquireDuration().Seconds())
	counter(c.empty, float64(s.EmptyAcquireCount()))
	counter(c.canceled, float64(s.CanceledAcquireCount()))
}
