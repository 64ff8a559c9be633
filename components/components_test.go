package components_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
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

func str(r mocktest.Resource, k string) string {
	return mocktest.Unwrap(r.Inputs[resource.PropertyKey(k)]).StringValue()
}

// arr returns v's elements, nil when v is unset.
func arr(v resource.PropertyValue) []resource.PropertyValue {
	v = mocktest.Unwrap(v)
	if !v.IsArray() {
		return nil
	}
	return v.ArrayValue()
}

func secret(s string) pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.String(s)).(pulumi.StringOutput)
}

func newHost(ctx *pulumi.Context, dockerHost string) (*components.Region, error) {
	return components.NewRegion(ctx, "region-eu", &components.RegionArgs{
		Prefix: "helloagents-test", Stack: "test", Region: "eu", DockerHost: dockerHost,
		Registry: &components.RegistryAuth{Server: "ghcr.io", Username: "u", Password: secret("registry-pw")},
	})
}

func TestSecretsGeneratesAndCollects(t *testing.T) {
	var s *components.Secrets
	m := run(t, func(ctx *pulumi.Context) error {
		var err error
		s, err = components.NewSecrets(ctx, "secrets", &components.SecretsArgs{
			Regions: []string{"eu", "us"}, Primary: "us", Tunnels: true, AIAPIKey: "ai", SentryDSN: "https://k@s/1",
		})
		if err != nil {
			return err
		}
		for name, o := range map[string]pulumi.StringOutput{
			"db": s.DatabasePassword, "tunnel-us": s.TunnelSecrets["us"],
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
	if m.Count(restype.RandomPassword) != 1 || m.Count(restype.RandomID) != 2 {
		t.Errorf("passwords=%d ids=%d, want 1 (one database password per stack) and 2", m.Count(restype.RandomPassword), m.Count(restype.RandomID))
	}
	pw, _ := m.Named(restype.RandomPassword, "secrets-db-password")
	// The password generated per region before is the stack's now: the
	// primary's keeps its state through the alias.
	if len(pw.Aliases) != 1 || pw.Aliases[0] != "secrets-db-password-us" {
		t.Errorf("database password aliases %v, want [secrets-db-password-us] (the primary's former password)", pw.Aliases)
	}
	if mocktest.Unwrap(pw.Inputs["special"]).BoolValue() || mocktest.Unwrap(pw.Inputs["length"]).NumberValue() < 32 {
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
	p, ok := m.Named(restype.DockerProvider, "region-eu-docker")
	if !ok {
		t.Fatal("no explicit docker provider")
	}
	if str(p, "host") != "ssh://deploy@eu.example.dev" {
		t.Errorf("provider host %q", str(p, "host"))
	}
	auth := mocktest.Unwrap(p.Inputs["registryAuth"]).ArrayValue()
	if len(auth) != 1 || !mocktest.Unwrap(auth[0]).ObjectValue()["password"].IsSecret() {
		t.Errorf("registry password not secret: %v", p.Inputs["registryAuth"])
	}
	priv, _ := m.Named(restype.DockerNetwork, "region-eu-private")
	egress, _ := m.Named(restype.DockerNetwork, "region-eu-egress")
	if !mocktest.Unwrap(priv.Inputs["internal"]).BoolValue() || str(priv, "name") != "helloagents-test-private" {
		t.Errorf("private network %v", priv.Inputs)
	}
	if egress.Inputs["internal"].IsBool() && egress.Inputs["internal"].BoolValue() {
		t.Error("egress network is internal")
	}
	for _, n := range m.ByType(restype.DockerNetwork) {
		if !strings.Contains(n.Provider, "region-eu-docker") {
			t.Errorf("%s: provider %q, want the region's", n.Name, n.Provider)
		}
	}
}

// TestRegionChild checks a component created with its region's Child option
// sits under the region and its containers use the region's provider, and
// that one created without it is refused rather than left on the default
// provider (the local engine).
func TestRegionChild(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inherit bool
	}{{"through Child", true}, {"without Child", false}} {
		t.Run(tc.name, func(t *testing.T) {
			m := mocktest.New()
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				host, err := newHost(ctx, "unix:///var/run/docker.sock")
				if err != nil {
					return err
				}
				var opts []pulumi.ResourceOption
				if tc.inherit {
					opts = append(opts, host.Child())
				}
				_, err = newBackend(ctx, host, "r/b@sha256:"+strings.Repeat("2", 64), nil, opts...)
				return err
			}, pulumi.WithMocks("helloagents", "test", m))
			if !tc.inherit {
				if err == nil || !strings.Contains(err.Error(), `backend "backend-eu": no docker provider`) {
					t.Fatalf("a backend outside its region: err = %v, want no docker provider", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			svc, _ := m.Named("helloagents:backend:BackendService", "backend-eu")
			if !strings.HasSuffix(svc.Parent, "helloagents:region:Host::region-eu") {
				t.Errorf("backend parent %q, want the region", svc.Parent)
			}
			c, ok := m.Named(restype.DockerContainer, "backend-eu-0")
			if !ok || !strings.Contains(c.Provider, "region-eu-docker") {
				t.Errorf("replica provider %q, want the region's", c.Provider)
			}
		})
	}
}

func TestDatabaseDevAndCloud(t *testing.T) {
	hc := healthcheck.Default()
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
			SecretEnv: map[string]pulumi.StringInput{"AWS_ACCESS_KEY_ID": secret("AKID"), "AWS_SECRET_ACCESS_KEY": secret("SAK"), "SENTRY_DSN": secret("https://k@s/1")},
			RunAs:     "65532:65532", Schedule: "0 3 * * *", RetentionDays: 14, KeepLast: 7, Limits: components.Limits{MemoryMB: 256, CPUs: 0.5, MaxRestarts: 5}},
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
					Prefix: "helloagents-test", Region: "eu", Host: host, Image: pulumi.String("r/postgres@sha256:" + strings.Repeat("5", 64)), Pull: true,
					Name: "app", User: "app", RunAs: "70:70", Password: secret("pw-db"),
					Limits: components.Limits{MemoryMB: 512, CPUs: 1, MaxRestarts: 5}, HealthCheck: hc, Backup: tc.backup,
				}, host.Child())
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
			if got := m.Count(restype.DockerVolume); got != tc.volumes {
				t.Errorf("volumes %d, want %d", got, tc.volumes)
			}
			if got := m.Count(restype.DockerRemoteImage); got != tc.images {
				t.Errorf("pulled images %d, want %d", got, tc.images)
			}
			pg, _ := m.Named(restype.DockerContainer, "db-eu-postgres")
			if str(pg, "user") != "70:70" || len(arr(pg.Inputs["ports"])) != 0 {
				t.Errorf("postgres user %q ports %v", str(pg, "user"), pg.Inputs["ports"])
			}
			nets := mocktest.Unwrap(pg.Inputs["networksAdvanced"]).ArrayValue()
			if len(nets) != 1 || mocktest.Unwrap(nets[0].ObjectValue()["name"]).StringValue() != "helloagents-test-private" {
				t.Errorf("postgres networks %v, want only the private network", nets)
			}
			if tests := mocktest.Strings(mocktest.Unwrap(pg.Inputs["healthcheck"]).ObjectValue()["tests"]); tests[1] != "pg_isready" {
				t.Errorf("postgres healthcheck %v", tests)
			}
			if pg.DeleteBeforeReplace == nil || !*pg.DeleteBeforeReplace {
				t.Errorf("postgres deleteBeforeReplace %v, want explicitly true: two servers must never share the volume", pg.DeleteBeforeReplace)
			}
			if got := labelMap(pg); got["helloagents.role"] != "postgres" || got["helloagents.region"] != "eu" {
				t.Errorf("postgres labels %v", got)
			}
			job, _ := m.Named(restype.DockerContainer, "db-eu-backup")
			env := strings.Join(mocktest.Strings(job.Inputs["envs"]), "\n")
			for _, w := range append(tc.wantEnv, "DATABASE_URL=postgres://app:pw-db@postgres:5432/app") {
				if !strings.Contains(env, w) {
					t.Errorf("backup env lacks %q", w)
				}
			}
			for _, e := range mocktest.Unwrap(job.Inputs["envs"]).ArrayValue() {
				name, _, _ := strings.Cut(mocktest.Unwrap(e).StringValue(), "=")
				secretName := name == "DATABASE_URL" || strings.HasPrefix(name, "AWS_") || name == "SENTRY_DSN"
				if secretName != e.IsSecret() {
					t.Errorf("backup env %s: secret=%v, want %v", name, e.IsSecret(), secretName)
				}
			}
		})
	}
}

func newBackend(ctx *pulumi.Context, host *components.Region, img string, env map[string]string, opts ...pulumi.ResourceOption) (*components.BackendService, error) {
	return components.NewBackendService(ctx, "backend-eu", &components.BackendServiceArgs{
		Host: host, Image: pulumi.String(img),
		Pull: true, Replicas: 3, Port: 8000, User: "65532:65532",
		Limits:      components.Limits{MemoryMB: 512, CPUs: 1, MaxRestarts: 5},
		HealthCheck: healthcheck.Default(), HealthcheckCommand: []string{"CMD", "/server", "healthcheck"},
		Env: env, SecretEnv: map[string]pulumi.StringInput{"DATABASE_URL": secret("postgres://x")},
	}, opts...)
}

// TestBackendServiceReplicas looks replicas up by logical name: the mock
// records registrations in whatever order the SDK's goroutines reach it.
func TestBackendServiceReplicas(t *testing.T) {
	m := run(t, func(ctx *pulumi.Context) error {
		host, err := newHost(ctx, "unix:///var/run/docker.sock")
		if err != nil {
			return err
		}
		_, err = newBackend(ctx, host, "r/b@sha256:"+strings.Repeat("2", 64), map[string]string{"APP_VERSION": "1.2.3"}, host.Child())
		return err
	})
	if n := m.Count(restype.DockerContainer); n != 3 || m.Count(restype.DockerRemoteImage) != 1 {
		t.Fatalf("containers %d images %d, want 3 and 1", n, m.Count(restype.DockerRemoteImage))
	}
	wait := components.WaitSeconds(healthcheck.Default())
	names := map[string]bool{}
	for i := range 3 {
		c, ok := m.Named(restype.DockerContainer, fmt.Sprintf("backend-eu-%d", i))
		if !ok {
			t.Fatalf("replica %d not registered", i)
		}
		name := str(c, "name")
		names[name] = true
		if !regexp.MustCompile(fmt.Sprintf(`^helloagents-test-backend-[0-9a-f]{10}-%d$`, i)).MatchString(name) {
			t.Errorf("replica %d name %q, want helloagents-test-backend-<fingerprint>-%d", i, name, i)
		}
		if ports := arr(c.Inputs["ports"]); len(ports) != 0 {
			t.Errorf("%s publishes %v: replicas are reached through the proxy only", c.Name, ports)
		}
		hc := mocktest.Unwrap(c.Inputs["healthcheck"]).ObjectValue()
		if got := strings.Join(mocktest.Strings(hc["tests"]), " "); got != "CMD /server healthcheck /health/live" {
			t.Errorf("%s healthcheck %q", c.Name, got)
		}
		if !strings.Contains(c.Inputs["image"].String(), "sha256:") {
			t.Errorf("%s image %v, want the pulled image id", c.Name, c.Inputs["image"])
		}
		if !mocktest.Unwrap(c.Inputs["wait"]).BoolValue() || mocktest.Unwrap(c.Inputs["waitTimeout"]).NumberValue() != float64(wait) {
			t.Errorf("%s wait=%v waitTimeout=%v, want true and %d", c.Name, c.Inputs["wait"], c.Inputs["waitTimeout"], wait)
		}
		if c.DeleteBeforeReplace == nil || *c.DeleteBeforeReplace {
			t.Errorf("%s deleteBeforeReplace %v, want explicitly false (create the successor first)", c.Name, c.DeleteBeforeReplace)
		}
		if got := labelMap(c); got["helloagents.role"] != "backend" || got["helloagents.region"] != "eu" || got["helloagents.stack"] != "test" {
			t.Errorf("%s labels %v", c.Name, got)
		}
	}
	if len(names) != 3 {
		t.Errorf("replica names %v are not distinct", names)
	}
}

// TestBackendFingerprint: the replicas' names change with everything that
// replaces them, and only with that.
func TestBackendFingerprint(t *testing.T) {
	img1, img2 := "r/b@sha256:"+strings.Repeat("2", 64), "r/b@sha256:"+strings.Repeat("3", 64)
	render := func(img string, env map[string]string) string {
		var fp string
		run(t, func(ctx *pulumi.Context) error {
			host, err := newHost(ctx, "unix:///var/run/docker.sock")
			if err != nil {
				return err
			}
			svc, err := newBackend(ctx, host, img, env, host.Child())
			if err != nil {
				return err
			}
			v, isSecret, _, err := mocktest.Await(svc.Fingerprint)
			if isSecret {
				t.Error("fingerprint is a secret output; it must be plain (it names containers)")
			}
			fp, _ = v.(string)
			return err
		})
		return fp
	}
	base := render(img1, map[string]string{"APP_VERSION": "1"})
	if base == "" {
		t.Fatal("no fingerprint")
	}
	if again := render(img1, map[string]string{"APP_VERSION": "1"}); again != base {
		t.Errorf("same inputs gave fingerprints %s and %s", base, again)
	}
	if other := render(img2, map[string]string{"APP_VERSION": "1"}); other == base {
		t.Error("a new image kept the fingerprint: its replicas would collide with the old ones")
	}
	if other := render(img1, map[string]string{"APP_VERSION": "2"}); other == base {
		t.Error("a new variable kept the fingerprint: its replicas would collide with the old ones")
	}
}

func TestProxy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hostPort int
	}{{"dev", 8000}, {"tunnelled", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			var url string
			m := run(t, func(ctx *pulumi.Context) error {
				host, err := newHost(ctx, "unix:///var/run/docker.sock")
				if err != nil {
					return err
				}
				p, err := components.NewProxy(ctx, "proxy-eu", &components.ProxyArgs{
					Host: host, Image: pulumi.String("r/proxy@sha256:" + strings.Repeat("4", 64)), Pull: true,
					Port: 8000, BackendPort: 8000, HostPort: tc.hostPort, MaxReplicas: 3,
					Limits: components.Limits{MemoryMB: 128, CPUs: 0.5, MaxRestarts: 5},
				}, host.Child())
				if p != nil {
					url = p.URL
				}
				return err
			})
			c, ok := m.Named(restype.DockerContainer, "proxy-eu")
			if !ok {
				t.Fatal("no proxy container")
			}
			// Behind a tunnel a new proxy starts beside the old one (its own
			// name, create-before-delete); in dev the host port forbids that.
			wantName, wantDBR := regexp.MustCompile(`^helloagents-test-proxy-[0-9a-f]{10}$`), false
			if tc.hostPort != 0 {
				wantName, wantDBR = regexp.MustCompile(`^helloagents-test-proxy$`), true
			}
			if url != "http://proxy:8000" || !wantName.MatchString(str(c, "name")) || str(c, "user") != "65532:65532" {
				t.Errorf("proxy url %q name %q user %q", url, str(c, "name"), str(c, "user"))
			}
			if c.DeleteBeforeReplace == nil || *c.DeleteBeforeReplace != wantDBR {
				t.Errorf("proxy deleteBeforeReplace %v, want %v", c.DeleteBeforeReplace, wantDBR)
			}
			env := mocktest.Strings(c.Inputs["envs"])
			for _, want := range []string{"PROXY_BACKEND_HOST=backend", "PROXY_BACKEND_PORT=8000", "PROXY_HEALTH_PATH=/health/ready", "PROXY_MAX_SERVERS=6", "PROXY_PORT=8000"} {
				if !slices.Contains(env, want) {
					t.Errorf("proxy env %v lacks %s", env, want)
				}
			}
			nets := mocktest.Unwrap(c.Inputs["networksAdvanced"]).ArrayValue()
			if len(nets) != 1 || strings.Join(mocktest.Strings(mocktest.Unwrap(nets[0]).ObjectValue()["aliases"]), ",") != "proxy" {
				t.Errorf("proxy networks %v, want the egress network with alias proxy", nets)
			}
			ports := arr(c.Inputs["ports"])
			switch {
			case tc.hostPort == 0 && len(ports) != 0:
				t.Errorf("proxy publishes %v outside dev", ports)
			case tc.hostPort != 0 && (len(ports) != 1 || mocktest.Unwrap(ports[0].ObjectValue()["ip"]).StringValue() != "127.0.0.1" ||
				mocktest.Unwrap(ports[0].ObjectValue()["external"]).NumberValue() != 8000):
				t.Errorf("dev proxy ports %v, want 127.0.0.1:8000", ports)
			}
			if got := labelMap(c); got["helloagents.role"] != "proxy" {
				t.Errorf("proxy labels %v", got)
			}
		})
	}
}

// labelMap returns a container's labels as a map.
func labelMap(c mocktest.Resource) map[string]string {
	out := map[string]string{}
	for _, l := range arr(c.Inputs["labels"]) {
		o := mocktest.Unwrap(l).ObjectValue()
		out[mocktest.Unwrap(o["label"]).StringValue()] = mocktest.Unwrap(o["value"]).StringValue()
	}
	return out
}

// TestBackendFingerprintPinned: a refactor of the settings types must not
// rename the running replicas (each rename is a release on the next `up`).
// The value is the fingerprint of newBackend's inputs as first deployed;
// change it only with a change that is meant to replace the replicas.
// Last changed when the drain variables (SHUTDOWN_DELAY, SHUTDOWN_TIMEOUT)
// became explicit, so the policy pack can compare them with the grace period.
func TestBackendFingerprintPinned(t *testing.T) {
	const want = "5027aa002c"
	var got string
	run(t, func(ctx *pulumi.Context) error {
		host, err := newHost(ctx, "unix:///var/run/docker.sock")
		if err != nil {
			return err
		}
		svc, err := newBackend(ctx, host, "r/b@sha256:"+strings.Repeat("2", 64), map[string]string{"APP_VERSION": "1"}, host.Child())
		if err != nil {
			return err
		}
		v, _, _, err := mocktest.Await(svc.Fingerprint)
		got, _ = v.(string)
		return err
	})
	if got != want {
		t.Errorf("fingerprint %q, want %q: every running replica would be replaced", got, want)
	}
}
