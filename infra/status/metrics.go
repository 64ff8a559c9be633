package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/monitoring"
)

// The Cloudflare Access service token that opens the regions' Prometheus
// hostnames (staging, production): read from the environment, sent as the
// CF-Access-Client-Id and CF-Access-Client-Secret headers over https
// only, never printed.
const (
	envAccessClientID     = "CF_ACCESS_CLIENT_ID"
	envAccessClientSecret = "CF_ACCESS_CLIENT_SECRET"
)

// Metrics is what a region's Prometheus says of the backend: the error
// ratio and the P95 latency of the last hour, and the error budget left
// over the SLO period. A nil value means no requests in its window; Error
// says why the Prometheus could not be read (then every value is nil).
type Metrics struct {
	// Prometheus is the URL asked, without credentials.
	Prometheus string `json:"prometheus,omitempty"`
	// ErrorRatio is 5xx / all requests over the last hour.
	ErrorRatio *float64 `json:"errorRatio1h,omitempty"`
	// P95Seconds is the 95th percentile request duration over the last hour.
	P95Seconds *float64 `json:"p95Seconds1h,omitempty"`
	// ErrorBudgetLeft is 1 - (error ratio over the SLO period) / (1 -
	// availability objective): 1 untouched, 0 spent, negative overspent.
	ErrorBudgetLeft *float64 `json:"errorBudgetLeft,omitempty"`
	Error           string   `json:"error,omitempty"`
}

// The window of the error ratio and the P95 status shows.
const metricsWindow = time.Hour

// The backend's series (backend/metrics), as the region's Prometheus
// scrapes them (job "backend").
const (
	requestsTotal  = `helloagents_http_requests_total{job="backend"}`
	requests5xx    = `helloagents_http_requests_total{job="backend",status_class="5xx"}`
	durationBucket = `helloagents_http_request_duration_seconds_bucket{job="backend"}`
)

// errorRatioQuery is 5xx / all over window: 0 before the first 5xx, no
// result without requests.
func errorRatioQuery(window time.Duration) string {
	w := monitoring.PromDuration(window)
	return fmt.Sprintf("(sum(rate(%s[%s])) or sum(rate(%s[%s])) * 0) / sum(rate(%s[%s]))",
		requests5xx, w, requestsTotal, w, requestsTotal, w)
}

func p95Query(window time.Duration) string {
	return fmt.Sprintf("histogram_quantile(0.95, sum by (le) (rate(%s[%s])))", durationBucket, monitoring.PromDuration(window))
}

// accessToken is a Cloudflare Access service token; the zero value sends
// nothing.
type accessToken struct{ id, secret string }

// prometheusFlag is --prometheus REGION=URL, repeated: each region's
// Prometheus.
type prometheusFlag map[string]*url.URL

func (f prometheusFlag) String() string { return "" }

func (f prometheusFlag) Set(v string) error {
	region, raw, ok := strings.Cut(v, "=")
	if !ok || region == "" || raw == "" {
		return fmt.Errorf("%q is not REGION=URL", v)
	}
	u, err := prometheusBase(region, raw)
	if err != nil {
		return err
	}
	if _, dup := f[region]; dup {
		return fmt.Errorf("region %s given twice", region)
	}
	f[region] = u
	return nil
}

// prometheusBase parses a region's Prometheus base URL.
func prometheusBase(region, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("region %s: %q is not an http(s) URL without query (the Prometheus base URL, e.g. https://prometheus-eu-west.example.com)", region, raw)
	}
	return u, nil
}

// regionPrometheus is the region's Prometheus: --prometheus when given,
// else the stack's prometheusUrls output.
func regionPrometheus(flags prometheusFlag, outputs map[string]string, region string) (*url.URL, error) {
	if u, ok := flags[region]; ok {
		return u, nil
	}
	raw, ok := outputs[region]
	if !ok {
		return nil, fmt.Errorf("no Prometheus URL for this region (no %s output for it; --prometheus %s=URL)", contract.OutputPrometheusURLs, region)
	}
	return prometheusBase(region, raw)
}

// sloFromConfig is the stack's SLO: helloagents:slo over the platform's
// defaults (monitoring.DefaultSLO), as the program reads it.
func sloFromConfig(cfg map[string]string) (monitoring.SLO, error) {
	s := monitoring.DefaultSLO()
	raw, ok := cfg[contract.Namespace+":slo"]
	if !ok {
		return s, nil
	}
	var c struct {
		Availability *float64 `json:"availability"`
		Period       *string  `json:"period"`
		ErrorRatio   *float64 `json:"errorRatio"`
		LatencyP95   *string  `json:"latencyP95"`
	}
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return s, fmt.Errorf("stack config %s:slo: %w", contract.Namespace, err)
	}
	if c.Availability != nil {
		s.Availability = *c.Availability
	}
	if c.ErrorRatio != nil {
		s.ErrorRatio = *c.ErrorRatio
	}
	for _, d := range []struct {
		name string
		v    *string
		to   *time.Duration
	}{{"period", c.Period, &s.Period}, {"latencyP95", c.LatencyP95, &s.LatencyP95}} {
		if d.v == nil {
			continue
		}
		v, err := time.ParseDuration(*d.v)
		if err != nil {
			return s, fmt.Errorf("stack config %s:slo.%s: %w", contract.Namespace, d.name, err)
		}
		*d.to = v
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("stack config %s:slo: %w", contract.Namespace, err)
	}
	return s, nil
}

// prometheus asks one region's Prometheus HTTP API.
type prometheus struct {
	base    *url.URL
	client  *http.Client
	token   accessToken
	timeout time.Duration
}

// regionMetrics reads a region's numbers; the first failure ends it and
// is the Metrics' Error.
func regionMetrics(ctx context.Context, p prometheus, slo monitoring.SLO) Metrics {
	m := Metrics{Prometheus: p.base.Redacted()}
	var period *float64
	for _, q := range []struct {
		query string
		to    **float64
	}{
		{errorRatioQuery(metricsWindow), &m.ErrorRatio},
		{p95Query(metricsWindow), &m.P95Seconds},
		{errorRatioQuery(slo.Period), &period},
	} {
		v, err := p.query(ctx, q.query)
		if err != nil {
			return Metrics{Prometheus: m.Prometheus, Error: err.Error()}
		}
		*q.to = v
	}
	if period != nil {
		left := 1 - *period/slo.Budget()
		m.ErrorBudgetLeft = &left
	}
	return m
}

// apiResponse is the envelope of every Prometheus HTTP API answer.
type apiResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// sampleValue is a sample's [time, "value"].
type sampleValue [2]any

// query runs an instant query that yields at most one series. The value
// is nil when there is none, or when it is not a number (NaN: no
// requests in the window, so 0 / 0).
func (p prometheus) query(ctx context.Context, q string) (*float64, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	u := p.base.JoinPath("api", "v1", "query")
	u.RawQuery = url.Values{"query": {q}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", p.base.Redacted(), err)
	}
	req.Header.Set("Accept", "application/json")
	if p.token.id != "" && p.base.Scheme == "https" {
		req.Header.Set("CF-Access-Client-Id", p.token.id)
		req.Header.Set("CF-Access-Client-Secret", p.token.secret)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its URL repeats the query
		}
		return nil, fmt.Errorf("prometheus %s: %w", p.base.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, fmt.Errorf("prometheus %s: HTTP %d redirect to %s (a Cloudflare Access login? set %s and %s to a service token)",
			p.base.Redacted(), resp.StatusCode, redirectHost(resp), envAccessClientID, envAccessClientSecret)
	}
	var body apiResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			hint = fmt.Sprintf(" (Cloudflare Access? set %s and %s to a service token the application allows)", envAccessClientID, envAccessClientSecret)
		}
		return nil, fmt.Errorf("prometheus %s: HTTP %d, not the Prometheus API's JSON%s", p.base.Redacted(), resp.StatusCode, hint)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("prometheus %s: HTTP %d: %s: %s", p.base.Redacted(), resp.StatusCode, body.ErrorType, body.Error)
	}
	return singleValue(body.Data.ResultType, body.Data.Result)
}

func redirectHost(resp *http.Response) string {
	loc, err := resp.Location()
	if err != nil {
		return "an unknown location"
	}
	return loc.Scheme + "://" + loc.Host
}

// singleValue reads the one number of an instant query's result.
func singleValue(resultType string, raw json.RawMessage) (*float64, error) {
	var v sampleValue
	switch resultType {
	case "scalar":
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("prometheus: scalar result: %w", err)
		}
	case "vector":
		var vec []struct {
			Value sampleValue `json:"value"`
		}
		if err := json.Unmarshal(raw, &vec); err != nil {
			return nil, fmt.Errorf("prometheus: vector result: %w", err)
		}
		switch len(vec) {
		case 0:
			return nil, nil
		case 1:
			v = vec[0].Value
		default:
			return nil, fmt.Errorf("prometheus: %d series, want one (is this one region's Prometheus?)", len(vec))
		}
	default:
		return nil, fmt.Errorf("prometheus: result type %q, want a vector", resultType)
	}
	s, ok := v[1].(string)
	if !ok {
		return nil, fmt.Errorf("prometheus: sample %v has no value", v)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("prometheus: sample value %q: %w", s, err)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, nil
	}
	return &f, nil
}

// columns are the table's cells: "?" when the Prometheus could not be
// read, "-" when there were no requests in the window.
func (m Metrics) columns() (ratio, p95, budget string) {
	if m.Error != "" {
		return "?", "?", "?"
	}
	cell := func(v *float64, format func(float64) string) string {
		if v == nil {
			return "-"
		}
		return format(*v)
	}
	pct := func(f float64) string { return strconv.FormatFloat(f*100, 'g', 3, 64) + "%" }
	ratio = cell(m.ErrorRatio, pct)
	p95 = cell(m.P95Seconds, func(s float64) string {
		return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
	})
	budget = cell(m.ErrorBudgetLeft, func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" })
	return ratio, p95, budget
}
