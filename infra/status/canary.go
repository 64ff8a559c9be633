package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/helloagents/infra/backend/server"
	"github.com/helloagents/infra/canary"
	"github.com/helloagents/infra/contract"
)

// CanaryStatus is a region's running canary, as the stack's canaries
// output names it, with its figures next to the stable replicas' from the
// region's Prometheus over the time it has run.
type CanaryStatus struct {
	Image          string  `json:"image"`
	Weight         int     `json:"weight"`
	BakeSeconds    float64 `json:"bakeSeconds"`
	MaxBakeSeconds float64 `json:"maxBakeSeconds"`
	// RunningSeconds is how long the canary replica has run (its process
	// start time in Prometheus); BakeLeftSeconds what is left of the bake,
	// 0 once it is over (the promotion is deciding, or extending the bake
	// for traffic). Both are absent when Prometheus does not know.
	RunningSeconds  *float64 `json:"runningSeconds,omitempty"`
	BakeLeftSeconds *float64 `json:"bakeLeftSeconds,omitempty"`
	// WindowSeconds is what the figures were read over: the time the
	// canary has run, the bake when that is unknown.
	WindowSeconds float64        `json:"windowSeconds"`
	Canary        canary.Figures `json:"canary"`
	Stable        canary.Figures `json:"stable"`
	// Error says why the figures could not be read.
	Error string `json:"error,omitempty"`
}

// minCanaryWindow is the shortest window the figures are read over: a few
// scrapes, so a canary that just started shows its first requests.
const minCanaryWindow = 30 * time.Second

// canaryStatus reads a running canary's figures from the region's
// Prometheus src (nil when the region's Prometheus is unknown; err says
// why).
func canaryStatus(ctx context.Context, c contract.Canary, src *canary.Prometheus, srcErr error, now time.Time) *CanaryStatus {
	s := &CanaryStatus{Image: c.Image, Weight: c.Weight, BakeSeconds: c.Bake.Seconds(), MaxBakeSeconds: c.MaxBake.Seconds()}
	if src == nil {
		s.Error = srcErr.Error()
		return s
	}
	fp := server.ImageFingerprint(c.Image)
	window := c.Bake
	started, err := src.CanaryStarted(ctx, fp)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	if !started.IsZero() {
		running := now.Sub(started)
		left := max(c.Bake-running, 0).Seconds()
		r := running.Seconds()
		s.RunningSeconds, s.BakeLeftSeconds = &r, &left
		window = max(running, minCanaryWindow)
	}
	window = window.Round(time.Second)
	s.WindowSeconds = window.Seconds()
	if s.Canary, err = src.Figures(ctx, fp, true, window); err == nil {
		s.Stable, err = src.Figures(ctx, fp, false, window)
	}
	if err != nil {
		s.Error = err.Error()
	}
	return s
}

// canarySource is the region's Prometheus as package canary asks it, with
// the Cloudflare Access token over https only, redirects not followed.
func canarySource(base *url.URL, client *http.Client, token accessToken) *canary.Prometheus {
	h := http.Header{}
	if token.id != "" && base.Scheme == "https" {
		h.Set("CF-Access-Client-Id", token.id)
		h.Set("CF-Access-Client-Secret", token.secret)
	}
	return &canary.Prometheus{URL: base.String(), Header: h, Client: client}
}

// printCanaries writes one line per running canary under the table.
func printCanaries(w io.Writer, st Status) {
	for _, r := range st.Regions {
		c := r.Canary
		if c == nil {
			continue
		}
		bake := (time.Duration(c.BakeSeconds) * time.Second).String()
		left := "bake time unknown"
		if c.BakeLeftSeconds != nil {
			left = fmt.Sprintf("%s of its %s bake left", (time.Duration(*c.BakeLeftSeconds) * time.Second).String(), bake)
			if *c.BakeLeftSeconds == 0 {
				left = fmt.Sprintf("its %s bake is over (the promotion decides, or extends it up to %s for traffic)",
					bake, time.Duration(c.MaxBakeSeconds)*time.Second)
			}
		}
		fmt.Fprintf(w, "canary in %s: %s at %d %% of the requests, %s\n", r.Name, c.Image, c.Weight, left)
		if c.Error != "" {
			fmt.Fprintf(w, "  figures unavailable: %s\n", c.Error)
			continue
		}
		over := time.Duration(c.WindowSeconds) * time.Second
		fmt.Fprintf(w, "  over the last %s: canary %s; stable %s\n", over, c.Canary, c.Stable)
	}
}
