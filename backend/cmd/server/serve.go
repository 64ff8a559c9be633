package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
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
// shuts down in the order a proxy in front needs:
//
//  1. at once: /health and /health/ready answer 503 and every response
//     carries Connection: close, so each keep-alive connection is closed by
//     the server right after a response, never while a client may be
//     sending on it;
//  2. for SHUTDOWN_DELAY it keeps serving normally, so the proxy's readiness
//     checks take the replica out while requests still succeed (a second
//     signal ends the delay early);
//  3. it stops listening, answers the requests of the connections it has
//     accepted, closes the idle ones, all within SHUTDOWN_TIMEOUT, and
//     exits 0.
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

	// The first signal starts the shutdown (ctx ends); a later one, still
	// in sigs, cuts the pre-stop delay short.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-sigs:
			stop()
		case <-ctx.Done():
		}
	}()

	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{ConnectTimeout: cfg.HealthTimeout})
	if err != nil {
		log.Error("start", "error", err)
		return 1
	}
	defer st.Close()

	// Migrations retry in the background: a database that is down at start
	// makes the service unhealthy, not absent. The database check stays
	// unhealthy until they have run, because until then the API answers 503.
	migrated, migrateDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(migrateDone)
		migrate(ctx, log, st, migrated)
	}()

	roles := newRoleCache(st, time.Second)
	go heartbeat(ctx, log, st, roles, migrated)

	var shuttingDown atomic.Bool
	onDBError := dbError(log, logging.NewRepeats(logging.RepeatInterval, time.Now))
	maxLag := envDuration(getenv, "STANDBY_MAX_LAG", 3*time.Minute)
	db := health.Gated(health.DatabaseRole(st, maxLag, onDBError), migrated, migrationPending)
	handler := httpapi.New(httpapi.Deps{
		Logger: log,
		Health: health.Runner{Version: ver, Timeout: cfg.HealthTimeout},
		Full: []health.Check{
			db,
			health.SandboxPool(cfg.SandboxPoolURL, &http.Client{Timeout: cfg.HealthTimeout}),
			health.AIService(cfg.AIAPIKey),
			backupsCheck(getenv, st, log),
		},
		Ready:          []health.Check{db},
		Courses:        st,
		AllowedOrigins: cfg.CORSAllowedOrigins,
		Hub:            hub,
		ShuttingDown:   shuttingDown.Load,
		ReadOnly:       roles.ReadOnly,
	})
	conns := newConnStates()
	srv := &http.Server{
		Handler:           handler,
		ConnState:         conns.track,
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

	shuttingDown.Store(true)
	log.Info("shutting down: readiness 503, connections close after their response; serving until the pre-stop delay ends",
		"delay", cfg.ShutdownDelay.String())
	delay := time.NewTimer(cfg.ShutdownDelay)
	select {
	case <-delay.C:
	case <-sigs:
		delay.Stop()
		log.Info("second signal: pre-stop delay cut short")
	case err := <-served:
		log.Error("serve", "error", err)
		return 1
	}

	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	log.Info("pre-stop delay over: closing the listener, draining in-flight requests", "timeout", cfg.ShutdownTimeout.String())
	// Not Shutdown yet: it would drop the requests that accepted connections
	// have not sent yet (see connStates).
	_ = ln.Close()
	if err := <-served; !errors.Is(err, net.ErrClosed) {
		log.Error("serve", "error", err)
	}
	if n := conns.waitIdle(sctx); n > 0 {
		log.Warn("drain timeout: connections still busy", "connections", n)
	}
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown: requests still running were cut off", "error", err)
		return 1
	}
	<-migrateDone // ctx is done, so a pending migration gives up; then the pool may close
	log.Info("stopped")
	return 0
}

// migrationPending is the database component's message while the database
// answers but the schema is not migrated yet.
const migrationPending = "Database schema migration has not completed"

// Bounds of the migration retry backoff: a database that comes back is
// migrated within maxMigrateBackoff (plus one attempt).
const (
	minMigrateBackoff = 500 * time.Millisecond
	maxMigrateBackoff = 5 * time.Second
)

// migrate applies the embedded migrations, retrying with backoff until they
// succeed (then it closes migrated) or ctx ends. On a standby, which cannot
// write, it skips the migration and waits until the primary's has
// replicated (every embedded migration recorded) instead.
func migrate(ctx context.Context, log *slog.Logger, st *store.Store, migrated chan<- struct{}) {
	wait := minMigrateBackoff
	waiting := false // a standby's wait for the schema is logged once
	for {
		mctx, cancel := context.WithTimeout(ctx, time.Minute)
		done, err := migrateOnce(mctx, log, st, &waiting)
		cancel()
		if done {
			close(migrated)
			return
		}
		if err != nil {
			log.Warn("migrations pending: database unavailable, retrying", "retry_in", wait.String(), "error", redact.Text(err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, maxMigrateBackoff)
	}
}

// migrateOnce runs one attempt: the migration on a primary, the schema
// check on a standby. done is true when the schema is up to date.
func migrateOnce(ctx context.Context, log *slog.Logger, st *store.Store, waiting *bool) (done bool, err error) {
	standby, err := st.InRecovery(ctx)
	if err != nil {
		return false, err
	}
	if standby {
		ready, err := st.SchemaReady(ctx)
		if err != nil {
			return false, err
		}
		if ready {
			log.Info("database is a read-only standby: migration skipped, the primary's schema has replicated")
		} else if !*waiting {
			*waiting = true
			log.Warn("database is a read-only standby without this version's schema: waiting for the primary's migration to replicate")
		}
		return ready, nil
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		return false, err
	}
	log.Info("migrations up to date", "applied", applied)
	return true, nil
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
