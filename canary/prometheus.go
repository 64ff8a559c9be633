package canary

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/helloagents/infra/monitoring"
)

// Source gives the figures of the canary (fingerprint == fp) or of the
// stable replicas (fingerprint != fp) over the window ending now.
type Source interface {
	Figures(ctx context.Context, fingerprint string, canary bool, window time.Duration) (Figures, error)
}

// Prometheus is a region's Prometheus HTTP API; implements Source.
type Prometheus struct {
	URL    string
	Header http.Header  // sent with every query (Cloudflare Access service-token headers); never printed, never in errors
	Client *http.Client // nil: a client with a 10 s timeout
}

// DefaultTimeout is the timeout of a Prometheus without a Client.
const DefaultTimeout = 10 * time.Second

// The backend's series (backend/metrics) the queries read.
const (
	requestsTotal  = "helloagents_http_requests_total"
	durationBucket = "helloagents_http_request_duration_seconds_bucket"
	buildInfo      = "helloagents_build_info"
	processStart   = "process_start_time_seconds"
	job            = `job="backend"`
)

// apiRequests selects the API's requests: every route but the health
// endpoints. The route label is the path of the ServeMux pattern
// (backend/metrics.RouteLabel: "/api/v1/courses", "/health/ready"). The
// proxy checks each replica's /health/ready every second and Docker runs the
// image's healthcheck as often, whatever the traffic: counted, they would
// make up the MinRequests of a canary that served no user, and dilute its
// error ratio and P95 with cheap answers.
const apiRequests = `route!~"/health(/.*)?"`

// String is the fingerprint, or the group, as it appears in errors; the
// URL only, never the Header.
func (p Prometheus) String() string { return "Prometheus " + p.URL }

// Figures reads the requests, the 5xx ratio and the P95 of the API's
// requests answered by the instances whose helloagents_build_info has
// fingerprint (canary) or another one (not canary) over window.
func (p Prometheus) Figures(ctx context.Context, fingerprint string, canary bool, window time.Duration) (Figures, error) {
	if window <= 0 {
		return Figures{}, fmt.Errorf("canary: figures over a window of %s: must be positive", window)
	}
	c, err := p.api()
	if err != nil {
		return Figures{}, err
	}
	join := groupOf(fingerprint, canary)
	w := monitoring.PromDuration(window)
	// Every query of one reading is evaluated at the same instant: the
	// 5xx count is then a part of the total (increase extrapolates each
	// series alike), and the ratio never exceeds 1.
	c = at(c, time.Now())
	requests, _, err := p.scalar(ctx, c, fmt.Sprintf(`sum(increase(%s{%s,%s}[%s]) %s)`, requestsTotal, job, apiRequests, w, join))
	if err != nil {
		return Figures{}, err
	}
	var f Figures
	if requests <= 0 || math.IsNaN(requests) {
		return f, nil
	}
	f.Requests = requests
	errs, _, err := p.scalar(ctx, c, fmt.Sprintf(`sum(increase(%s{%s,%s,status_class="5xx"}[%s]) %s)`, requestsTotal, job, apiRequests, w, join))
	if err != nil {
		return Figures{}, err
	}
	// Without a 5xx series (no error since the replica started) the sum is
	// empty: no errors.
	ratio := max(errs, 0) / requests
	f.ErrorRatio = &ratio
	p95, ok, err := p.scalar(ctx, c, fmt.Sprintf(`histogram_quantile(0.95, sum by (le) (rate(%s{%s,%s}[%s]) %s))`, durationBucket, job, apiRequests, w, join))
	if err != nil {
		return Figures{}, err
	}
	if ok && !math.IsNaN(p95) && !math.IsInf(p95, 0) {
		f.P95Seconds = &p95
	}
	return f, nil
}

// CanaryStarted is when the canary's replicas started
// (process_start_time_seconds of the instances whose build_info has
// fingerprint fp; the earliest); zero time and no error when none is
// scraped.
func (p Prometheus) CanaryStarted(ctx context.Context, fingerprint string) (time.Time, error) {
	c, err := p.api()
	if err != nil {
		return time.Time{}, err
	}
	s, ok, err := p.scalar(ctx, c, fmt.Sprintf(`min(%s{%s} %s)`, processStart, job, groupOf(fingerprint, true)))
	if err != nil || !ok || math.IsNaN(s) {
		return time.Time{}, err
	}
	sec, frac := math.Modf(s)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// Burn is the region's SLO burn over a window: the error ratio of the
// backend's requests over it, and the burn-rate alerts that were firing at
// any point in it.
type Burn struct {
	ErrorRatio *float64 `json:"errorRatio,omitempty"`
	Firing     []string `json:"firing,omitempty"`
}

// BurnAlerts are the alerts Burn reports when they fire: the error-budget
// burn-rate alerts of package monitoring.
var BurnAlerts = []string{monitoring.AlertErrorBudgetBurnFast, monitoring.AlertErrorBudgetBurnSlow}

// Burn reads the region's error ratio over window (every replica's API
// requests, health probes left out as in Figures; nil without requests)
// and the names of the burn-rate alerts firing at any point in it, sorted.
func (p Prometheus) Burn(ctx context.Context, window time.Duration) (Burn, error) {
	if window <= 0 {
		return Burn{}, fmt.Errorf("canary: burn over a window of %s: must be positive", window)
	}
	c, err := p.api()
	if err != nil {
		return Burn{}, err
	}
	w := monitoring.PromDuration(window)
	c = at(c, time.Now())
	var b Burn
	requests, _, err := p.scalar(ctx, c, fmt.Sprintf(`sum(increase(%s{%s,%s}[%s]))`, requestsTotal, job, apiRequests, w))
	if err != nil {
		return Burn{}, err
	}
	if requests > 0 {
		errs, _, err := p.scalar(ctx, c, fmt.Sprintf(`sum(increase(%s{%s,%s,status_class="5xx"}[%s]))`, requestsTotal, job, apiRequests, w))
		if err != nil {
			return Burn{}, err
		}
		ratio := max(errs, 0) / requests
		b.ErrorRatio = &ratio
	}
	names := make([]string, len(BurnAlerts))
	for i, n := range BurnAlerts {
		names[i] = regexp.QuoteMeta(n)
	}
	// ALERTS exists only while an alert is pending or firing: its
	// max_over_time over the window is every alert that fired in it.
	q := fmt.Sprintf(`max by (alertname) (max_over_time(ALERTS{alertstate="firing",alertname=~%s}[%s]))`,
		quote(strings.Join(names, "|")), w)
	vec, err := p.vector(ctx, c, q)
	if err != nil {
		return Burn{}, err
	}
	for _, s := range vec {
		if n := string(s.Metric["alertname"]); n != "" && !slices.Contains(b.Firing, n) {
			b.Firing = append(b.Firing, n)
		}
	}
	slices.Sort(b.Firing)
	return b, nil
}

// groupOf is the join that keeps the series of the canary's instances
// (build_info with fingerprint) or of every other instance. build_info is
// 1, so the product keeps the left side's values and labels.
func groupOf(fingerprint string, canary bool) string {
	op := "="
	if !canary {
		op = "!="
	}
	return fmt.Sprintf(`* on (instance) group_left () max by (instance) (%s{%s,fingerprint%s%s})`, buildInfo, job, op, quote(fingerprint))
}

// quote is a PromQL double-quoted string literal of s. PromQL string
// literals take Go's escapes, so strconv.Quote's output is one; a
// fingerprint with a quote or a backslash cannot end the literal early.
func quote(s string) string { return strconv.Quote(s) }

func (p Prometheus) api() (v1.API, error) {
	if p.URL == "" {
		return nil, errors.New("canary: no Prometheus URL")
	}
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	if len(p.Header) > 0 {
		c := *client
		c.Transport = headerTransport{header: p.Header, next: client.Transport}
		client = &c
	}
	c, err := api.NewClient(api.Config{Address: p.URL, Client: client})
	if err != nil {
		return nil, fmt.Errorf("canary: %s: %w", p, p.redact(err))
	}
	return v1.NewAPI(c), nil
}

// instant is an API whose instant queries are all evaluated at one time.
type instant struct {
	v1.API
	ts time.Time
}

func at(c v1.API, ts time.Time) v1.API { return instant{API: c, ts: ts} }

// vector runs an instant query (at now, or at the instant of at).
func (p Prometheus) vector(ctx context.Context, c v1.API, q string) (model.Vector, error) {
	ts := time.Now()
	if i, ok := c.(instant); ok {
		c, ts = i.API, i.ts
	}
	v, _, _, err := c.Query(ctx, q, ts)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("canary: %s: query %s: %w", p, q, ctx.Err())
		}
		return nil, fmt.Errorf("canary: %s: query %s: %w", p, q, p.redact(err))
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("canary: %s: query %s: a %s, want a vector", p, q, v.Type())
	}
	return vec, nil
}

// scalar runs q, whose answer is one sample or none (ok false).
func (p Prometheus) scalar(ctx context.Context, c v1.API, q string) (float64, bool, error) {
	vec, err := p.vector(ctx, c, q)
	if err != nil {
		return 0, false, err
	}
	switch len(vec) {
	case 0:
		return 0, false, nil
	case 1:
		return float64(vec[0].Value), true, nil
	}
	return 0, false, fmt.Errorf("canary: %s: query %s: %d samples, want one", p, q, len(vec))
}

// redact returns err unchanged when its text has none of the Header's
// values, else an error with the same text where each value is replaced
// (and nothing to unwrap to the original): a server may echo a request's
// headers in an error body, which the client library puts in its error.
func (p Prometheus) redact(err error) error {
	msg := err.Error()
	leaked := false
	for _, vs := range p.Header {
		for _, v := range vs {
			if v != "" && strings.Contains(msg, v) {
				msg = strings.ReplaceAll(msg, v, "[redacted]")
				leaked = true
			}
		}
	}
	if !leaked {
		return err
	}
	return errors.New(msg)
}

// headerTransport adds the Header to every request.
type headerTransport struct {
	header http.Header
	next   http.RoundTripper
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, vs := range t.header {
		r.Header.Del(k)
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}
