// Package httpapi is the backend's HTTP surface: the routes (health
// endpoints and the public API) and the middleware every request passes
// through (request id, JSON access log with redaction, panic recovery,
// security headers, CORS, Sentry).
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rs/cors"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/metrics"
	"github.com/helloagents/infra/backend/redact"
	"github.com/helloagents/infra/backend/store"
)

// CourseLister reads the course catalogue.
type CourseLister interface {
	Courses(ctx context.Context, limit int) ([]store.Course, error)
}

// Deps are what the handler serves.
type Deps struct {
	Logger *slog.Logger
	// Health renders the health reports.
	Health health.Runner
	// Full are the checks of /health; Ready those of /health/ready.
	Full, Ready []health.Check
	Courses     CourseLister
	// AllowedOrigins is the CORS allow-list; empty allows no cross-origin calls.
	AllowedOrigins []string
	// Hub reports to Sentry; nil disables it.
	Hub *sentry.Hub
	// QueryTimeout bounds API database queries; zero means 5 s.
	QueryTimeout time.Duration
	// ShuttingDown, when not nil, reports that the server has received
	// SIGTERM: every response then carries Connection: close, and /health and
	// /health/ready answer 503 (it overrides Health.ShuttingDown).
	ShuttingDown func() bool
	// ReadOnly, when not nil, reports (live, cached briefly) that the
	// database is a standby: every write under /api/ then answers 503
	// with ErrReadOnlyRegion.
	ReadOnly func(ctx context.Context) bool
	// Metrics, when not nil, records every request and every health
	// report; nil turns recording off.
	Metrics *metrics.Metrics
}

// ReadOnlyRegionMessage is the error of every write refused because the
// region's database is a standby.
const ReadOnlyRegionMessage = "read-only region: this region's database is a standby; writes go to the primary region"

// Course limits of GET /api/v1/courses.
const (
	defaultCourseLimit = 50
	maxCourseLimit     = 100
)

// New returns the complete handler: routes wrapped in the middleware chain.
func New(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.QueryTimeout <= 0 {
		d.QueryTimeout = 5 * time.Second
	}
	if d.ShuttingDown != nil {
		d.Health.ShuttingDown = d.ShuttingDown
	}
	if d.Metrics != nil && d.Health.OnReport == nil {
		d.Health.OnReport = d.Metrics.ObserveHealth
	}
	return accessLog(d.Logger, d.Metrics, middleware(d, routes(d)))
}

// routes serves the health reports and the API; unknown paths and methods
// get the mux's own 404 and 405 (with Allow).
func routes(d Deps) *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.Handler) {
		var rt *metrics.Route
		if d.Metrics != nil {
			rt = d.Metrics.Route(pattern) // resolved once, here, not per request
		}
		mux.Handle(pattern, recordRoute(rt, h))
	}
	handle("GET "+health.FullPath, d.Health.Handler(d.Full...))
	handle("GET "+health.ReadyPath, d.Health.Handler(d.Ready...))
	handle("GET "+health.LivePath, d.Health.Handler())
	handle("GET /api/v1/courses", coursesHandler(d))
	return mux
}

// middleware wraps h in the chain below the access log, innermost first:
// standby write refusal, Sentry, CORS, security headers, panic recovery,
// Connection: close while shutting down.
func middleware(d Deps, h http.Handler) http.Handler {
	if d.ReadOnly != nil {
		h = refuseWritesOnStandby(d.ReadOnly, h)
	}
	if d.Hub != nil {
		h = withSentry(d.Hub, h)
	}
	if len(d.AllowedOrigins) > 0 {
		h = cors.New(cors.Options{
			AllowedOrigins: d.AllowedOrigins,
			AllowedMethods: []string{http.MethodGet, http.MethodHead},
			AllowedHeaders: []string{"Content-Type", "Authorization", "X-Request-Id"},
			ExposedHeaders: []string{"X-Request-Id"},
			MaxAge:         600,
		}).Handler(h)
	}
	h = securityHeaders(h)
	h = recoverPanics(d.Logger, h)
	if d.ShuttingDown != nil {
		h = closeWhenShuttingDown(d.ShuttingDown, h)
	}
	return h
}

func coursesHandler(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := defaultCourseLimit
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxCourseLimit {
				writeError(w, http.StatusBadRequest,
					fmt.Sprintf("query parameter limit=%q is invalid: want an integer from 1 to %d", v, maxCourseLimit))
				return
			}
			limit = n
		}
		ctx, cancel := context.WithTimeout(r.Context(), d.QueryTimeout)
		defer cancel()
		courses, err := d.Courses.Courses(ctx, limit)
		if err != nil && isReadOnly(err) {
			writeError(w, http.StatusServiceUnavailable, ReadOnlyRegionMessage)
			return
		}
		if err != nil {
			d.Logger.ErrorContext(r.Context(), "list courses", "request_id", RequestID(r.Context()),
				"error", redact.Text(err.Error()))
			if hub := sentry.GetHubFromContext(r.Context()); hub != nil {
				hub.CaptureException(err)
			}
			writeError(w, http.StatusServiceUnavailable, "the course catalogue is temporarily unavailable")
			return
		}
		if courses == nil {
			courses = []store.Course{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"courses": courses})
	})
}

// refuseWritesOnStandby answers every request under /api/ that may write
// (any method but GET, HEAD and OPTIONS) with 503 and
// ReadOnlyRegionMessage while the database is a standby.
func refuseWritesOnStandby(readOnly func(context.Context) bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if strings.HasPrefix(r.URL.Path, "/api/") && readOnly(r.Context()) {
				writeError(w, http.StatusServiceUnavailable, ReadOnlyRegionMessage)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// isReadOnly reports a write the database refused because it is a standby
// (SQLSTATE 25006, read_only_sql_transaction): handlers answer 503 with
// ReadOnlyRegionMessage, the same as the middleware.
func isReadOnly(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "25006"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
