package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/logging"
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
