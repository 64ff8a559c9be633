package fakebackend_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/internal/fakebackend"
)

func get(t *testing.T, url string) (int, health.Report) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var rep health.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("GET %s: %v in %q", url, err, body)
	}
	return resp.StatusCode, rep
}

func TestBackend(t *testing.T) {
	for _, tc := range []struct {
		name     string
		set      func(b *fakebackend.Backend)
		path     string
		code     int
		status   health.Status
		comps    int
		version  string
		hitsPath string
	}{
		{"healthy full", nil, health.FullPath, 200, health.Healthy, 3, "1.0.0", health.FullPath},
		{"healthy ready", nil, health.ReadyPath, 200, health.Healthy, 1, "1.0.0", health.ReadyPath},
		{"liveness has no components", nil, health.LivePath, 200, health.Healthy, 0, "1.0.0", health.LivePath},
		{"database down: full 503", func(b *fakebackend.Backend) {
			b.SetComponent(fakebackend.Database, health.Unhealthy, "Database connection failed")
		}, health.FullPath, 503, health.Unhealthy, 3, "1.0.0", health.FullPath},
		{"database down: ready 503", func(b *fakebackend.Backend) {
			b.SetComponent(fakebackend.Database, health.Unhealthy, "Database connection failed")
		}, health.ReadyPath, 503, health.Unhealthy, 1, "1.0.0", health.ReadyPath},
		{"database down: live 200", func(b *fakebackend.Backend) {
			b.SetComponent(fakebackend.Database, health.Unhealthy, "Database connection failed")
		}, health.LivePath, 200, health.Healthy, 0, "1.0.0", health.LivePath},
		{"version", func(b *fakebackend.Backend) { b.SetVersion("abc123") }, health.FullPath, 200, health.Healthy, 3, "abc123", health.FullPath},
		{"intercepted", func(b *fakebackend.Backend) {
			b.Intercept(health.ReadyPath, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, `{"status":"starting"}`)
			}))
		}, health.ReadyPath, 200, "starting", 0, "", health.ReadyPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := fakebackend.New(t)
			if tc.set != nil {
				tc.set(b)
			}
			code, rep := get(t, b.URL+tc.path)
			if code != tc.code || rep.Status != tc.status || len(rep.Components) != tc.comps || rep.Version != tc.version {
				t.Errorf("GET %s: %d %+v, want %d, status %s, %d components, version %q",
					tc.path, code, rep, tc.code, tc.status, tc.comps, tc.version)
			}
			if n := b.Hits(tc.hitsPath); n != 1 {
				t.Errorf("Hits(%s) = %d, want 1", tc.hitsPath, n)
			}
		})
	}
}
