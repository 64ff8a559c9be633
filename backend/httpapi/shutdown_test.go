package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync/atomic"
	"testing"
)

// Through a real net/http server and a keep-alive client: before shutdown
// the client reuses its connection; once shutting down every response says
// Connection: close, the server closes the connection after it, the client
// dials anew for the next request, and readiness is 503 while the API still
// answers 200.
func TestShuttingDownClosesEachConnectionAfterItsResponse(t *testing.T) {
	var stopping atomic.Bool
	h, _ := newAPI(t, func(d *Deps) { d.ShuttingDown = stopping.Load })
	srv := httptest.NewServer(h)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}

	type answer struct {
		code   int
		close  bool // the response said Connection: close
		reused bool
	}
	get := func(path string) answer {
		t.Helper()
		var reused bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		})
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return answer{resp.StatusCode, resp.Close, reused}
	}

	get("/api/v1/courses")
	if a := get("/api/v1/courses"); a != (answer{200, false, true}) {
		t.Errorf("serving: %+v, want 200 on a reused connection without Connection: close", a)
	}
	if a := get("/health/ready"); a.code != 200 {
		t.Errorf("ready while serving: %+v", a)
	}

	stopping.Store(true)
	// The idle connection from before is reused once; its answer closes it.
	if a := get("/api/v1/courses"); a != (answer{200, true, true}) {
		t.Errorf("first answer while shutting down: %+v, want 200, Connection: close, reused", a)
	}
	for _, path := range []string{"/api/v1/courses", "/health/ready", "/health", "/health/live"} {
		want := answer{200, true, false}
		if path == "/health/ready" || path == "/health" {
			want.code = 503
		}
		if a := get(path); a != want {
			t.Errorf("%s while shutting down: %+v, want %+v", path, a, want)
		}
	}
}
