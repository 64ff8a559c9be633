package config

import (
	"testing"
)

// FuzzParse feeds arbitrary values to every object key: Parse must never
// panic, and a config it accepts must have at least one region with 1..3
// replicas (validation cannot be bypassed by odd input).
func FuzzParse(f *testing.F) {
	f.Add("dev", "", `[{"name":"local","dockerHost":"unix:///var/run/docker.sock","replicas":1}]`, `{"interval":"30s","timeout":"5s"}`, `{"schedule":"@daily"}`, `{}`)
	f.Add("production", "production", `[{"name":"eu","dockerHost":"ssh://d@h:22","replicas":2,"image":"r@sha256:00"}]`, `{"expectedCodes":[200,204]}`, `{"retentionDays":-1}`, `{"domain":"x.dev"}`)
	f.Add("staging", "qa", `[]`, `{"timeout":"1h"}`, `{"schedule":"* * * * * *"}`, `null`)
	f.Add("x/prod", "", `[{"name":1}]`, `"30s"`, `[]`, `{"checkRegions":null}`)
	f.Add("", "", `[null]`, `{`, `{"bucket":""}`, `{"apiHostname":"a"}`)
	f.Fuzz(func(t *testing.T, stack, env, regions, hc, backup, edge string) {
		raw := map[string]string{
			"helloagents:regions":     regions,
			"helloagents:healthCheck": hc,
			"helloagents:backup":      backup,
			"helloagents:edge":        edge,
		}
		if env != "" {
			raw["helloagents:environment"] = env
		}
		c, err := Parse(stack, raw)
		if err != nil {
			return
		}
		if len(c.Regions) == 0 {
			t.Fatal("accepted a config with no regions")
		}
		for _, r := range c.Regions {
			if r.Replicas < 1 || r.Replicas > 3 {
				t.Fatalf("accepted replicas %d", r.Replicas)
			}
		}
		if c.HealthCheck.Timeout >= c.HealthCheck.Interval {
			t.Fatal("accepted timeout >= interval")
		}
	})
}
