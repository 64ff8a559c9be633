// Package postgres is the interface of the platform's Postgres image
// (backend/postgres.Dockerfile, postgres-entrypoint.sh, and the programs it
// carries: pgrole, pitrjob, pgrecover): the variables they read, pgrole's
// subcommands and exit codes. The replication status pgrole prints is
// backend/replication's Status. The backend programs read these names; the
// infrastructure program, the failover engine and the policy pack write and
// check them. It imports nothing, so the Pulumi program can use it without
// pgx.
package postgres

// Variables of the official image the entrypoint builds on.
const (
	EnvDB       = "POSTGRES_DB"
	EnvUser     = "POSTGRES_USER"
	EnvPassword = "POSTGRES_PASSWORD"
	EnvPGData   = "PGDATA"
	// EnvPrefix starts every variable of the official image's own.
	EnvPrefix = "POSTGRES_"
)

// Variables of the platform's entrypoint and programs.
const (
	// EnvRole is the role the entrypoint starts the server as:
	// replication.Primary or replication.Standby.
	EnvRole = "PG_ROLE"
	// EnvPGBin is the directory of the PostgreSQL programs.
	EnvPGBin = "PG_BIN"
	// EnvPGRoleURL overrides the URL pgrole connects with.
	EnvPGRoleURL = "PGROLE_URL"
	// EnvArchiveTimeout is the server's archive_timeout ("60s").
	EnvArchiveTimeout = "ARCHIVE_TIMEOUT"
	// EnvFullSchedule and EnvDiffSchedule are pitrjob's cron schedules of
	// full and differential backups.
	EnvFullSchedule = "PITR_FULL_SCHEDULE"
	EnvDiffSchedule = "PITR_DIFF_SCHEDULE"
	// EnvDatabaseURL is the database pitrjob checks; it holds a password.
	EnvDatabaseURL = "DATABASE_URL"
	// EnvSentryDSN is where pitrjob reports failures (a secret).
	EnvSentryDSN = "SENTRY_DSN"
	// EnvSentryEnvironment names the stack in Sentry and in alerts.
	EnvSentryEnvironment = "SENTRY_ENVIRONMENT"
)

// pgBackRest's own variables (PGBACKREST_ + the option, upper-cased; see
// backend/pitr.EnvName) that the program sets.
const (
	EnvPGBackRestPrefix       = "PGBACKREST_"
	EnvStanza                 = "PGBACKREST_STANZA"
	EnvPG1Path                = "PGBACKREST_PG1_PATH"
	EnvPG1SocketPath          = "PGBACKREST_PG1_SOCKET_PATH"
	EnvPG1Port                = "PGBACKREST_PG1_PORT"
	EnvPG1User                = "PGBACKREST_PG1_USER"
	EnvSpoolPath              = "PGBACKREST_SPOOL_PATH"
	EnvArchiveAsync           = "PGBACKREST_ARCHIVE_ASYNC"
	EnvProcessMax             = "PGBACKREST_PROCESS_MAX"
	EnvCompressType           = "PGBACKREST_COMPRESS_TYPE"
	EnvStartFast              = "PGBACKREST_START_FAST"
	EnvRepo1RetentionFull     = "PGBACKREST_REPO1_RETENTION_FULL"
	EnvRepo1RetentionFullType = "PGBACKREST_REPO1_RETENTION_FULL_TYPE"
	EnvRepo1Type              = "PGBACKREST_REPO1_TYPE"
	EnvRepo1Path              = "PGBACKREST_REPO1_PATH"
	EnvRepo1S3Endpoint        = "PGBACKREST_REPO1_S3_ENDPOINT"
	EnvRepo1S3Bucket          = "PGBACKREST_REPO1_S3_BUCKET"
	EnvRepo1S3Region          = "PGBACKREST_REPO1_S3_REGION"
	EnvRepo1S3URIStyle        = "PGBACKREST_REPO1_S3_URI_STYLE"
	EnvRepo1S3Key             = "PGBACKREST_REPO1_S3_KEY"
	EnvRepo1S3KeySecret       = "PGBACKREST_REPO1_S3_KEY_SECRET"
	EnvRepo1CipherType        = "PGBACKREST_REPO1_CIPHER_TYPE"
	EnvRepo1CipherPass        = "PGBACKREST_REPO1_CIPHER_PASS"
)

// pgrole: the program the failover engine runs in the container
// (`docker exec <postgres> pgrole ...`).
const (
	// PGRole is the program's name on the image's PATH.
	PGRole = "pgrole"
	// PGRoleStatus prints the replication.Status (as JSON with --json).
	PGRoleStatus = "status"
	// PGRoleFence fences a primary so it never accepts a write again.
	PGRoleFence = "fence"
	// PGRolePromote promotes a standby.
	PGRolePromote = "promote"
	// PGRolePrepare readies the data directory for EnvRole (entrypoint).
	PGRolePrepare = "prepare"
)

// pgrole's exit statuses.
const (
	ExitOK      = 0
	ExitFailed  = 1
	ExitUsage   = 2
	ExitRefused = 3 // refused, nothing changed (e.g. a promotion past --max-lag)
)
