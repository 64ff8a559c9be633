package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/helloagents/infra/backend/health"
)

// timestampLayouts are accepted for Health.Timestamp: RFC 3339 (what the
// backend emits) and the zone-less ISO form of the contract's example.
var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"}

// ParseHealth decodes and validates a health body. requireComponents is set
// for /health and /health/ready, which must report what they checked; the
// liveness probe checks only the process and may omit them.
// The body type is the backend's own (health.Report), so the two cannot
// drift; the component fields are also read raw, because a missing
// "message" and an empty one decode alike.
func ParseHealth(body []byte, requireComponents bool) (health.Report, error) {
	var h health.Report
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&h); err != nil {
		return health.Report{}, fmt.Errorf("not a health JSON document (%s): %w", excerpt(body), err)
	}
	errs := fieldErrors(h)
	if requireComponents && len(h.Components) == 0 {
		errs = append(errs, errors.New(`"components" missing or empty`))
	}
	errs = append(errs, componentErrors(h, body)...)
	if err := errors.Join(errs...); err != nil {
		return h, fmt.Errorf("health body: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return h, nil
}

// fieldErrors checks the report's own fields: status, timestamp, version.
func fieldErrors(h health.Report) []error {
	var errs []error
	switch h.Status {
	case health.Healthy, health.Unhealthy:
	case "":
		errs = append(errs, errors.New(`"status" missing`))
	default:
		errs = append(errs, fmt.Errorf(`"status" %q: want "healthy" or "unhealthy"`, h.Status))
	}
	if h.Timestamp == "" {
		errs = append(errs, errors.New(`"timestamp" missing`))
	} else if !slices.ContainsFunc(timestampLayouts, func(l string) bool {
		_, err := time.Parse(l, h.Timestamp)
		return err == nil
	}) {
		errs = append(errs, fmt.Errorf(`"timestamp" %q: want RFC 3339`, h.Timestamp))
	}
	if h.Version == "" {
		errs = append(errs, errors.New(`"version" missing`))
	}
	return errs
}

// componentErrors wants a status and a message of every component in h. The
// components are also read raw from body, because a missing "message" and
// an empty one decode alike.
func componentErrors(h health.Report, body []byte) []error {
	var raw struct {
		Components map[string]map[string]json.RawMessage `json:"components"`
	}
	_ = json.Unmarshal(body, &raw) // body decoded into h, so it does here too
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(h.Components)) {
		if h.Components[name].Status == "" {
			errs = append(errs, fmt.Errorf(`component %q: "status" missing`, name))
		}
		if _, ok := raw.Components[name]["message"]; !ok {
			errs = append(errs, fmt.Errorf(`component %q: "message" missing`, name))
		}
	}
	return errs
}

// health runs the mandatory checks: the three endpoints, then one check per
// component that the full health body reports. answered says whether any
// request got an HTTP response at all.
func (r runner) health(ctx context.Context) (checks []Check, answered bool) {
	var full *health.Report
	for _, ep := range []struct {
		path       string
		components bool
	}{{health.FullPath, true}, {health.ReadyPath, true}, {health.LivePath, false}} {
		var last *health.Report
		c := r.attempt(ctx, Check{Name: "GET " + ep.path, Group: GroupHealth}, func(ctx context.Context) (string, error) {
			h, got, err := r.probeHealth(ctx, r.opts.API+ep.path, ep.components)
			answered = answered || got
			if h != nil {
				last = h
			}
			return summary(h), err
		})
		checks = append(checks, c)
		if ep.path == health.FullPath {
			full = last
		}
	}
	if full == nil {
		return checks, answered
	}
	for _, name := range slices.Sorted(maps.Keys(full.Components)) {
		comp := full.Components[name]
		c := Check{Name: "component " + name, Group: GroupHealth, Status: Pass, Attempts: 1}
		c.Detail = string(comp.Status) + ": " + comp.Message
		if comp.Status == "" || comp.Status == health.Unhealthy {
			c.Status = Fail
		}
		checks = append(checks, c)
	}
	return checks, answered
}

// probeHealth fetches one health endpoint. It returns the parsed body when
// there is one, even with an error, so component results can still be shown
// for an unhealthy platform; answered says whether the server responded.
func (r runner) probeHealth(ctx context.Context, target string, components bool) (*health.Report, bool, error) {
	resp, err := r.do(ctx, "GET", target, nil)
	if err != nil {
		return nil, false, err
	}
	h, perr := ParseHealth(resp.body, components)
	var hp *health.Report
	if perr == nil {
		hp = &h
	}
	switch {
	case resp.status != 200 && hp != nil:
		return hp, true, fmt.Errorf("status %d, %s: %s", resp.status, h.Status, failing(h))
	case resp.status != 200:
		return nil, true, fmt.Errorf("status %d (want 200), %s", resp.status, excerpt(resp.body))
	case perr != nil:
		return nil, true, perr
	case h.Status != health.Healthy:
		return hp, true, fmt.Errorf("status 200 but body says %q: %s", h.Status, failing(h))
	}
	return hp, true, nil
}

// summary describes a healthy body in one line.
func summary(h *health.Report) string {
	if h == nil {
		return ""
	}
	return fmt.Sprintf("%s, version %s, %d components", h.Status, h.Version, len(h.Components))
}

// failing names the components that report unhealthy.
func failing(h health.Report) string {
	var names []string
	for _, name := range slices.Sorted(maps.Keys(h.Components)) {
		if c := h.Components[name]; c.Status == health.Unhealthy {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "no component reports unhealthy"
	}
	return "unhealthy components: " + strings.Join(names, ", ")
}
