package main

import (
	"cmp"
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

	"github.com/getsentry/sentry-go"

	"github.com/helloagents/infra/backend/config"
	"github.com/helloagents/infra/backend/errorreport"
	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/httpapi"
	"github.com/helloagents/infra/backend/logging"
	"github.com/helloagents/infra/backend/metrics"
	"github.com/helloagents/infra/backend/redact"
	"github.com/helloagents/infra/backend/server"
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
	r := &replica{cfg: cfg, ver: cmp.Or(cfg.Version, version), conns: newConnStates()}
	log, closeLog := logging.New(stdout, cfg.LogLevel)
	defer func() { _ = closeLog() }()
	r.log = log.With("service", "helloagents-backend", "version", r.ver)

	hub, err := errorreport.NewHub(errorreport.Options{
		DSN: cfg.SentryDSN, Environment: cfg.SentryEnvironment, Release: r.ver,
		TracesSampleRate: cfg.SentryTracesSampleRate,
	})
	if err != nil {
		r.log.Error("start", "error", err)
		return 1
	}
	if hub != nil {
		defer hub.Flush(2 * time.Second)
	}
	ctx, sigs, stopSignals := shutdownSignals(ctx)
	defer stopSignals()
	return r.run(ctx, getenv, hub, sigs)
}

// replica is one running server: what serve starts and later shuts down.
type replica struct {
	cfg          config.Config
	ver          string // the build version, unless APP_VERSION overrides it
	log          *slog.Logger
	shuttingDown atomic.Bool // from the first signal: readiness 503, Connection: close
	conns        *connStates
	srv          *http.Server
	metrics      *metrics.Metrics // nil when METRICS_PORT is unset
}

// shutdownSignals returns a context that ends at the first SIGTERM or
// SIGINT; a later signal, still in sigs, cuts the pre-stop delay short.
// stop releases both.
func shutdownSignals(parent context.Context) (ctx context.Context, sigs <-chan os.Signal, stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, ch, func() {
		cancel()
		signal.Stop(ch)
	}
}

// run opens the store, starts the migration, the role heartbeat and the
// metrics listener, and serves until ctx ends, then shuts down (the metrics
// listener last).
func (r *replica) run(ctx context.Context, getenv func(string) string, hub *sentry.Hub, sigs <-chan os.Signal) int {
	st, err := store.Open(ctx, r.cfg.DatabaseURL, store.Options{ConnectTimeout: r.cfg.HealthTimeout})
	if err != nil {
		r.log.Error("start", "error", err)
		return 1
	}
	defer st.Close()
	migrated, migrateDone := startMigration(ctx, r.log, st)
	roles := newRoleCache(st, time.Second)
	go heartbeat(ctx, r.log, st, roles, migrated)

	m, ml, err := r.startMetrics(ctx, st)
	if err != nil {
		r.log.Error("start", "error", err)
		return 1
	}
	r.metrics = m
	defer ml.stop() // after shutDown's drain: the last scrapes see it
	h, full := r.handler(getenv, st, hub, roles, migrated)
	r.srv = r.httpServer(h)
	if m != nil {
		go refreshHealth(ctx, healthRefreshInterval, full)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", r.cfg.Addr())
	if err != nil {
		r.log.Error("listen", "addr", r.cfg.Addr(), "error", err)
		return 1
	}
	r.log.Info("listening", "addr", ln.Addr().String(), "config", r.cfg)

	served := make(chan error, 1)
	go func() { served <- r.srv.Serve(ln) }()
	select {
	case err := <-served:
		r.log.Error("serve", "error", err)
		return 1
	case <-ctx.Done():
	}
	return r.shutDown(sigs, ln, served, migrateDone)
}

// startMigration runs the migrations in the background, retrying: a
// database that is down at start makes the service unhealthy, not absent.
// The database check stays unhealthy until they have run (migrated is
// closed), because until then the API answers 503. done is closed when
// migrate has returned.
func startMigration(ctx context.Context, log *slog.Logger, st *store.Store) (migrated, done <-chan struct{}) {
	m, d := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(d)
		migrate(ctx, log, st, m)
	}()
	return m, d
}

// handler is the API with its health checks: the database check, gated on
// the migration, decides readiness; the full health adds the dependencies.
// full runs the full checks, as GET /health does (reported to the metrics).
func (r *replica) handler(getenv func(string) string, st *store.Store, hub *sentry.Hub, roles *roleCache, migrated <-chan struct{}) (h http.Handler, full func(context.Context)) {
	onDBError := dbError(r.log, logging.NewRepeats(logging.RepeatInterval, time.Now))
	maxLag := envDuration(getenv, server.EnvStandbyMaxLag, 3*time.Minute)
	db := health.Gated(health.DatabaseRole(st, maxLag, onDBError), migrated, migrationPending)
	runner := health.Runner{Version: r.ver, Timeout: r.cfg.HealthTimeout}
	if r.metrics != nil {
		runner.OnReport = r.metrics.ObserveHealth
	}
	checks := []health.Check{
		db,
		health.SandboxPool(r.cfg.SandboxPoolURL, &http.Client{Timeout: r.cfg.HealthTimeout}),
		health.AIService(r.cfg.AIAPIKey),
		backupsCheck(getenv, st, r.log),
	}
	h = httpapi.New(httpapi.Deps{
		Logger:         r.log,
		Health:         runner,
		Full:           checks,
		Ready:          []health.Check{db},
		Courses:        st,
		AllowedOrigins: r.cfg.CORSAllowedOrigins,
		Hub:            hub,
		ShuttingDown:   r.shuttingDown.Load,
		ReadOnly:       roles.ReadOnly,
		Metrics:        r.metrics,
	})
	return h, func(ctx context.Context) { runner.Run(ctx, checks) }
}

// httpServer bounds every phase of a request and tracks the connections'
// states for the drain.
func (r *replica) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ConnState:         r.conns.track,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// Longer than the slowest handler: a health check bounded by HealthTimeout.
		WriteTimeout:   r.cfg.HealthTimeout + 10*time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
	}
}

// shutDown is steps 2 and 3 of serve's shutdown: the pre-stop delay, then
// the drain within SHUTDOWN_TIMEOUT.
func (r *replica) shutDown(sigs <-chan os.Signal, ln net.Listener, served <-chan error, migrateDone <-chan struct{}) int {
	if !r.preStopDelay(sigs, served) {
		return 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), r.cfg.ShutdownTimeout)
	defer cancel()
	r.log.Info("pre-stop delay over: closing the listener, draining in-flight requests", "timeout", r.cfg.ShutdownTimeout.String())
	// Not Shutdown yet: it would drop the requests that accepted connections
	// have not sent yet (see connStates).
	_ = ln.Close()
	if err := <-served; !errors.Is(err, net.ErrClosed) {
		r.log.Error("serve", "error", err)
	}
	if n := r.conns.waitIdle(sctx); n > 0 {
		r.log.Warn("drain timeout: connections still busy", "connections", n)
	}
	if err := r.srv.Shutdown(sctx); err != nil {
		r.log.Error("shutdown: requests still running were cut off", "error", err)
		return 1
	}
	<-migrateDone // ctx is done, so a pending migration gives up; then the pool may close
	r.log.Info("stopped")
	return 0
}

// preStopDelay marks the replica shutting down and keeps serving for
// SHUTDOWN_DELAY or until a second signal. It returns false if the server
// failed meanwhile.
func (r *replica) preStopDelay(sigs <-chan os.Signal, served <-chan error) bool {
	r.shuttingDown.Store(true)
	r.log.Info("shutting down: readiness 503, connections close after their response; serving until the pre-stop delay ends",
		"delay", r.cfg.ShutdownDelay.String())
	delay := time.NewTimer(r.cfg.ShutdownDelay)
	select {
	case <-delay.C:
	case <-sigs:
		delay.Stop()
		r.log.Info("second signal: pre-stop delay cut short")
	case err := <-served:
		r.log.Error("serve", "error", err)
		return false
	}
	return true
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
