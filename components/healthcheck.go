package components

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// HealthCheck is the one description of how the backend is probed. The Docker
// healthcheck, the Cloudflare health checks and monitors, and the promotion
// gates all derive from it, so they can never disagree about what "healthy"
// means.
type HealthCheck struct {
	// Path probed on the backend, for example "/health/ready".
	Path string `json:"path"`
	// LivenessPath is what the container healthcheck probes: the process only,
	// so a database outage does not make Docker restart every replica.
	LivenessPath string `json:"livenessPath"`
	// Interval between two probes.
	Interval time.Duration `json:"interval"`
	// Timeout of one probe; must be shorter than Interval.
	Timeout time.Duration `json:"timeout"`
	// Retries is how many consecutive failures mark the target unhealthy.
	Retries int `json:"retries"`
	// StartPeriod is the grace time after a start during which failures do not count.
	StartPeriod time.Duration `json:"startPeriod"`
	// ExpectedCodes are the HTTP status codes that count as healthy.
	ExpectedCodes []int `json:"expectedCodes"`
}

// DefaultHealthCheck returns the settings from the platform's operational
// notes: readiness on /health/ready, liveness on /health/live, a probe every
// 30 s with a 5 s timeout, 3 retries and a 10 s start period.
func DefaultHealthCheck() HealthCheck {
	return HealthCheck{
		Path:          "/health/ready",
		LivenessPath:  "/health/live",
		Interval:      30 * time.Second,
		Timeout:       5 * time.Second,
		Retries:       3,
		StartPeriod:   10 * time.Second,
		ExpectedCodes: []int{200},
	}
}

// Healthy reports whether status is one of the expected codes.
func (h HealthCheck) Healthy(status int) bool {
	return slices.Contains(h.ExpectedCodes, status)
}

// ExpectedCodeStrings renders the expected codes one string each, as
// Cloudflare's load balancer monitors want them.
func (h HealthCheck) ExpectedCodeStrings() []string {
	out := make([]string, len(h.ExpectedCodes))
	for i, c := range h.ExpectedCodes {
		out[i] = strconv.Itoa(c)
	}
	return out
}

// ExpectedCodesString renders the expected codes the way Cloudflare's
// standalone health checks want them: "200" or "200,204".
func (h HealthCheck) ExpectedCodesString() string {
	return strings.Join(h.ExpectedCodeStrings(), ",")
}

// seconds rounds d to whole seconds, the unit of Docker's and Cloudflare's
// health-check settings.
func seconds(d time.Duration) int { return int(d.Round(time.Second) / time.Second) }

// DockerDuration renders d, rounded to whole seconds, the way the docker
// provider reads a healthcheck duration back from the engine: Go's
// time.Duration.String ("30s", "1m0s", "1m30s"). "60s" would read back as
// "1m0s" and replace the container on every `up`.
func DockerDuration(d time.Duration) string {
	return (time.Duration(seconds(d)) * time.Second).String()
}
