package rules

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/pgbackup"
	"github.com/helloagents/infra/backend/postgres"
	"github.com/helloagents/infra/policy/restype"
)

// Env vars of the pgbackup job (backend/cmd/pgbackup), which mark a container
// as a backup job and describe where and how long backups are kept.
const ()

// IsBackupJob reports whether a container is a pgbackup job.
func IsBackupJob(r policyx.AnalyzerResource) bool {
	if r.Type != restype.DockerContainer {
		return false
	}
	if role, labelled := containerRole(r); labelled {
		return role == labels.RoleBackup
	}
	_, ok := envValue(r, pgbackup.EnvDestination)
	return ok
}

// IsPostgres reports whether a container runs PostgreSQL: it is configured
// with the official image's POSTGRES_* variables or runs a postgres image.
func IsPostgres(r policyx.AnalyzerResource) bool {
	if r.Type != restype.DockerContainer || IsBackupJob(r) {
		return false
	}
	if role, labelled := containerRole(r); labelled {
		return role == labels.RolePostgres
	}
	for _, e := range containerEnv(r) {
		if e.Known && (strings.HasPrefix(e.Key, postgres.EnvPrefix) || e.Key == postgres.EnvPGData) {
			return true
		}
	}
	image, st := stringAt(r.Properties, "image")
	return st == known && strings.Contains(strings.ToLower(image), "postgres")
}

// IsStandby reports whether a Postgres container is a hot standby: it
// replays the primary's WAL from the stack's repository and takes no
// writes, so its data is backed up where the primary's is.
func IsStandby(r policyx.AnalyzerResource) bool {
	e, ok := envValue(r, postgres.EnvRole)
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
	hosts := groupByHost(resources)
	var out []Finding
	for _, h := range hosts {
		out = append(out, h.missingJobs()...)
		if !c.Env.Local() {
			out = append(out, h.notOffHost()...)
		}
	}
	return append(out, standbysWithoutPrimary(hosts)...)
}

// backupRole is the part a container plays in BackupsConfigured.
type backupRole int

const (
	roleNone    backupRole = iota
	roleJob                // a pgbackup job
	roleStandby            // a hot standby PostgreSQL
	rolePrimary            // a PostgreSQL that takes writes (primary or alone)
	rolePending            // a container whose env is not known yet
)

func backupRoleOf(r policyx.AnalyzerResource) backupRole {
	switch {
	case IsBackupJob(r):
		return roleJob
	case IsPostgres(r) && IsStandby(r):
		return roleStandby
	case IsPostgres(r):
		return rolePrimary
	case r.Type == restype.DockerContainer && envPending(r):
		return rolePending
	}
	return roleNone
}

// backupHost is what one Docker host (provider) runs of PostgreSQL and its
// backup jobs.
type backupHost struct {
	dbs, jobs, standbys []policyx.AnalyzerResource
	// pending counts containers whose env is not known yet: any of
	// them may be the backup job, so no job is declared missing.
	pending int
}

// groupByHost groups the containers by Docker host, hosts in the order of
// their first container, so findings keep resource order.
func groupByHost(resources []policyx.AnalyzerResource) []*backupHost {
	byURN := map[string]*backupHost{}
	var hosts []*backupHost
	for _, r := range resources {
		role := backupRoleOf(r)
		if role == roleNone {
			continue
		}
		h := byURN[r.Provider.URN]
		if h == nil {
			h = &backupHost{}
			byURN[r.Provider.URN] = h
			hosts = append(hosts, h)
		}
		h.add(r, role)
	}
	return hosts
}

func (h *backupHost) add(r policyx.AnalyzerResource, role backupRole) {
	switch role {
	case roleJob:
		h.jobs = append(h.jobs, r)
	case roleStandby:
		h.standbys = append(h.standbys, r)
	case rolePrimary:
		h.dbs = append(h.dbs, r)
	case rolePending:
		h.pending++
	}
}

// missingJobs pairs each database with a job whose DATABASE_URL names it,
// then the rest with jobs whose URL cannot be read, and reports those left
// without a job (none while a container's env is not known yet).
func (h *backupHost) missingJobs() []Finding {
	if h.pending > 0 {
		return nil // a container not known yet may be the job
	}
	used := make([]bool, len(h.jobs))
	var unmatched []policyx.AnalyzerResource
	for _, db := range h.dbs {
		names := containerNames(db)
		if !claimJob(h.jobs, used, func(job policyx.AnalyzerResource) bool { return names[databaseHost(job)] }) {
			unmatched = append(unmatched, db)
		}
	}
	var out []Finding
	for _, db := range unmatched {
		if !claimJob(h.jobs, used, func(job policyx.AnalyzerResource) bool { return databaseHost(job) == "" }) {
			out = append(out, Finding{URN: db.URN, Message: fmt.Sprintf(
				"%s: PostgreSQL has no backup job on the same Docker host; add a pgbackup container whose DATABASE_URL points at it, with %s and %s",
				label(db), pgbackup.EnvDestination, pgbackup.EnvRetentionDays)})
		}
	}
	return out
}

// claimJob marks the first unused job that fits as used and reports whether
// there was one.
func claimJob(jobs []policyx.AnalyzerResource, used []bool, fits func(policyx.AnalyzerResource) bool) bool {
	for i, job := range jobs {
		if !used[i] && fits(job) {
			used[i] = true
			return true
		}
	}
	return false
}

// notOffHost reports the jobs that write, and the databases (standbys too)
// that archive WAL, on the database's own host.
func (h *backupHost) notOffHost() []Finding {
	var out []Finding
	for _, job := range h.jobs {
		if msg := offHost(job); msg != "" {
			out = append(out, Finding{URN: job.URN, Message: msg})
		}
	}
	for _, db := range slices.Concat(h.dbs, h.standbys) {
		if msg := archivesWAL(db); msg != "" {
			out = append(out, Finding{URN: db.URN, Message: msg})
		}
	}
	return out
}

// standbysWithoutPrimary refuses a stack of standbys only, with no primary
// to take writes or back up (unless a container not known yet may be one).
func standbysWithoutPrimary(hosts []*backupHost) []Finding {
	var out []Finding
	for _, h := range hosts {
		if len(h.dbs) > 0 || h.pending > 0 {
			return nil
		}
		for _, db := range h.standbys {
			out = append(out, Finding{URN: db.URN, Message: fmt.Sprintf(
				"%s: a standby (%s=standby) but no primary PostgreSQL in the stack: nothing takes writes or is backed up; set helloagents:database.primaryRegion",
				label(db), postgres.EnvRole)})
		}
	}
	return out
}

// archivesWAL explains why a database outside dev does not archive its WAL
// off the host ("" if it does, or its variables are not known yet): a daily
// dump alone loses up to a day of writes with the host.
func archivesWAL(db policyx.AnalyzerResource) string {
	if envPending(db) {
		return ""
	}
	repo, ok := envValue(db, postgres.EnvRepo1Type)
	switch {
	case !ok:
		return fmt.Sprintf("%s: PostgreSQL does not archive WAL; run the pgBackRest image (backend/postgres.Dockerfile) with %s=s3 so every commit leaves the host within archive_timeout",
			label(db), postgres.EnvRepo1Type)
	case repo.Known && repo.Value != "s3":
		return fmt.Sprintf("%s: %s %q keeps the WAL archive on the database's own host; use the off-host S3 repository (Cloudflare R2)",
			label(db), postgres.EnvRepo1Type, repo.Value)
	}
	return ""
}

// offHost explains why a backup job's destination is not off-host ("" if it is).
func offHost(job policyx.AnalyzerResource) string {
	dest, _ := envValue(job, pgbackup.EnvDestination)
	if !dest.Known {
		return ""
	}
	u, err := url.Parse(dest.Value)
	if err != nil || u.Scheme == "" || strings.EqualFold(u.Scheme, "file") {
		return fmt.Sprintf("%s: %s %q keeps backups on the database's own host, where they die with it; use an object store such as s3://<bucket>/<prefix> (Cloudflare R2)",
			label(job), pgbackup.EnvDestination, dest.Value)
	}
	if ep, ok := envValue(job, pgbackup.EnvS3Endpoint); ok && ep.Known {
		if eu, err := url.Parse(ep.Value); err == nil && isLoopback(eu.Hostname()) {
			return fmt.Sprintf("%s: %s %q is on the database's own host; point it at the off-host object store (e.g. https://<account>.r2.cloudflarestorage.com)",
				label(job), pgbackup.EnvS3Endpoint, ep.Value)
		}
	}
	return ""
}

// databaseHost is the host of a backup job's DATABASE_URL ("" when unknown).
func databaseHost(job policyx.AnalyzerResource) string {
	e, ok := envValue(job, pgbackup.EnvDatabaseURL)
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
	e, ok := envValue(r, pgbackup.EnvRetentionDays)
	if !ok {
		for _, x := range containerEnv(r) {
			if !x.Known {
				return nil // may be the retention, not known yet
			}
		}
		return []string{fmt.Sprintf("%s: %s is not set; set it to at least %d days", label(r), pgbackup.EnvRetentionDays, minimum)}
	}
	days, err := strconv.Atoi(strings.TrimSpace(e.Value))
	if err != nil || days < minimum {
		return []string{fmt.Sprintf("%s: %s is %q; keep backups for at least %d days (policy config `%s`)",
			label(r), pgbackup.EnvRetentionDays, e.Value, minimum, ConfigMinimumRetentionDays)}
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
