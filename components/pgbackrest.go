package components

import (
	"fmt"
	"strconv"
	"time"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/postgres"
)

// PITRArgs turn on WAL archiving and physical backups (pgBackRest, see
// backend/pitr) for a region's Database. The Postgres image must be
// backend/postgres.Dockerfile (pgBackRest, pgrecover and pitrjob inside).
type PITRArgs struct {
	// Stanza names the cluster in the repository (default "main").
	Stanza string
	// ArchiveTimeout bounds how long a commit waits to leave the host.
	ArchiveTimeout time.Duration
	// RetentionFull full backups are kept, with the WAL they need.
	RetentionFull int
	// FullSchedule and DiffSchedule are the job's cron expressions (UTC).
	FullSchedule, DiffSchedule string
	// S3Endpoint is R2's host (no scheme): an encrypted S3 repository in
	// Bucket under RepoPath ("/<backup.prefix>/pgbackrest"), reached with
	// the keys PGBACKREST_REPO1_S3_KEY and PGBACKREST_REPO1_S3_KEY_SECRET of the secret
	// variables below. Empty: a POSIX repository on a named volume (dev).
	S3Endpoint string
	Bucket     string
	RepoPath   string
	// CipherPass encrypts the repository (a generated secret); nil leaves a
	// dev POSIX repository unencrypted.
	CipherPass pulumi.StringInput
	// ServerSecretEnv and JobSecretEnv are the configured secrets the
	// Postgres server and the backup job read, by variable (the stack's
	// secret table decides which): the repository's keys, and for the job
	// SENTRY_DSN and ALERT_WEBHOOK_URL (failed backups and checks).
	ServerSecretEnv map[string]pulumi.StringInput
	JobSecretEnv    map[string]pulumi.StringInput
	// Limits and SentryEnvironment are the backup job's.
	Limits            Limits
	SentryEnvironment string
}

// Paths inside the Postgres image (backend/postgres.Dockerfile).
const (
	pgDataMount   = "/var/lib/postgresql/data"
	pgDataDir     = pgDataMount + "/pgdata"
	pgSocketDir   = "/var/run/postgresql"
	pgSpoolDir    = "/var/spool/pgbackrest"
	pgPOSIXRepo   = "/var/lib/pgbackrest"
	pitrJobBinary = "/usr/local/bin/pitrjob"
)

// env renders pgBackRest's settings as PGBACKREST_* variables, the same
// names backend/pitr.Config.Env writes; the keys and the passphrase are
// secret entries.
func (a PITRArgs) env(user string, secretEnv map[string]pulumi.StringInput) (map[string]string, map[string]pulumi.StringInput) {
	stanza := a.Stanza
	if stanza == "" {
		stanza = "main"
	}
	plain := map[string]string{
		postgres.EnvStanza:                 stanza,
		postgres.EnvPG1Path:                pgDataDir,
		postgres.EnvPG1SocketPath:          pgSocketDir,
		postgres.EnvPG1User:                user,
		postgres.EnvSpoolPath:              pgSpoolDir,
		postgres.EnvArchiveAsync:           "y",
		postgres.EnvProcessMax:             "2",
		postgres.EnvCompressType:           "lz4",
		postgres.EnvStartFast:              "y",
		postgres.EnvRepo1RetentionFull:     strconv.Itoa(a.RetentionFull),
		postgres.EnvRepo1RetentionFullType: "count",
		postgres.EnvArchiveTimeout:         strconv.Itoa(int(a.ArchiveTimeout/time.Second)) + "s",
	}
	secret := secretVars(secretEnv)
	if a.S3Endpoint != "" {
		plain[postgres.EnvRepo1Type] = "s3"
		plain[postgres.EnvRepo1Path] = a.RepoPath
		plain[postgres.EnvRepo1S3Endpoint] = a.S3Endpoint
		plain[postgres.EnvRepo1S3Bucket] = a.Bucket
		// R2: one region, which S3 clients must call "auto"; path-style URLs.
		plain[postgres.EnvRepo1S3Region] = "auto"
		plain[postgres.EnvRepo1S3URIStyle] = "path"
	} else {
		plain[postgres.EnvRepo1Type] = "posix"
		plain[postgres.EnvRepo1Path] = pgPOSIXRepo
	}
	if a.CipherPass != nil {
		plain[postgres.EnvRepo1CipherType] = "aes-256-cbc"
		secret[postgres.EnvRepo1CipherPass] = a.CipherPass
	}
	return plain, secret
}

// pitrVolumes are the named volumes archiving needs: the spool (WAL waiting
// for an unreachable repository survives restarts), the socket directory
// the backup job shares with the server, and in dev the POSIX repository.
type pitrVolumes struct{ spool, socket, repo *docker.Volume }

func (a PITRArgs) volumes(ctx *pulumi.Context, name, prefix string, in []pulumi.ResourceOption) (pitrVolumes, error) {
	var v pitrVolumes
	var err error
	mk := func(suffix string) (*docker.Volume, error) {
		return docker.NewVolume(ctx, name+"-"+suffix, &docker.VolumeArgs{Name: pulumi.Sprintf("%s-%s", prefix, suffix)}, in...)
	}
	if v.spool, err = mk("pgspool"); err != nil {
		return v, err
	}
	if v.socket, err = mk("pgsocket"); err != nil {
		return v, err
	}
	if a.S3Endpoint == "" {
		if v.repo, err = mk("pgbackrest"); err != nil {
			return v, err
		}
	}
	return v, nil
}

func volumeMount(v *docker.Volume, target string, readOnly bool) docker.ContainerMountArgs {
	return docker.ContainerMountArgs{Type: pulumi.String("volume"), Source: v.Name, Target: pulumi.String(target), ReadOnly: pulumi.Bool(readOnly)}
}

// archive adds WAL archiving to the Postgres container: the pgBackRest
// environment, the spool and socket volumes (the socket directory replaces
// its tmpfs so the job can reach the server), and the dev repository.
func (a PITRArgs) archive(pg *docker.ContainerArgs, user string, v pitrVolumes) {
	plain, secret := a.env(user, a.ServerSecretEnv)
	pg.Envs = append(pg.Envs.(pulumi.StringArray), env(plain, secret)...)
	mounts := pg.Mounts.(docker.ContainerMountArray)
	mounts = append(mounts, volumeMount(v.spool, pgSpoolDir, false), volumeMount(v.socket, pgSocketDir, false))
	if v.repo != nil {
		mounts = append(mounts, volumeMount(v.repo, pgPOSIXRepo, false))
	}
	pg.Mounts = mounts
	if tmpfs, ok := pg.Tmpfs.(pulumi.StringMap); ok {
		delete(tmpfs, pgSocketDir)
	}
}

// pitrJob is what the pitrjob container takes from its database: named
// fields, because eleven positional arguments (three strings and two
// StringInputs in a row) were easy to swap unnoticed.
type pitrJob struct {
	name, prefix  string
	image         pulumi.StringInput
	data          *docker.Volume
	volumes       pitrVolumes
	dbUser, runAs string
	databaseURL   pulumi.StringInput
	host          *Region
}

// backupJob is the pitrjob container: the same image and user, the data
// volume read-only, the server's socket, full and differential backups on
// their schedules, failures to Sentry.
func (a PITRArgs) backupJob(ctx *pulumi.Context, j pitrJob, in []pulumi.ResourceOption) error {
	name, prefix, image, data, v, host := j.name, j.prefix, j.image, j.data, j.volumes, j.host
	plain, secret := a.env(j.dbUser, a.JobSecretEnv)
	plain[postgres.EnvFullSchedule] = a.FullSchedule
	plain[postgres.EnvDiffSchedule] = a.DiffSchedule
	if a.SentryEnvironment != "" {
		plain[postgres.EnvSentryEnvironment] = a.SentryEnvironment
	}
	secret[postgres.EnvDatabaseURL] = j.databaseURL
	alertRegion(plain, secret, host.Region)
	mounts := docker.ContainerMountArray{
		volumeMount(data, pgDataMount, true),
		volumeMount(v.socket, pgSocketDir, false),
		volumeMount(v.spool, pgSpoolDir, false),
	}
	if v.repo != nil {
		mounts = append(mounts, volumeMount(v.repo, pgPOSIXRepo, false))
	}
	job := &docker.ContainerArgs{
		Name:        pulumi.Sprintf("%s-pgbackrest", prefix),
		Image:       image,
		Entrypoints: pulumi.ToStringArray([]string{pitrJobBinary}),
		Command:     pulumi.ToStringArray([]string{"run"}),
		Envs:        env(plain, secret),
		Mounts:      mounts,
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{
			docker.ContainerNetworksAdvancedArgs{Name: host.PrivateNetworkName},
			docker.ContainerNetworksAdvancedArgs{Name: host.EgressNetworkName},
		},
	}
	harden(job, j.runAs, a.Limits, host.Identity(labels.RolePITR))
	if _, err := docker.NewContainer(ctx, name+"-pgbackrest", job, in...); err != nil {
		return fmt.Errorf("pgbackrest job container: %w", err)
	}
	return nil
}
