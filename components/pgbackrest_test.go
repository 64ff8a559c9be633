package components_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/postgres"
	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
)

// repositoryKeys are R2's keys under pgBackRest's variables.
func repositoryKeys(id, key string) map[string]pulumi.StringInput {
	return map[string]pulumi.StringInput{postgres.EnvRepo1S3Key: secret(id), postgres.EnvRepo1S3KeySecret: secret(key)}
}

// envOf returns a container's KEY=value entries and which of them are secret.
func envOf(r mocktest.Resource) (map[string]string, map[string]bool) {
	vals, secrets := map[string]string{}, map[string]bool{}
	for _, e := range arr(r.Inputs["envs"]) {
		k, v, _ := strings.Cut(mocktest.Unwrap(e).StringValue(), "=")
		vals[k], secrets[k] = v, e.IsSecret()
	}
	return vals, secrets
}

func mountTargets(r mocktest.Resource) map[string]bool {
	out := map[string]bool{}
	for _, m := range arr(r.Inputs["mounts"]) {
		o := mocktest.Unwrap(m).ObjectValue()
		out[mocktest.Unwrap(o["target"]).StringValue()] = !o["readOnly"].IsNull() && mocktest.Unwrap(o["readOnly"]).BoolValue()
	}
	return out
}

func TestDatabaseWithPITR(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pitr    components.PITRArgs
		volumes int
		repo    string
	}{
		{"r2", components.PITRArgs{S3Endpoint: "acct.r2.cloudflarestorage.com", Bucket: "helloagents-backups-production",
			RepoPath: "/production/eu", ServerSecretEnv: repositoryKeys("r2-id-SECRET", "r2-key-SECRET"),
			JobSecretEnv: repositoryKeys("r2-id-SECRET", "r2-key-SECRET"),
			CipherPass:   secret("cipher-SECRET")}, 3, "s3"}, // data, spool, socket
		{"dev posix", components.PITRArgs{}, 5, "posix"}, // + repository, dump volume
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.pitr
			p.ArchiveTimeout, p.RetentionFull, p.FullSchedule, p.DiffSchedule = 60*time.Second, 2, "0 2 * * 0", "0 2 * * 1-6"
			p.Limits = components.Limits{MemoryMB: 256, CPUs: 0.5, MaxRestarts: 5}
			p.JobSecretEnv = maps.Clone(p.JobSecretEnv)
			if p.JobSecretEnv == nil {
				p.JobSecretEnv = map[string]pulumi.StringInput{}
			}
			p.JobSecretEnv["SENTRY_DSN"], p.SentryEnvironment = secret("https://k@sentry/1"), "production"
			backup := components.BackupArgs{Image: pulumi.String("pgbackup:dev"), RunAs: "65532:65532", Schedule: "@daily",
				RetentionDays: 3, KeepLast: 3, Destination: "file:///backups", LocalVolume: tc.repo == "posix",
				Limits: components.Limits{MemoryMB: 256, CPUs: 0.5, MaxRestarts: 5}}
			m := run(t, func(ctx *pulumi.Context) error {
				host, err := newHost(ctx, "unix:///var/run/docker.sock")
				if err != nil {
					return err
				}
				_, err = components.NewDatabase(ctx, "db-eu", &components.DatabaseArgs{
					Prefix: "helloagents-test", Region: "eu", Host: host, Image: pulumi.String("helloagents-postgres:15"),
					Name: "app", User: "app", RunAs: "999:999", Password: secret("pw-db"),
					Limits: components.Limits{MemoryMB: 512, CPUs: 1, MaxRestarts: 5}, HealthCheck: healthcheck.Default(),
					Backup: backup, PITR: &p,
				}, host.Child())
				return err
			})
			if got := m.Count(restype.DockerVolume); got != tc.volumes {
				t.Errorf("volumes %d, want %d", got, tc.volumes)
			}
			pg, _ := m.Named(restype.DockerContainer, "db-eu-postgres")
			job, ok := m.Named(restype.DockerContainer, "db-eu-pgbackrest")
			if !ok {
				t.Fatal("no pgbackrest job container")
			}
			for _, c := range []mocktest.Resource{pg, job} {
				vals, secrets := envOf(c)
				if vals["PGBACKREST_REPO1_TYPE"] != tc.repo || vals["PGBACKREST_STANZA"] != "main" || vals["PGBACKREST_ARCHIVE_ASYNC"] != "y" ||
					vals["PGBACKREST_SPOOL_PATH"] != "/var/spool/pgbackrest" || vals["PGBACKREST_REPO1_RETENTION_FULL"] != "2" || vals["PGBACKREST_PG1_USER"] != "app" {
					t.Errorf("%s: pgbackrest env %v", c.Name, vals)
				}
				if tc.repo == "s3" {
					if vals["PGBACKREST_REPO1_S3_REGION"] != "auto" || vals["PGBACKREST_REPO1_S3_URI_STYLE"] != "path" ||
						vals["PGBACKREST_REPO1_PATH"] != "/production/eu" || vals["PGBACKREST_REPO1_CIPHER_TYPE"] != "aes-256-cbc" {
						t.Errorf("%s: s3 env %v", c.Name, vals)
					}
					for _, k := range []string{"PGBACKREST_REPO1_S3_KEY", "PGBACKREST_REPO1_S3_KEY_SECRET", "PGBACKREST_REPO1_CIPHER_PASS"} {
						if !secrets[k] {
							t.Errorf("%s: %s is not a secret entry", c.Name, k)
						}
					}
				}
				for k, v := range vals {
					if strings.Contains(v, "SECRET") && !secrets[k] {
						t.Errorf("%s: %s carries a secret in a plain entry", c.Name, k)
					}
				}
				if str(c, "user") != "999:999" || !mocktest.Unwrap(c.Inputs["readOnly"]).BoolValue() || !slices.Contains(mocktest.Strings(c.Inputs["capabilities"].ObjectValue()["drops"]), "ALL") {
					t.Errorf("%s: not hardened: user %q", c.Name, str(c, "user"))
				}
			}
			pgEnv, _ := envOf(pg)
			if pgEnv["ARCHIVE_TIMEOUT"] != "60s" {
				t.Errorf("ARCHIVE_TIMEOUT %q", pgEnv["ARCHIVE_TIMEOUT"])
			}
			mt := mountTargets(pg)
			if _, ok := mt["/var/spool/pgbackrest"]; !ok || len(mt) != map[string]int{"s3": 3, "posix": 4}[tc.repo] {
				t.Errorf("postgres mounts %v", mt)
			}
			if tmpfs := mocktest.Unwrap(pg.Inputs["tmpfs"]).ObjectValue(); tmpfs.HasValue(resource.PropertyKey("/var/run/postgresql")) {
				t.Error("socket directory still a private tmpfs: the job cannot reach the server")
			}
			jm := mountTargets(job)
			if ro, ok := jm["/var/lib/postgresql/data"]; !ok || !ro {
				t.Errorf("job mounts %v: want the data volume read-only", jm)
			}
			jobEnv, jobSecrets := envOf(job)
			if !jobSecrets["DATABASE_URL"] || !jobSecrets["SENTRY_DSN"] || jobEnv["PITR_FULL_SCHEDULE"] != "0 2 * * 0" || jobEnv["PITR_DIFF_SCHEDULE"] != "0 2 * * 1-6" {
				t.Errorf("job env %v", jobEnv)
			}
			if ep := mocktest.Strings(job.Inputs["entrypoints"]); len(ep) != 1 || ep[0] != "/usr/local/bin/pitrjob" || str(job, "image") != str(pg, "image") {
				t.Errorf("job entrypoint %v image %q", ep, str(job, "image"))
			}
		})
	}
}

// TestDatabaseStandby: a standby runs Postgres with PG_ROLE=standby and
// the repository settings, and no backup job; without a repository to
// replay from it is refused before anything is registered.
func TestDatabaseStandby(t *testing.T) {
	pitr := &components.PITRArgs{S3Endpoint: "acct.r2.cloudflarestorage.com", Bucket: "b", RepoPath: "/production/pgbackrest",
		ServerSecretEnv: repositoryKeys("id", "key"), JobSecretEnv: repositoryKeys("id", "key"), CipherPass: secret("cipher"),
		ArchiveTimeout: time.Minute, RetentionFull: 2, FullSchedule: "@daily", DiffSchedule: "@hourly",
		Limits: components.Limits{MemoryMB: 256, CPUs: 0.5, MaxRestarts: 5}}
	for _, tc := range []struct {
		name    string
		standby bool
		pitr    *components.PITRArgs
		role    string
		jobs    int
		err     string
	}{
		{"primary", false, pitr, "primary", 2, ""},
		{"standby", true, pitr, "standby", 0, ""},
		{"standby without a repository", true, nil, "", 0, "a standby database needs PITR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mocktest.New()
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				host, err := newHost(ctx, "ssh://deploy@eu.hosts")
				if err != nil {
					return err
				}
				_, err = components.NewDatabase(ctx, "db-eu", &components.DatabaseArgs{
					Prefix: "helloagents-test-eu", Region: "eu", Host: host, Image: pulumi.String("r/postgres@sha256:" + strings.Repeat("5", 64)),
					Pull: true, Name: "app", User: "app", RunAs: "999:999", Password: secret("pw"),
					Limits: components.Limits{MemoryMB: 512, CPUs: 1, MaxRestarts: 5}, HealthCheck: healthcheck.Default(),
					Backup: components.BackupArgs{Image: pulumi.String("pgbackup:1"), Destination: "s3://b/p/eu", RunAs: "65532:65532"},
					PITR:   tc.pitr, Standby: tc.standby,
				}, host.Child())
				return err
			}, pulumi.WithMocks("helloagents", "test", m))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				if n := m.Count(restype.DockerContainer); n != 0 {
					t.Errorf("%d containers registered for a refused standby", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pg, _ := m.Named(restype.DockerContainer, "db-eu-postgres")
			env, _ := envOf(pg)
			if env["PG_ROLE"] != tc.role || env["PGBACKREST_REPO1_PATH"] != "/production/pgbackrest" || env["PGBACKREST_REPO1_TYPE"] != "s3" {
				t.Errorf("postgres env PG_ROLE=%q repo %q %q", env["PG_ROLE"], env["PGBACKREST_REPO1_TYPE"], env["PGBACKREST_REPO1_PATH"])
			}
			if n := m.Count(restype.DockerContainer) - 1; n != tc.jobs {
				t.Errorf("%d backup job containers, want %d", n, tc.jobs)
			}
		})
	}
}
