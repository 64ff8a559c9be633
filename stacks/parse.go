package stacks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/components"
)

// Parse builds the typed Config of stack from raw, which maps full keys
// ("helloagents:regions") to their string values (JSON text for objects and
// lists), exactly as the Automation API's GetAllConfig and a program's
// config.Get give them. It applies the environment's defaults, then validates
// everything and returns every problem at once (errors.Join), each naming the
// key, the value and what is allowed. It never panics and touches nothing.
func Parse(stack string, raw map[string]string) (Config, error) {
	var errs []error
	addf := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	for k := range raw {
		ns, key, ok := strings.Cut(k, ":")
		if ok && ns == Namespace && !slices.Contains(Keys(), key) {
			addf("%s: unknown key; allowed: %s", k, strings.Join(Keys(), ", "))
		}
	}

	env, err := environment(stack, raw[full(keyEnvironment)])
	if err != nil {
		errs = append(errs, err)
		env = Dev // keep going so every other error is reported too
	}
	c := Defaults(stack, env)

	if v, ok := raw[full(keyRegions)]; ok {
		c.Regions = nil
		var items []json.RawMessage
		if err := strictJSON(v, &items); err != nil {
			addf("%s: %v; want a list of objects {name, dockerHost, replicas, image}", full(keyRegions), err)
		}
		for i, item := range items {
			r := Region{Replicas: defaultReplicas(env)}
			if err := strictJSON(string(item), &r); err != nil {
				addf("%s[%d]: %v; allowed fields: name, dockerHost, replicas, image, sshOpts", full(keyRegions), i, err)
				continue
			}
			c.Regions = append(c.Regions, r)
		}
	}
	if v, ok := raw[full(keyHealthCheck)]; ok {
		hc, err := parseHealthCheck(v, c.HealthCheck)
		if err != nil {
			addf("%s: %v", full(keyHealthCheck), err)
		}
		c.HealthCheck = hc
	}
	objects := []struct {
		key  string
		into any
	}{
		{keyBackend, &c.Backend},
		{keyDatabase, &c.Database},
		{keyBackup, &c.Backup},
		{keyFrontend, &c.Frontend},
		{keyEdge, &c.Edge},
		{keyAlerts, &c.Alerts},
	}
	for _, o := range objects {
		if v, ok := raw[full(o.key)]; ok {
			if err := strictJSON(v, o.into); err != nil {
				addf("%s: %v", full(o.key), err)
			}
		}
	}
	c.Secrets = Secrets{
		AIAPIKey:           Secret(raw[full(keyAIAPIKey)]),
		SentryDSN:          Secret(raw[full(keySentryDSN)]),
		CloudflareAPIToken: Secret(raw[full(keyCloudflareAPIToken)]),
		R2AccessKeyID:      Secret(raw[full(keyR2AccessKeyID)]),
		R2SecretAccessKey:  Secret(raw[full(keyR2SecretAccessKey)]),
		RegistryPassword:   Secret(raw[full(keyRegistryPassword)]),
		AlertWebhookURL:    Secret(raw[full(keyAlertWebhookURL)]),
	}
	if c.Frontend.Hostname == "" && c.Edge.Domain != "" {
		c.Frontend.Hostname = "app." + c.Edge.Domain
	}
	if c.Edge.APIHostname == "" && c.Edge.Domain != "" {
		c.Edge.APIHostname = "api." + c.Edge.Domain
	}
	if len(c.Backend.CORSAllowedOrigins) == 0 {
		c.Backend.CORSAllowedOrigins = []string{c.FrontendURL()}
	}

	errs = append(errs, c.validate()...)
	return c, errors.Join(errs...)
}

// Load reads the stack's configuration from the running program and parses
// it. Values set with --secret arrive decrypted here; the Secrets component
// is what turns them back into secret outputs.
func Load(ctx *pulumi.Context) (Config, error) {
	raw := map[string]string{}
	for _, k := range Keys() {
		if v, ok := ctx.GetConfig(full(k)); ok {
			raw[full(k)] = v
		}
	}
	return Parse(ctx.Stack(), raw)
}

// environment derives the environment from an explicit value or the stack
// name ("dev", "staging", "production"/"prod", optionally "org/" prefixed).
func environment(stack, explicit string) (Environment, error) {
	allowed := "dev, staging, production"
	var named Environment
	switch name := stack[strings.LastIndex(stack, "/")+1:]; name {
	case "dev", "staging", "production":
		named = Environment(name)
	case "prod":
		named = Production
	}
	if explicit != "" {
		switch e := Environment(explicit); e {
		case Dev, Staging, Production:
			// A stack named after an environment must be that environment:
			// "production" deployed with dev rules would skip every guard.
			if named != "" && e != named {
				return "", fmt.Errorf("%s: invalid value %q for stack %q; allowed: %q (the environment the stack name names)",
					full(keyEnvironment), explicit, stack, named)
			}
			return e, nil
		}
		return "", fmt.Errorf("%s: unknown environment %q; allowed: %s", full(keyEnvironment), explicit, allowed)
	}
	if named != "" {
		return named, nil
	}
	return "", fmt.Errorf("%s: not set and stack name %q names no environment; set it to one of: %s",
		full(keyEnvironment), stack, allowed)
}

// strictJSON decodes text into v, rejecting unknown fields and trailing data
// so a typo in a stack file is an error, not a silently ignored value.
func strictJSON(text string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid value %s: %w", clip(text), err)
	}
	if dec.More() {
		return fmt.Errorf("invalid value %s: trailing data", clip(text))
	}
	return nil
}

// healthCheckJSON is the stack-file form of components.HealthCheck, with
// durations as Go duration strings ("30s").
type healthCheckJSON struct {
	Path          *string `json:"path"`
	LivenessPath  *string `json:"livenessPath"`
	Interval      *string `json:"interval"`
	Timeout       *string `json:"timeout"`
	Retries       *int    `json:"retries"`
	StartPeriod   *string `json:"startPeriod"`
	ExpectedCodes []int   `json:"expectedCodes"`
}

func parseHealthCheck(text string, hc components.HealthCheck) (components.HealthCheck, error) {
	var j healthCheckJSON
	if err := strictJSON(text, &j); err != nil {
		return hc, fmt.Errorf("%w; allowed fields: path, livenessPath, interval, timeout, retries, startPeriod, expectedCodes", err)
	}
	var errs []error
	dur := func(field string, s *string, into *time.Duration) {
		if s == nil {
			return
		}
		d, err := time.ParseDuration(*s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not a duration; want e.g. \"30s\"", field, *s))
			return
		}
		*into = d
	}
	if j.Path != nil {
		hc.Path = *j.Path
	}
	if j.LivenessPath != nil {
		hc.LivenessPath = *j.LivenessPath
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
	return hc, errors.Join(errs...)
}

// clip shortens a value quoted in an error message.
func clip(s string) string {
	const limit = 80
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return fmt.Sprintf("%q", s)
}
