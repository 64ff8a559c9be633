// Package healthcheck holds the one description of how the platform probes
// the backend: the pace of the Docker healthcheck, of the Cloudflare health
// checks and monitors, and of the promotion gates, and the status codes
// they accept. It imports no Pulumi package, so the operator tools (verify,
// status, promote's gates) use the same value as the program without
// linking the SDKs.
//
// The paths probed are not settings: they are what the backend serves
// (health.ReadyPath, health.LivePath in backend/health), and a setting could
// only name a path the backend does not answer.
package healthcheck

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Settings pace every probe of the backend. Durations are time.Duration;
// the stack file writes them as Go duration strings ("30s").
type Settings struct {
	// Interval between two probes.
	Interval time.Duration
	// Timeout of one probe; must be shorter than Interval.
	Timeout time.Duration
	// Retries is how many consecutive failures mark the target unhealthy.
	Retries int
	// StartPeriod is the grace time after a start during which failures do not count.
	StartPeriod time.Duration
	// ExpectedCodes are the HTTP status codes that count as healthy.
	ExpectedCodes []int
}

// Default returns the settings from the platform's operational notes: a
// probe every 30 s with a 5 s timeout, 3 retries, a 10 s start period, and
// 200 as the only healthy status.
func Default() Settings {
	return Settings{
		Interval:      30 * time.Second,
		Timeout:       5 * time.Second,
		Retries:       3,
		StartPeriod:   10 * time.Second,
		ExpectedCodes: []int{200},
	}
}

// Healthy reports whether status is one of the expected codes.
func (s Settings) Healthy(status int) bool {
	return slices.Contains(s.ExpectedCodes, status)
}

// ExpectedCodeStrings renders the expected codes one string each, as
// Cloudflare's load balancer monitors want them.
func (s Settings) ExpectedCodeStrings() []string {
	out := make([]string, len(s.ExpectedCodes))
	for i, c := range s.ExpectedCodes {
		out[i] = strconv.Itoa(c)
	}
	return out
}

// ExpectedCodesString renders the expected codes the way Cloudflare's
// standalone health checks want them: "200" or "200,204".
func (s Settings) ExpectedCodesString() string {
	return strings.Join(s.ExpectedCodeStrings(), ",")
}
