package verify

import (
	"encoding/json"
	"time"
)

// Group says whether a check is mandatory (health) or part of the smoke suite,
// which Options.MinPassRate may relax.
type Group string

// The two groups of checks.
const (
	GroupHealth Group = "health"
	GroupSmoke  Group = "smoke"
)

// Status is the outcome of one check.
type Status string

// Outcomes of a check. A skipped check (for example the CORS preflight when no
// frontend origin is known) counts neither for nor against the pass rate.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Check is the outcome of one verification step.
type Check struct {
	// Name identifies the check, for example "GET /health/ready" or
	// "component database".
	Name  string `json:"name"`
	Group Group  `json:"group"`
	// Status is pass, fail or skip.
	Status Status `json:"status"`
	// Detail says what was seen: on failure, why; never a secret.
	Detail string `json:"detail"`
	// Attempts is how many requests the check made before settling.
	Attempts int `json:"attempts"`
	// Duration is the wall time the check took, retries included.
	Duration time.Duration `json:"-"`
}

// Latency summarises the response-time measurement of the smoke suite.
type Latency struct {
	URL      string        `json:"url"`
	Requests int           `json:"requests"`
	Errors   int           `json:"errors"`
	P50      time.Duration `json:"-"`
	P95      time.Duration `json:"-"`
	Max      time.Duration `json:"-"`
	Limit    time.Duration `json:"-"`
}

// Report is the result of Run. It is complete even when checks fail: every
// check that ran is listed, so an operator sees all problems at once.
type Report struct {
	API         string        `json:"api"`
	Frontend    string        `json:"frontend,omitempty"`
	Checks      []Check       `json:"checks"`
	MinPassRate float64       `json:"minPassRate"`
	Latency     *Latency      `json:"latency,omitempty"`
	Started     time.Time     `json:"started"`
	Duration    time.Duration `json:"-"`
}

// Passed reports whether every health check passed and the smoke suite's
// pass rate reaches MinPassRate.
func (r Report) Passed() bool {
	if len(r.Checks) == 0 {
		return false
	}
	for _, c := range r.Checks {
		if c.Group != GroupSmoke && c.Status == Fail {
			return false
		}
	}
	return r.SmokePassRate() >= r.MinPassRate
}

// SmokePassRate is the share of smoke checks that passed, skipped ones left
// out; 1 when no smoke check ran.
func (r Report) SmokePassRate() float64 {
	passed, counted := r.smokeCounts()
	if counted == 0 {
		return 1
	}
	return float64(passed) / float64(counted)
}

func (r Report) smokeCounts() (passed, counted int) {
	for _, c := range r.Checks {
		if c.Group != GroupSmoke || c.Status == Skip {
			continue
		}
		counted++
		if c.Status == Pass {
			passed++
		}
	}
	return passed, counted
}

// Failed returns the checks that failed, in order.
func (r Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c)
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// MarshalJSON adds the verdict and durations in milliseconds, the units a
// dashboard or a jq filter expects.
func (c Check) MarshalJSON() ([]byte, error) {
	type plain Check
	return json.Marshal(struct {
		plain
		DurationMS float64 `json:"durationMs"`
	}{plain(c), ms(c.Duration)})
}

// MarshalJSON renders latencies in milliseconds.
func (l Latency) MarshalJSON() ([]byte, error) {
	type plain Latency
	return json.Marshal(struct {
		plain
		P50MS   float64 `json:"p50Ms"`
		P95MS   float64 `json:"p95Ms"`
		MaxMS   float64 `json:"maxMs"`
		LimitMS float64 `json:"limitMs"`
	}{plain(l), ms(l.P50), ms(l.P95), ms(l.Max), ms(l.Limit)})
}

// MarshalJSON adds the verdict (passed) and the smoke pass rate, so machine
// readers need not recompute them.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	if r.Checks == nil {
		r.Checks = []Check{}
	}
	return json.Marshal(struct {
		plain
		Passed        bool    `json:"passed"`
		SmokePassRate float64 `json:"smokePassRate"`
		DurationMS    float64 `json:"durationMs"`
	}{plain(r), r.Passed(), r.SmokePassRate(), ms(r.Duration)})
}
