package components

import (
	"fmt"
	"slices"
	"strconv"
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

// ExpectedCodesString renders the expected codes the way Cloudflare wants
// them: "200" or "200,204".
func (h HealthCheck) ExpectedCodesString() string {
	s := ""
	for i, c := range h.ExpectedCodes {
		if i > 0 {
			s += ","
		}
		s += strconv.Itoa(c)
	}
	return s
}

// DockerDuration renders d as Docker's healthcheck wants it ("30s").
func DockerDuration(d time.Duration) string {
	return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
}
