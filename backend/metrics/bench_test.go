package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkObserveRequest is the metrics' share of a request's cost: what
// the access log calls on every request, on one goroutine and on every
// CPU at once (the counters are shared, so their cache lines contend).
func BenchmarkObserveRequest(b *testing.B) {
	observe := func(m *Metrics) {
		m.RequestStarted()
		m.ObserveRequest("GET", "GET /health/live", 200, 100*time.Microsecond)
		m.RequestFinished()
	}
	b.Run("serial", func(b *testing.B) {
		m, err := New(prometheus.NewRegistry(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			observe(m)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		m, err := New(prometheus.NewRegistry(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				observe(m)
			}
		})
	})
}
