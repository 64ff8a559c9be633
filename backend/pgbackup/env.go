// Package pgbackup is the interface of the logical-backup image
// (backend/pgbackup.Dockerfile, cmd/pgbackup): the variables it reads.
// backend/backup and cmd/pgbackup read these names; the infrastructure
// program and the policy pack write and check them. It imports nothing, so
// the Pulumi program can use it without pgx. The alert variables are
// backend/alert's (EnvURL, EnvRegion).
package pgbackup

// Environment variables the backup job reads.
const (
	// EnvDestination is where dumps go: a directory or an s3:// URL.
	EnvDestination = "BACKUP_DESTINATION"
	// EnvSchedule is the cron schedule of the dumps.
	EnvSchedule = "BACKUP_SCHEDULE"
	// EnvRetentionDays is how long dumps are kept.
	EnvRetentionDays = "BACKUP_RETENTION_DAYS"
	// EnvKeepLast is how many dumps are kept whatever their age.
	EnvKeepLast = "BACKUP_KEEP_LAST"
	// EnvS3Endpoint is the S3-compatible endpoint (R2).
	EnvS3Endpoint = "BACKUP_S3_ENDPOINT"
	// EnvS3Region is the S3 region ("auto" on R2).
	EnvS3Region = "BACKUP_S3_REGION"
	// EnvS3PartSizeMB is the multipart upload's part size.
	EnvS3PartSizeMB = "BACKUP_S3_PART_SIZE_MB"
	// EnvDatabaseURL is the database dumped; it holds a password (a secret).
	EnvDatabaseURL = "DATABASE_URL"
	// EnvAccessKeyID and EnvSecretAccessKey are the bucket's credentials.
	EnvAccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	// EnvSentryDSN is where failures are reported (a secret).
	EnvSentryDSN = "SENTRY_DSN"
	// EnvSentryEnvironment names the stack in Sentry and in alerts.
	EnvSentryEnvironment = "SENTRY_ENVIRONMENT"
	// EnvPGBin is the directory of pg_dump; the image sets it.
	EnvPGBin = "PG_BIN"
	// EnvPGPassword is libpq's password variable.
	EnvPGPassword = "PGPASSWORD"
	// EnvAppVersion is the version reported with failures.
	EnvAppVersion = "APP_VERSION"
)
