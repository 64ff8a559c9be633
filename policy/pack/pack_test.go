package pack

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/helloagents/infra/policy/restype"
	"github.com/helloagents/infra/policy/rules"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

func TestSpecs(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Specs() {
		if seen[s.Name] {
			t.Errorf("duplicate policy name %q", s.Name)
		}
		seen[s.Name] = true
		if s.Description == "" || s.Level == nil || (s.Resource == nil) == (s.Stack == nil) {
			t.Errorf("policy %q: needs a description, a level and exactly one of Resource/Stack", s.Name)
		}
		if s.Stack != nil && s.Schema != nil {
			t.Errorf("stack policy %q has a config schema, but policyx gives stack policies no config", s.Name)
		}
	}
	for _, name := range []string{"containers-run-as-non-root", "images-run-as-non-root", "containers-least-privilege",
		"https-only", "secrets-are-secret", "backups-configured", "health-checks-configured"} {
		if !seen[name] {
			t.Errorf("policy %q from the issue is missing", name)
		}
	}
}

func TestLevelsPerEnvironment(t *testing.T) {
	for _, env := range []rules.Env{rules.Dev, rules.Staging, rules.Production} {
		p, err := New(env, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, pol := range p.Policies() {
			want := policyx.EnforcementLevelMandatory
			if env == rules.Dev && (pol.Name() == "containers-read-only-root-filesystem" ||
				pol.Name() == "backups-configured" || pol.Name() == "backups-retention") {
				want = policyx.EnforcementLevelAdvisory
			}
			if pol.EnforcementLevel() != want {
				t.Errorf("%s: %s is %v, want %v", env, pol.Name(), pol.EnforcementLevel(), want)
			}
		}
	}
}

// TestExampleConfig keeps policy-config.example.json in step with the pack:
// every key names a policy and every property is in that policy's schema.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "policy-config.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatalf("policy-config.example.json: %v", err)
	}
	specs := map[string]Spec{}
	for _, s := range Specs() {
		specs[s.Name] = s
	}
	config := map[string]map[string]any{}
	for name, v := range file {
		s, ok := specs[name]
		if !ok {
			t.Errorf("example config names unknown policy %q", name)
			continue
		}
		props, ok := v.(map[string]any)
		if !ok {
			continue // an enforcement level string
		}
		for k := range props {
			if k == "enforcementLevel" {
				continue
			}
			if s.Schema == nil || s.Schema.Properties[k] == nil {
				t.Errorf("example config sets %s.%s, which the policy's schema does not declare", name, k)
			}
		}
		config[name] = props
	}
	p, err := New(rules.Production, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Evaluate(context.Background(), p, nil, config); err != nil {
		t.Errorf("example config is not accepted: %v", err)
	}
}

func TestEvaluate(t *testing.T) {
	p, err := New(rules.Production, Options{})
	if err != nil {
		t.Fatal(err)
	}
	root := policyx.AnalyzerResource{
		Type: restype.DockerContainer, Name: "c", URN: "urn:c",
		Properties: property.NewMap(map[string]property.Value{
			"user": property.New("root"), "readOnly": property.New(true),
		}),
	}
	got, err := Evaluate(context.Background(), p, []policyx.AnalyzerResource{root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Policy != "containers-run-as-non-root" || got[0].URN != "urn:c" || len(Mandatory(got)) != 1 {
		t.Fatalf("got %v", got)
	}
	got, err = Evaluate(context.Background(), p, []policyx.AnalyzerResource{root},
		map[string]map[string]any{"https-only": {"minimumTlsVersion": "2.0"}})
	if err == nil {
		t.Fatalf("bad config accepted: %v", got)
	}
}
