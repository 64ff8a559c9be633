package httpapi

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/getsentry/sentry-go"
	sentryhttp "github.com/getsentry/sentry-go/http"

	"github.com/helloagents/infra/backend/headers"
	"github.com/helloagents/infra/backend/logging"
	"github.com/helloagents/infra/backend/metrics"
	"github.com/helloagents/infra/backend/redact"
)

type ctxKey struct{}

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._\-]{1,64}$`)

// requestInfo travels in the request context: the id for every log line, and
// the route pattern, filled in by the mux's handler so that the access log
// (which runs outside the mux) can name the pattern instead of the raw path.
// One context value per request keeps the chain cheap.
type requestInfo struct {
	id      string
	pattern string
	route   *metrics.Route // the matched pattern's metrics; nil when none matched or metrics are off
}

// RequestID returns the id of the request being served, or "".
func RequestID(ctx context.Context) string {
	if info, ok := ctx.Value(ctxKey{}).(*requestInfo); ok {
		return info.id
	}
	return ""
}

// newRequestID keeps a well-formed incoming X-Request-Id (set by the edge)
// or makes one. Ids correlate log lines; they need to be unique, not secret.
func newRequestID(incoming string) string {
	if incoming != "" && requestIDRE.MatchString(incoming) {
		return incoming
	}
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(b[8:], rand.Uint32())
	return hex.EncodeToString(b[:])
}

// recordRoute wraps the handler of one mux pattern: it names the pattern
// and its metrics recorder rt (nil with metrics off) in the request's info.
func recordRoute(rt *metrics.Route, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := r.Context().Value(ctxKey{}).(*requestInfo); ok {
			info.pattern = r.Pattern
			info.route = rt
		}
		h.ServeHTTP(w, r)
	})
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// code is the status answered: 200 when the handler wrote nothing.
func (s *statusWriter) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// maxLoggedPath bounds the path of an unmatched request in the access log:
// the path is the client's, and a scanner's megabyte of path is not ours to
// store.
const maxLoggedPath = 64

// accessLog assigns the request id (returned in X-Request-Id) and writes one
// JSON line per request. The query is logged with sensitive values masked;
// headers (masked) only at debug level. Identical server-error lines (same
// method, route and status: a health probe during a database outage) are
// rate-limited: the first is written, then at most one per
// logging.RepeatInterval carrying the count of those left out. When m is
// not nil it also records the request there: this is where the route
// pattern, the status and the duration are all known.
func accessLog(log *slog.Logger, m *metrics.Metrics, next http.Handler) http.Handler {
	a := accessLogger{log: log, repeats: logging.NewRepeats(logging.RepeatInterval, time.Now)}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if m != nil {
			m.RequestStarted()
			defer m.RequestFinished() // also when the handler aborts
		}
		info := &requestInfo{id: newRequestID(r.Header.Get(RequestIDHeader))}
		w.Header()[RequestIDHeader] = []string{info.id}
		sw := &statusWriter{ResponseWriter: w}
		ctx := context.WithValue(r.Context(), ctxKey{}, info)
		next.ServeHTTP(sw, r.WithContext(ctx))
		end := time.Now()
		if m != nil {
			rt := info.route
			if rt == nil {
				rt = m.Unmatched()
			}
			rt.Observe(r.Method, sw.code(), end.Sub(start))
		}
		a.write(ctx, r, info, sw, start, end)
	})
}

// accessLogger writes the access log's lines.
type accessLogger struct {
	log     *slog.Logger
	repeats *logging.Repeats
}

// write logs a served request: at info level, at warn for a server error,
// unless that level is off or the line repeats one written recently.
func (a accessLogger) write(ctx context.Context, r *http.Request, info *requestInfo, sw *statusWriter, start, end time.Time) {
	status := sw.code()
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	h := a.log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	var suppressed int
	if level >= slog.LevelWarn {
		var ok bool
		if ok, suppressed = a.repeats.Allow(repeatKey(r.Method, info.pattern, status)); !ok {
			return
		}
	}
	rec := record(level, r, info, sw, status, start, end)
	if suppressed > 0 {
		rec.AddAttrs(slog.Int("repeated", suppressed), slog.String("within", logging.RepeatInterval.String()))
	}
	if h.Enabled(ctx, slog.LevelDebug) {
		rec.AddAttrs(slog.Any("headers", redact.Headers(r.Header)))
	}
	_ = h.Handle(ctx, rec)
}

// repeatKey groups identical server-error lines: same method, route and
// status.
func repeatKey(method, pattern string, status int) string {
	if pattern == "" {
		pattern = "unmatched"
	}
	return clipPath(method) + " " + pattern + " " + strconv.Itoa(status)
}

// record is the access-log line of a request answered with status, up to
// its masked query.
func record(level slog.Level, r *http.Request, info *requestInfo, sw *statusWriter, status int, start, end time.Time) slog.Record {
	route := info.pattern
	if route == "" {
		route = "unmatched " + clipPath(r.URL.Path)
	}
	// A record with no caller PC: the logger does not add source
	// locations, and slog.Logger would walk the stack for one on every line.
	rec := slog.NewRecord(end, level, "request", 0)
	rec.AddAttrs(
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", status),
		// Integer microseconds: slog encodes floats through encoding/json,
		// a measurable cost on every line.
		slog.Int64("duration_us", end.Sub(start).Microseconds()),
		slog.Int("bytes", sw.bytes),
		slog.String("request_id", info.id),
	)
	if q := redact.Query(r.URL.RawQuery); q != "" {
		rec.AddAttrs(slog.String("query", q))
	}
	return rec
}

// recoverPanics turns a panic into a logged 500 instead of a dropped
// connection. http.ErrAbortHandler keeps its meaning (abort silently).
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(p)
			}
			log.ErrorContext(r.Context(), "panic serving request",
				"request_id", RequestID(r.Context()),
				"panic", redact.Text(fmt.Sprint(p)),
				"stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, "internal error")
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders puts headers.Security on every response. The keys are
// canonical already, so they are stored without Header.Set's work, and with
// the request id and Content-Type they stay within the 7 entries a small Go
// map holds without growing: these headers are on every response. The
// values are shared by every response (net/http never mutates them).
func securityHeaders(next http.Handler) http.Handler {
	sec := headers.Security()
	names := slices.Sorted(maps.Keys(sec))
	values := make([][]string, len(names))
	for i, k := range names {
		values[i] = sec[k]
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for i, k := range names {
			h[k] = values[i]
		}
		next.ServeHTTP(w, r)
	})
}

// closeWhenShuttingDown makes every response of a shutting-down server carry
// Connection: close, so net/http closes each keep-alive connection right
// after its response and the client, having read that header, opens its next
// connection elsewhere. Turning keep-alives off on the server instead
// (SetKeepAlivesEnabled(false)) closes idle connections at once, racing a
// client that is sending its next request on one: that request fails.
func closeWhenShuttingDown(shuttingDown func() bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if shuttingDown() {
			w.Header()["Connection"] = connClose
		}
		next.ServeHTTP(w, r)
	})
}

var connClose = []string{"close"}

// withSentry gives each request its own clone of hub (no global hub) and
// lets sentryhttp trace it and report panics, which it re-raises for
// recoverPanics to answer.
func withSentry(hub *sentry.Hub, next http.Handler) http.Handler {
	sh := sentryhttp.New(sentryhttp.Options{Repanic: true})
	traced := sh.Handle(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := sentry.SetHubOnContext(r.Context(), hub.Clone())
		traced.ServeHTTP(w, r.WithContext(ctx))
	})
}

// clipPath returns at most maxLoggedPath bytes of p, cut at a rune boundary,
// marked when cut.
func clipPath(p string) string {
	if len(p) <= maxLoggedPath {
		return p
	}
	cut := maxLoggedPath
	for cut > 0 && !utf8.RuneStart(p[cut]) {
		cut--
	}
	return p[:cut] + "...(" + strconv.Itoa(len(p)) + " bytes)"
}
