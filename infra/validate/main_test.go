package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/stacks/config"
)

// operatorCopy writes stack's committed file the way an operator's copy
// looks before `pulumi up`: placeholders replaced by real-looking values,
// the secrets set with --secret (encrypted), edit applied to its config.
func operatorCopy(t *testing.T, stack string, secrets bool, edit func(cfg map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, p := range config.Placeholders() {
		text = strings.ReplaceAll(text, p, stacktest.Substitute(p))
	}
	var file map[string]any
	if err := yaml.Unmarshal([]byte(text), &file); err != nil {
		t.Fatal(err)
	}
	cfg, _ := file["config"].(map[string]any)
	if secrets {
		for _, k := range []string{"cloudflareApiToken", "r2AccessKeyId", "r2SecretAccessKey", "sentryDsn", "aiApiKey", "registryPassword"} {
			cfg[config.FullKey(k)] = map[string]any{"secure": "v1:ZW5jcnlwdGVk"}
		}
	}
	if edit != nil {
		edit(cfg)
	}
	out, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "Pulumi."+stack+".yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestValidate: the committed dev file and operators' staging and
// production copies pass; a broken copy fails with the message `pulumi up`
// gives (config.Parse's, which stacks.Load returns as is); usage errors
// exit 2.
func TestValidate(t *testing.T) {
	fourReplicas := func(cfg map[string]any) {
		regions := cfg["helloagents:regions"].([]any)
		regions[0].(map[string]any)["replicas"] = 4
	}
	for _, tc := range []struct {
		name string
		args func(t *testing.T) []string
		code int
		// lines must each be a whole line of stdout (stderr for code 2).
		lines []string
	}{
		{"committed dev", func(*testing.T) []string { return []string{"--stack", "dev", "--file", "../../Pulumi.dev.yaml"} }, 0,
			[]string{"../../Pulumi.dev.yaml: valid for stack dev (environment dev, 1 region(s))"}},
		{"staging as an operator has it", func(t *testing.T) []string {
			return []string{"--stack", "staging", "--file", operatorCopy(t, "staging", true, nil)}
		}, 0, []string{"encrypted, checked as set only: helloagents:aiApiKey, helloagents:cloudflareApiToken, helloagents:r2AccessKeyId, helloagents:r2SecretAccessKey, helloagents:registryPassword, helloagents:sentryDsn"}},
		{"production as an operator has it", func(t *testing.T) []string {
			return []string{"--stack", "production", "--file", operatorCopy(t, "production", true, nil)}
		}, 0, nil},
		{"an org-prefixed stack name names the environment", func(t *testing.T) []string {
			return []string{"--stack", "acme/production", "--file", operatorCopy(t, "production", true, nil)}
		}, 0, nil},
		{"broken copy: four replicas", func(t *testing.T) []string {
			return []string{"--stack", "dev", "--file", operatorCopy(t, "dev", false, fourReplicas)}
		}, 1, []string{`helloagents:regions[0].replicas: invalid value 4; allowed: 1..3 (the platform's scaling bounds)`}},
		{"staging without its secrets", func(t *testing.T) []string {
			return []string{"--stack", "staging", "--file", operatorCopy(t, "staging", false, nil)}
		}, 1, []string{"helloagents:sentryDsn: missing; required outside dev; set it with: pulumi config set --secret helloagents:sentryDsn <value>"}},
		{"every problem at once", func(t *testing.T) []string {
			return []string{"--stack", "staging", "--file", operatorCopy(t, "staging", false, fourReplicas)}
		}, 1, []string{
			`helloagents:regions[0].replicas: invalid value 4; allowed: 1..3 (the platform's scaling bounds)`,
			"helloagents:aiApiKey: missing; required outside dev; set it with: pulumi config set --secret helloagents:aiApiKey <value>",
		}},
		{"committed staging: its placeholders", func(*testing.T) []string {
			return []string{"--stack", "staging", "--file", "../../Pulumi.staging.yaml"}
		}, 1, []string{`helloagents:edge.zoneId: invalid value "fedcba9876543210fedcba9876543210"; allowed: your zone's id, not the documented placeholder; copy it from the zone's Overview page (API, Zone ID) and run: pulumi config set --stack staging --path edge.zoneId <id>`}},
		{"a typo in a key", func(t *testing.T) []string {
			return []string{"--stack", "dev", "--file", operatorCopy(t, "dev", false, func(cfg map[string]any) {
				cfg["helloagents:heathCheck"] = map[string]any{"interval": "10s"}
			})}
		}, 1, []string{"helloagents:heathCheck: unknown key (did you mean `healthCheck`?); allowed: " + strings.Join(config.Keys(), ", ")}},
		{"no --stack", func(*testing.T) []string { return nil }, 2,
			[]string{"validate: --stack is required (dev, staging, production, or the name of your stack)"}},
		{"no such stack file", func(*testing.T) []string { return []string{"--stack", "nosuch"} }, 2, nil},
		{"unexpected argument", func(*testing.T) []string { return []string{"--stack", "dev", "extra"} }, 2,
			[]string{`validate: unexpected arguments ["extra"]`}},
		{"unknown flag", func(*testing.T) []string { return []string{"--stak", "dev"} }, 2, nil},
		{"help", func(*testing.T) []string { return []string{"--help"} }, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args(t), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			out := stdout.String()
			if tc.code == 2 {
				out = stderr.String()
			}
			lines := strings.Split(out, "\n")
			for _, want := range tc.lines {
				found := false
				for _, l := range lines {
					found = found || l == want
				}
				if !found {
					t.Errorf("no line %q in:\n%s", want, out)
				}
			}
		})
	}
}

// TestStackFile: Pulumi reads org/production's configuration from
// Pulumi.production.yaml.
func TestStackFile(t *testing.T) {
	for stack, want := range map[string]string{"dev": "Pulumi.dev.yaml", "acme/production": "Pulumi.production.yaml", "my-test": "Pulumi.my-test.yaml"} {
		if got := stackFile(stack); got != want {
			t.Errorf("stackFile(%q) = %q, want %q", stack, got, want)
		}
	}
}
