package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkObserve is the metrics' share of a request's cost: what the
// access log calls on every request, on one goroutine and on every CPU at
// once (the children are shared, so their cache lines contend).
func BenchmarkObserve(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			m, err := New(prometheus.NewRegistry(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			rt := m.Route("GET /health/live")
			observe := func() {
				m.RequestStarted()
				rt.Observe("GET", 200, 100*time.Microsecond)
				m.RequestFinished()
			}
			b.ReportAllocs()
			if !parallel {
				for b.Loop() {
					observe()
				}
				return
			}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					observe()
				}
			})
		})
	}
}
