package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helloagents/infra/backend/metrics"
	"github.com/helloagents/infra/backend/store"
)

// metricsStopTimeout bounds the wait for a scrape in progress when the
// metrics listener closes, after the drain.
const metricsStopTimeout = time.Second

// metricsListener serves GET /metrics on HOST:METRICS_PORT, apart from the
// API: the API port is public behind the proxy, the metrics are not.
type metricsListener struct {
	srv  *http.Server
	log  *slog.Logger
	done chan struct{} // closed when Serve has returned
}

// startMetrics registers the metrics on a registry of their own and serves
// them. With METRICS_PORT unset it returns a nil Metrics (the API then
// records nothing) and a nil listener.
func (r *replica) startMetrics(ctx context.Context, st *store.Store) (*metrics.Metrics, *metricsListener, error) {
	if r.cfg.MetricsPort == 0 {
		return nil, nil, nil
	}
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.Options{Version: r.ver, Fingerprint: r.cfg.ImageFingerprint, PoolStat: st.PoolStat})
	if err != nil {
		return nil, nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", r.cfg.MetricsAddr())
	if err != nil {
		return nil, nil, fmt.Errorf("metrics: listen on %s: %w", r.cfg.MetricsAddr(), err)
	}
	errLog := slog.NewLogLogger(r.log.Handler(), slog.LevelWarn)
	ml := &metricsListener{
		srv: &http.Server{
			Handler:           metrics.Handler(reg, errLog),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      15 * time.Second, // the exposition's own timeout is 10 s
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          errLog,
		},
		log:  r.log,
		done: make(chan struct{}),
	}
	go ml.serve(ln)
	r.log.Info("metrics listening", "addr", ln.Addr().String(), "path", metrics.Path)
	return m, ml, nil
}

// serve runs until stop. A failure is logged, not fatal: the API keeps
// serving without its metrics.
func (ml *metricsListener) serve(ln net.Listener) {
	defer close(ml.done)
	if err := ml.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		ml.log.Error("metrics: serve", "error", err)
	}
}

// stop closes the listener, giving a scrape in progress metricsStopTimeout
// to finish. The server calls it after the drain, so the scrapes during the
// pre-stop delay and the drain see the replica shutting down. A nil
// listener (metrics disabled) is a no-op.
func (ml *metricsListener) stop() {
	if ml == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), metricsStopTimeout)
	defer cancel()
	if err := ml.srv.Shutdown(ctx); err != nil {
		ml.log.Warn("metrics: shutdown: a scrape was cut off", "error", err)
	}
	<-ml.done
}
