package components

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/pgbackup"
	"github.com/helloagents/infra/backend/postgres"
	"github.com/helloagents/infra/backend/replication"
	"github.com/helloagents/infra/healthcheck"
)

// PostgresPort is the port Postgres listens on inside the private network.
const PostgresPort = 5432

// DatabaseArgs configure one region's Postgres and its backup job.
type DatabaseArgs struct {
	// Prefix names the Docker objects ("helloagents-production").
	Prefix string
	Region string
	// Host is the region's engine and networks.
	Host *Region
	// Image is the Postgres image (backend/postgres.Dockerfile); Pull
	// fetches it onto the region's engine first (pushed or pinned images).
	Image    pulumi.StringInput
	Pull     bool
	Name     string
	User     string
	RunAs    string
	Password pulumi.StringInput
	Limits   Limits
	// ProtectData makes Pulumi refuse to delete the data volume.
	ProtectData bool
	// HealthCheck timing also paces pg_isready.
	HealthCheck healthcheck.Settings
	Backup      BackupArgs
	// PITR, when set, archives WAL and schedules physical backups
	// (pgBackRest); Image must then be backend/postgres.Dockerfile's.
	PITR *PITRArgs
	// Standby runs Postgres as a hot standby (PG_ROLE=standby) replaying
	// the primary's WAL from the PITR repository, with no backup jobs: a
	// backup runs against the primary only. Needs PITR.
	Standby bool
}

// role is the PG_ROLE of the database args describe.
func (a *DatabaseArgs) role() string {
	if a.Standby {
		return string(replication.Standby)
	}
	return string(replication.Primary)
}

// BackupArgs wire the pgbackup job (backend/cmd/pgbackup) of one region.
type BackupArgs struct {
	// Image is the pgbackup image reference; Pull fetches it onto the
	// region's engine first (it was pushed or is digest-pinned).
	Image pulumi.StringInput
	Pull  bool
	RunAs string
	// Schedule is the cron expression; RetentionDays and KeepLast bound the
	// dumps kept.
	Schedule      string
	RetentionDays int
	KeepLast      int
	// Destination is file:///backups (LocalVolume) or s3://bucket/prefix.
	Destination string
	// LocalVolume mounts a named volume at /backups (dev).
	LocalVolume bool
	// S3Endpoint reaches R2 (not dev) with the keys in SecretEnv.
	S3Endpoint string
	// SecretEnv is the configured secrets the job reads, by variable (the
	// stack's secret table decides which): R2's keys, SENTRY_DSN for failed
	// runs, ALERT_WEBHOOK_URL for failed runs and stale backups. DATABASE_URL
	// is added here.
	SecretEnv map[string]pulumi.StringInput
	// SentryEnvironment tags the job's Sentry events.
	SentryEnvironment string
	Limits            Limits
}

// Database is Postgres on a named volume, reachable only on the region's
// internal network, plus the scheduled job that ships its dumps off the host.
type Database struct {
	pulumi.ResourceState

	// URL is DATABASE_URL for the region's containers; always a secret.
	URL pulumi.StringOutput
	// Hostname is the Postgres alias on the private network.
	Hostname string
}

// NewDatabase creates the region's database and backup job.
func NewDatabase(ctx *pulumi.Context, name string, args *DatabaseArgs, opts ...pulumi.ResourceOption) (*Database, error) {
	d := &Database{Hostname: "postgres"}
	if args.Standby && args.PITR == nil {
		return nil, fmt.Errorf("region %s: a standby database needs PITR, the repository it replays the primary's WAL from", args.Region)
	}
	if err := ctx.RegisterComponentResource("helloagents:database:Database", name, d, opts...); err != nil {
		return nil, err
	}
	if err := requireDocker(&d.ResourceState, "database", name); err != nil {
		return nil, err
	}
	in := []pulumi.ResourceOption{pulumi.Parent(d)}

	pgImage, err := image(ctx, name+"-postgres-image", args.Image, args.Pull, in...)
	if err != nil {
		return nil, err
	}
	data, err := dataVolume(ctx, name, args, in)
	if err != nil {
		return nil, err
	}
	pv, err := d.postgres(ctx, name, args, pgImage, data, in)
	if err != nil {
		return nil, err
	}
	d.URL = pulumi.ToSecret(pulumi.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable",
		args.User, args.Password, d.Hostname, PostgresPort, args.Name)).(pulumi.StringOutput)

	if err := d.backupJobs(ctx, args, pitrJob{name: name, prefix: args.Prefix, image: pgImage, data: data, volumes: pv}, in); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{
		"databaseUrl": d.URL,
		"hostname":    pulumi.String(d.Hostname),
		"role":        pulumi.String(args.role()),
	}); err != nil {
		return nil, err
	}
	return d, nil
}

// dataVolume holds the cluster; ProtectData makes Pulumi refuse to delete it.
func dataVolume(ctx *pulumi.Context, name string, args *DatabaseArgs, in []pulumi.ResourceOption) (*docker.Volume, error) {
	data, err := docker.NewVolume(ctx, name+"-pgdata", &docker.VolumeArgs{
		Name: pulumi.Sprintf("%s-pgdata", args.Prefix),
	}, append(in, pulumi.Protect(args.ProtectData))...)
	if err != nil {
		return nil, fmt.Errorf("postgres volume for region %s: %w", args.Region, err)
	}
	return data, nil
}

// postgres creates the Postgres container on the data volume and, with
// PITR, the volumes its WAL archiving uses, which it returns for the
// backup job.
func (d *Database) postgres(ctx *pulumi.Context, name string, args *DatabaseArgs, pgImage pulumi.StringOutput,
	data *docker.Volume, in []pulumi.ResourceOption,
) (pitrVolumes, error) {
	pg := d.postgresArgs(args, pgImage, data)
	var pv pitrVolumes
	if args.PITR != nil {
		var err error
		if pv, err = args.PITR.volumes(ctx, name, args.Prefix, in); err != nil {
			return pv, fmt.Errorf("pgbackrest volumes for region %s: %w", args.Region, err)
		}
		args.PITR.archive(pg, args.User, pv)
	}
	harden(pg, args.RunAs, args.Limits, args.Host.Identity(labels.RolePostgres))
	// Two servers must never share one data volume: Postgres is replaced
	// delete-before-create, and nothing a release changes replaces it.
	if _, err := docker.NewContainer(ctx, name+"-postgres", pg, append(in, pulumi.DeleteBeforeReplace(true))...); err != nil {
		return pv, fmt.Errorf("postgres container for region %s: %w", args.Region, err)
	}
	return pv, nil
}

// postgresArgs is the Postgres container before archiving and hardening:
// the data volume, the private network alias, the role it starts as.
func (d *Database) postgresArgs(args *DatabaseArgs, image pulumi.StringOutput, data *docker.Volume) *docker.ContainerArgs {
	return &docker.ContainerArgs{
		Name:  pulumi.Sprintf("%s-postgres", args.Prefix),
		Image: image,
		Envs: env(map[string]string{
			postgres.EnvDB:   args.Name,
			postgres.EnvUser: args.User,
			// A subdirectory, so initdb never meets the volume's lost+found.
			postgres.EnvPGData: "/var/lib/postgresql/data/pgdata",
			// Changing it replaces the container (delete before create,
			// the data volume kept): the entrypoint promotes nothing itself
			// but re-seeds a former primary as a standby on start.
			postgres.EnvRole: args.role(),
		}, map[string]pulumi.StringInput{postgres.EnvPassword: args.Password}),
		Healthcheck: dockerHealthcheck(args.HealthCheck, []string{
			"CMD", "pg_isready", "-U", args.User, "-d", args.Name, "-h", "127.0.0.1",
		}),
		Mounts: docker.ContainerMountArray{docker.ContainerMountArgs{
			Type:   pulumi.String("volume"),
			Source: data.Name,
			Target: pulumi.String("/var/lib/postgresql/data"),
		}},
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{docker.ContainerNetworksAdvancedArgs{
			Name:    args.Host.PrivateNetworkName,
			Aliases: pulumi.StringArray{pulumi.String(d.Hostname)},
		}},
		Tmpfs: pulumi.StringMap{
			"/tmp":                pulumi.String(tmpOptions),
			"/var/run/postgresql": pulumi.String("rw,noexec,nosuid,size=16m"),
		},
		ShmSize: pulumi.Int(128),
	}
}

// backupJobs runs the logical (pgbackup) and physical (pitrjob) backup jobs
// beside a primary; a standby has none, its data being the primary's.
// j carries the database's name, image and volumes; the rest of the
// pitrjob's inputs come from args and d.
func (d *Database) backupJobs(ctx *pulumi.Context, args *DatabaseArgs, j pitrJob, in []pulumi.ResourceOption) error {
	if args.Standby {
		return nil
	}
	if err := d.backupJob(ctx, j.name, args, in); err != nil {
		return err
	}
	if args.PITR != nil {
		j.dbUser, j.runAs, j.databaseURL, j.host = args.User, args.RunAs, d.URL, args.Host
		if err := args.PITR.backupJob(ctx, j, in); err != nil {
			return fmt.Errorf("region %s: %w", args.Region, err)
		}
	}
	return nil
}

// backupJob is the pgbackup container, on both networks: it reads the
// database and ships the dumps off the host.
func (d *Database) backupJob(ctx *pulumi.Context, name string, args *DatabaseArgs, in []pulumi.ResourceOption) error {
	b := args.Backup
	img, err := image(ctx, name+"-backup-image", b.Image, b.Pull, in...)
	if err != nil {
		return err
	}
	plain, secret := d.backupEnv(args)
	job := &docker.ContainerArgs{
		Name:    pulumi.Sprintf("%s-backup", args.Prefix),
		Image:   img,
		Command: pulumi.ToStringArray([]string{"run"}),
		Envs:    env(plain, secret),
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{
			docker.ContainerNetworksAdvancedArgs{Name: args.Host.PrivateNetworkName},
			docker.ContainerNetworksAdvancedArgs{Name: args.Host.EgressNetworkName},
		},
	}
	if b.LocalVolume {
		if job.Mounts, err = backupVolume(ctx, name, args, in); err != nil {
			return err
		}
	}
	harden(job, b.RunAs, b.Limits, args.Host.Identity(labels.RoleBackup))
	if _, err := docker.NewContainer(ctx, name+"-backup", job, in...); err != nil {
		return fmt.Errorf("backup container for region %s: %w", args.Region, err)
	}
	return nil
}

// backupEnv is the pgbackup job's environment: where, when and how many
// dumps, the database it dumps, and where its alerts go.
func (d *Database) backupEnv(args *DatabaseArgs) (map[string]string, map[string]pulumi.StringInput) {
	b := args.Backup
	plain := map[string]string{
		pgbackup.EnvDestination:   b.Destination,
		pgbackup.EnvSchedule:      b.Schedule,
		pgbackup.EnvRetentionDays: strconv.Itoa(b.RetentionDays),
		pgbackup.EnvKeepLast:      strconv.Itoa(b.KeepLast),
	}
	if b.SentryEnvironment != "" {
		plain[pgbackup.EnvSentryEnvironment] = b.SentryEnvironment
	}
	secret := secretVars(b.SecretEnv)
	secret[pgbackup.EnvDatabaseURL] = d.URL
	if b.S3Endpoint != "" {
		plain[pgbackup.EnvS3Endpoint] = b.S3Endpoint
		// R2 has a single region, which S3 clients must call "auto".
		plain[pgbackup.EnvS3Region] = "auto"
	}
	alertRegion(plain, secret, args.Region)
	return plain, secret
}

// backupVolume is the named volume the job writes its dumps to in dev
// (LocalVolume), mounted at /backups.
func backupVolume(ctx *pulumi.Context, name string, args *DatabaseArgs, in []pulumi.ResourceOption) (docker.ContainerMountArray, error) {
	vol, err := docker.NewVolume(ctx, name+"-backups", &docker.VolumeArgs{
		Name: pulumi.Sprintf("%s-backups", args.Prefix),
	}, in...)
	if err != nil {
		return nil, fmt.Errorf("backup volume for region %s: %w", args.Region, err)
	}
	return docker.ContainerMountArray{docker.ContainerMountArgs{
		Type:   pulumi.String("volume"),
		Source: vol.Name,
		Target: pulumi.String("/backups"),
	}}, nil
}
