// Package verify checks a deployed HelloAgents platform from the outside: the
// backend's health endpoints (mandatory) and a smoke suite (the courses API,
// CORS for the frontend origin, the frontend itself, security headers and the
// P95 response time).
//
// It is both the body of the `infra/verify` command, which the deploy workflow
// runs after `pulumi up`, and the gate of the promotion engine: Run for a
// whole API, Gate for one region's readiness URL.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// NoRetries, as Options.Retries, makes every check settle on its first
// attempt. (A zero Retries takes the default.)
const NoRetries = -1

// Defaults used for zero fields of Options.
const (
	DefaultRetries     = 3
	DefaultBackoff     = time.Second
	DefaultTimeout     = 5 * time.Second
	DefaultRequests    = 20
	DefaultMinPassRate = 1.0
	// DefaultP95Limit is the platform's operational target: P95 response
	// time under 500 ms.
	DefaultP95Limit = 500 * time.Millisecond
)

// Options says what to verify and how patiently. Zero fields take the
// defaults above, so Options{API: u} is a complete, strict verification.
type Options struct {
	// API is the backend's base URL, for example https://api.example.dev.
	API string
	// Frontend is the frontend's URL. When set, the frontend must answer 200
	// and the API must allow CORS from its origin; when empty those checks
	// are skipped.
	Frontend string
	// Retries is how often a failed check is retried (so it makes at most
	// Retries+1 requests). 0 means DefaultRetries; NoRetries disables them.
	Retries int
	// Backoff is the wait before the first retry; it doubles for each
	// further retry.
	Backoff time.Duration
	// Timeout bounds one request.
	Timeout time.Duration
	// Requests is how many requests the response-time measurement makes.
	Requests int
	// MinPassRate is the share of smoke checks (0 < rate <= 1) that must pass.
	// Health checks are always mandatory. 0 means DefaultMinPassRate (all).
	MinPassRate float64
	// P95Limit is the response-time target; 0 means DefaultP95Limit.
	P95Limit time.Duration
	// Progress, when set, receives one line before each retry wait saying
	// what verify waits for, so a slow run is not a silent one.
	Progress io.Writer
	// Client makes the requests; nil means a new client with default
	// transport settings. Timeouts come from Timeout, not from the client.
	Client *http.Client
}

// withDefaults returns o with zero fields filled in.
func (o Options) withDefaults() Options {
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Backoff == 0 {
		o.Backoff = DefaultBackoff
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Requests == 0 {
		o.Requests = DefaultRequests
	}
	if o.MinPassRate == 0 {
		o.MinPassRate = DefaultMinPassRate
	}
	if o.P95Limit == 0 {
		o.P95Limit = DefaultP95Limit
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	o.API = strings.TrimRight(o.API, "/")
	return o
}

// ApplyFlags takes the command-line form of the options: retries counts
// retries, so 0 means NoRetries, and a zero timeout, request count or pass
// rate is a mistake rather than "the default". It sets o.Retries and returns
// one message per bad flag, named as the flag, for the CLIs (verify, promote)
// that share these flags.
func (o *Options) ApplyFlags(retries int) []string {
	var errs []string
	switch {
	case retries < 0:
		errs = append(errs, fmt.Sprintf("--retries %d: must be >= 0", retries))
	case retries == 0:
		o.Retries = NoRetries
	default:
		o.Retries = retries
	}
	if o.MinPassRate <= 0 || o.MinPassRate > 1 {
		errs = append(errs, fmt.Sprintf("--min-pass-rate %g: must be in (0, 1]", o.MinPassRate))
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Sprintf("--timeout %s: must be positive", o.Timeout))
	}
	if o.Requests < 1 {
		errs = append(errs, fmt.Sprintf("--requests %d: must be at least 1", o.Requests))
	}
	return errs
}

// Validate reports every problem with o at once, each naming the field, its
// value and what is allowed.
func (o Options) Validate() error {
	var errs []error
	if err := checkURL(o.API); err != nil {
		errs = append(errs, fmt.Errorf("API %q: %w", redact(o.API), err))
	}
	if o.Frontend != "" {
		if err := checkURL(o.Frontend); err != nil {
			errs = append(errs, fmt.Errorf("frontend %q: %w", redact(o.Frontend), err))
		}
	}
	if o.Retries < NoRetries {
		errs = append(errs, fmt.Errorf("retries %d: must be >= 0 (or NoRetries)", o.Retries))
	}
	if o.Backoff < 0 {
		errs = append(errs, fmt.Errorf("backoff %s: must not be negative", o.Backoff))
	}
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s: must be positive", o.Timeout))
	}
	if o.Requests < 0 {
		errs = append(errs, fmt.Errorf("requests %d: must be at least 1", o.Requests))
	}
	if o.MinPassRate < 0 || o.MinPassRate > 1 {
		errs = append(errs, fmt.Errorf("min pass rate %g: must be in (0, 1]", o.MinPassRate))
	}
	if o.P95Limit < 0 {
		errs = append(errs, fmt.Errorf("p95 limit %s: must be positive", o.P95Limit))
	}
	return errors.Join(errs...)
}

func checkURL(raw string) error {
	if raw == "" {
		return errors.New("required: an absolute http(s) URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL: need an absolute http(s) URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q: need http or https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host: need an absolute http(s) URL")
	}
	return nil
}

// redact hides a password embedded in a URL so it never reaches a report.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}

// Run verifies the platform behind opts.API and returns the report of every
// check. Invalid options yield a report with one failed "options" check.
// Checks run one after another: they are few, and parallel requests would
// distort the response-time measurement.
func Run(ctx context.Context, opts Options) Report {
	start := time.Now()
	rep := Report{API: redact(opts.API), Started: start.UTC()}
	if opts.Frontend != "" {
		rep.Frontend = redact(opts.Frontend)
	}
	if err := opts.Validate(); err != nil {
		rep.MinPassRate = DefaultMinPassRate
		rep.Checks = []Check{{Name: "options", Group: GroupHealth, Status: Fail, Detail: err.Error()}}
		rep.Duration = time.Since(start)
		return rep
	}
	opts = opts.withDefaults()
	rep.MinPassRate = opts.MinPassRate
	r := runner{opts: opts}
	health, answered := r.health(ctx)
	rep.Checks = append(rep.Checks, health...)
	if answered {
		smoke, lat := r.smoke(ctx)
		rep.Checks = append(rep.Checks, smoke...)
		rep.Latency = lat
	} else {
		// Nothing answers: the smoke suite would only repeat the same
		// connection errors, retries and timeouts, and delay the verdict.
		rep.Checks = append(rep.Checks, Check{Name: "smoke suite", Group: GroupSmoke, Status: Fail,
			Detail: "not run: the API answered no health request"})
	}
	rep.Duration = time.Since(start)
	return rep
}

// APIFromHealthURL returns the base URL of the API that serves a health URL
// such as a stack's healthUrls entry ("https://eu.api.example.dev/health/ready"
// gives "https://eu.api.example.dev"), so a promotion can run the smoke suite
// against one region.
func APIFromHealthURL(healthURL string) (string, error) {
	if err := checkURL(healthURL); err != nil {
		return "", fmt.Errorf("health URL %q: %w", redact(healthURL), err)
	}
	u, _ := url.Parse(healthURL)
	p := strings.TrimRight(u.Path, "/")
	if i := strings.LastIndex(p, "/health"); i >= 0 {
		p = p[:i]
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = p, "", "", ""
	return strings.TrimRight(u.String(), "/"), nil
}
