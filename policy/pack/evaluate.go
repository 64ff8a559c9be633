package pack

import (
	"context"
	"fmt"
	"maps"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// Diagnostic is one violation reported by a policy.
type Diagnostic struct {
	Policy  string
	Level   policyx.EnforcementLevel
	URN     string
	Message string
}

func (d Diagnostic) String() string {
	return fmt.Sprintf("[%s] %s: %s", d.Policy, d.URN, d.Message)
}

type recorder struct {
	policy string
	level  policyx.EnforcementLevel
	urn    string
	out    *[]Diagnostic
}

func (r recorder) ReportViolation(message, urn string) {
	if urn == "" {
		urn = r.urn
	}
	*r.out = append(*r.out, Diagnostic{Policy: r.policy, Level: r.level, URN: urn, Message: message})
}

// Evaluate runs a pack in process the way the engine drives it: every
// resource policy on every resource, then every stack policy on the whole
// graph. config maps policy names to their properties and is applied on top
// of the schema defaults, as the engine does with --policy-pack-config.
// Disabled policies are skipped.
func Evaluate(ctx context.Context, p policyx.PolicyPack, resources []policyx.AnalyzerResource, config map[string]map[string]any) ([]Diagnostic, error) {
	var out []Diagnostic
	for _, pol := range p.Policies() {
		level := pol.EnforcementLevel()
		if level == policyx.EnforcementLevelDisabled {
			continue
		}
		cfg := map[string]any{}
		if s := pol.ConfigSchema(); s != nil {
			for k, prop := range s.Properties {
				if d, ok := prop["default"]; ok {
					cfg[k] = d
				}
			}
		}
		maps.Copy(cfg, config[pol.Name()])
		switch pol := pol.(type) {
		case policyx.ResourceValidationPolicy:
			for _, r := range resources {
				rec := recorder{policy: pol.Name(), level: level, urn: r.URN, out: &out}
				err := pol.Validate(ctx, policyx.ResourceValidationArgs{Manager: rec, Resource: r, Config: cfg})
				if err != nil {
					return out, fmt.Errorf("policy %s on %s: %w", pol.Name(), r.URN, err)
				}
			}
		case policyx.StackValidationPolicy:
			rec := recorder{policy: pol.Name(), level: level, out: &out}
			if err := pol.Validate(ctx, policyx.StackValidationArgs{Manager: rec, Resources: resources}); err != nil {
				return out, fmt.Errorf("stack policy %s: %w", pol.Name(), err)
			}
		}
	}
	return out, nil
}

// Mandatory returns the diagnostics of mandatory policies.
func Mandatory(ds []Diagnostic) []Diagnostic {
	var out []Diagnostic
	for _, d := range ds {
		if d.Level == policyx.EnforcementLevelMandatory {
			out = append(out, d)
		}
	}
	return out
}
