package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/policy/env"
)

// Parse builds the typed Config of stack from raw, which maps full keys
// ("helloagents:regions") to their string values (JSON text for objects and
// lists), exactly as the Automation API's GetAllConfig and a program's
// config.Get give them. It applies the environment's defaults, then validates
// everything and returns every problem at once (errors.Join), each naming the
// key, the value and what is allowed. It never panics and touches nothing.
func Parse(stack string, raw map[string]string) (Config, error) {
	var d decoder
	d.unknownKeys(raw)
	kind, err := DetectEnvironment(stack, raw[full(KeyEnvironment)])
	if err != nil {
		d.errs = append(d.errs, err)
		kind = Dev // keep going so every other error is reported too
	}
	c := Defaults(stack, kind)
	d.decode(&c, raw)
	c.Secrets = secrets(raw)
	c.Database.PrimaryRegion = d.primaryRegion(c)
	d.deriveCanary(&c)
	c.derive()

	errs := d.errs
	for _, err := range c.validate() {
		if !d.followOn(err) {
			errs = append(errs, err)
		}
	}
	return c, errors.Join(errs...)
}

// unknownKeys reports every key of the namespace the platform does not read.
func (d *decoder) unknownKeys(raw map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		ns, key, ok := strings.Cut(k, ":")
		if ok && ns == Namespace && !slices.Contains(Keys(), key) {
			d.addf("%s: unknown key%s; allowed: %s", k, suggest(key, Keys()), strings.Join(Keys(), ", "))
		}
	}
}

// decode lays the stack file's regions, health check and objects over the
// defaults in c.
func (d *decoder) decode(c *Config, raw map[string]string) {
	if v, ok := raw[full(KeyRegions)]; ok {
		c.Regions = nil
		items := d.list(full(KeyRegions), v, "a list of region objects {name, dockerHost, replicas, image, sshOpts}")
		for i, item := range items {
			// A region whose fields fail to decode stays in the list, so
			// the count rules see the regions the file has.
			r := Region{Replicas: defaultReplicas(c.Environment)}
			d.object(fmt.Sprintf("%s[%d]", full(KeyRegions), i), string(item), &r)
			c.Regions = append(c.Regions, r)
		}
	}
	if v, ok := raw[full(KeyHealthCheck)]; ok {
		c.HealthCheck = d.healthCheck(v, c.HealthCheck)
	}
	for _, s := range c.sections() {
		if v, ok := raw[full(s.key)]; ok {
			d.object(full(s.key), v, s.into)
		}
	}
}

// derive fills the values that default to others: the hostnames from the
// zone, the CORS origin from the frontend URL.
func (c *Config) derive() {
	if c.Frontend.Hostname == "" && c.Edge.Domain != "" {
		c.Frontend.Hostname = "app." + c.Edge.Domain
	}
	if c.Edge.APIHostname == "" && c.Edge.Domain != "" {
		c.Edge.APIHostname = "api." + c.Edge.Domain
	}
	if len(c.Backend.CORSAllowedOrigins) == 0 {
		c.Backend.CORSAllowedOrigins = []string{c.FrontendURL()}
	}
}

// DetectEnvironment derives the environment from an explicit value or the stack
// name (env.Named: "dev", "staging", "production"/"prod", optionally "org/"
// prefixed).
func DetectEnvironment(stack, explicit string) (Environment, error) {
	named, isNamed := env.Named(stack)
	if explicit == "" {
		if isNamed {
			return named, nil
		}
		return "", fmt.Errorf("%s: not set and stack name %q names no environment; set it to one of: %s",
			full(KeyEnvironment), stack, env.Allowed())
	}
	e, ok := env.Parse(explicit)
	if !ok {
		return "", fmt.Errorf("%s: unknown environment %q; allowed: %s", full(KeyEnvironment), explicit, env.Allowed())
	}
	// A stack named after an environment must be that environment:
	// "production" deployed with dev rules would skip every guard.
	if isNamed && e != named {
		return "", fmt.Errorf("%s: invalid value %q for stack %q; allowed: %q (the environment the stack name names)",
			full(KeyEnvironment), explicit, stack, named)
	}
	return e, nil
}

// healthCheckJSON is the stack-file form of healthcheck.Settings, with
// durations as Go duration strings ("30s").
type healthCheckJSON struct {
	Interval      *string `json:"interval"`
	Timeout       *string `json:"timeout"`
	Retries       *int    `json:"retries"`
	StartPeriod   *string `json:"startPeriod"`
	ExpectedCodes []int   `json:"expectedCodes"`
}

// healthCheck lays text over hc.
func (d *decoder) healthCheck(text string, hc healthcheck.Settings) healthcheck.Settings {
	path := full(KeyHealthCheck)
	var j healthCheckJSON
	d.object(path, d.withoutPaths(path, text), &j)
	dur := func(field string, s *string, into *time.Duration) {
		if s == nil {
			return
		}
		v, err := time.ParseDuration(*s)
		if err != nil {
			d.addf("%s.%s: invalid value %q; allowed: a duration such as \"30s\" or \"1m30s\"", path, field, *s)
			d.broken = append(d.broken, path+"."+field)
			return
		}
		*into = v
	}
	dur("interval", j.Interval, &hc.Interval)
	dur("timeout", j.Timeout, &hc.Timeout)
	dur("startPeriod", j.StartPeriod, &hc.StartPeriod)
	if j.Retries != nil {
		hc.Retries = *j.Retries
	}
	if j.ExpectedCodes != nil {
		hc.ExpectedCodes = j.ExpectedCodes
	}
	return hc
}

// withoutPaths reports and drops the former healthCheck fields path and
// livenessPath. They were removed because the backend's routes are fixed:
// any other value validated and then failed every probe. text that is not
// an object is returned as is, for object to report.
func (d *decoder) withoutPaths(path, text string) string {
	var fields map[string]json.RawMessage
	if decodeJSON(text, &fields) != nil || fields == nil {
		return text
	}
	served := map[string]string{"path": health.ReadyPath, "livenessPath": health.LivePath}
	for _, name := range slices.Sorted(maps.Keys(served)) {
		if _, ok := fields[name]; ok {
			d.addf("%s.%s: no longer a setting: the backend always serves it on %s, which every probe uses; delete the field",
				path, name, served[name])
			delete(fields, name)
		}
	}
	rest, err := json.Marshal(fields)
	if err != nil {
		return text
	}
	return string(rest)
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	const limit = 80
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// primaryRegion is database.primaryRegion with its default, the first
// region. When a region failed to decode, its name is unknown, so the
// field is marked broken: validation must not call it a follow-on error.
func (d *decoder) primaryRegion(c Config) string {
	for _, b := range d.broken {
		if strings.HasPrefix(b, full(KeyRegions)) {
			d.broken = append(d.broken, full(KeyDatabase)+".primaryRegion")
			break
		}
	}
	if c.Database.PrimaryRegion == "" && len(c.Regions) > 0 {
		return c.Regions[0].Name
	}
	return c.Database.PrimaryRegion
}
