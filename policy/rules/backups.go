package rules

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/policy/restype"
)

// Env vars of the pgbackup job (backend/cmd/pgbackup), which mark a container
// as a backup job and describe where and how long backups are kept.
const (
	EnvBackupDestination   = "BACKUP_DESTINATION"
	EnvBackupS3Endpoint    = "BACKUP_S3_ENDPOINT"
	EnvBackupRetentionDays = "BACKUP_RETENTION_DAYS"
)

// IsBackupJob reports whether a container is a pgbackup job.
func IsBackupJob(r policyx.AnalyzerResource) bool {
	if r.Type != restype.DockerContainer {
		return false
	}
	if role, labelled := containerRole(r); labelled {
		return role == "backup"
	}
	_, ok := envValue(r, EnvBackupDestination)
	return ok
}

// IsPostgres reports whether a container runs PostgreSQL: it is configured
// with the official image's POSTGRES_* variables or runs a postgres image.
func IsPostgres(r policyx.AnalyzerResource) bool {
	if r.Type != restype.DockerContainer || IsBackupJob(r) {
		return false
	}
	if role, labelled := containerRole(r); labelled {
		return role == "postgres"
	}
	for _, e := range containerEnv(r) {
		if e.Known && (strings.HasPrefix(e.Key, "POSTGRES_") || e.Key == "PGDATA") {
			return true
		}
	}
	image, st := stringAt(r.Properties, "image")
	return st == known && strings.Contains(strings.ToLower(image), "postgres")
}

// EnvPGRole is the role a Postgres container starts as: "primary" or
// "standby" (components.EnvPGRole).
const EnvPGRole = "PG_ROLE"

// IsStandby reports whether a Postgres container is a hot standby: it
// replays the primary's WAL from the stack's repository and takes no
// writes, so its data is backed up where the primary's is.
func IsStandby(r policyx.AnalyzerResource) bool {
	e, ok := envValue(r, EnvPGRole)
	return ok && e.Known && e.Value == "standby"
}

// BackupsConfigured is a stack rule: every PostgreSQL container has a backup
// job on the same Docker host (provider), and outside dev each job writes to
// an off-host destination (s3://..., not file:// on the database's own host,
// not a loopback endpoint). A job is paired with a database by the host of its
// DATABASE_URL (container name or hostname); jobs whose URL cannot be read are
// paired by count. A hot standby (PG_ROLE=standby) needs no job of its own,
// its data being the primary's, but it must archive to (replay from) an
// off-host repository like the primary, and a stack of standbys only, with
// no primary to back up, is refused.
func BackupsConfigured(resources []policyx.AnalyzerResource, c Context) []Finding {
	type group struct {
		dbs, jobs, standbys []policyx.AnalyzerResource
		// pending counts containers whose env is not known yet: any of
		// them may be the backup job, so no job is declared missing.
		pending int
	}
	groups := map[string]*group{}
	var order []string
	get := func(r policyx.AnalyzerResource) *group {
		k := r.Provider.URN
		if groups[k] == nil {
			groups[k] = &group{}
			order = append(order, k)
		}
		return groups[k]
	}
	for _, r := range resources {
		switch {
		case IsBackupJob(r):
			g := get(r)
			g.jobs = append(g.jobs, r)
		case IsPostgres(r) && IsStandby(r):
			g := get(r)
			g.standbys = append(g.standbys, r)
		case IsPostgres(r):
			g := get(r)
			g.dbs = append(g.dbs, r)
		case r.Type == restype.DockerContainer && envPending(r):
			get(r).pending++
		}
	}
	var out []Finding
	for _, k := range order {
		g := groups[k]
		used := make([]bool, len(g.jobs))
		var unmatched []policyx.AnalyzerResource
		for _, db := range g.dbs {
			names := containerNames(db)
			found := false
			for i, job := range g.jobs {
				if !used[i] && names[databaseHost(job)] {
					used[i], found = true, true
					break
				}
			}
			if !found {
				unmatched = append(unmatched, db)
			}
		}
		for _, db := range unmatched {
			if g.pending > 0 {
				break
			}
			found := false
			for i, job := range g.jobs {
				if !used[i] && databaseHost(job) == "" {
					used[i], found = true, true
					break
				}
			}
			if !found {
				out = append(out, Finding{URN: db.URN, Message: fmt.Sprintf(
					"%s: PostgreSQL has no backup job on the same Docker host; add a pgbackup container whose DATABASE_URL points at it, with %s and %s",
					label(db), EnvBackupDestination, EnvBackupRetentionDays)})
			}
		}
		if c.Env.Local() {
			continue
		}
		for _, job := range g.jobs {
			if msg := offHost(job); msg != "" {
				out = append(out, Finding{URN: job.URN, Message: msg})
			}
		}
		for _, db := range append(g.dbs, g.standbys...) {
			if msg := archivesWAL(db); msg != "" {
				out = append(out, Finding{URN: db.URN, Message: msg})
			}
		}
	}
	primaries, standbys, pending := 0, []policyx.AnalyzerResource(nil), 0
	for _, k := range order { // in resource order: findings are reported in a stable order
		g := groups[k]
		primaries += len(g.dbs)
		standbys = append(standbys, g.standbys...)
		pending += g.pending
	}
	if primaries == 0 && pending == 0 {
		for _, db := range standbys {
			out = append(out, Finding{URN: db.URN, Message: fmt.Sprintf(
				"%s: a standby (%s=standby) but no primary PostgreSQL in the stack: nothing takes writes or is backed up; set helloagents:database.primaryRegion",
				label(db), EnvPGRole)})
		}
	}
	return out
}

// EnvArchiveRepoType is the pgBackRest setting of a Postgres container's
// repository (backend/postgres.Dockerfile reads PGBACKREST_* variables).
const EnvArchiveRepoType = "PGBACKREST_REPO1_TYPE"

// archivesWAL explains why a database outside dev does not archive its WAL
// off the host ("" if it does, or its variables are not known yet): a daily
// dump alone loses up to a day of writes with the host.
func archivesWAL(db policyx.AnalyzerResource) string {
	if envPending(db) {
		return ""
	}
	repo, ok := envValue(db, EnvArchiveRepoType)
	switch {
	case !ok:
		return fmt.Sprintf("%s: PostgreSQL does not archive WAL; run the pgBackRest image (backend/postgres.Dockerfile) with %s=s3 so every commit leaves the host within archive_timeout",
			label(db), EnvArchiveRepoType)
	case repo.Known && repo.Value != "s3":
		return fmt.Sprintf("%s: %s %q keeps the WAL archive on the database's own host; use the off-host S3 repository (Cloudflare R2)",
			label(db), EnvArchiveRepoType, repo.Value)
	}
	return ""
}

// offHost explains why a backup job's destination is not off-host ("" if it is).
func offHost(job policyx.AnalyzerResource) string {
	dest, _ := envValue(job, EnvBackupDestination)
	if !dest.Known {
		return ""
	}
	u, err := url.Parse(dest.Value)
	if err != nil || u.Scheme == "" || strings.EqualFold(u.Scheme, "file") {
		return fmt.Sprintf("%s: %s %q keeps backups on the database's own host, where they die with it; use an object store such as s3://<bucket>/<prefix> (Cloudflare R2)",
			label(job), EnvBackupDestination, dest.Value)
	}
	if ep, ok := envValue(job, EnvBackupS3Endpoint); ok && ep.Known {
		if eu, err := url.Parse(ep.Value); err == nil && isLoopback(eu.Hostname()) {
			return fmt.Sprintf("%s: %s %q is on the database's own host; point it at the off-host object store (e.g. https://<account>.r2.cloudflarestorage.com)",
				label(job), EnvBackupS3Endpoint, ep.Value)
		}
	}
	return ""
}

// databaseHost is the host of a backup job's DATABASE_URL ("" when unknown).
func databaseHost(job policyx.AnalyzerResource) string {
	e, ok := envValue(job, "DATABASE_URL")
	if !ok || !e.Known {
		return ""
	}
	u, err := url.Parse(e.Value)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// containerNames are the names a container is reachable by on its networks.
func containerNames(r policyx.AnalyzerResource) map[string]bool {
	names := map[string]bool{}
	for _, key := range []string{"name", "hostname"} {
		if v, st := stringAt(r.Properties, key); st == known && v != "" {
			names[v] = true
		}
	}
	nets, _ := arrayAt(r.Properties, "networksAdvanced")
	for _, n := range nets {
		if !n.IsMap() {
			continue
		}
		aliases, _ := arrayAt(n.AsMap(), "aliases")
		for _, a := range aliases {
			if a.IsString() {
				names[a.AsString()] = true
			}
		}
	}
	return names
}

// BackupRetention requires every backup job outside dev to keep backups for
// at least Settings.MinimumRetentionDays days (BACKUP_RETENTION_DAYS).
func BackupRetention(r policyx.AnalyzerResource, c Context) []string {
	if c.Env.Local() || !IsBackupJob(r) {
		return nil
	}
	minimum := c.Settings.MinimumRetentionDays
	e, ok := envValue(r, EnvBackupRetentionDays)
	if !ok {
		for _, x := range containerEnv(r) {
			if !x.Known {
				return nil // may be the retention, not known yet
			}
		}
		return []string{fmt.Sprintf("%s: %s is not set; set it to at least %d days", label(r), EnvBackupRetentionDays, minimum)}
	}
	days, err := strconv.Atoi(strings.TrimSpace(e.Value))
	if err != nil || days < minimum {
		return []string{fmt.Sprintf("%s: %s is %q; keep backups for at least %d days (policy config `%s`)",
			label(r), EnvBackupRetentionDays, e.Value, minimum, ConfigMinimumRetentionDays)}
	}
	return nil
}

// envPending reports whether a container's env, or an entry of it, is not
// known yet.
func envPending(r policyx.AnalyzerResource) bool {
	if _, st := at(r.Properties, "envs"); st == unknown {
		return true
	}
	for _, e := range containerEnv(r) {
		if !e.Known {
			return true
		}
	}
	return false
}
