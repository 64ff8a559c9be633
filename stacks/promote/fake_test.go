package promote_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/internal/fakebackend"
)

// mode is how a fake region backend behaves for one image.
type mode string

const (
	healthy   mode = "healthy"
	down      mode = "503"        // readiness answers 503
	slow      mode = "slow"       // readiness answers after the gate's timeout
	wrongBody mode = "wrong body" // readiness answers 200 with an unhealthy body
)

// fakeRegion is a real local HTTP server standing in for one region's
// backend. The stack program points the region's health URL at
// <server>/<image tag>/health/ready, so the server knows which image the
// region "runs": each tag is answered by its own fakebackend.Backend (the
// backend's real health bodies), which the mode of that image breaks.
type fakeRegion struct {
	name     string
	srv      *httptest.Server
	mu       sync.Mutex
	backends map[string]*fakebackend.Backend // by image tag
	app      int                             // frontend requests (the gates' frontend check)
}

func newFakeRegion(t *testing.T, name string) *fakeRegion {
	f := &fakeRegion{name: name, backends: map[string]*fakebackend.Backend{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// backend returns the backend of an image tag, healthy until set.
func (f *fakeRegion) backend(tag string) *fakebackend.Backend {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.backends[tag]
	if !ok {
		b = fakebackend.NewHandler()
		f.backends[tag] = b
	}
	return b
}

func (f *fakeRegion) set(tag string, m mode) {
	b := f.backend(tag)
	b.SetComponent(fakebackend.Database, health.Healthy, "Database connection successful")
	var broken http.Handler
	switch m {
	case down:
		b.SetComponent(fakebackend.Database, health.Unhealthy, "Database connection failed")
	case slow:
		broken = http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		})
	case wrongBody:
		broken = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"status":"starting"}`)
		})
	}
	b.Intercept(health.FullPath, broken)
	b.Intercept(health.ReadyPath, broken)
}

// probes is how many readiness probes the image tag has had.
func (f *fakeRegion) probes(tag string) int {
	return f.backend(tag).Hits(health.ReadyPath)
}

// ServeHTTP answers <tag>/app with the frontend page and everything else
// under <tag>/ with that image's backend.
func (f *fakeRegion) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tag, path, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if "/"+path == "/app" {
		f.mu.Lock()
		if r.Method == http.MethodGet {
			f.app++
		}
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>HelloAgents</title>")
		return
	}
	http.StripPrefix("/"+tag, f.backend(tag)).ServeHTTP(w, r)
}
