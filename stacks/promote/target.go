package promote

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/helloagents/infra/components"
)

// Config keys the engine reads and writes in the target stack.
const (
	keyRegions     = "helloagents:regions"
	keyHealthCheck = "helloagents:healthCheck"
)

// region is one target region as configured, in rollout order.
type region struct {
	// Index is the position in helloagents:regions; the path config key
	// helloagents:regions[Index].image holds the region's digest.
	Index int
	Name  string
	Image string
}

func (r region) imageKey() string {
	return fmt.Sprintf("%s[%d].image", keyRegions, r.Index)
}

// target is what promotion needs from the target stack's config.
type target struct {
	Regions     []region
	HealthCheck components.HealthCheck
}

// readTarget extracts the ordered regions and the health-check settings
// from the target's raw config.
func readTarget(stack string, raw map[string]string) (target, error) {
	var t target
	text, ok := raw[keyRegions]
	if !ok || strings.TrimSpace(text) == "" {
		return t, fmt.Errorf("stack %q: %s is not set; allowed: an ordered list of regions with name and image", stack, keyRegions)
	}
	var list []struct {
		Name  string `json:"name"`
		Image string `json:"image"`
	}
	if err := json.Unmarshal([]byte(text), &list); err != nil {
		return t, fmt.Errorf("stack %q: %s: %w", stack, keyRegions, err)
	}
	if len(list) == 0 {
		return t, fmt.Errorf("stack %q: %s is empty; allowed: at least one region", stack, keyRegions)
	}
	for i, r := range list {
		if r.Name == "" {
			return t, fmt.Errorf("stack %q: %s[%d].name is empty", stack, keyRegions, i)
		}
		if slices.ContainsFunc(t.Regions, func(o region) bool { return o.Name == r.Name }) {
			return t, fmt.Errorf("stack %q: %s[%d].name %q is not unique", stack, keyRegions, i, r.Name)
		}
		t.Regions = append(t.Regions, region{Index: i, Name: r.Name, Image: r.Image})
	}
	hc, err := healthCheck(stack, raw[keyHealthCheck])
	if err != nil {
		return t, err
	}
	t.HealthCheck = hc
	return t, nil
}

// healthCheck decodes helloagents:healthCheck over the defaults; durations
// are Go duration strings such as "30s".
func healthCheck(stack, text string) (components.HealthCheck, error) {
	hc := components.DefaultHealthCheck()
	if strings.TrimSpace(text) == "" {
		return hc, nil
	}
	var in struct {
		Path          *string `json:"path"`
		LivenessPath  *string `json:"livenessPath"`
		Interval      *string `json:"interval"`
		Timeout       *string `json:"timeout"`
		Retries       *int    `json:"retries"`
		StartPeriod   *string `json:"startPeriod"`
		ExpectedCodes []int   `json:"expectedCodes"`
	}
	if err := json.Unmarshal([]byte(text), &in); err != nil {
		return hc, fmt.Errorf("stack %q: %s: %w", stack, keyHealthCheck, err)
	}
	if in.Path != nil {
		hc.Path = *in.Path
	}
	if in.LivenessPath != nil {
		hc.LivenessPath = *in.LivenessPath
	}
	if in.Retries != nil {
		hc.Retries = *in.Retries
	}
	if in.ExpectedCodes != nil {
		hc.ExpectedCodes = in.ExpectedCodes
	}
	for _, d := range []struct {
		field string
		in    *string
		out   *time.Duration
	}{{"interval", in.Interval, &hc.Interval}, {"timeout", in.Timeout, &hc.Timeout}, {"startPeriod", in.StartPeriod, &hc.StartPeriod}} {
		if d.in == nil {
			continue
		}
		v, err := time.ParseDuration(*d.in)
		if err != nil {
			return hc, fmt.Errorf("stack %q: %s.%s = %q: not a duration such as \"30s\"", stack, keyHealthCheck, d.field, *d.in)
		}
		*d.out = v
	}
	return hc, nil
}

// selectRegions returns the regions named in only (all when empty), always
// in configured order, and rejects names the target does not have.
func selectRegions(all []region, only []string) ([]region, error) {
	if len(only) == 0 {
		return all, nil
	}
	var names []string
	for _, r := range all {
		names = append(names, r.Name)
	}
	for _, n := range only {
		if !slices.Contains(names, n) {
			return nil, fmt.Errorf("region %q is not configured in the target; allowed: %s", n, strings.Join(names, ", "))
		}
	}
	var out []region
	for _, r := range all {
		if slices.Contains(only, r.Name) {
			out = append(out, r)
		}
	}
	return out, nil
}
