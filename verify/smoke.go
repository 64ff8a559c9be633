package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// coursesPath is the smoke suite's API endpoint: public, read-only, and it
// touches the database.
const coursesPath = "/api/v1/courses"

// smoke runs the relaxable checks and the response-time measurement.
func (r runner) smoke(ctx context.Context) ([]Check, *Latency) {
	var checks []Check
	var headers http.Header
	checks = append(checks, r.attempt(ctx, Check{Name: "GET " + coursesPath, Group: GroupSmoke},
		func(ctx context.Context) (string, error) {
			resp, err := r.do(ctx, "GET", r.opts.API+coursesPath, nil)
			if err != nil {
				return "", err
			}
			headers = resp.header
			return checkJSON(resp)
		}))
	checks = append(checks, r.cors(ctx))
	checks = append(checks, r.frontend(ctx))
	checks = append(checks, securityHeaders(headers, strings.HasPrefix(r.opts.API, "https:"))...)
	lat := r.latency(ctx)
	checks = append(checks, latencyCheck(lat))
	return checks, lat
}

// checkJSON accepts a 200 response with a JSON content type and a valid JSON body.
func checkJSON(resp response) (string, error) {
	if resp.status != http.StatusOK {
		return "", fmt.Errorf("status %d (want 200), %s", resp.status, excerpt(resp.body))
	}
	ct := resp.header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return "", fmt.Errorf("Content-Type %q (want application/json)", ct)
	}
	if !json.Valid(resp.body) {
		return "", fmt.Errorf("invalid JSON: %s", excerpt(resp.body))
	}
	return fmt.Sprintf("200, %d bytes of JSON", len(resp.body)), nil
}

// origin returns scheme://host[:port] of a URL, what a browser sends as Origin.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// cors sends the preflight a browser on the frontend would send before a GET
// of the courses API, and wants the origin echoed back.
func (r runner) cors(ctx context.Context) Check {
	c := Check{Name: "CORS preflight " + coursesPath, Group: GroupSmoke}
	if r.opts.Frontend == "" {
		c.Status, c.Detail = Skip, "no frontend URL given"
		return c
	}
	o := origin(r.opts.Frontend)
	return r.attempt(ctx, c, func(ctx context.Context) (string, error) {
		resp, err := r.do(ctx, "OPTIONS", r.opts.API+coursesPath, http.Header{
			"Origin":                        {o},
			"Access-Control-Request-Method": {"GET"},
		})
		if err != nil {
			return "", err
		}
		if resp.status < 200 || resp.status > 299 {
			return "", fmt.Errorf("status %d (want 2xx) for origin %s", resp.status, o)
		}
		got := resp.header.Get("Access-Control-Allow-Origin")
		if got != o {
			if got == "" {
				return "", fmt.Errorf("no Access-Control-Allow-Origin for origin %s", o)
			}
			return "", fmt.Errorf("Access-Control-Allow-Origin %q (want %q)", got, o)
		}
		if m := resp.header.Get("Access-Control-Allow-Methods"); m != "" && !listHas(m, "GET") {
			return "", fmt.Errorf("Access-Control-Allow-Methods %q does not allow GET", m)
		}
		return "origin " + o + " allowed", nil
	})
}

// listHas reports whether a comma-separated header value contains v.
func listHas(list, v string) bool {
	return slices.ContainsFunc(strings.Split(list, ","), func(s string) bool {
		return strings.EqualFold(strings.TrimSpace(s), v)
	})
}

// frontend wants the frontend's page to answer 200.
func (r runner) frontend(ctx context.Context) Check {
	c := Check{Name: "GET frontend", Group: GroupSmoke}
	if r.opts.Frontend == "" {
		c.Status, c.Detail = Skip, "no frontend URL given"
		return c
	}
	return r.attempt(ctx, c, func(ctx context.Context) (string, error) {
		resp, err := r.do(ctx, "GET", r.opts.Frontend, nil)
		if err != nil {
			return "", err
		}
		if resp.status != http.StatusOK {
			return "", fmt.Errorf("status %d (want 200)", resp.status)
		}
		return fmt.Sprintf("200, %d bytes", len(resp.body)), nil
	})
}

// headerRule is one security header check: its name and what it wants of
// the response headers.
type headerRule struct {
	name string
	ok   func(http.Header) (string, error)
}

// securityHeaders checks the headers of the courses response, one check per
// header so the pass rate says how much is missing. With no response (the
// request failed) each check fails for that reason.
func securityHeaders(h http.Header, https bool) []Check {
	rules := []headerRule{
		{"header X-Content-Type-Options", checkNosniff},
		{"header X-Frame-Options or CSP frame-ancestors", checkFrameAncestors},
		{"header Referrer-Policy", checkReferrerPolicy},
	}
	if https {
		rules = append(rules, headerRule{"header Strict-Transport-Security", checkHSTS})
	}
	checks := make([]Check, 0, len(rules)+1)
	for _, rl := range rules {
		checks = append(checks, headerCheck(rl, h))
	}
	if !https {
		checks = append(checks, Check{Name: "header Strict-Transport-Security", Group: GroupSmoke,
			Status: Skip, Detail: "API is plain http"})
	}
	return checks
}

// headerCheck applies one rule to h, the headers of the courses response
// (nil when there was none).
func headerCheck(rl headerRule, h http.Header) Check {
	c := Check{Name: rl.name, Group: GroupSmoke, Attempts: 1}
	if h == nil {
		c.Status, c.Detail = Fail, "no response from "+coursesPath+" to inspect"
	} else if d, err := rl.ok(h); err != nil {
		c.Status, c.Detail = Fail, err.Error()
	} else {
		c.Status, c.Detail = Pass, d
	}
	return c
}

// checkNosniff wants X-Content-Type-Options: nosniff.
func checkNosniff(h http.Header) (string, error) {
	if v := h.Get("X-Content-Type-Options"); !strings.EqualFold(strings.TrimSpace(v), "nosniff") {
		return "", fmt.Errorf("X-Content-Type-Options %q (want nosniff)", v)
	}
	return "nosniff", nil
}

// checkFrameAncestors wants framing forbidden: X-Frame-Options, or a CSP
// frame-ancestors directive (which supersedes it).
func checkFrameAncestors(h http.Header) (string, error) {
	if v := h.Get("X-Frame-Options"); v != "" {
		return "X-Frame-Options " + v, nil
	}
	for _, csp := range h.Values("Content-Security-Policy") {
		for _, d := range strings.Split(csp, ";") {
			if f := strings.Fields(d); len(f) > 0 && strings.EqualFold(f[0], "frame-ancestors") {
				return "CSP " + strings.TrimSpace(d), nil
			}
		}
	}
	return "", errors.New("neither X-Frame-Options nor a Content-Security-Policy frame-ancestors directive")
}

// checkReferrerPolicy wants a Referrer-Policy, any.
func checkReferrerPolicy(h http.Header) (string, error) {
	if v := h.Get("Referrer-Policy"); v != "" {
		return v, nil
	}
	return "", errors.New("Referrer-Policy missing")
}

// checkHSTS wants Strict-Transport-Security with a max-age (over https only).
func checkHSTS(h http.Header) (string, error) {
	v := h.Get("Strict-Transport-Security")
	if !strings.Contains(strings.ToLower(v), "max-age=") {
		return "", fmt.Errorf("Strict-Transport-Security %q (want max-age=...)", v)
	}
	return v, nil
}

// latency makes Requests sequential GETs of the courses API. Sequential on
// purpose: it measures what one client sees, not the server under load
// (that is the benchmark scripts' job).
func (r runner) latency(ctx context.Context) *Latency {
	lat := &Latency{URL: r.opts.API + coursesPath, Requests: r.opts.Requests, Limit: r.opts.P95Limit}
	times := make([]time.Duration, 0, r.opts.Requests)
	for done := 0; done < r.opts.Requests; done++ {
		if ctx.Err() != nil {
			lat.Errors += r.opts.Requests - done
			break
		}
		resp, err := r.do(ctx, "GET", lat.URL, nil)
		switch {
		case err != nil:
			lat.Errors++ // no timing: a refused connection is not fast, a timeout not measured
		case resp.status != http.StatusOK:
			lat.Errors++
			times = append(times, resp.elapsed)
		default:
			times = append(times, resp.elapsed)
		}
	}
	if len(times) > 0 {
		slices.Sort(times)
		lat.P50, lat.P95, lat.Max = percentile(times, 50), percentile(times, 95), times[len(times)-1]
	}
	return lat
}

// percentile returns the nearest-rank p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func latencyCheck(l *Latency) Check {
	c := Check{Name: "response time P95", Group: GroupSmoke, Attempts: l.Requests}
	if l.Errors == l.Requests {
		c.Status, c.Detail = Fail, fmt.Sprintf("all %d requests failed", l.Requests)
		return c
	}
	c.Detail = fmt.Sprintf("P95 %s, P50 %s, max %s over %d requests, %d errors (limit %s)",
		round(l.P95), round(l.P50), round(l.Max), l.Requests, l.Errors, l.Limit)
	c.Status = Pass
	if l.Errors > 0 || l.P95 >= l.Limit {
		c.Status = Fail
	}
	return c
}

func round(d time.Duration) time.Duration {
	if d > 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}
