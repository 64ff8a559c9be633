package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/logging"
	"github.com/helloagents/infra/backend/metrics"
)

// BenchmarkLive measures the middleware and liveness cost per request,
// without the network; bench/health.sh measures end to end.
func BenchmarkLive(b *testing.B) {
	h := New(Deps{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Health: health.Runner{Version: "1.0.0"}})
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"healthy"}`))
	})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"live", h}} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequestWithContext(context.Background(), "GET", "/health/live", nil)
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}

// BenchmarkLiveLogLevels isolates the cost of the access log line.
func BenchmarkLiveLogLevels(b *testing.B) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		b.Run(level.String(), func(b *testing.B) {
			log, closeLog := logging.New(io.Discard, level)
			defer func() { _ = closeLog() }()
			h := New(Deps{Logger: log.With("service", "helloagents-backend", "version", "1.0.0"), Health: health.Runner{Version: "1.0.0"}})
			r := httptest.NewRequestWithContext(context.Background(), "GET", "/health/live", nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}

// BenchmarkLiveMetrics is /health/live through the production handler
// (info access log through the batched logger) with metrics off and on,
// side by side, every CPU serving at once (RunParallel: the metrics'
// shared children are contended as under load). Besides ns/op (wall time,
// whose inverse is the throughput) it reports cpu-ns/op, the process's CPU
// time per request, steadier on a shared machine. It is the in-process
// complement of bench/metrics.sh (wrk against the real server); compare
// the two sub-benchmarks with benchstat -col /metrics (docs/PERFORMANCE.md).
func BenchmarkLiveMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "metrics=off"
		if on {
			name = "metrics=on"
		}
		b.Run(name, func(b *testing.B) {
			log, closeLog := logging.New(io.Discard, slog.LevelInfo)
			defer func() { _ = closeLog() }()
			d := Deps{Logger: log.With("service", "helloagents-backend", "version", "1.0.0"), Health: health.Runner{Version: "1.0.0"}}
			if on {
				m, err := metrics.New(prometheus.NewRegistry(), metrics.Options{Version: "1.0.0"})
				if err != nil {
					b.Fatal(err)
				}
				d.Metrics = m
			}
			h := New(d)
			b.ReportAllocs()
			cpu0, ok := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequestWithContext(context.Background(), "GET", "/health/live", nil)
				for pb.Next() {
					h.ServeHTTP(httptest.NewRecorder(), r)
				}
			})
			if cpu1, ok1 := processCPU(); ok && ok1 {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// processCPU is the CPU time (user and system) the test process has used.
// A benchmark divides its increase by b.N: unlike wall time it does not
// count time the process spent waiting for a CPU, so it stays comparable
// on a machine that other work shares. (The backend builds for Unix only.)
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
