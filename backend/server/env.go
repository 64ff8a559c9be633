// Package server is the interface of the backend API image
// (backend/Dockerfile, cmd/server): the variables it reads, its default
// port and its subcommands. backend/config and cmd/server read these names;
// the infrastructure program and the policy pack write and check them. It
// imports nothing, so the Pulumi program can use it without pgx.
package server

import "strings"

// Environment variables the server reads.
const (
	// EnvHost is the listen address; the image sets 0.0.0.0.
	EnvHost = "HOST"
	// EnvPort is the listen port; the image sets DefaultPort.
	EnvPort = "PORT"
	// EnvDatabaseURL is the Postgres URL; it holds a password (a secret).
	EnvDatabaseURL = "DATABASE_URL"
	// EnvAppVersion is the version /health reports.
	EnvAppVersion = "APP_VERSION"
	// EnvImageFingerprint identifies the image a replica runs.
	EnvImageFingerprint = "IMAGE_FINGERPRINT"
	// EnvAIAPIKey is the AI service's key (a secret).
	EnvAIAPIKey = "AI_API_KEY"
	// EnvSentryDSN is where errors are reported (a secret).
	EnvSentryDSN = "SENTRY_DSN"
	// EnvSentryEnvironment names the stack in Sentry.
	EnvSentryEnvironment = "SENTRY_ENVIRONMENT"
	// EnvSentryTracesSampleRate is the share of requests traced.
	EnvSentryTracesSampleRate = "SENTRY_TRACES_SAMPLE_RATE"
	// EnvCORSAllowedOrigins is the comma-separated list of allowed origins.
	EnvCORSAllowedOrigins = "CORS_ALLOWED_ORIGINS"
	// EnvSandboxPoolURL is the sandbox pool /health asks, if any.
	EnvSandboxPoolURL = "SANDBOX_POOL_URL"
	// EnvHealthCheckTimeout bounds each /health component check.
	EnvHealthCheckTimeout = "HEALTH_CHECK_TIMEOUT"
	// EnvLogLevel is the minimum level of the JSON logs.
	EnvLogLevel = "LOG_LEVEL"
	// EnvMetricsPort is the private port of GET /metrics.
	EnvMetricsPort = "METRICS_PORT"
	// EnvArchiveTimeout is Postgres's archive_timeout: /health's backups
	// component calls WAL older than this (plus a minute) degraded.
	EnvArchiveTimeout = "ARCHIVE_TIMEOUT"
	// EnvBackupFullMaxAge is the age past which the last full backup is
	// degraded.
	EnvBackupFullMaxAge = "BACKUP_FULL_MAX_AGE"
	// EnvStandbyMaxLag is the replay lag past which a standby's database
	// component is degraded.
	EnvStandbyMaxLag = "STANDBY_MAX_LAG"
)

// DefaultPort is the port the image listens on (PORT's default): the
// program, the proxy and the operator tools assume it unless told otherwise.
const DefaultPort = 8000

// Subcommands of the server binary (its first argument).
const (
	// CmdServe runs the API; it is the default.
	CmdServe = "serve"
	// CmdHealthcheck probes the local server: the image's HEALTHCHECK.
	CmdHealthcheck = "healthcheck"
	// CmdVersion prints the build's version.
	CmdVersion = "version"
)

// ImageFingerprint is the IMAGE_FINGERPRINT of a replica that runs the
// image ref: its digest (sha256:<hex>) when ref is pinned
// (repo@sha256:<hex>), else ref itself (a local image ID in dev). The
// replicas' helloagents_build_info carries it as its fingerprint label, so
// the promotion engine and infra/status find a canary's series by it.
func ImageFingerprint(ref string) string {
	if _, digest, ok := strings.Cut(ref, "@"); ok {
		return digest
	}
	return ref
}
