package monitoring

import (
	"time"
)

// SLO is the platform's promise. Zero values are invalid: the stack
// configuration fills the defaults (DefaultSLO) before validating.
type SLO struct {
	// Availability is the fraction of requests that must not answer 5xx over
	// Period: 0.999. 1 - Availability is the error budget.
	Availability float64
	// Period is the SLO's window: 30 days.
	Period time.Duration
	// ErrorRatio is the error-ratio objective (5xx / all requests), the
	// threshold of HelloAgentsErrorRatioHigh: 0.01.
	ErrorRatio float64
	// LatencyP95 is the 95th percentile latency objective: 500ms. It must be
	// one of DurationBuckets so the P95 is read at a bucket bound.
	LatencyP95 time.Duration
}

// DefaultSLO is the platform's published target: 99.9 % availability over
// 30 days, an error ratio under 1 % and a P95 under 500 ms.
func DefaultSLO() SLO {
	return SLO{
		Availability: 0.999,
		Period:       30 * 24 * time.Hour,
		ErrorRatio:   0.01,
		LatencyP95:   500 * time.Millisecond,
	}
}

// DurationBuckets are the bounds, in seconds, of the backend's
// helloagents_http_request_duration_seconds histogram (backend/metrics
// DurationBuckets): SLO.LatencyP95 must be one of them.
func DurationBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
}

// Severity is an alert's urgency, its `severity` label: Alertmanager routes
// on it.
type Severity string

// The two severities of the SRE workbook: a page wakes someone up, a ticket
// is handled in working hours.
const (
	SeverityPage   Severity = "page"
	SeverityTicket Severity = "ticket"
)

// BurnWindow is one multi-window, multi-burn-rate alert condition: the error
// ratio over both Long and Short exceeds BurnRate times the error budget,
// for For.
type BurnWindow struct {
	Severity Severity
	Long     time.Duration
	Short    time.Duration
	BurnRate float64
	For      time.Duration
}

// Validate reports the first invalid field, naming the field, its value and
// what is allowed.
func (s SLO) Validate() error {
	return nil // filled in below
}

// Windows are the SRE workbook's multi-window, multi-burn-rate windows for a
// 30-day period (page: 1h/5m at burn rate 14.4 and 6h/30m at 6; ticket:
// 1d/2h at 3 and 3d/6h at 1), every duration scaled by Period/30d, so a
// short Period in a test shortens every window proportionally.
func (s SLO) Windows() []BurnWindow {
	return nil
}
