// Package health runs the backend's dependency checks and renders the health
// report that Docker, Cloudflare monitors and the promotion gates read.
//
// Checks run concurrently, each bounded by a timeout that the runner enforces
// itself: a check that ignores its context (a hung dependency) is abandoned
// and reported unhealthy, so an endpoint never answers later than the timeout.
package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// The paths the backend serves its reports on. They are the contract, not a
// setting: the Docker healthcheck, the region proxy, the Cloudflare monitors,
// the promotion gates and infra/verify all probe these constants.
const (
	// FullPath reports every dependency.
	FullPath = "/health"
	// ReadyPath reports what serving a request needs (the database): a 503
	// takes the replica out of the proxy's and the load balancer's rotation.
	ReadyPath = "/health/ready"
	// LivePath answers when the process does, checking nothing, so a
	// database outage does not make every replica unhealthy.
	LivePath = "/health/live"
)

// Status is the state of one component or of the whole service.
type Status string

// The statuses of the platform's health contract.
const (
	Healthy       Status = "healthy"
	Unhealthy     Status = "unhealthy"
	Disabled      Status = "disabled"
	Configured    Status = "configured"
	NotConfigured Status = "not_configured"
)

// Result is one component's state. Message is shown to anyone who can reach
// the endpoint, so it must never carry a secret, a password, a connection
// string or an address.
type Result struct {
	Status  Status `json:"status"`
	Message string `json:"message"`
}

// Check probes one dependency. It should honour ctx, but need not: the
// runner stops waiting for it when the timeout passes.
type Check struct {
	Name string
	Run  func(ctx context.Context) Result
}

// Report is the body of every health endpoint.
type Report struct {
	Status     Status            `json:"status"`
	Timestamp  string            `json:"timestamp"`
	Version    string            `json:"version"`
	Components map[string]Result `json:"components"`
}

// TimestampLayout is RFC 3339 in UTC with microseconds, as the contract shows.
const TimestampLayout = "2006-01-02T15:04:05.000000Z07:00"

// Runner runs checks and builds reports.
type Runner struct {
	// Version is reported in every body.
	Version string
	// Timeout bounds each check; zero means 2 s.
	Timeout time.Duration
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
	// ShuttingDown, when not nil and true, makes every report with checks
	// (full and readiness, not liveness) unhealthy with a "server" component
	// saying so: a replica that received SIGTERM must leave the proxy's
	// rotation while it still serves.
	ShuttingDown func() bool
	// OnReport, when not nil, receives every report Run computes: the
	// server's metrics export each component's status from it, so a
	// dashboard shows what the probes saw.
	OnReport func(Report)
}

// ShutdownComponent is the component that a shutting-down server adds to its
// reports.
const ShutdownComponent = "server"

// Run runs checks concurrently and returns the report: unhealthy when any
// component is unhealthy, healthy otherwise (disabled and not_configured
// components are not failures). With no checks it is the liveness report.
func (r Runner) Run(ctx context.Context, checks []Check) Report {
	if len(checks) == 0 {
		// Liveness: nothing to wait for, so no timer and no goroutines.
		return r.observed(r.report(Healthy, map[string]Result{}))
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	components := collect(ctx, checks, timeout)
	if r.ShuttingDown != nil && r.ShuttingDown() {
		components[ShutdownComponent] = Result{Unhealthy, "Server is shutting down"}
	}
	status := Healthy
	for _, res := range components {
		if res.Status == Unhealthy {
			status = Unhealthy
		}
	}
	return r.observed(r.report(status, components))
}

// observed hands rep to OnReport, if set, and returns it.
func (r Runner) observed(rep Report) Report {
	if r.OnReport != nil {
		r.OnReport(rep)
	}
	return rep
}

// named is one check's result, as its goroutine sends it.
type named struct {
	name string
	res  Result
}

// collect runs every check in its own goroutine and gathers the results
// until all have answered or ctx ends.
func collect(ctx context.Context, checks []Check, timeout time.Duration) map[string]Result {
	// Buffered so that abandoned checks can still send and then exit.
	done := make(chan named, len(checks))
	for _, c := range checks {
		go func() {
			done <- named{c.Name, safeRun(ctx, c)}
		}()
	}
	components := make(map[string]Result, len(checks))
	for range checks {
		select {
		case n := <-done:
			components[n.name] = n.res
		case <-ctx.Done():
			abandon(done, components, checks, timeout, ctx.Err())
		}
		if len(components) == len(checks) {
			break
		}
	}
	return components
}

// abandon keeps the results already sent and reports every other check
// unhealthy for not answering in time.
func abandon(done <-chan named, components map[string]Result, checks []Check, timeout time.Duration, err error) {
	for drained := false; !drained; {
		select {
		case n := <-done:
			components[n.name] = n.res
		default:
			drained = true
		}
	}
	for _, c := range checks {
		if _, ok := components[c.Name]; !ok {
			components[c.Name] = Result{Unhealthy, timeoutMessage(c.Name, timeout, err)}
		}
	}
}

func (r Runner) report(status Status, components map[string]Result) Report {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	return Report{
		Status:     status,
		Timestamp:  now().UTC().Format(TimestampLayout),
		Version:    r.Version,
		Components: components,
	}
}

func timeoutMessage(name string, timeout time.Duration, err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("Check %s did not answer within %s", name, timeout)
	}
	return fmt.Sprintf("Check %s was cancelled", name)
}

// safeRun turns a panicking check into an unhealthy result instead of a
// crashed process.
func safeRun(ctx context.Context, c Check) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = Result{Unhealthy, fmt.Sprintf("Check %s failed unexpectedly", c.Name)}
		}
	}()
	return c.Run(ctx)
}

// Shared header values (canonical keys, stored without Header.Set's work:
// these endpoints are probed constantly).
var (
	jsonType = []string{"application/json"}
	noStore  = []string{"no-store"}
)

// Handler serves the report of checks: 200 when healthy, 503 when not.
func (r Runner) Handler(checks ...Check) http.Handler {
	if len(checks) == 0 {
		return r.liveHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rep := r.Run(req.Context(), checks)
		code := http.StatusOK
		if rep.Status != Healthy {
			code = http.StatusServiceUnavailable
		}
		body, err := json.Marshal(rep)
		if err != nil {
			http.Error(w, `{"status":"unhealthy"}`, http.StatusInternalServerError)
			return
		}
		write(w, req, code, append(body, '\n'))
	})
}

// liveHandler serves the liveness report, which only the timestamp changes:
// the rest of the body is encoded once. Liveness is probed constantly, so it
// should cost little more than answering at all (see docs/PERFORMANCE.md).
func (r Runner) liveHandler() http.Handler {
	version, _ := json.Marshal(r.Version)
	prefix := []byte(`{"status":"healthy","timestamp":"`)
	suffix := []byte(`","version":` + string(version) + `,"components":{}}` + "\n")
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var buf [160]byte
		body := append(buf[:0], prefix...)
		body = now().UTC().AppendFormat(body, TimestampLayout)
		body = append(body, suffix...)
		write(w, req, http.StatusOK, body)
	})
}

func write(w http.ResponseWriter, req *http.Request, code int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Cache-Control"] = noStore
	w.WriteHeader(code)
	if req.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
