// Package fakebackend is the one stand-in for the HelloAgents backend in the
// operator tools' tests (verify, status, promotion). Its health endpoints are
// the backend's own: backend/health's paths and Runner, over fake checks, so
// the bodies the tools are tested against cannot drift from what a deployed
// replica answers. The rest (the course catalogue, CORS, the security
// headers) answers as the backend's API does.
//
// Knobs set what the dependencies report (each component's status, the
// version) and, for tests of a broken contract, replace one path's answer.
package fakebackend

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/health"
)

// Components of the full report, as a replica with a database, no sandbox
// pool and an AI key reports them. The readiness report has the database only.
const (
	Database    = "database"
	SandboxPool = "sandbox_pool"
	AIService   = "ai_service"
)

// Backend is a running fake backend.
type Backend struct {
	// URL is the server's base URL, without a trailing slash.
	URL string

	mu         sync.Mutex
	results    map[string]health.Result
	handler    http.Handler
	intercepts map[string]http.Handler
	hits       map[string]int
}

// New starts a healthy backend reporting version "1.0.0"; the server stops
// when the test ends.
func New(t testing.TB) *Backend {
	b := NewHandler()
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

// NewHandler is New without a server (URL is empty), for a test server that
// routes to several backends.
func NewHandler() *Backend {
	b := &Backend{
		results: map[string]health.Result{
			Database:    {Status: health.Healthy, Message: "Database connection successful"},
			SandboxPool: {Status: health.Disabled, Message: "Container pool is not enabled"},
			AIService:   {Status: health.Configured, Message: "AI service API key is configured"},
		},
		intercepts: map[string]http.Handler{},
		hits:       map[string]int{},
	}
	b.SetVersion("1.0.0")
	return b
}

// SetVersion sets the version every report carries.
func (b *Backend) SetVersion(v string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	run := health.Runner{Version: v, Timeout: time.Second}
	mux := http.NewServeMux()
	mux.Handle("GET "+health.FullPath, run.Handler(b.check(Database), b.check(SandboxPool), b.check(AIService)))
	mux.Handle("GET "+health.ReadyPath, run.Handler(b.check(Database)))
	mux.Handle("GET "+health.LivePath, run.Handler())
	mux.HandleFunc("GET /api/v1/courses", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"courses":[{"id":1,"slug":"agents-101","title":"Agents 101","level":"beginner"}]}`)
	})
	b.handler = api(mux)
}

// api adds what the backend's middleware adds to every response: the
// security headers, and CORS for any origin.
func api(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if o := r.Header.Get("Origin"); o != "" {
			h.Set("Access-Control-Allow-Origin", o)
			h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// SetComponent sets what a component reports; an unhealthy database makes
// both /health and /health/ready answer 503, as on a real replica.
func (b *Backend) SetComponent(name string, status health.Status, message string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.results[name] = health.Result{Status: status, Message: message}
}

// Intercept answers path with h instead of the backend, to break the
// contract in one chosen way (a wrong body, no answer); nil restores it.
func (b *Backend) Intercept(path string, h http.Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if h == nil {
		delete(b.intercepts, path)
		return
	}
	b.intercepts[path] = h
}

// Hits returns how many requests path has received.
func (b *Backend) Hits(path string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits[path]
}

// ServeHTTP counts the request and answers it through the intercept of its
// path or the backend's handler.
func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.hits[r.URL.Path]++
	h, ok := b.intercepts[r.URL.Path]
	if !ok {
		h = b.handler
	}
	b.mu.Unlock()
	h.ServeHTTP(w, r)
}

func (b *Backend) check(name string) health.Check {
	return health.Check{Name: name, Run: func(context.Context) health.Result {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.results[name]
	}}
}

// Hang is an intercept that never answers until the client gives up.
func Hang() http.Handler {
	return http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
}
