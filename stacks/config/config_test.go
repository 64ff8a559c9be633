package config

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/internal/stacktest"
)

// stackRaw is the committed stack file, filled, with the operator's secrets
// outside dev (stacktest.Stack).
func stackRaw(t testing.TB, stack string) map[string]string {
	return stacktest.Stack(t, filepath.Join("..", ".."), stack, ReadStackFile, Placeholders())
}

func TestCommittedStackFilesAreValid(t *testing.T) {
	for _, tc := range []struct {
		stack    string
		env      Environment
		regions  int
		replicas int
	}{
		{"dev", Dev, 1, 1},
		{"staging", Staging, 1, 1},
		{"production", Production, 2, 2},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			c, err := Parse(tc.stack, stackRaw(t, tc.stack))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.Environment != tc.env || len(c.Regions) != tc.regions || c.Regions[0].Replicas != tc.replicas {
				t.Errorf("env=%s regions=%d replicas=%d; want %s %d %d",
					c.Environment, len(c.Regions), c.Regions[0].Replicas, tc.env, tc.regions, tc.replicas)
			}
		})
	}
}

func TestDefaultsAndDerivedValues(t *testing.T) {
	c, err := Parse("production", stackRaw(t, "production"))
	if err != nil {
		t.Fatal(err)
	}
	if c.HealthCheck.Interval != 30*time.Second || c.HealthURL(c.Regions[0]) != "https://api-eu-west.helloagents.dev/health/ready" {
		t.Errorf("health check defaults not applied: %+v", c.HealthCheck)
	}
	if c.Backend.SentryTracesSampleRate != 0.1 || c.Backend.User != "65532:65532" {
		t.Errorf("backend defaults not applied: %+v", c.Backend)
	}
	if got, want := c.APIURL(), "https://api.helloagents.dev"; got != want {
		t.Errorf("APIURL = %q, want %q", got, want)
	}
	if got, want := c.HealthURL(c.Regions[1]), "https://api-us-east.helloagents.dev/health/ready"; got != want {
		t.Errorf("HealthURL = %q, want %q", got, want)
	}
	if got := c.Backend.CORSAllowedOrigins; len(got) != 1 || got[0] != "https://app.helloagents.dev" {
		t.Errorf("CORS default = %v, want the frontend URL", got)
	}
	if c.Backup.RetentionDays != 30 {
		t.Errorf("production retention default = %d, want 30", c.Backup.RetentionDays)
	}

	dev, err := Parse("dev", map[string]string{})
	if err != nil {
		t.Fatalf("empty dev config must be valid: %v", err)
	}
	if dev.APIURL() != "http://127.0.0.1:8000" || dev.HealthURL(dev.Regions[0]) != "http://127.0.0.1:8000/health/ready" {
		t.Errorf("dev URLs: %s %s", dev.APIURL(), dev.HealthURL(dev.Regions[0]))
	}
}

func TestEnvironmentFromStackName(t *testing.T) {
	for stack, want := range map[string]Environment{
		"dev": Dev, "staging": Staging, "production": Production, "prod": Production,
		"acme/production": Production,
	} {
		got, err := DetectEnvironment(stack, "")
		if err != nil || got != want {
			t.Errorf("DetectEnvironment(%q) = %q, %v; want %q", stack, got, err, want)
		}
	}
}

// TestValidation has one row per error class: each bad input must produce
// an error that names the key, the value and what is allowed.
func TestValidation(t *testing.T) {
	type row struct {
		name  string
		stack string
		set   map[string]string // applied over the committed stack file
		drop  []string
		want  []string // substrings of the joined error
	}
	prodRegion := func(name, host string, replicas int) string {
		return fmt.Sprintf(`{"name":%q,"dockerHost":%q,"replicas":%d,"image":"r/b@sha256:%s"}`,
			name, host, replicas, strings.Repeat("a", 64))
	}
	rows := []row{
		{"unknown environment", "dev", map[string]string{"helloagents:environment": "qa"},
			nil, []string{`helloagents:environment: unknown environment "qa"; allowed: dev, staging, production`}},
		{"stack name names no environment", "feature-x", nil,
			[]string{"helloagents:environment"}, []string{`stack name "feature-x" names no environment`}},
		{"environment contradicts stack name", "production", map[string]string{"helloagents:environment": "dev"},
			nil, []string{`helloagents:environment: invalid value "dev" for stack "production"; allowed: "production"`}},
		{"no regions", "staging", map[string]string{"helloagents:regions": "[]"},
			nil, []string{"helloagents:regions: missing; no regions"}},
		{"duplicate region names", "production", map[string]string{"helloagents:regions": "[" +
			prodRegion("eu-west", "ssh://d@a", 2) + "," + prodRegion("eu-west", "ssh://d@b", 2) + "]"},
			nil, []string{`helloagents:regions[1].name: invalid value "eu-west"; allowed: a name not used by another region (duplicate)`}},
		{"production with one region", "production", map[string]string{"helloagents:regions": "[" + prodRegion("eu", "ssh://d@a", 2) + "]"},
			nil, []string{`helloagents:regions: invalid value "1 region"; allowed: at least two regions in production`}},
		{"replicas zero", "production", map[string]string{"helloagents:regions": "[" + prodRegion("eu", "ssh://d@a", 0) + "]"},
			nil, []string{"helloagents:regions[0].replicas: invalid value 0; allowed: 1..3"}},
		{"replicas four", "production", map[string]string{"helloagents:regions": "[" + prodRegion("eu", "ssh://d@a", 4) + "]"},
			nil, []string{"helloagents:regions[0].replicas: invalid value 4; allowed: 1..3"}},
		{"docker host tcp", "production", map[string]string{"helloagents:regions": "[" + prodRegion("eu", "tcp://1.2.3.4:2375", 1) + "]"},
			nil, []string{`helloagents:regions[0].dockerHost: invalid value "tcp://1.2.3.4:2375"; allowed: ssh://user@host[:port]`}},
		{"docker host without user", "production", map[string]string{"helloagents:regions": "[" + prodRegion("eu", "ssh://host", 1) + "]"},
			nil, []string{`helloagents:regions[0].dockerHost: invalid value "ssh://host"`}},
		{"docker host bad port", "production", map[string]string{"helloagents:regions": "[" + prodRegion("eu", "ssh://d@host:99999", 1) + "]"},
			nil, []string{`dockerHost: invalid value "ssh://d@host:99999"`}},
		{"unix socket outside dev", "production", map[string]string{"helloagents:regions": "[" + prodRegion("eu", "unix:///var/run/docker.sock", 1) + "]"},
			nil, []string{`helloagents:regions[0].dockerHost: invalid value "unix:///var/run/docker.sock"; allowed: ssh://user@host[:port]`}},
		{"bad region name", "staging", map[string]string{"helloagents:regions": `[{"name":"EU_West","dockerHost":"ssh://d@h"}]`},
			nil, []string{`helloagents:regions[0].name: invalid value "EU_West"; allowed: a DNS label`}},
		{"production image not pinned", "production", map[string]string{"helloagents:regions": `[{"name":"eu","dockerHost":"ssh://d@h","image":"r/b:latest"}]`},
			nil, []string{`helloagents:regions[0].image: invalid value "r/b:latest"; allowed: a digest-pinned image reference`}},
		{"production image missing", "production", map[string]string{"helloagents:regions": `[{"name":"eu","dockerHost":"ssh://d@h"}]`},
			nil, []string{"helloagents:regions[0].image: missing; production deploys only digest-pinned images"}},
		{"bad domain", "production", map[string]string{"helloagents:edge": `{"accountId":"0123456789abcdef0123456789abcdef","zoneId":"fedcba9876543210fedcba9876543210","domain":"not a domain"}`},
			nil, []string{`helloagents:edge.domain: invalid value "not a domain"; allowed: a DNS domain`}},
		{"api hostname outside zone", "production", map[string]string{"helloagents:edge": `{"accountId":"0123456789abcdef0123456789abcdef","zoneId":"fedcba9876543210fedcba9876543210","domain":"helloagents.dev","apiHostname":"api.example.com"}`},
			nil, []string{`helloagents:edge.apiHostname: invalid value "api.example.com"; allowed: a hostname inside helloagents.dev`}},
		{"frontend hostname", "staging", map[string]string{"helloagents:frontend": `{"hostname":"app..helloagents.dev","githubOwner":"o","githubRepo":"r"}`},
			nil, []string{`helloagents:frontend.hostname: invalid value "app..helloagents.dev"`}},
		{"bad cron", "dev", map[string]string{"helloagents:backup": `{"schedule":"every day"}`},
			nil, []string{`helloagents:backup.schedule: invalid value "every day"; allowed: a 5-field cron expression`}},
		{"cron out of range", "dev", map[string]string{"helloagents:backup": `{"schedule":"0 25 * * *"}`},
			nil, []string{`helloagents:backup.schedule: invalid value "0 25 * * *"`}},
		{"retention zero", "dev", map[string]string{"helloagents:backup": `{"retentionDays":0}`},
			nil, []string{"helloagents:backup.retentionDays: invalid value 0; allowed: at least 1 day"}},
		{"timeout equals interval", "dev", map[string]string{"helloagents:healthCheck": `{"interval":"10s","timeout":"10s"}`},
			nil, []string{"helloagents:healthCheck.timeout: invalid value \"10s\"; allowed: at least 1s and shorter than interval (10s)"}},
		{"timeout above interval", "dev", map[string]string{"helloagents:healthCheck": `{"interval":"5s","timeout":"30s"}`},
			nil, []string{"helloagents:healthCheck.timeout: invalid value \"30s\""}},
		{"duration not parseable", "dev", map[string]string{"helloagents:healthCheck": `{"interval":"soon"}`},
			nil, []string{`helloagents:healthCheck.interval: invalid value "soon"; allowed: a duration such as "30s"`}},
		{"http CORS origin outside dev", "staging", map[string]string{"helloagents:backend": `{"repository":"ghcr.io/a/b","registryServer":"ghcr.io","registryUsername":"u","corsAllowedOrigins":["http://app.helloagents.dev"]}`},
			nil, []string{`helloagents:backend.corsAllowedOrigins[0]: invalid value "http://app.helloagents.dev"; allowed: an https:// URL (HTTP is allowed only in dev)`}},
		{"http sentry DSN outside dev", "production", map[string]string{"helloagents:sentryDsn": "http://k@sentry.example/1"},
			nil, []string{"helloagents:sentryDsn: invalid value [secret]; allowed: an https:// Sentry DSN"}},
		{"missing secrets outside dev", "production", nil,
			[]string{"helloagents:cloudflareApiToken", "helloagents:aiApiKey", "helloagents:registryPassword"},
			[]string{
				"helloagents:cloudflareApiToken: missing; required outside dev; set it with: pulumi config set --secret helloagents:cloudflareApiToken <value>",
				"helloagents:aiApiKey: missing; required outside dev",
				"helloagents:registryPassword: missing; required outside dev",
			}},
		{"root user", "dev", map[string]string{"helloagents:backend": `{"user":"0:0"}`},
			nil, []string{`helloagents:backend.user: invalid value "0:0"; allowed: a numeric non-root uid[:gid]`}},
		{"named user", "dev", map[string]string{"helloagents:backend": `{"user":"app"}`},
			nil, []string{`helloagents:backend.user: invalid value "app"`}},
		{"sample rate", "dev", map[string]string{"helloagents:backend": `{"sentryTracesSampleRate":1.5}`},
			nil, []string{"helloagents:backend.sentryTracesSampleRate: invalid value 1.5; allowed: 0..1"}},
		{"unknown field", "dev", map[string]string{"helloagents:backend": `{"prot":8000}`},
			nil, []string{"helloagents:backend.prot: unknown field (did you mean `port`?); allowed: port, hostPort, user"}},
		{"unknown key", "dev", map[string]string{"helloagents:regoins": `[]`},
			nil, []string{"helloagents:regoins: unknown key (did you mean `regions`?); allowed: environment, regions"}},
		{"not JSON", "dev", map[string]string{"helloagents:regions": `name: local`},
			nil, []string{"helloagents:regions: invalid value \"name: local\""}},
		{"postgres image in dev (it is built)", "dev", map[string]string{"helloagents:database": `{"image":"postgres:latest"}`},
			nil, []string{`helloagents:database.image: invalid value "postgres:latest"; allowed: unset outside production`}},
		{"min TLS", "production", map[string]string{"helloagents:edge": `{"accountId":"0123456789abcdef0123456789abcdef","zoneId":"fedcba9876543210fedcba9876543210","domain":"helloagents.dev","minTlsVersion":"1.0"}`},
			nil, []string{`helloagents:edge.minTlsVersion: invalid value "1.0"; allowed: "1.2" or "1.3"`}},
		{"zone id", "production", map[string]string{"helloagents:edge": `{"accountId":"0123456789abcdef0123456789abcdef","zoneId":"zone","domain":"helloagents.dev"}`},
			nil, []string{`helloagents:edge.zoneId: invalid value "zone"; allowed: a Cloudflare zone id`}},
		{"dev with two regions", "dev", map[string]string{"helloagents:regions": `[{"name":"a","dockerHost":"unix:///var/run/docker.sock"},{"name":"b","dockerHost":"unix:///var/run/docker.sock"}]`},
			nil, []string{`helloagents:regions: invalid value "2 regions"; allowed: exactly one region in dev`}},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.stack
			if base != "dev" && base != "staging" && base != "production" {
				base = "dev"
			}
			raw := stackRaw(t, base)
			maps.Copy(raw, tc.set)
			for _, k := range tc.drop {
				delete(raw, k)
			}
			_, err := Parse(tc.stack, raw)
			if err == nil {
				t.Fatal("Parse accepted a bad config")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not contain %q:\n%v", want, err)
				}
			}
			for _, s := range stacktest.OperatorSecrets() {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error leaks secret %q:\n%v", s, err)
				}
			}
		})
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	raw := stackRaw(t, "production")
	raw["helloagents:regions"] = `[{"name":"eu","dockerHost":"tcp://x","replicas":9}]`
	raw["helloagents:backup"] = `{"schedule":"nope","retentionDays":0}`
	raw["helloagents:healthCheck"] = `{"timeout":"1m"}`
	delete(raw, "helloagents:sentryDsn")
	_, err := Parse("production", raw)
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("want a joined error, got %v", err)
	}
	if n := len(joined.Unwrap()); n < 7 {
		t.Errorf("got %d errors, want every problem (>= 7):\n%v", n, err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	c, err := Parse("production", stackRaw(t, "production"))
	if err != nil {
		t.Fatal(err)
	}
	out := fmt.Sprintf("%v %+v %#v %s", c, c, c, c.Secrets.AIAPIKey)
	for _, s := range stacktest.OperatorSecrets() {
		if strings.Contains(out, s) {
			t.Errorf("formatted config leaks %q", s)
		}
	}
	if c.Secrets.AIAPIKey.Reveal() != stacktest.OperatorSecrets()["helloagents:aiApiKey"] {
		t.Error("Reveal does not return the value")
	}
}

// TestContractKeys: the config paths promotion writes (package contract)
// are the keys this package reads.
func TestContractKeys(t *testing.T) {
	for _, tc := range []struct{ program, contract string }{
		{full(KeyRegions), contract.KeyRegions},
		{full(KeyBackup) + ".image", contract.KeyBackupImage},
		{full(KeyBackend) + ".proxyImage", contract.KeyProxyImage},
		{full(KeyDatabase) + ".image", contract.KeyDatabaseImage},
	} {
		if tc.program != tc.contract {
			t.Errorf("program key %q, contract key %q", tc.program, tc.contract)
		}
	}
}
