// Package canary judges a canary against the stable replicas in a region's
// Prometheus.
//
// A release first runs the new image as one canary replica beside the
// stable replicas of a region; the region's proxy sends it a share of the
// requests. The canary's own series (told apart by the image fingerprint of
// helloagents_build_info) are compared with the limits and with the stable
// replicas' over a bake window (Judge); Decide is the pure comparison.
//
// The package links no Pulumi and no database driver: the promotion engine
// and the operator tools call it.
package canary

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Limits are what a canary must stay within to pass.
type Limits struct {
	MinRequests          int           // requests the canary must serve in the window to be judged
	ErrorRatio           float64       // absolute max of the canary's 5xx ratio
	LatencyP95           time.Duration // absolute max of the canary's P95
	ErrorRatioOverStable float64       // canary error ratio may exceed stable's by at most this
	LatencyP95OverStable float64       // canary P95 may be at most this × stable's (when stable has a P95)
	// LatencyP95Floor is where the relative P95 limit starts: a canary
	// whose P95 is at most this passes it whatever the stable replicas'.
	// Far below the objective a ratio of P95s is noise: 5 ms against 8 ms
	// is one histogram bucket, not a regression. Zero applies it always.
	LatencyP95Floor time.Duration
}

// Validate reports every invalid limit, naming the field, its value and
// what is allowed.
func (l Limits) Validate() error {
	var errs []error
	if l.MinRequests < 1 {
		errs = append(errs, fmt.Errorf("canary limits: MinRequests is %d: must be at least 1 (a canary without requests cannot be judged)", l.MinRequests))
	}
	if !(l.ErrorRatio > 0 && l.ErrorRatio <= 1) {
		errs = append(errs, fmt.Errorf("canary limits: ErrorRatio is %v: must be above 0 and at most 1", l.ErrorRatio))
	}
	if l.LatencyP95 <= 0 {
		errs = append(errs, fmt.Errorf("canary limits: LatencyP95 is %s: must be positive", l.LatencyP95))
	}
	if !(l.ErrorRatioOverStable >= 0 && l.ErrorRatioOverStable <= 1) {
		errs = append(errs, fmt.Errorf("canary limits: ErrorRatioOverStable is %v: must be 0 to 1 (a difference of ratios)", l.ErrorRatioOverStable))
	}
	if l.LatencyP95Floor < 0 || l.LatencyP95Floor > l.LatencyP95 {
		errs = append(errs, fmt.Errorf("canary limits: LatencyP95Floor is %s: must be 0 to LatencyP95 (%s)", l.LatencyP95Floor, l.LatencyP95))
	}
	if !(l.LatencyP95OverStable >= 1) || math.IsInf(l.LatencyP95OverStable, 0) {
		errs = append(errs, fmt.Errorf("canary limits: LatencyP95OverStable is %v: must be a finite factor of at least 1", l.LatencyP95OverStable))
	}
	return errors.Join(errs...)
}

// Figures are one group's numbers over a window: the canary's or the
// stable replicas'.
type Figures struct {
	Requests   float64  `json:"requests"`
	ErrorRatio *float64 `json:"errorRatio,omitempty"` // nil without requests
	P95Seconds *float64 `json:"p95Seconds,omitempty"` // nil without requests
}

// Outcome is how a judgement ended.
type Outcome string

// The outcomes. TooLittleTraffic is not a pass: the canary is not promoted.
const (
	Passed           Outcome = "passed"
	Failed           Outcome = "failed"
	TooLittleTraffic Outcome = "too little traffic"
)

// Verdict is a judgement with the numbers it was made on.
type Verdict struct {
	Outcome Outcome `json:"outcome"`
	Canary  Figures `json:"canary"`
	Stable  Figures `json:"stable"`
	// Window is what the figures were read over (zero when unknown);
	// WindowSeconds is the same in seconds, for JSON.
	Window        time.Duration `json:"-"`
	WindowSeconds float64       `json:"windowSeconds"`
	// Reasons are each broken limit with its numbers, or why the canary
	// could not be judged.
	Reasons []string `json:"reasons,omitempty"`
}

// String is the verdict on one line with its numbers, for logs and
// notifications.
func (v Verdict) String() string {
	var b strings.Builder
	b.WriteString("canary " + string(v.Outcome))
	if v.Window > 0 {
		b.WriteString(" over " + v.Window.String())
	}
	b.WriteString(": canary " + v.Canary.String() + "; stable " + v.Stable.String())
	if len(v.Reasons) > 0 {
		b.WriteString(" — " + strings.Join(v.Reasons, "; "))
	}
	return b.String()
}

// String is the figures on one line: "1234 requests, error ratio 0.10 %,
// P95 120ms".
func (f Figures) String() string {
	s := formatCount(f.Requests) + " requests"
	if f.ErrorRatio != nil {
		s += ", error ratio " + percent(*f.ErrorRatio)
	}
	if f.P95Seconds != nil {
		s += ", P95 " + seconds(*f.P95Seconds)
	}
	return s
}

// Decide judges the canary's figures against the limits and the stable
// replicas': TooLittleTraffic when the canary served fewer than
// MinRequests, Failed when any limit breaks (every broken one in Reasons),
// else Passed. A limit is broken only when exceeded: a value exactly at it
// passes. Relative limits apply only where the stable replicas have the
// figure. It is pure: the window is unknown (see DecideOver).
func Decide(l Limits, canary, stable Figures) Verdict {
	return DecideOver(l, canary, stable, 0)
}

// DecideOver is Decide for figures read over window, which the verdict
// and its reasons name.
func DecideOver(l Limits, canary, stable Figures, window time.Duration) Verdict {
	v := Verdict{Canary: canary, Stable: stable, Window: window, WindowSeconds: window.Seconds()}
	if canary.Requests < float64(l.MinRequests) {
		in := ""
		if window > 0 {
			in = " in " + window.String()
		}
		v.Outcome = TooLittleTraffic
		v.Reasons = []string{fmt.Sprintf("%s requests%s, fewer than the %d needed to judge", formatCount(canary.Requests), in, l.MinRequests)}
		return v
	}
	if r := canary.ErrorRatio; r != nil {
		if above(*r, l.ErrorRatio) {
			v.Reasons = append(v.Reasons, fmt.Sprintf("error ratio %s is above the limit %s", percent(*r), limitPercent(l.ErrorRatio)))
		}
		if s := stable.ErrorRatio; s != nil && above(*r-*s, l.ErrorRatioOverStable) {
			v.Reasons = append(v.Reasons, fmt.Sprintf("error ratio %s is %.2f points above the stable replicas' %s (allowed %s)",
				percent(*r), (*r-*s)*100, percent(*s), num(l.ErrorRatioOverStable*100)))
		}
	}
	if p := canary.P95Seconds; p != nil {
		if above(*p, l.LatencyP95.Seconds()) {
			v.Reasons = append(v.Reasons, fmt.Sprintf("P95 %s is above the limit %s", seconds(*p), l.LatencyP95))
		}
		if s := stable.P95Seconds; s != nil && *s > 0 && above(*p, l.LatencyP95Floor.Seconds()) && above(*p / *s, l.LatencyP95OverStable) {
			v.Reasons = append(v.Reasons, fmt.Sprintf("P95 %s is %s× the stable replicas' %s (allowed %s×)",
				seconds(*p), strconv.FormatFloat(*p / *s, 'f', 1, 64), seconds(*s), num(l.LatencyP95OverStable)))
		}
	}
	v.Outcome = Passed
	if len(v.Reasons) > 0 {
		v.Outcome = Failed
	}
	return v
}

// above is x > limit, with a value within rounding of the limit counted as
// at it: 0.015 - 0.010 is 0.0050000000000000001 in floating point, and a
// canary exactly at an allowed difference passes.
func above(x, limit float64) bool {
	return x > limit+1e-9*math.Max(1, math.Abs(limit))
}

func percent(r float64) string { return strconv.FormatFloat(r*100, 'f', 2, 64) + " %" }

func limitPercent(r float64) string { return num(r*100) + " %" }

// num is a limit as written: 1, 0.5, 1.5.
func num(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }

func formatCount(n float64) string { return strconv.FormatFloat(math.Round(n), 'f', 0, 64) }

// seconds is a duration in seconds as Go prints durations, to the
// millisecond (the microsecond below one).
func seconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d >= time.Millisecond || d <= -time.Millisecond {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Microsecond).String()
}
