package promote_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// mode is how a fake region backend behaves for one image.
type mode string

const (
	healthy   mode = "healthy"
	down      mode = "503"        // readiness answers 503
	slow      mode = "slow"       // readiness answers after the gate's timeout
	wrongBody mode = "wrong body" // readiness answers 200 with an unhealthy body
)

// region is a real local HTTP server standing in for one region's backend.
// The stack program points the region's health URL at
// <server>/<image tag>/health/ready, so the server knows which image the
// region "runs" and can behave differently for the new one.
type fakeRegion struct {
	name  string
	srv   *httptest.Server
	mu    sync.Mutex
	modes map[string]mode // by image tag; default healthy
	hits  map[string]int  // readiness probes by image tag
	app   int             // frontend requests (the gates' frontend check)
}

func newFakeRegion(t *testing.T, name string) *fakeRegion {
	f := &fakeRegion{name: name, modes: map[string]mode{}, hits: map[string]int{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRegion) set(tag string, m mode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.modes[tag] = m
}

func (f *fakeRegion) probes(tag string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[tag]
}

func healthBody(status string) string {
	b, _ := json.Marshal(map[string]any{
		"status": status, "timestamp": time.Now().UTC().Format(time.RFC3339Nano), "version": "1.0.0",
		"components": map[string]any{
			"database":     map[string]string{"status": status, "message": "Database connection checked"},
			"sandbox_pool": map[string]string{"status": "disabled", "message": "Container pool is not enabled"},
			"ai_service":   map[string]string{"status": "configured", "message": "AI service API key is configured"},
		},
	})
	return string(b)
}

// ServeHTTP follows the backend contract (health endpoints, courses API,
// CORS, security headers) except where the image's mode breaks readiness.
func (f *fakeRegion) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tag, path, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	path = "/" + path
	f.mu.Lock()
	m := f.modes[tag]
	if path == "/health/ready" {
		f.hits[tag]++
	}
	if path == "/app" && r.Method == http.MethodGet {
		f.app++
	}
	f.mu.Unlock()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	if r.Method == http.MethodOptions {
		if o := r.Header.Get("Origin"); o != "" {
			h.Set("Access-Control-Allow-Origin", o)
			h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("Content-Type", "application/json")
	switch path {
	case "/health", "/health/ready":
		switch m {
		case down:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, healthBody("unhealthy"))
			return
		case slow:
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		case wrongBody:
			fmt.Fprint(w, `{"status":"starting"}`)
			return
		}
		fmt.Fprint(w, healthBody("healthy"))
	case "/health/live":
		fmt.Fprint(w, healthBody("healthy"))
	case "/app":
		h.Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>HelloAgents</title>")
	case "/api/v1/courses":
		fmt.Fprint(w, `{"courses":[{"id":1,"title":"Agents 101"}]}`)
	default:
		http.NotFound(w, r)
	}
}
