package components_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/internal/mocktest"
)

// run runs body under mocks and returns what it registered.
func run(t *testing.T, body func(ctx *pulumi.Context) error) *mocktest.Monitor {
	t.Helper()
	m := mocktest.New()
	if err := pulumi.RunErr(body, pulumi.WithMocks("helloagents", "test", m)); err != nil {
		t.Fatalf("program failed: %v", err)
	}
	return m
}

func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

func str(r mocktest.Resource, k string) string {
	return unwrap(r.Inputs[resource.PropertyKey(k)]).StringValue()
}

func strs(v resource.PropertyValue) []string {
	var out []string
	for _, e := range unwrap(v).ArrayValue() {
		out = append(out, unwrap(e).StringValue())
	}
	return out
}

// arr returns v's elements, nil when v is unset.
func arr(v resource.PropertyValue) []resource.PropertyValue {
	v = unwrap(v)
	if !v.IsArray() {
		return nil
	}
	return v.ArrayValue()
}

func secret(s string) pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.String(s)).(pulumi.StringOutput)
}

func newHost(ctx *pulumi.Context, dockerHost string) (*components.RegionHost, error) {
	return components.NewRegionHost(ctx, "region-eu", &components.RegionHostArgs{
		Prefix: "helloagents-test", Region: "eu", DockerHost: dockerHost,
		Registry: &components.RegistryAuth{Server: "ghcr.io", Username: "u", Password: secret("registry-pw")},
	})
}

func TestSecretsGeneratesAndCollects(t *testing.T) {
	var s *components.Secrets
	m := run(t, func(ctx *pulumi.Context) error {
		var err error
		s, err = components.NewSecrets(ctx, "secrets", &components.SecretsArgs{
			Regions: []string{"eu", "us"}, Tunnels: true, AIAPIKey: "ai", SentryDSN: "https://k@s/1",
		})
		if err != nil {
			return err
		}
		for name, o := range map[string]pulumi.StringOutput{
			"db-eu": s.DatabasePasswords["eu"], "tunnel-us": s.TunnelSecrets["us"],
			"ai": s.AIAPIKey, "sentry": s.SentryDSN, "cf": s.CloudflareAPIToken,
		} {
			_, isSecret, _, err := mocktest.Await(o)
			if err != nil {
				return err
			}
			if !isSecret {
				t.Errorf("%s is not a secret output", name)
			}
		}
		return nil
	})
	if m.Count(mocktest.RandomPassword) != 2 || m.Count(mocktest.RandomID) != 2 {
		t.Errorf("passwords=%d ids=%d, want 2 and 2", m.Count(mocktest.RandomPassword), m.Count(mocktest.RandomID))
	}
	pw, _ := m.Named(mocktest.RandomPassword, "secrets-db-password-eu")
	if unwrap(pw.Inputs["special"]).BoolValue() || unwrap(pw.Inputs["length"]).NumberValue() < 32 {
		t.Errorf("database password inputs %v: want 32+ alphanumeric characters", pw.Inputs)
	}
	if !strings.Contains(pw.Parent, "helloagents:secrets:Secrets") {
		t.Errorf("password parent %q, want the Secrets component", pw.Parent)
	}
	if !s.HasAIAPIKey || !s.HasSentryDSN || s.HasRegistry {
		t.Errorf("Has flags: ai=%v sentry=%v registry=%v", s.HasAIAPIKey, s.HasSentryDSN, s.HasRegistry)
	}
}

func TestRegionHost(t *testing.T) {
	m := run(t, func(ctx *pulumi.Context) error {
		_, err := newHost(ctx, "ssh://deploy@eu.example.dev")
		return err
	})
	p, ok := m.Named(mocktest.DockerProvider, "region-eu-docker")
	if !ok {
		t.Fatal("no explicit docker provider")
	}
	if str(p, "host") != "ssh://deploy@eu.example.dev" {
		t.Errorf("provider host %q", str(p, "host"))
	}
	auth := unwrap(p.Inputs["registryAuth"]).ArrayValue()
	if len(auth) != 1 || !unwrap(auth[0]).ObjectValue()["password"].IsSecret() {
		t.Errorf("registry password not secret: %v", p.Inputs["registryAuth"])
	}
	priv, _ := m.Named(mocktest.DockerNetwork, "region-eu-private")
	egress, _ := m.Named(mocktest.DockerNetwork, "region-eu-egress")
	if !unwrap(priv.Inputs["internal"]).BoolValue() || str(priv, "name") != "helloagents-test-private" {
		t.Errorf("private network %v", priv.Inputs)
	}
	if egress.Inputs["internal"].IsBool() && egress.Inputs["internal"].BoolValue() {
		t.Error("egress network is internal")
	}
	for _, n := range m.ByType(mocktest.DockerNetwork) {
		if !strings.Contains(n.Provider, "region-eu-docker") {
			t.Errorf("%s: provider %q, want the region's", n.Name, n.Provider)
		}
	}
}

func TestDatabaseDevAndCloud(t *testing.T) {
	hc := components.DefaultHealthCheck()
	for _, tc := range []struct {
		name    string
		backup  components.BackupArgs
		volumes int
		images  int
		wantEnv []string
	}{
		{"dev", components.BackupArgs{Image: pulumi.String("helloagents-pgbackup:dev"), Destination: "file:///backups", LocalVolume: true,
			RunAs: "65532:65532", Schedule: "@hourly", RetentionDays: 3, KeepLast: 3, Limits: components.Limits{MemoryMB: 256, CPUs: 0.5, MaxRestarts: 5}},
			2, 1, []string{"BACKUP_DESTINATION=file:///backups", "BACKUP_SCHEDULE=@hourly"}},
		{"cloud", components.BackupArgs{Image: pulumi.String("r/pgbackup@sha256:" + strings.Repeat("1", 64)), Pull: true,
			Destination: "s3://b/p/eu", S3Endpoint: "https://acct.r2.cloudflarestorage.com",
			AccessKeyID: secret("AKID"), SecretAccessKey: secret("SAK"), SentryDSN: secret("https://k@s/1"),
			RunAs: "65532:65532", Schedule: "0 3 * * *", RetentionDays: 14, KeepLast: 7, Limits: components.Limits{MemoryMB: 256, CPUs: 0.5, MaxRestarts: 5}},
			1, 2, []string{"BACKUP_DESTINATION=s3://b/p/eu", "BACKUP_S3_ENDPOINT=https://acct.r2.cloudflarestorage.com",
				"AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=SAK", "SENTRY_DSN=https://k@s/1", "BACKUP_RETENTION_DAYS=14", "BACKUP_KEEP_LAST=7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var url pulumi.StringOutput
			m := run(t, func(ctx *pulumi.Context) error {
				host, err := newHost(ctx, "unix:///var/run/docker.sock")
				if err != nil {
					return err
				}
				db, err := components.NewDatabase(ctx, "db-eu", &components.DatabaseArgs{
					Prefix: "helloagents-test", Region: "eu", Host: host, Image: "postgres:15-alpine",
					Name: "app", User: "app", RunAs: "70:70", Password: secret("pw-db"),
					Limits: components.Limits{MemoryMB: 512, CPUs: 1, MaxRestarts: 5}, HealthCheck: hc, Backup: tc.backup,
				})
				if err != nil {
					return err
				}
				url = db.URL
				v, isSecret, _, err := mocktest.Await(db.URL)
				if err != nil {
					return err
				}
				if !isSecret || v != "postgres://app:pw-db@postgres:5432/app?sslmode=disable" {
					t.Errorf("DATABASE_URL %v secret=%v", v, isSecret)
				}
				return nil
			})
			_ = url
			if got := m.Count(mocktest.DockerVolume); got != tc.volumes {
				t.Errorf("volumes %d, want %d", got, tc.volumes)
			}
			if got := m.Count(mocktest.DockerRemoteImage); got != tc.images {
				t.Errorf("pulled images %d, want %d", got, tc.images)
			}
			pg, _ := m.Named(mocktest.DockerContainer, "db-eu-postgres")
			if str(pg, "user") != "70:70" || len(arr(pg.Inputs["ports"])) != 0 {
				t.Errorf("postgres user %q ports %v", str(pg, "user"), pg.Inputs["ports"])
			}
			nets := unwrap(pg.Inputs["networksAdvanced"]).ArrayValue()
			if len(nets) != 1 || unwrap(nets[0].ObjectValue()["name"]).StringValue() != "helloagents-test-private" {
				t.Errorf("postgres networks %v, want only the private network", nets)
			}
			if tests := strs(unwrap(pg.Inputs["healthcheck"]).ObjectValue()["tests"]); tests[1] != "pg_isready" {
				t.Errorf("postgres healthcheck %v", tests)
			}
			job, _ := m.Named(mocktest.DockerContainer, "db-eu-backup")
			env := strings.Join(strs(job.Inputs["envs"]), "\n")
			for _, w := range append(tc.wantEnv, "DATABASE_URL=postgres://app:pw-db@postgres:5432/app") {
				if !strings.Contains(env, w) {
					t.Errorf("backup env lacks %q", w)
				}
			}
			for _, e := range unwrap(job.Inputs["envs"]).ArrayValue() {
				name, _, _ := strings.Cut(unwrap(e).StringValue(), "=")
				secretName := name == "DATABASE_URL" || strings.HasPrefix(name, "AWS_") || name == "SENTRY_DSN"
				if secretName != e.IsSecret() {
					t.Errorf("backup env %s: secret=%v, want %v", name, e.IsSecret(), secretName)
				}
			}
		})
	}
}

func TestBackendServiceReplicasAndPorts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hostPort int
	}{{"dev", 8000}, {"tunnelled", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			m := run(t, func(ctx *pulumi.Context) error {
				host, err := newHost(ctx, "unix:///var/run/docker.sock")
				if err != nil {
					return err
				}
				_, err = components.NewBackendService(ctx, "backend-eu", &components.BackendServiceArgs{
					Prefix: "helloagents-test", Region: "eu", Host: host, Image: pulumi.String("r/b@sha256:" + strings.Repeat("2", 64)),
					Pull: true, Replicas: 3, Port: 8000, HostPort: tc.hostPort, User: "65532:65532",
					Limits:      components.Limits{MemoryMB: 512, CPUs: 1, MaxRestarts: 5},
					HealthCheck: components.DefaultHealthCheck(), HealthcheckCommand: []string{"CMD", "/server", "healthcheck"},
					Env: map[string]string{"APP_VERSION": "1.2.3"}, SecretEnv: map[string]pulumi.StringInput{"DATABASE_URL": secret("postgres://x")},
				})
				return err
			})
			cs := m.ByType(mocktest.DockerContainer)
			if len(cs) != 3 || m.Count(mocktest.DockerRemoteImage) != 1 {
				t.Fatalf("containers %d images %d, want 3 and 1", len(cs), m.Count(mocktest.DockerRemoteImage))
			}
			// Registration order is not replica order under the mocks.
			slices.SortFunc(cs, func(a, b mocktest.Resource) int { return strings.Compare(a.Name, b.Name) })
			for i, c := range cs {
				ports := arr(c.Inputs["ports"])
				if tc.hostPort == 0 {
					if len(ports) != 0 {
						t.Errorf("%s publishes %v", c.Name, ports)
					}
				} else {
					p := ports[0].ObjectValue()
					if unwrap(p["ip"]).StringValue() != "127.0.0.1" || unwrap(p["external"]).NumberValue() != float64(8000+i) {
						t.Errorf("%s port %v", c.Name, p)
					}
				}
				hc := unwrap(c.Inputs["healthcheck"]).ObjectValue()
				if got := strings.Join(strs(hc["tests"]), " "); got != "CMD /server healthcheck /health/live" {
					t.Errorf("%s healthcheck %q", c.Name, got)
				}
				if !strings.Contains(c.Inputs["image"].String(), "sha256:") {
					t.Errorf("%s image %v, want the pulled image id", c.Name, c.Inputs["image"])
				}
			}
		})
	}
}
