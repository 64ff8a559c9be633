// Package fakebackend is the one stand-in for the HelloAgents backend in the
// operator tools' tests (verify, status, promotion). Its health endpoints are
// the backend's own: backend/health's paths and Runner, over fake checks, so
// the bodies the tools are tested against cannot drift from what a deployed
// replica answers. The rest (the course catalogue, CORS, the security
// headers) answers as the backend's API does.
//
// Knobs set what the dependencies report (each component's status, a
// standby database, the version), how the API answers (its courses, its
// headers, CORS) and, for tests of a broken contract, replace one path's
// answer (Intercept, ForceStatus, Raw, Hang).
package fakebackend

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/headers"
	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/replication"
)

// Components of the full report, as a primary replica with a database, no
// sandbox pool, an AI key and fresh backups reports them. The readiness
// report has the database only.
const (
	Database    = "database"
	SandboxPool = "sandbox_pool"
	AIService   = "ai_service"
	Backups     = "backups"
)

// CoursesPath is the API endpoint the fake serves besides the health ones.
const CoursesPath = "/api/v1/courses"

// Backend is a running fake backend.
type Backend struct {
	// URL is the server's base URL, without a trailing slash.
	URL string

	mu         sync.Mutex
	results    map[string]health.Result
	handler    http.Handler // every path, built by SetVersion
	unready    http.Handler // readiness with the database down (FailReady)
	intercepts map[string]http.Handler
	hits       map[string]int
	failReady  int
	headers    http.Header // added to every response
	denyCORS   bool
	courses    courses
}

// courses is how the course catalogue answers.
type courses struct {
	contentType, body string
	delay             time.Duration
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
			Backups:     run(backups(false)),
		},
		intercepts: map[string]http.Handler{},
		hits:       map[string]int{},
		headers:    headers.Security(),
		courses: courses{contentType: "application/json",
			body: `{"courses":[{"id":1,"slug":"agents-101","title":"Agents 101","level":"beginner"}]}` + "\n"},
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
	mux.Handle("GET "+health.FullPath, run.Handler(b.check(Database), b.check(SandboxPool), b.check(AIService), b.check(Backups)))
	mux.Handle("GET "+health.ReadyPath, run.Handler(b.check(Database)))
	mux.Handle("GET "+health.LivePath, run.Handler())
	mux.HandleFunc("GET "+CoursesPath, b.serveCourses)
	b.handler = b.api(mux)
	b.unready = b.api(run.Handler(health.Database(refused{}, nil)))
}

// api adds what the backend's middleware adds to every response: the
// security headers, and CORS for any origin (unless DenyCORS).
func (b *Backend) api(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		extra, deny := b.headers.Clone(), b.denyCORS
		b.mu.Unlock()
		h := w.Header()
		for k, v := range extra {
			h[k] = v
		}
		if o := r.Header.Get("Origin"); o != "" && !deny {
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

// serveCourses answers the course catalogue after its delay, or not at all
// once the client gives up.
func (b *Backend) serveCourses(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	c := b.courses
	b.mu.Unlock()
	if c.delay > 0 {
		t := time.NewTimer(c.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", c.contentType)
	_, _ = io.WriteString(w, c.body)
}

// SetComponent sets what a component reports; an unhealthy database makes
// both /health and /health/ready answer 503, as on a real replica.
func (b *Backend) SetComponent(name string, status health.Status, message string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.results[name] = health.Result{Status: status, Message: message}
}

// SetStandby makes the database a standby region's, replaying WAL lag
// behind its primary: the database and backups components say so in
// backend/health's own words (degraded past the server's default 3-minute
// STANDBY_MAX_LAG), and both reports stay healthy, as on a real standby.
func (b *Backend) SetStandby(lag time.Duration) {
	secs := lag.Seconds()
	src := fixedReplication{InRecovery: true, ReplayLagSeconds: &secs}
	db, bk := run(health.DatabaseRole(src, 3*time.Minute, nil)), run(backups(true))
	b.mu.Lock()
	defer b.mu.Unlock()
	b.results[Database], b.results[Backups] = db, bk
}

// FailReady makes the next n readiness probes answer 503 with the database
// unhealthy, as a replica that is still starting does; the ones after
// answer from the components again.
func (b *Backend) FailReady(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failReady = n
}

// SetCourses sets the course catalogue's Content-Type and body, for a
// catalogue that is not JSON or not valid JSON.
func (b *Backend) SetCourses(contentType, body string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.courses.contentType, b.courses.body = contentType, body
}

// DelayCourses makes each course catalogue answer wait d first (a slow
// database), for tests of the response-time check.
func (b *Backend) DelayCourses(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.courses.delay = d
}

// DenyCORS answers preflights as a backend whose allow-list lacks the
// origin does: 204 without any CORS header.
func (b *Backend) DenyCORS() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.denyCORS = true
}

// DropSecurityHeaders removes the security headers from every response.
func (b *Backend) DropSecurityHeaders() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range headers.Security() {
		b.headers.Del(k)
	}
}

// SetHeader sets a header on every response; an empty value removes it,
// for one security header missing.
func (b *Backend) SetHeader(key, value string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if value == "" {
		b.headers.Del(key)
		return
	}
	b.headers.Set(key, value)
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

// ForceStatus breaks the contract on path: it answers the backend's own
// body with status code whatever the body says (a 200 saying unhealthy).
// Intercept(path, nil) restores it.
func (b *Backend) ForceStatus(path string, code int) {
	b.Intercept(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		h := b.handler
		b.mu.Unlock()
		h.ServeHTTP(&forcedStatus{ResponseWriter: w, code: code}, r)
	}))
}

// Hits returns how many requests path has received.
func (b *Backend) Hits(path string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits[path]
}

// ServeHTTP counts the request and answers it through the intercept of its
// path, the starting replica's readiness (FailReady) or the backend's
// handler.
func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.hits[r.URL.Path]++
	h, ok := b.intercepts[r.URL.Path]
	switch {
	case ok:
	case r.URL.Path == health.ReadyPath && r.Method == http.MethodGet && b.failReady > 0:
		b.failReady--
		h = b.unready
	default:
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

// Raw is an intercept that breaks the contract outright: it answers code
// and body (as application/json), a body the backend never sends.
func Raw(code int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	})
}

// forcedStatus answers code whatever status the handler writes.
type forcedStatus struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (f *forcedStatus) WriteHeader(int) {
	if !f.wrote {
		f.wrote = true
		f.ResponseWriter.WriteHeader(f.code)
	}
}

func (f *forcedStatus) Write(p []byte) (int, error) {
	f.WriteHeader(0)
	return f.ResponseWriter.Write(p)
}

// run runs one check, for results that are fixed once set.
func run(c health.Check) health.Result {
	return c.Run(context.Background())
}

// backups is the backups check of a replica whose last WAL segment was
// archived 30 s ago and last full backup finished 5 h ago, with the
// server's default policy; on a standby only the backup's age counts.
func backups(inRecovery bool) health.Check {
	now := time.Now()
	st := archive{Enabled: true, InRecovery: inRecovery, LastFullBackupAt: now.Add(-5 * time.Hour)}
	if !inRecovery {
		st.LastArchivedWAL, st.LastArchivedAt = "000000010000000000000010", now.Add(-30*time.Second)
	}
	p := health.BackupsPolicy{MaxWALAge: 2 * time.Minute, MaxFullAge: 8 * 24 * time.Hour}
	return health.Backups(st, p, func() time.Time { return now }, nil)
}

// archive is a fixed archive status.
type archive health.ArchiveStats

func (a archive) ArchiveStats(context.Context) (health.ArchiveStats, error) {
	return health.ArchiveStats(a), nil
}

// fixedReplication is a fixed replication status.
type fixedReplication replication.Status

func (s fixedReplication) Replication(context.Context) (replication.Status, error) {
	return replication.Status(s), nil
}

// refused is a database that refuses every connection.
type refused struct{}

func (refused) Ping(context.Context) error { return errors.New("connection refused") }
