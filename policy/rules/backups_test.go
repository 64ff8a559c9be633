package rules

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/policy/restype"
)

// postgres is a database that archives its WAL to an S3 repository
// (backend/postgres.Dockerfile as the program runs it).
func postgresProps(name string) map[string]any {
	return map[string]any{"image": "postgres:15-bookworm", "name": name, "user": "999:999",
		"envs": []any{"POSTGRES_USER=app", secret{"POSTGRES_PASSWORD=pw"}, "POSTGRES_DB=app",
			"PGBACKREST_REPO1_TYPE=s3", secret{"PGBACKREST_REPO1_CIPHER_PASS=x"}}}
}

func backupJob(db, dest, retention string) map[string]any {
	envs := []any{secret{"DATABASE_URL=postgres://app:pw@" + db + ":5432/app"}, "BACKUP_DESTINATION=" + dest,
		"BACKUP_S3_ENDPOINT=https://acct.r2.cloudflarestorage.com", "BACKUP_SCHEDULE=0 3 * * *"}
	if retention != "" {
		envs = append(envs, "BACKUP_RETENTION_DAYS="+retention)
	}
	return map[string]any{"image": "helloagents/pgbackup@sha256:abc", "name": db + "-backup", "user": "10001:10001", "envs": envs}
}

func onHost(r policyx.AnalyzerResource, provider string) policyx.AnalyzerResource {
	r.Provider.URN = provider
	return r
}

func TestBackupsConfigured(t *testing.T) {
	eu, us := "urn:provider:docker::eu", "urn:provider:docker::us"
	dbEU := onHost(resource(t, restype.DockerContainer, "postgres-eu", postgresProps("postgres-eu")), eu)
	dbUS := onHost(resource(t, restype.DockerContainer, "postgres-us", postgresProps("postgres-us")), us)
	jobEU := onHost(resource(t, restype.DockerContainer, "backup-eu", backupJob("postgres-eu", "s3://backups/eu", "14")), eu)
	jobUS := onHost(resource(t, restype.DockerContainer, "backup-us", backupJob("postgres-us", "s3://backups/us", "14")), us)
	jobUSWrongHost := onHost(resource(t, restype.DockerContainer, "backup-us", backupJob("postgres-us", "s3://backups/us", "14")), eu)
	jobLocal := onHost(resource(t, restype.DockerContainer, "backup-eu", backupJob("postgres-eu", "file:///backups", "14")), eu)
	loopbackProps := backupJob("postgres-eu", "s3://backups/eu", "14")
	loopbackProps["envs"] = append(loopbackProps["envs"].([]any), "BACKUP_S3_ENDPOINT=http://127.0.0.1:9000")
	jobLoopback := onHost(resource(t, restype.DockerContainer, "backup-eu", loopbackProps), eu)
	unknownURL := backupJob("x", "s3://b/p", "14")
	unknownURL["envs"] = append([]any{computed}, unknownURL["envs"].([]any)[1:]...)
	jobUnknownURL := onHost(resource(t, restype.DockerContainer, "backup-eu", unknownURL), eu)
	noArchive := postgresProps("postgres-eu")
	noArchive["envs"] = noArchive["envs"].([]any)[:3]
	dbNoArchive := onHost(resource(t, restype.DockerContainer, "postgres-eu", noArchive), eu)
	localArchive := postgresProps("postgres-eu")
	localArchive["envs"] = append(noArchive["envs"].([]any)[:3:3], "PGBACKREST_REPO1_TYPE=posix")
	dbLocalArchive := onHost(resource(t, restype.DockerContainer, "postgres-eu", localArchive), eu)

	standbyProps := postgresProps("postgres-us")
	standbyProps["envs"] = append(standbyProps["envs"].([]any), "PG_ROLE=standby")
	standbyUS := onHost(resource(t, restype.DockerContainer, "postgres-us", standbyProps), us)
	primaryProps := postgresProps("postgres-eu")
	primaryProps["envs"] = append(primaryProps["envs"].([]any), "PG_ROLE=primary")
	primaryEU := onHost(resource(t, restype.DockerContainer, "postgres-eu", primaryProps), eu)
	standbyEU := onHost(resource(t, restype.DockerContainer, "postgres-eu", func() map[string]any {
		p := postgresProps("postgres-eu")
		p["envs"] = append(p["envs"].([]any), "PG_ROLE=standby")
		return p
	}()), eu)
	localStandbyProps := postgresProps("postgres-us")
	localStandbyProps["envs"] = append(noArchive["envs"].([]any)[:3:3], "PGBACKREST_REPO1_TYPE=posix", "PG_ROLE=standby")
	standbyLocalRepo := onHost(resource(t, restype.DockerContainer, "postgres-us", localStandbyProps), us)

	tests := []struct {
		name      string
		env       Env
		resources []policyx.AnalyzerResource
		wantURNs  []string
	}{
		{"every region backed up off-host", Production, []policyx.AnalyzerResource{dbEU, jobEU, dbUS, jobUS}, nil},
		{"no backup job", Production, []policyx.AnalyzerResource{dbEU, jobEU, dbUS}, []string{dbUS.URN}},
		{"backup job on the wrong host", Staging, []policyx.AnalyzerResource{dbEU, jobEU, dbUS, jobUSWrongHost}, []string{dbUS.URN}},
		{"file destination outside dev", Staging, []policyx.AnalyzerResource{dbEU, jobLocal}, []string{jobLocal.URN}},
		{"file destination in dev", Dev, []policyx.AnalyzerResource{dbEU, jobLocal}, nil},
		{"no backup job in dev", Dev, []policyx.AnalyzerResource{dbEU}, []string{dbEU.URN}},
		{"loopback S3 endpoint", Production, []policyx.AnalyzerResource{dbEU, jobLoopback}, []string{jobLoopback.URN}},
		{"job paired by count when its URL is not known", Production, []policyx.AnalyzerResource{dbEU, jobUnknownURL}, nil},
		{"no databases", Production, nil, nil},
		{"a standby needs no backup job of its own", Production, []policyx.AnalyzerResource{primaryEU, jobEU, standbyUS}, nil},
		{"a primary still needs its job", Production, []policyx.AnalyzerResource{primaryEU, standbyUS}, []string{primaryEU.URN}},
		{"standbys only: nothing is backed up", Production, []policyx.AnalyzerResource{standbyEU, standbyUS}, []string{standbyEU.URN, standbyUS.URN}},
		{"a standby replaying from the host's own repository", Production,
			[]policyx.AnalyzerResource{primaryEU, jobEU, standbyLocalRepo}, []string{standbyLocalRepo.URN}},
		{"no WAL archiving outside dev", Staging, []policyx.AnalyzerResource{dbNoArchive, jobEU}, []string{dbNoArchive.URN}},
		{"WAL archive on the database's host", Production, []policyx.AnalyzerResource{dbLocalArchive, jobEU}, []string{dbLocalArchive.URN}},
		{"no WAL archiving in dev", Dev, []policyx.AnalyzerResource{dbNoArchive, jobEU}, nil},
		{"a container whose env is not known yet may be the job", Production,
			[]policyx.AnalyzerResource{dbEU, onHost(resource(t, restype.DockerContainer, "pending", map[string]any{"envs": computed}), eu)}, nil},
		{"pending container on another host does not count", Production,
			[]policyx.AnalyzerResource{dbEU, onHost(resource(t, restype.DockerContainer, "pending", map[string]any{"envs": computed}), us)}, []string{dbEU.URN}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BackupsConfigured(tt.resources, ctxFor(tt.env))
			if len(got) != len(tt.wantURNs) {
				t.Fatalf("findings = %+v, want URNs %v", got, tt.wantURNs)
			}
			for i, f := range got {
				if f.URN != tt.wantURNs[i] {
					t.Errorf("finding %d on %s, want %s (%s)", i, f.URN, tt.wantURNs[i], f.Message)
				}
			}
		})
	}
}

func TestBackupRetention(t *testing.T) {
	long := DefaultSettings()
	long.MinimumRetentionDays = 30
	tests := []struct {
		name     string
		env      Env
		settings *Settings
		props    map[string]any
		want     [][]string
	}{
		{"14 days", Production, nil, backupJob("db", "s3://b/p", "14"), nil},
		{"exactly 7", Staging, nil, backupJob("db", "s3://b/p", "7"), nil},
		{"3 days", Production, nil, backupJob("db", "s3://b/p", "3"), [][]string{{`BACKUP_RETENTION_DAYS is "3"`, "at least 7 days"}}},
		{"configured 30", Production, &long, backupJob("db", "s3://b/p", "14"), [][]string{{"at least 30 days"}}},
		{"not a number", Production, nil, backupJob("db", "s3://b/p", "week"), [][]string{{`"week"`}}},
		{"unset", Production, nil, backupJob("db", "s3://b/p", ""), [][]string{{"BACKUP_RETENTION_DAYS is not set"}}},
		{"dev is not judged", Dev, nil, backupJob("db", "file:///backups", "1"), nil},
		{"not a backup job", Production, nil, goodContainer(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ctxFor(tt.env)
			if tt.settings != nil {
				c.Settings = *tt.settings
			}
			assertMessages(t, BackupRetention(resource(t, restype.DockerContainer, "backup", tt.props), c), tt.want)
		})
	}
}
