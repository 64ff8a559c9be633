package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/helloagents/infra/backend/config"
	"github.com/helloagents/infra/backend/errorreport"
	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/httpapi"
	"github.com/helloagents/infra/backend/logging"
	"github.com/helloagents/infra/backend/redact"
	"github.com/helloagents/infra/backend/store"
)

// serve runs the HTTP server until SIGTERM or SIGINT (or ctx ends), then
// drains in-flight requests for up to SHUTDOWN_TIMEOUT.
func serve(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "invalid configuration:\n%v\n", err)
		return 1
	}
	ver := version
	if cfg.Version != "" {
		ver = cfg.Version
	}
	log, closeLog := logging.New(stdout, cfg.LogLevel)
	defer func() { _ = closeLog() }()
	log = log.With("service", "helloagents-backend", "version", ver)

	hub, err := errorreport.NewHub(errorreport.Options{
		DSN: cfg.SentryDSN, Environment: cfg.SentryEnvironment, Release: ver,
		TracesSampleRate: cfg.SentryTracesSampleRate,
	})
	if err != nil {
		log.Error("start", "error", err)
		return 1
	}
	if hub != nil {
		defer hub.Flush(2 * time.Second)
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{ConnectTimeout: cfg.HealthTimeout})
	if err != nil {
		log.Error("start", "error", err)
		return 1
	}
	defer st.Close()

	// Migrations retry in the background: a database that is down at start
	// makes the service unhealthy, not absent.
	migrated := make(chan struct{})
	go migrate(ctx, log, st, migrated)

	onDBError := dbError(log, logging.NewRepeats(logging.RepeatInterval, time.Now))
	handler := httpapi.New(httpapi.Deps{
		Logger: log,
		Health: health.Runner{Version: ver, Timeout: cfg.HealthTimeout},
		Full: []health.Check{
			health.Database(st, onDBError),
			health.SandboxPool(cfg.SandboxPoolURL, &http.Client{Timeout: cfg.HealthTimeout}),
			health.AIService(cfg.AIAPIKey),
		},
		Ready:          []health.Check{health.Database(st, onDBError)},
		Courses:        st,
		AllowedOrigins: cfg.CORSAllowedOrigins,
		Hub:            hub,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// Longer than the slowest handler: a health check bounded by HealthTimeout.
		WriteTimeout:   cfg.HealthTimeout + 10*time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.Addr())
	if err != nil {
		log.Error("listen", "addr", cfg.Addr(), "error", err)
		return 1
	}
	log.Info("listening", "addr", ln.Addr().String(), "config", cfg)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		log.Error("serve", "error", err)
		return 1
	case <-ctx.Done():
	}

	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown: requests still running were cut off", "error", err)
		return 1
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "error", err)
	}
	<-migrated // ctx is done, so a pending migration gives up; then the pool may close
	log.Info("stopped")
	return 0
}

// migrate applies the embedded migrations, retrying with backoff until they
// succeed or ctx ends.
func migrate(ctx context.Context, log *slog.Logger, st *store.Store, done chan<- struct{}) {
	defer close(done)
	wait := time.Second
	for {
		mctx, cancel := context.WithTimeout(ctx, time.Minute)
		applied, err := st.Migrate(mctx)
		cancel()
		if err == nil {
			log.Info("migrations up to date", "applied", applied)
			return
		}
		log.Warn("migrations pending: database unavailable, retrying", "retry_in", wait.String(), "error", redact.Text(err.Error()))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// dbError logs the cause of a failed database check, which the public
// health body deliberately omits. During an outage every probe fails the
// same way: the first failure is logged, then at most one line per interval
// with the number of identical failures in between.
func dbError(log *slog.Logger, repeats *logging.Repeats) func(error) {
	return func(err error) {
		msg := redact.Text(err.Error())
		ok, suppressed := repeats.Allow(msg)
		if !ok {
			return
		}
		if suppressed > 0 {
			log.Warn("database check failed", "error", msg, "repeated", suppressed, "within", logging.RepeatInterval.String())
			return
		}
		log.Warn("database check failed", "error", msg)
	}
}
