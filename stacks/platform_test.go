package stacks

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/policy/restype"
	"github.com/helloagents/infra/stacks/config"
)

// runStack runs the whole program of a committed stack under mocks.
func runStack(t *testing.T, stack string) (*mocktest.Monitor, config.Config, map[string]any) {
	t.Helper()
	return runRaw(t, stack, stackRaw(t, stack))
}

// runRaw runs the whole program for stack's raw config under mocks and
// returns the mock, the parsed config and the (awaited) stack outputs,
// each output checked known and secret exactly when the contract says.
func runRaw(t *testing.T, stack string, raw map[string]string) (*mocktest.Monitor, config.Config, map[string]any) {
	t.Helper()
	cfg, err := config.Parse(stack, raw)
	if err != nil {
		t.Fatal(err)
	}
	m := mocktest.New()
	outputs := map[string]any{}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		out, err := Platform(ctx, cfg)
		if err != nil {
			return err
		}
		exports := out.Exports()
		maps.Copy(exports, out.SecretExports())
		for name, o := range exports {
			v, secret, known, err := mocktest.Await(o)
			if err != nil || !known || secret != slices.Contains(contract.CloudOutputs(), name) {
				return fmt.Errorf("output %s: known=%v secret=%v: %w", name, known, secret, err)
			}
			outputs[name] = v
		}
		return nil
	}, pulumi.WithMocks("helloagents", stack, m))
	if err != nil {
		t.Fatalf("program failed: %v", err)
	}
	return m, cfg, outputs
}

// perRegion counts resources of a type whose logical name belongs to region.
func perRegion(m *mocktest.Monitor, token, region string) int {
	n := 0
	for _, r := range m.ByType(token) {
		if strings.Contains(r.Name, "-"+region+"-") || strings.HasSuffix(r.Name, "-"+region) {
			n++
		}
	}
	return n
}

type counts map[string]int

func TestStackResourceCounts(t *testing.T) {
	for _, tc := range []struct {
		stack     string
		total     counts
		perRegion counts
		// standby overrides perRegion in the regions whose database is a
		// standby: no backup jobs, so two containers and one image fewer.
		standby counts
	}{
		// Monitoring adds per region three containers (Prometheus,
		// Alertmanager, the Postgres exporter), two data volumes (the
		// configuration is in the containers' environment) and three
		// images; outside dev, per region two DNS records and two Access
		// applications (one per monitoring hostname), and per stack two
		// Access policies and one service token.
		{"dev",
			counts{restype.DockerProvider: 2, restype.DockerImage: 7, restype.RandomPassword: 1, restype.RandomID: 0,
				restype.CloudflareProvider: 0, restype.Tunnel: 0, restype.Record: 0, restype.R2Bucket: 0,
				restype.ZoneSettings: 0, restype.PagesProject: 0, restype.Healthcheck: 0, restype.LoadBalancer: 0,
				restype.AccessApplication: 0, restype.AccessPolicy: 0, restype.AccessServiceToken: 0},
			counts{restype.DockerProvider: 1, restype.DockerRemoteImage: 0, restype.DockerContainer: 8,
				restype.DockerNetwork: 2, restype.DockerVolume: 7}, nil},
		{"staging",
			counts{restype.DockerProvider: 2, restype.DockerImage: 7, restype.RandomPassword: 2, restype.RandomID: 1,
				restype.CloudflareProvider: 1, restype.R2Bucket: 1, restype.ZoneSettings: 1, restype.Record: 5,
				restype.Healthcheck: 1, restype.LoadBalancerMonitor: 0, restype.LoadBalancerPool: 0, restype.LoadBalancer: 0,
				restype.PagesProject: 1, restype.PagesDomain: 1,
				restype.AccessApplication: 2, restype.AccessPolicy: 2, restype.AccessServiceToken: 1},
			counts{restype.DockerProvider: 1, restype.DockerRemoteImage: 8, restype.DockerContainer: 9,
				restype.DockerNetwork: 2, restype.DockerVolume: 5, restype.Tunnel: 1, restype.TunnelConfig: 1,
				restype.Record: 3, restype.AccessApplication: 2, restype.RandomPassword: 0, restype.RandomID: 1}, nil},
		{"production",
			counts{restype.DockerProvider: 2, restype.DockerImage: 0, restype.RandomPassword: 2, restype.RandomID: 2,
				restype.CloudflareProvider: 1, restype.R2Bucket: 1, restype.ZoneSettings: 1, restype.Record: 7,
				restype.Healthcheck: 0, restype.LoadBalancerMonitor: 1, restype.LoadBalancerPool: 2, restype.LoadBalancer: 1,
				restype.PagesProject: 1, restype.PagesDomain: 1,
				restype.AccessApplication: 4, restype.AccessPolicy: 2, restype.AccessServiceToken: 1},
			counts{restype.DockerProvider: 1, restype.DockerRemoteImage: 8, restype.DockerContainer: 10,
				restype.DockerNetwork: 2, restype.DockerVolume: 5, restype.Tunnel: 1, restype.TunnelConfig: 1,
				restype.Record: 3, restype.AccessApplication: 2, restype.LoadBalancerPool: 1, restype.RandomPassword: 0, restype.RandomID: 1},
			counts{restype.DockerRemoteImage: 7, restype.DockerContainer: 8}},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			m, cfg, _ := runStack(t, tc.stack)
			for token, want := range tc.total {
				if got := m.Count(token); got != want {
					t.Errorf("%s: %d, want %d", token, got, want)
				}
			}
			for _, r := range cfg.Regions {
				for token, want := range tc.perRegion {
					if n, ok := tc.standby[token]; ok && !cfg.IsPrimary(r) {
						want = n
					}
					if got := perRegion(m, token, r.Name); got != want {
						t.Errorf("region %s: %s: %d, want %d", r.Name, token, got, want)
					}
				}
			}
		})
	}
}

// TestReadmeResourceCount: the quick start's `make up` sample creates
// what the dev program registers, plus the stack resource the engine
// counts (the real-provider suite measures the same number with the
// official plugins and holds the README to it too).
func TestReadmeResourceCount(t *testing.T) {
	m, _, _ := runStack(t, "dev")
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	got := regexp.MustCompile(`(?m)^Resources:\n\s+\+ (\d+) created$`).FindSubmatch(b)
	if got == nil {
		t.Fatal("README.md has no `make up` sample ending in \"Resources: + N created\"")
	}
	if want := strconv.Itoa(len(m.Resources()) + 1); string(got[1]) != want {
		t.Errorf("README's `make up` sample: + %s created; the dev program registers %d resources, + 1 stack = %s", got[1], len(m.Resources()), want)
	}
}

func TestStackOutputs(t *testing.T) {
	// The committed digest is a placeholder; the tests render the file with
	// stacktest's real-looking substitute.
	pinned := "ghcr.io/helloagents/backend" + stacktest.Substitute(config.Placeholders()[0])
	for _, tc := range []struct {
		stack string
		want  map[string]any
	}{
		{"dev", map[string]any{
			"apiUrl":         "http://127.0.0.1:8000",
			"frontendUrl":    "http://localhost:5173",
			"healthUrls":     map[string]any{"local": "http://127.0.0.1:8000/health/ready"},
			"prometheusUrls": map[string]any{"local": "http://127.0.0.1:9090"},
			"backupBucket":   "helloagents-dev-backups",
		}},
		{"staging", map[string]any{
			"apiUrl":         "https://api-staging.helloagents.dev",
			"frontendUrl":    "https://app-staging.helloagents.dev",
			"healthUrls":     map[string]any{"eu-west": "https://api-staging-eu-west.helloagents.dev/health/ready"},
			"prometheusUrls": map[string]any{"eu-west": "https://prometheus-staging-eu-west.helloagents.dev"},
			"backupBucket":   "helloagents-backups-staging",
		}},
		{"production", map[string]any{
			"apiUrl":      "https://api.helloagents.dev",
			"frontendUrl": "https://app.helloagents.dev",
			"healthUrls": map[string]any{
				"eu-west": "https://api-eu-west.helloagents.dev/health/ready",
				"us-east": "https://api-us-east.helloagents.dev/health/ready",
			},
			"prometheusUrls": map[string]any{
				"eu-west": "https://prometheus-eu-west.helloagents.dev",
				"us-east": "https://prometheus-us-east.helloagents.dev",
			},
			"backendImage": pinned,
			"backupBucket": "helloagents-backups-production",
		}},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			_, _, got := runStack(t, tc.stack)
			deployed, err := contract.DecodeOutputs(got)
			if err != nil {
				t.Errorf("the tools cannot read the outputs: %v", err)
			}
			required := contract.Outputs()
			if tc.stack == "dev" {
				required = slices.DeleteFunc(required, func(n string) bool { return slices.Contains(contract.CloudOutputs(), n) })
				for _, n := range contract.CloudOutputs() {
					if deployed.Has(n) {
						t.Errorf("dev exports %s", n)
					}
				}
			}
			if err := deployed.Require(required...); err != nil {
				t.Errorf("outputs the tools read: %v", err)
			}
			for k, want := range tc.want {
				if fmt.Sprint(got[k]) != fmt.Sprint(want) {
					t.Errorf("output %s = %v, want %v", k, got[k], want)
				}
			}
			if img := fmt.Sprint(got["backendImage"]); tc.stack == "dev" && !strings.HasPrefix(img, "sha256:") {
				t.Errorf("dev backendImage = %q, want the local image ID", img)
			}
			if tc.stack == "staging" {
				img := fmt.Sprint(got["backendImage"])
				if !regexp.MustCompile(`^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$`).MatchString(img) || !strings.HasPrefix(img, "ghcr.io/helloagents/backend@sha256:") {
					t.Errorf("staging backendImage = %q, want the pushed repo digest", img)
				}
			}
		})
	}
}

// TestSecretsAreSecret scans every input of every resource: a value that
// holds a credential must be a Pulumi secret, and no credential may appear
// anywhere in plain text.
func TestSecretsAreSecret(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "production"} {
		t.Run(stack, func(t *testing.T) {
			m, _, _ := runStack(t, stack)
			needles := []string{"pw-", "token-", "cmFuZG9tLWlk"}
			for _, s := range stacktest.OperatorSecrets() {
				needles = append(needles, s)
			}
			for _, r := range m.Resources() {
				for k, v := range r.Inputs {
					for _, leak := range plainLeaks(v, needles) {
						t.Errorf("%s: input %s holds a credential in plain text: %q", r, k, leak)
					}
				}
			}
			// The variables that must be present and secret.
			for _, c := range m.ByType(restype.DockerContainer) {
				envs := c.Inputs["envs"]
				var want []string
				switch role(c) {
				case "backend":
					want = []string{"DATABASE_URL="}
					if stack != "dev" {
						want = append(want, "AI_API_KEY=", "SENTRY_DSN=")
					}
				case "postgres":
					want = []string{"POSTGRES_PASSWORD="}
					if stack != "dev" {
						want = append(want, "PGBACKREST_REPO1_S3_KEY=", "PGBACKREST_REPO1_S3_KEY_SECRET=", "PGBACKREST_REPO1_CIPHER_PASS=")
					}
				case "backup":
					want = []string{"DATABASE_URL="}
					if stack != "dev" {
						want = append(want, "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "SENTRY_DSN=")
					}
				case "tunnel":
					want = []string{"TUNNEL_TOKEN="}
				case "pgbackrest":
					want = []string{"DATABASE_URL="}
					if stack != "dev" {
						want = append(want, "PGBACKREST_REPO1_S3_KEY=", "PGBACKREST_REPO1_S3_KEY_SECRET=", "PGBACKREST_REPO1_CIPHER_PASS=", "SENTRY_DSN=")
					}
				case "pgexporter":
					want = []string{"DATA_SOURCE_NAME="}
				case "prometheus":
					want = []string{components.EnvPrometheusConfig + "=", components.EnvPrometheusRules + "="}
				case "alertmanager":
					want = []string{components.EnvAlertmanagerConfig + "="}
				case "proxy":
				default:
					t.Errorf("%s: no helloagents.role label", c.Name)
				}
				secretEntries := map[string]bool{}
				for _, e := range list(envs) {
					name, _, _ := strings.Cut(mocktest.Unwrap(e).StringValue(), "=")
					secretEntries[name+"="] = e.IsSecret() || envs.IsSecret()
				}
				for _, w := range want {
					isSecret, ok := secretEntries[w]
					if !ok {
						t.Errorf("%s: env lacks %s", c.Name, w)
					} else if !isSecret {
						t.Errorf("%s: env entry %s is not a Pulumi secret", c.Name, w)
					}
				}
			}
		})
	}
}

// list is a list input's elements (none when unset).
func list(v resource.PropertyValue) []resource.PropertyValue {
	if v = mocktest.Unwrap(v); v.IsArray() {
		return v.ArrayValue()
	}
	return nil
}

// plainLeaks returns the needles found in v outside secret values.
func plainLeaks(v resource.PropertyValue, needles []string) []string {
	switch {
	case v.IsSecret():
		return nil
	case v.IsString():
		var out []string
		for _, n := range needles {
			if strings.Contains(v.StringValue(), n) {
				out = append(out, v.StringValue())
			}
		}
		return out
	case v.IsArray():
		var out []string
		for _, e := range v.ArrayValue() {
			out = append(out, plainLeaks(e, needles)...)
		}
		return out
	case v.IsObject():
		var out []string
		for _, e := range v.ObjectValue() {
			out = append(out, plainLeaks(e, needles)...)
		}
		return out
	}
	return nil
}

func TestBackupWiring(t *testing.T) {
	for _, tc := range []struct {
		stack string
		dest  string
	}{
		{"dev", "BACKUP_DESTINATION=file:///backups"},
		{"staging", "BACKUP_DESTINATION=s3://helloagents-backups-staging/staging/eu-west"},
		// Only the primary region (the first by default) runs backup jobs.
		{"production", "BACKUP_DESTINATION=s3://helloagents-backups-production/production/eu-west"},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			m, cfg, _ := runStack(t, tc.stack)
			var all []string
			for _, c := range m.ByType(restype.DockerContainer) {
				if role(c) == "backup" {
					all = append(all, mocktest.Strings(c.Inputs["envs"])...)
					if got := mocktest.Strings(c.Inputs["command"]); len(got) != 1 || got[0] != "run" {
						t.Errorf("%s: command %v, want [run]", c.Name, got)
					}
				}
			}
			env := strings.Join(all, "\n")
			want := []string{tc.dest, "BACKUP_SCHEDULE=" + cfg.Backup.Schedule,
				fmt.Sprintf("BACKUP_RETENTION_DAYS=%d", cfg.Backup.RetentionDays),
				fmt.Sprintf("BACKUP_KEEP_LAST=%d", cfg.Backup.KeepLast)}
			if tc.stack != "dev" {
				want = append(want, "BACKUP_S3_ENDPOINT=https://"+stacktest.Substitute(config.Placeholders()[1])+".r2.cloudflarestorage.com", "BACKUP_S3_REGION=auto")
			}
			for _, w := range want {
				if !strings.Contains(env, w) {
					t.Errorf("backup env lacks %q:\n%s", w, env)
				}
			}
		})
	}
}

func TestProductionNeverBuilds(t *testing.T) {
	m, cfg, _ := runStack(t, "production")
	if n := m.Count(restype.DockerImage); n != 0 {
		t.Fatalf("production builds %d images", n)
	}
	pulled := map[string]bool{}
	for _, r := range m.ByType(restype.DockerRemoteImage) {
		pulled[mocktest.Unwrap(r.Inputs["name"]).StringValue()] = true
	}
	for _, r := range cfg.Regions {
		if !pulled[r.Image] {
			t.Errorf("region %s image %s not pulled", r.Name, r.Image)
		}
	}
	if !pulled[cfg.Backup.Image] {
		t.Errorf("backup image %s not pulled", cfg.Backup.Image)
	}
	if !pulled[cfg.Backend.ProxyImage] {
		t.Errorf("proxy image %s not pulled", cfg.Backend.ProxyImage)
	}
}

func TestBackendEnv(t *testing.T) {
	m, _, _ := runStack(t, "production")
	c, ok := m.Named(restype.DockerContainer, "backend-eu-west-1")
	if !ok {
		t.Fatal("backend-eu-west-1 not registered")
	}
	env := strings.Join(mocktest.Strings(c.Inputs["envs"]), "\n")
	for _, w := range []string{
		"SENTRY_ENVIRONMENT=production", "SENTRY_TRACES_SAMPLE_RATE=0.1",
		"CORS_ALLOWED_ORIGINS=https://app.helloagents.dev", "HOST=0.0.0.0", "PORT=8000",
		"DATABASE_URL=postgres://helloagents:",
	} {
		if !strings.Contains(env, w) {
			t.Errorf("backend env lacks %q", w)
		}
	}
}

func TestImageBuildContext(t *testing.T) {
	m, _, _ := runStack(t, "dev")
	img, ok := m.Named(restype.DockerImage, "backend-image")
	if !ok {
		t.Fatal("backend-image not registered")
	}
	b := obj(img.Inputs["build"])
	ctxDir, dockerfile := mocktest.Unwrap(b["context"]).StringValue(), mocktest.Unwrap(b["dockerfile"]).StringValue()
	if !strings.HasSuffix(ctxDir, "/backend") || dockerfile != ctxDir+"/Dockerfile" {
		t.Errorf("build context %q dockerfile %q", ctxDir, dockerfile)
	}
	if !mocktest.Unwrap(img.Inputs["skipPush"]).BoolValue() {
		t.Error("dev pushes its image")
	}
}

// TestEveryResourceIsParented: every provider resource sits under one of
// the platform's components (helloagents:<module>:<Type>), except the two
// stack-wide providers.
func TestEveryResourceIsParented(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "production"} {
		m, _, _ := runStack(t, stack)
		for _, r := range m.Resources() {
			if !r.Custom {
				if !strings.HasPrefix(r.Type, "helloagents:") {
					t.Errorf("%s: component type token outside helloagents:", r)
				}
				continue
			}
			if r.Name == "cloudflare" || r.Name == "build-docker" {
				continue
			}
			if r.Parent == "" || !strings.HasPrefix(string(resource.URN(r.Parent).Type()), "helloagents:") {
				t.Errorf("%s/%s: parent %q is not a platform component", stack, r, r.Parent)
			}
		}
	}
}
