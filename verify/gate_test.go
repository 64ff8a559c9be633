package verify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/internal/fakebackend"
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
	type backend = fakebackend.Backend
	databaseDown := func(b *backend) { b.SetComponent(fakebackend.Database, health.Unhealthy, "Database connection failed") }
	tests := []struct {
		name      string
		set       func(*backend) // nil: a ready backend
		hc        healthcheck.Settings
		wantErr   string // "" for healthy
		wantCalls int
	}{
		{name: "healthy", hc: quick(3), wantCalls: 1},
		{name: "recovers within retries", set: func(b *backend) { b.FailReady(2) }, hc: quick(3), wantCalls: 3},
		{name: "503 throughout", set: databaseDown, hc: quick(3), wantCalls: 3,
			wantErr: "unhealthy after 3 consecutive failed probes"},
		{name: "wrong body", set: func(b *backend) { b.Intercept(health.ReadyPath, fakebackend.Raw(http.StatusOK, "OK")) },
			hc: quick(2), wantCalls: 2, wantErr: "not a health JSON document"},
		{name: "200 saying unhealthy", set: func(b *backend) {
			b.SetComponent(fakebackend.Database, health.Unhealthy, "down")
			b.ForceStatus(health.ReadyPath, http.StatusOK)
		}, hc: quick(1), wantCalls: 1, wantErr: `body says "unhealthy": unhealthy components: database`},
		{name: "timeout", set: func(b *backend) { b.Intercept(health.ReadyPath, fakebackend.Hang()) },
			hc: quick(2), wantCalls: 2, wantErr: "no answer within 200ms"},
		{name: "expected codes from the settings", set: func(b *backend) { b.ForceStatus(health.ReadyPath, http.StatusNoContent) },
			hc: func() healthcheck.Settings {
				hc := quick(1)
				hc.ExpectedCodes = []int{200, 204}
				return hc
			}(), wantCalls: 1},
		{name: "unexpected code", set: func(b *backend) { b.ForceStatus(health.ReadyPath, http.StatusNoContent) },
			hc: quick(1), wantCalls: 1, wantErr: "status 204 (want 200)"},
		{name: "start period failures do not count", set: databaseDown, hc: func() healthcheck.Settings {
			hc := quick(2)
			hc.Interval, hc.StartPeriod = 50*time.Millisecond, 300*time.Millisecond
			return hc
		}(), wantErr: "unhealthy after 2 consecutive failed probes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fakebackend.New(t)
			if tt.set != nil {
				tt.set(b)
			}
			url := b.URL + health.ReadyPath
			err := Gate(context.Background(), url, tt.hc, nil)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Gate = %v, want healthy", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Gate = %v, want error containing %q", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), url) {
				t.Errorf("error %q does not name the URL", err)
			}
			calls := b.Hits(health.ReadyPath)
			if tt.wantCalls != 0 && calls != tt.wantCalls {
				t.Errorf("probes = %d, want %d", calls, tt.wantCalls)
			}
			if tt.hc.StartPeriod > 0 && calls <= tt.hc.Retries {
				t.Errorf("probes = %d: failures within the start period were counted", calls)
			}
		})
	}
}

func TestGateStopsWithContext(t *testing.T) {
	b := fakebackend.New(t)
	b.SetComponent(fakebackend.Database, health.Unhealthy, "Database connection failed")
	hc := quick(1000)
	hc.Interval = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Gate(ctx, b.URL+health.ReadyPath, hc, nil)
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
