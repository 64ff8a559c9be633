package verify

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/helloagents/infra/healthcheck"
)

func newTLS(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// quick returns health-check settings that make a gate settle in
// milliseconds.
func quick(retries int) healthcheck.Settings {
	hc := healthcheck.Default()
	hc.Interval, hc.Timeout, hc.Retries, hc.StartPeriod = time.Millisecond, 200*time.Millisecond, retries, 0
	return hc
}

func TestGate(t *testing.T) {
	healthy := healthDoc("healthy", map[string][2]string{"database": {"healthy", "ok"}})
	tests := []struct {
		name      string
		failFirst int32 // the first n probes get 503
		code      int
		body      string
		hang      bool
		hc        healthcheck.Settings
		wantErr   string // "" for healthy
		wantCalls int32
	}{
		{name: "healthy", body: healthy, hc: quick(3), wantCalls: 1},
		{name: "recovers within retries", failFirst: 2, body: healthy, hc: quick(3), wantCalls: 3},
		{name: "503 throughout", failFirst: 99, body: healthy, hc: quick(3), wantCalls: 3,
			wantErr: "unhealthy after 3 consecutive failed probes"},
		{name: "wrong body", body: "OK", hc: quick(2), wantCalls: 2, wantErr: "not a health JSON document"},
		{name: "200 saying unhealthy", body: healthDoc("unhealthy", map[string][2]string{"database": {"unhealthy", "down"}}),
			hc: quick(1), wantCalls: 1, wantErr: `body says "unhealthy": unhealthy components: database`},
		{name: "timeout", hang: true, hc: quick(2), wantCalls: 2, wantErr: "no answer within 200ms"},
		{name: "expected codes from the settings", code: 204, hc: func() healthcheck.Settings {
			hc := quick(1)
			hc.ExpectedCodes = []int{200, 204}
			return hc
		}(), wantCalls: 1},
		{name: "unexpected code", code: 204, hc: quick(1), wantCalls: 1, wantErr: "status 204 (want 200)"},
		{name: "start period failures do not count", failFirst: 99, body: healthy, hc: func() healthcheck.Settings {
			hc := quick(2)
			hc.Interval, hc.StartPeriod = 50*time.Millisecond, 300*time.Millisecond
			return hc
		}(), wantErr: "unhealthy after 2 consecutive failed probes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				if tt.hang {
					<-r.Context().Done()
					return
				}
				switch {
				case n <= tt.failFirst:
					w.WriteHeader(503)
				case tt.code != 0:
					w.WriteHeader(tt.code)
				}
				fmt.Fprint(w, tt.body)
			}))
			err := Gate(context.Background(), srv.URL+"/health/ready", tt.hc, nil)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Gate = %v, want healthy", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Gate = %v, want error containing %q", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), srv.URL+"/health/ready") {
				t.Errorf("error %q does not name the URL", err)
			}
			if tt.wantCalls != 0 && calls.Load() != tt.wantCalls {
				t.Errorf("probes = %d, want %d", calls.Load(), tt.wantCalls)
			}
			if tt.hc.StartPeriod > 0 && calls.Load() <= int32(tt.hc.Retries) {
				t.Errorf("probes = %d: failures within the start period were counted", calls.Load())
			}
		})
	}
}

func TestGateStopsWithContext(t *testing.T) {
	srv := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	hc := quick(1000)
	hc.Interval = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Gate(ctx, srv.URL, hc, nil)
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("Gate with a cancelled context = %v, want context canceled", err)
	}
}

func TestGateRejectsBadURL(t *testing.T) {
	if err := Gate(context.Background(), "eu-west/health/ready", quick(1), nil); err == nil ||
		!strings.Contains(err.Error(), `"eu-west/health/ready"`) {
		t.Errorf("Gate(relative URL) = %v, want error naming it", err)
	}
}
