package loadgen

import (
	"testing"
	"time"
)

func TestLatencies(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var c Counts
	for i := range 100 {
		c.GETs = append(c.GETs, Sample{At: t0.Add(time.Duration(i) * time.Second), Latency: time.Duration(i+1) * time.Millisecond})
	}
	got := c.Latencies(t0, t0.Add(100*time.Second))
	if got.N != 100 || got.P50 != 50*time.Millisecond || got.P99 != 99*time.Millisecond || got.Max != 100*time.Millisecond {
		t.Errorf("all: %+v", got)
	}
	got = c.Latencies(t0.Add(90*time.Second), t0.Add(95*time.Second))
	if got.N != 5 || got.Max != 95*time.Millisecond || got.P50 != 93*time.Millisecond {
		t.Errorf("window: %+v", got)
	}
	if got := c.Latencies(t0.Add(time.Hour), t0.Add(2*time.Hour)); got.N != 0 || got.Max != 0 {
		t.Errorf("empty window: %+v", got)
	}
}
