package config

import (
	"errors"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helloagents/infra/internal/stacktest"
)

// TestDecodeErrors has one row per decoding error class: every error names
// the full path, the value and what is allowed, in the stack file's words,
// and a field that fails to decode causes no follow-on error.
func TestDecodeErrors(t *testing.T) {
	region := func(name string, replicas string) string {
		return `{"name":"` + name + `","dockerHost":"ssh://d@h","replicas":` + replicas +
			`,"image":"r/b@sha256:` + strings.Repeat("a", 64) + `"}`
	}
	for _, tc := range []struct {
		name   string
		stack  string
		set    map[string]string
		want   []string
		absent []string
	}{
		{"unknown top-level key with a suggestion", "dev",
			map[string]string{"helloagents:heathCheck": `{}`},
			[]string{"helloagents:heathCheck: unknown key (did you mean `healthCheck`?); allowed: environment, regions, healthCheck"}, nil},
		{"wrong-case key", "dev",
			map[string]string{"helloagents:Regions": `[]`},
			[]string{"helloagents:Regions: unknown key (did you mean `regions`?)"}, nil},
		{"field names match exactly", "dev",
			map[string]string{"helloagents:backend": `{"MEMORYMB":100000}`},
			[]string{"helloagents:backend.MEMORYMB: unknown field (did you mean `memoryMb`?); allowed: port, hostPort, user, memoryMb"}, nil},
		{"every unknown field", "dev",
			map[string]string{"helloagents:backend": `{"cpu":1,"prot":8000,"zzzzzzzzzzzz":1}`},
			[]string{
				"helloagents:backend.cpu: unknown field (did you mean `cpus`?)",
				"helloagents:backend.prot: unknown field (did you mean `port`?)",
				"helloagents:backend.zzzzzzzzzzzz: unknown field; allowed: port",
			}, nil},
		{"unknown region field", "staging",
			map[string]string{"helloagents:regions": `[{"name":"eu","dockerHost":"ssh://d@h","replcas":2}]`},
			[]string{"helloagents:regions[0].replcas: unknown field (did you mean `replicas`?); allowed: name, dockerHost, replicas, image, canaryImage, sshOpts"}, nil},
		{"type error keeps the region", "production",
			map[string]string{"helloagents:regions": "[" + region("eu", "1") + "," + region("us", `"two"`) + "]"},
			[]string{`helloagents:regions[1].replicas: invalid value "two"; allowed: a whole number`},
			[]string{"at least two regions", "Go struct", "unmarshal", "regions[1].name"}},
		{"a region that is not an object", "production",
			map[string]string{"helloagents:regions": "[" + region("eu", "1") + `,"us-east"]`},
			[]string{`helloagents:regions[1]: invalid value "\"us-east\""; allowed: an object with the fields name, dockerHost, replicas, image, canaryImage, sshOpts`},
			[]string{"at least two regions", "regions[1].name", "regions[1].replicas"}},
		{"regions not a list", "staging",
			map[string]string{"helloagents:regions": `{"name":"eu"}`},
			[]string{`helloagents:regions: invalid value "{\"name\":\"eu\"}"; allowed: a list of region objects`},
			[]string{"no regions"}},
		{"object not an object", "dev",
			map[string]string{"helloagents:backend": `5`},
			[]string{`helloagents:backend: invalid value "5"; allowed: an object with the fields port, hostPort`}, nil},
		{"string where a number goes", "dev",
			map[string]string{"helloagents:backend": `{"cpus":"1.5","memoryMb":1.5}`},
			[]string{
				`helloagents:backend.cpus: invalid value "1.5"; allowed: a number`,
				`helloagents:backend.memoryMb: invalid value 1.5; allowed: a whole number`,
			}, []string{"invalid value 0", "64..65536"}},
		{"number where a string goes", "production",
			map[string]string{"helloagents:edge": `{"accountId":12,"zoneId":"1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e","domain":"helloagents.dev"}`},
			[]string{`helloagents:edge.accountId: invalid value 12; allowed: a string`},
			[]string{"Cloudflare account id (32 hex"}},
		{"list of the wrong type", "dev",
			map[string]string{"helloagents:healthCheck": `{"expectedCodes":["200"]}`},
			[]string{`helloagents:healthCheck.expectedCodes: invalid value ["200"]; allowed: a list of whole numbers`}, nil},
		{"bad duration", "dev",
			map[string]string{"helloagents:healthCheck": `{"timeout":"5"}`},
			[]string{`helloagents:healthCheck.timeout: invalid value "5"; allowed: a duration such as "30s"`},
			[]string{"shorter than interval"}},
		{"unknown health-check field", "dev",
			map[string]string{"helloagents:healthCheck": `{"intervall":"5s"}`},
			[]string{"helloagents:healthCheck.intervall: unknown field (did you mean `interval`?)"}, nil},
		{"removed health-check paths", "dev",
			map[string]string{"helloagents:healthCheck": `{"path":"/readyz","livenessPath":"/livez","interval":"5s","timeout":"10s"}`},
			[]string{
				"helloagents:healthCheck.path: no longer a setting: the backend always serves it on /health/ready",
				"helloagents:healthCheck.livenessPath: no longer a setting: the backend always serves it on /health/live",
				"helloagents:healthCheck.timeout: invalid value \"10s\"",
			}, []string{"unknown field"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := stackRaw(t, tc.stack)
			maps.Copy(raw, tc.set)
			_, err := Parse(tc.stack, raw)
			if err == nil {
				t.Fatal("Parse accepted a bad config")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			for _, bad := range append(tc.absent, "json:", "Go struct", "cannot unmarshal") {
				if strings.Contains(err.Error(), bad) {
					t.Errorf("error contains %q:\n%v", bad, err)
				}
			}
		})
	}
}

// TestCommittedPlaceholdersRefused proves the committed stack files, as
// they are, do not deploy: each placeholder is refused with its fix, and
// nothing else is wrong with them.
func TestCommittedPlaceholdersRefused(t *testing.T) {
	for stack, want := range map[string][]string{
		"staging": {
			`helloagents:edge.accountId: invalid value "0123456789abcdef0123456789abcdef"; allowed: your Cloudflare account id, not the documented placeholder; copy it from the dashboard`,
			`helloagents:edge.zoneId: invalid value "fedcba9876543210fedcba9876543210"; allowed: your zone's id, not the documented placeholder`,
		},
		"production": {
			"helloagents:regions[0].image: invalid value \"ghcr.io/helloagents/backend@sha256:000",
			"a released digest, not the committed placeholder; first release: pulumi config set --stack production --path 'regions[1].image' \"$(pulumi stack output backendImage --stack staging)\"",
			"helloagents:backup.image: invalid value \"ghcr.io/helloagents/pgbackup@sha256:000",
			"helloagents:edge.accountId", "helloagents:edge.zoneId",
		},
	} {
		t.Run(stack, func(t *testing.T) {
			raw, err := ReadStackFile(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			maps.Copy(raw, stacktest.OperatorSecrets())
			_, err = Parse(stack, raw)
			if err == nil {
				t.Fatal("placeholders accepted")
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			var joined interface{ Unwrap() []error }
			if errors.As(err, &joined) {
				for _, e := range joined.Unwrap() {
					if !strings.Contains(e.Error(), "placeholder") {
						t.Errorf("a committed file has a problem besides its placeholders: %v", e)
					}
				}
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"port", "hostPort", "memoryMb", "cpus", "maxRestarts"}
	for name, want := range map[string]string{
		"prot": "port", "hostport": "hostPort", "MEMORYMB": "memoryMb", "memoryMB": "memoryMb",
		"cpu": "cpus", "maxRestart": "maxRestarts", "replicas": "", "zzzz": "",
	} {
		got := suggest(name, known)
		if want == "" && got != "" || want != "" && got != " (did you mean `"+want+"`?)" {
			t.Errorf("suggest(%q) = %q; want %q", name, got, want)
		}
	}
}

func TestLevenshtein(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"prot", "port", 2}, {"regions", "regoins", 2}, {"same", "same", 0},
	} {
		if got := levenshtein(tc.a, tc.b); got != tc.want {
			t.Errorf("levenshtein(%q, %q) = %d; want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
