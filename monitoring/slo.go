package monitoring

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
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
	// one of DurationBuckets so the P95 is compared at a bucket bound.
	LatencyP95 time.Duration
}

// DefaultSLO is the platform's published target: 99.9 % availability over
// 30 days, an error ratio under 1 % and a P95 under 500 ms.
func DefaultSLO() SLO {
	return SLO{
		Availability: 0.999,
		Period:       BasePeriod,
		ErrorRatio:   0.01,
		LatencyP95:   500 * time.Millisecond,
	}
}

// BasePeriod is the period the SRE workbook's windows are defined for;
// Windows scales them by Period/BasePeriod.
const BasePeriod = 30 * 24 * time.Hour

// Bounds of SLO.Validate.
const (
	// MinAvailability keeps the fastest burn threshold (14.4 × budget) under
	// 100 %, so the page alert can fire at all.
	MinAvailability = 0.95
	// MaxAvailability: beyond it the budget is too small to measure with
	// request counts.
	MaxAvailability = 0.99999
	// MinPeriod and MaxPeriod bound Period: 1 hour (tests) to 90 days (the
	// longest window, 3d scaled, must fit in Prometheus's retention).
	MinPeriod = time.Hour
	MaxPeriod = 90 * 24 * time.Hour
)

// DurationBuckets are the bounds, in seconds, of the backend's
// helloagents_http_request_duration_seconds histogram (backend/metrics
// DurationBuckets; a test compares the two lists): SLO.LatencyP95 must be
// one of them.
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
// ratio over both Long and Short exceeds BurnRate times the error budget
// (1 - Availability), for For.
type BurnWindow struct {
	Severity Severity
	Long     time.Duration
	Short    time.Duration
	BurnRate float64
	For      time.Duration
}

// Threshold is the error ratio the window alerts above: BurnRate × budget.
func (w BurnWindow) Threshold(s SLO) float64 {
	return roundSig(w.BurnRate * s.Budget())
}

// Budget is the error budget, 1 - Availability (0.001 for 99.9 %).
func (s SLO) Budget() float64 {
	return roundSig(1 - s.Availability)
}

// Validate reports every invalid field, naming the field (as in the stack
// configuration's `slo` section), its value and what is allowed.
func (s SLO) Validate() error {
	var errs []error
	if !(s.Availability >= MinAvailability && s.Availability <= MaxAvailability) {
		errs = append(errs, fmt.Errorf("slo.availability is %v: must be between %v and %v (a fraction: 0.999 is 99.9 %%)",
			s.Availability, MinAvailability, MaxAvailability))
	}
	if s.Period < MinPeriod || s.Period > MaxPeriod || s.Period%time.Second != 0 {
		errs = append(errs, fmt.Errorf("slo.period is %q: must be whole seconds between %s and %s (30 days is \"720h\")",
			s.Period, MinPeriod, MaxPeriod))
	}
	if !(s.ErrorRatio > 0 && s.ErrorRatio < 1) {
		errs = append(errs, fmt.Errorf("slo.errorRatio is %v: must be above 0 and below 1 (a fraction: 0.01 is 1 %%)", s.ErrorRatio))
	}
	if !slices.Contains(bucketDurations(), s.LatencyP95) {
		errs = append(errs, fmt.Errorf("slo.latencyP95 is %q: must be one of the latency histogram's buckets %s",
			s.LatencyP95, bucketList()))
	}
	return errors.Join(errs...)
}

// Windows are the SRE workbook's multi-window, multi-burn-rate windows for a
// 30-day period (page: 1h/5m at burn rate 14.4 and 6h/30m at 6; ticket:
// 1d/2h at 3 and 3d/6h at 1), every duration scaled by Period/30d and
// rounded to the second, so a short Period in a test shortens every window
// proportionally. For (2m, 15m, 1h, 3h for 30 days, scaled alike; Pyrra's
// values, under half the short window) is how long the condition must
// hold: it filters a blip without delaying a real page much.
func (s SLO) Windows() []BurnWindow {
	base := []BurnWindow{
		{SeverityPage, time.Hour, 5 * time.Minute, 14.4, 2 * time.Minute},
		{SeverityPage, 6 * time.Hour, 30 * time.Minute, 6, 15 * time.Minute},
		{SeverityTicket, 24 * time.Hour, 2 * time.Hour, 3, time.Hour},
		{SeverityTicket, 3 * 24 * time.Hour, 6 * time.Hour, 1, 3 * time.Hour},
	}
	for i, w := range base {
		base[i].Long = s.Scale(w.Long)
		base[i].Short = s.Scale(w.Short)
		base[i].For = s.Scale(w.For)
	}
	return base
}

// Scale scales d, a duration meant for a 30-day period, to s.Period, rounded
// to the second (at least one second).
func (s SLO) Scale(d time.Duration) time.Duration {
	scaled := time.Duration(math.Round(float64(d) * float64(s.Period) / float64(BasePeriod)))
	return max(scaled.Round(time.Second), time.Second)
}

// bucketDurations are DurationBuckets as durations, to the millisecond.
func bucketDurations() []time.Duration {
	var ds []time.Duration
	for _, b := range DurationBuckets() {
		ds = append(ds, time.Duration(math.Round(b*1000))*time.Millisecond)
	}
	return ds
}

func bucketList() string {
	var s []string
	for _, d := range bucketDurations() {
		s = append(s, d.String())
	}
	return strings.Join(s, ", ")
}

// roundSig rounds x to 10 significant digits, so 1 - 0.999 is 0.001 and
// 14.4 × 0.001 is 0.0144 in the rendered rules.
func roundSig(x float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 10, 64), 64)
	if err != nil {
		return x
	}
	return r
}
