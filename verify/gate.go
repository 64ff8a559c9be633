package verify

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/healthcheck"
)

// Gate probes one readiness URL the way the platform's health checks do, so a
// promotion step passes exactly when Docker and Cloudflare would call the
// region healthy. Each probe is bounded by hc.Timeout; probes are hc.Interval
// apart; hc.Retries consecutive failed probes make the target unhealthy, and
// failures within hc.StartPeriod of the gate's start do not count (the
// region may still be starting). A probe is healthy when its status is one of
// hc.ExpectedCodes and its body is empty or a health document saying
// "healthy"; a 200 with a wrong body does not pass.
//
// Gate returns nil at the first healthy probe, and otherwise an error naming
// the URL and the last status or cause, or when ctx ends. A zero Timeout,
// Interval, Retries or ExpectedCodes takes the value of
// components.DefaultHealthCheck (a zero StartPeriod means no grace); a nil
// client means a default one.
func Gate(ctx context.Context, url string, hc healthcheck.Settings, client *http.Client) error {
	if err := checkURL(url); err != nil {
		return fmt.Errorf("gate %q: %w", redact(url), err)
	}
	hc = gateDefaults(hc)
	if client == nil {
		client = &http.Client{}
	}
	r := runner{opts: Options{Timeout: hc.Timeout, Client: client}}
	start := time.Now()
	failures, probes := 0, 0
	for {
		probes++
		err := r.gateProbe(ctx, url, hc)
		if err == nil {
			return nil
		}
		if time.Since(start) >= hc.StartPeriod {
			failures++
		}
		if failures >= hc.Retries {
			return fmt.Errorf("gate %s: unhealthy after %d consecutive failed probes (%d in all, %s): %w",
				redact(url), failures, probes, time.Since(start).Round(time.Millisecond), err)
		}
		if !sleep(ctx, hc.Interval) {
			return fmt.Errorf("gate %s: stopped after %d probes: %w (last probe: %w)",
				redact(url), probes, ctx.Err(), err)
		}
	}
}

// gateDefaults fills zero fields from the platform defaults.
func gateDefaults(hc healthcheck.Settings) healthcheck.Settings {
	d := healthcheck.Default()
	if hc.Timeout <= 0 {
		hc.Timeout = d.Timeout
	}
	if hc.Interval <= 0 {
		hc.Interval = d.Interval
	}
	if hc.Retries <= 0 {
		hc.Retries = d.Retries
	}
	if hc.StartPeriod < 0 {
		hc.StartPeriod = 0
	}
	if len(hc.ExpectedCodes) == 0 {
		hc.ExpectedCodes = d.ExpectedCodes
	}
	return hc
}

// gateProbe makes one probe and says why it is not healthy.
func (r runner) gateProbe(ctx context.Context, url string, hc healthcheck.Settings) error {
	resp, err := r.do(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	if !hc.Healthy(resp.status) {
		return fmt.Errorf("status %d (want %s), %s", resp.status, hc.ExpectedCodesString(), excerpt(resp.body))
	}
	if len(resp.body) == 0 {
		return nil
	}
	h, err := ParseHealth(resp.body, false)
	if err != nil {
		return fmt.Errorf("status %d but %w", resp.status, err)
	}
	if h.Status != health.Healthy {
		return fmt.Errorf("status %d but body says %q: %s", resp.status, h.Status, failing(h))
	}
	return nil
}
