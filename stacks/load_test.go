package stacks

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/policy/restype"
	"github.com/helloagents/infra/stacks/config"
)

// withConfig hands a program its stack configuration the way the Pulumi CLI
// does (PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS).
func withConfig(config map[string]string, secretKeys []string) pulumi.RunOption {
	return func(info *pulumi.RunInfo) {
		info.Config = config
		info.ConfigSecretKeys = secretKeys
	}
}

// TestLoadInProgram runs the same body as infra/main.go against each
// committed stack file, with the secrets delivered as config secrets.
func TestLoadInProgram(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "production"} {
		t.Run(stack, func(t *testing.T) {
			raw := stackRaw(t, stack)
			var secretKeys []string
			for k := range maps.Keys(stacktest.OperatorSecrets()) {
				if _, ok := raw[k]; ok {
					secretKeys = append(secretKeys, k)
				}
			}
			m := mocktest.New()
			var loaded config.Config
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				cfg, err := Load(ctx)
				if err != nil {
					return err
				}
				loaded = cfg
				_, err = Platform(ctx, cfg)
				return err
			}, pulumi.WithMocks("helloagents", stack, m), withConfig(raw, secretKeys))
			if err != nil {
				t.Fatal(err)
			}
			if loaded.Stack != stack || string(loaded.Environment) != stack {
				t.Errorf("loaded stack %q env %q", loaded.Stack, loaded.Environment)
			}
			if m.Count(restype.DockerContainer) == 0 {
				t.Error("no containers registered")
			}
		})
	}
}

// TestLoadReportsAllErrors proves the program fails before registering any
// resource when the config is invalid, with every problem in the message.
func TestLoadReportsAllErrors(t *testing.T) {
	raw := stackRaw(t, "production")
	raw["helloagents:regions"] = `[{"name":"eu","dockerHost":"tcp://x","replicas":7}]`
	delete(raw, "helloagents:aiApiKey")
	m := mocktest.New()
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		cfg, err := Load(ctx)
		if err != nil {
			return err
		}
		_, err = Platform(ctx, cfg)
		return err
	}, pulumi.WithMocks("helloagents", "production", m), withConfig(raw, nil))
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"regions[0].dockerHost", "regions[0].replicas", "regions[0].image", "helloagents:aiApiKey: missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := len(m.Resources()); n != 0 {
		t.Errorf("%d resources registered before validation failed", n)
	}
}

// TestLoadReadsEveryKey proves a typo in a top-level key fails `pulumi up`:
// Load takes the key names from the configuration the engine hands the
// program (PULUMI_CONFIG), not only the keys it knows.
func TestLoadReadsEveryKey(t *testing.T) {
	raw := stackRaw(t, "dev")
	raw["helloagents:heathCheck"] = `{"interval":"10s"}`
	raw["other:key"] = "another namespace is not ours to judge"
	env, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(pulumi.EnvConfig, string(env))
	m := mocktest.New()
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := Load(ctx)
		return err
	}, pulumi.WithMocks("helloagents", "dev", m), withConfig(raw, nil))
	if err == nil || !strings.Contains(err.Error(), "helloagents:heathCheck: unknown key (did you mean `healthCheck`?)") {
		t.Fatalf("typo not reported: %v", err)
	}
	if strings.Contains(err.Error(), "other:key") {
		t.Errorf("a key of another namespace was judged: %v", err)
	}
}
