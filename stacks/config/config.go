// Package config turns a stack's Pulumi configuration into a typed, validated
// Config (with per-environment defaults, so each Pulumi.<stack>.yaml holds only
// what differs). It imports no Pulumi SDK (a test guards it), so the operator
// CLIs and `make validate` read and check stack files without linking the
// providers; package stacks composes the platform's components from a Config.
package config

import (
	"fmt"
	"strings"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/policy/env"
)

// Namespace is the Pulumi config namespace of every platform key.
const Namespace = contract.Namespace

// Environment names the kind of stack; it selects defaults and rules. It is
// defined once, in package env, for the program and the policy pack alike.
type Environment = env.Environment

// The three environments (see package env for what each one does).
const (
	Dev        = env.Dev
	Staging    = env.Staging
	Production = env.Production
)

// Config is the whole typed configuration of one stack.
type Config struct {
	// Stack is the Pulumi stack name the config belongs to.
	Stack       string
	Environment Environment
	// Regions in promotion order.
	Regions     []Region
	HealthCheck healthcheck.Settings
	Backend     Backend
	Database    Database
	Backup      Backup
	Frontend    Frontend
	Edge        Edge
	Alerts      Alerts
	SLO         SLO
	Monitoring  Monitoring
	Secrets     Secrets
}

// Region is one Docker host running a full copy of the service.
type Region struct {
	// Name is a DNS label, unique in the stack.
	Name string `json:"name"`
	// DockerHost is unix:///var/run/docker.sock (dev) or ssh://user@host[:port].
	DockerHost string `json:"dockerHost"`
	// Replicas of the backend container, 1..3.
	Replicas int `json:"replicas"`
	// Image is the digest-pinned backend image (repo@sha256:...). Required in
	// production, where promotion writes it; staging and dev build instead.
	Image string `json:"image,omitempty"`
	// CanaryImage is the digest-pinned image of the canary replica the
	// region runs beside its stable ones (repo@sha256:...), written by
	// infra/promote, never by hand; requires backend.canary. Empty: no
	// canary runs.
	CanaryImage string `json:"canaryImage,omitempty"`
	// SSHOpts are extra ssh(1) options for the docker provider.
	SSHOpts []string `json:"sshOpts,omitempty"`
}

// Backend configures the API containers and how their image is produced.
type Backend struct {
	// Port the server listens on inside the container.
	Port int `json:"port"`
	// HostPort is the dev-only port published on 127.0.0.1.
	HostPort int `json:"hostPort"`
	// User is the numeric uid:gid the container runs as (never 0).
	User string `json:"user"`
	// MemoryMB is the container memory limit.
	MemoryMB int `json:"memoryMb"`
	// CPUs is the container CPU limit (fractional cores).
	CPUs float64 `json:"cpus"`
	// MaxRestarts bounds the on-failure restart policy.
	MaxRestarts int `json:"maxRestarts"`
	// Repository is the image repository: a local name in dev, the registry
	// repository the image is pushed to in staging (e.g. ghcr.io/org/backend).
	Repository string `json:"repository"`
	// RegistryServer and RegistryUsername authenticate pushes and pulls; the
	// password is the secret helloagents:registryPassword.
	RegistryServer   string `json:"registryServer,omitempty"`
	RegistryUsername string `json:"registryUsername,omitempty"`
	// BuildHost is the Docker daemon that builds the images (staging, dev).
	BuildHost string `json:"buildHost"`
	// AppVersion is stamped into APP_VERSION (CI sets it to the commit).
	AppVersion string `json:"appVersion"`
	// SentryTracesSampleRate is SENTRY_TRACES_SAMPLE_RATE, 0..1.
	SentryTracesSampleRate float64 `json:"sentryTracesSampleRate"`
	// CORSAllowedOrigins defaults to the frontend URL.
	CORSAllowedOrigins []string `json:"corsAllowedOrigins,omitempty"`
	// SandboxPoolURL is SANDBOX_POOL_URL (empty: pool disabled).
	SandboxPoolURL string `json:"sandboxPoolUrl,omitempty"`
	// HealthcheckCommand is the Docker healthcheck test; it probes the
	// liveness path of the shared HealthCheck.
	HealthcheckCommand []string `json:"healthcheckCommand"`
	// ProxyImage is the digest-pinned image of the region proxy (production:
	// required, copied from staging's proxyImage output; elsewhere built
	// from backend/proxy.Dockerfile).
	ProxyImage string `json:"proxyImage,omitempty"`
	// Canary configures canary releases (nil: none can run); see Canary.
	Canary *Canary `json:"canary,omitempty"`
}

// Database configures the per-region Postgres container.
type Database struct {
	// Image is the digest-pinned Postgres image (backend/postgres.Dockerfile:
	// PostgreSQL 15 with pgBackRest). Production: required, copied from
	// staging's postgresImage output; elsewhere it is built.
	Image string `json:"image,omitempty"`
	Name  string `json:"name"`
	User  string `json:"user"`
	// RunAs is the numeric uid:gid Postgres runs as (999:999, postgres in backend/postgres.Dockerfile).
	RunAs    string `json:"runAs"`
	MemoryMB int    `json:"memoryMb"`

	// WAL archiving and physical backups through pgBackRest (see
	// backend/pitr). Archiving must be on in staging and production.
	Archiving bool `json:"archiving"`
	// ArchiveTimeout bounds how long a commit waits to leave the host (the
	// RPO), e.g. "60s".
	ArchiveTimeout string `json:"archiveTimeout"`
	// RetentionFull is how many full backups (and the WAL they need) are kept.
	RetentionFull int `json:"retentionFull"`
	// FullSchedule and DiffSchedule are cron expressions of the full and
	// differential backups.
	FullSchedule string `json:"fullSchedule"`
	DiffSchedule string `json:"diffSchedule"`

	// PrimaryRegion names the region whose Postgres takes writes, archives
	// WAL and runs the backup jobs; every other region runs a hot standby
	// replaying from the stack's one pgBackRest repository, and the load
	// balancer tries this region first. Default: the first region.
	// infra/failover rewrites it.
	PrimaryRegion string `json:"primaryRegion,omitempty"`
}

// Backup configures the scheduled pg_dump job of every region.
type Backup struct {
	// Schedule is a standard 5-field cron expression (or @daily etc.).
	Schedule      string `json:"schedule"`
	RetentionDays int    `json:"retentionDays"`
	KeepLast      int    `json:"keepLast"`
	// Bucket is the R2 bucket the stack creates (not dev).
	Bucket string `json:"bucket"`
	// Prefix is prepended to every object key; the region name follows.
	Prefix string `json:"prefix"`
	// Image is the digest-pinned pgbackup image (production: required,
	// promoted like the backend image; elsewhere it is built).
	Image string `json:"image,omitempty"`
	// RunAs is the numeric uid:gid of the backup container.
	RunAs string `json:"runAs"`
}

// Frontend configures the Cloudflare Pages project (not dev).
type Frontend struct {
	ProjectName      string `json:"projectName"`
	Hostname         string `json:"hostname"`
	GitHubOwner      string `json:"githubOwner"`
	GitHubRepo       string `json:"githubRepo"`
	ProductionBranch string `json:"productionBranch"`
	RootDir          string `json:"rootDir"`
	BuildCommand     string `json:"buildCommand"`
	OutputDir        string `json:"outputDir"`
	// APIURLVariable is the build-time variable that carries the API URL.
	APIURLVariable string `json:"apiUrlVariable"`
	// LocalURL is the frontend URL in dev (a local dev server, not deployed).
	LocalURL string `json:"localUrl"`
}

// Edge configures Cloudflare: zone, tunnels, health checks, load balancing.
type Edge struct {
	AccountID string `json:"accountId"`
	ZoneID    string `json:"zoneId"`
	// Domain is the zone apex, e.g. helloagents.dev.
	Domain string `json:"domain"`
	// APIHostname is the public API host. Regional hosts are derived as
	// "<first label>-<region>.<rest>" so Universal SSL (one wildcard level)
	// covers them.
	APIHostname string `json:"apiHostname"`
	// ManageZoneSettings applies the HTTPS zone settings from this stack.
	ManageZoneSettings bool   `json:"manageZoneSettings"`
	MinTLSVersion      string `json:"minTlsVersion"`
	HSTSMaxAgeSeconds  int    `json:"hstsMaxAgeSeconds"`
	// TunnelImage is the cloudflared image.
	TunnelImage string `json:"tunnelImage"`
	// CheckRegions are Cloudflare's probe regions, e.g. ["WEU","ENAM"].
	CheckRegions []string `json:"checkRegions"`
}

// Secret is a string that never prints: fmt, %v and JSON show a placeholder,
// so a Config can be logged without leaking credentials.
type Secret string

// String implements fmt.Stringer without revealing the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[secret]"
}

// GoString keeps %#v from revealing the value.
func (s Secret) GoString() string { return s.String() }

// MarshalText keeps encoders from revealing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the value, for the Secrets component only.
func (s Secret) Reveal() string { return string(s) }

// Secrets are the credentials set with `pulumi config set --secret`. The
// Secrets component turns them into Pulumi secret outputs.
type Secrets struct {
	AIAPIKey           Secret
	SentryDSN          Secret
	CloudflareAPIToken Secret
	R2AccessKeyID      Secret
	R2SecretAccessKey  Secret
	RegistryPassword   Secret
	AlertWebhookURL    Secret
	// MonitoringRemoteWritePassword authenticates Prometheus's remote_write;
	// MonitoringSMTPPassword Alertmanager's mail server.
	MonitoringRemoteWritePassword Secret
	MonitoringSMTPPassword        Secret
}

// Config keys (without the namespace). Objects are JSON in the raw map.
const (
	KeyEnvironment = "environment"
	KeyRegions     = "regions"
	KeyHealthCheck = "healthCheck"
	KeyBackend     = "backend"
	KeyDatabase    = "database"
	KeyBackup      = "backup"
	KeyFrontend    = "frontend"
	KeyEdge        = "edge"

	KeyAIAPIKey           = "aiApiKey"
	KeySentryDSN          = "sentryDsn"
	KeyCloudflareAPIToken = "cloudflareApiToken"
	KeyR2AccessKeyID      = "r2AccessKeyId"
	KeyR2SecretAccessKey  = "r2SecretAccessKey"
	KeyRegistryPassword   = "registryPassword"
)

// Keys returns every config key the platform reads, without the namespace.
func Keys() []string {
	keys := []string{KeyEnvironment, KeyRegions, KeyHealthCheck}
	for _, s := range new(Config).sections() {
		keys = append(keys, s.key)
	}
	return append(keys, SecretKeys()...)
}

// SecretKeys returns the keys whose values must be set with --secret, in
// the order of SecretTable.
func SecretKeys() []string {
	var keys []string
	for _, s := range SecretTable() {
		keys = append(keys, s.Key)
	}
	return keys
}

func full(key string) string { return Namespace + ":" + key }

// FullKey is key in the platform's namespace ("regions" ->
// "helloagents:regions"), for callers that read the configuration
// themselves (stacks.Load).
func FullKey(key string) string { return full(key) }

// APIURL is the public URL of the API.
func (c Config) APIURL() string {
	if c.Environment.Local() {
		return fmt.Sprintf("http://127.0.0.1:%d", c.Backend.HostPort)
	}
	return "https://" + c.Edge.APIHostname
}

// FrontendURL is the public URL of the frontend.
func (c Config) FrontendURL() string {
	if c.Environment.Local() {
		return c.Frontend.LocalURL
	}
	return "https://" + c.Frontend.Hostname
}

// RegionHostname is the public hostname that reaches only region r, used by
// the per-region health URLs and the promotion gates.
func (c Config) RegionHostname(r Region) string {
	first, rest, _ := strings.Cut(c.Edge.APIHostname, ".")
	return first + "-" + r.Name + "." + rest
}

// Primary is the region whose database is the primary (database.primaryRegion,
// the first region when unset).
func (c Config) Primary() Region {
	for _, r := range c.Regions {
		if r.Name == c.Database.PrimaryRegion {
			return r
		}
	}
	if len(c.Regions) == 0 {
		return Region{}
	}
	return c.Regions[0]
}

// IsPrimary reports whether r runs the primary database.
func (c Config) IsPrimary(r Region) bool { return r.Name == c.Primary().Name }

// FailoverOrder is the regions in the load balancer's order: the primary
// first, then the others in configured order.
func (c Config) FailoverOrder() []Region {
	primary := c.Primary()
	order := []Region{primary}
	for _, r := range c.Regions {
		if r.Name != primary.Name {
			order = append(order, r)
		}
	}
	return order
}

// HealthURL is the readiness probe URL of region r.
func (c Config) HealthURL(r Region) string {
	if c.Environment.Local() {
		return c.APIURL() + health.ReadyPath
	}
	return "https://" + c.RegionHostname(r) + health.ReadyPath
}

// SanitizeStack makes a stack name ("org/production") usable in names.
func SanitizeStack(stack string) string {
	return strings.NewReplacer("/", "-", ".", "-").Replace(stack)
}

// section is one object of the stack configuration (helloagents:<key>):
// the field of Config it fills, its defaults and its rules. A new section
// is a type with its default and validation in a file of its own, its
// field in Config, and one row in sections: the known keys, the defaults,
// decoding and validation all follow from the row.
type section struct {
	key string
	// into is the field the stack file's object is laid over.
	into any
	// init sets the field to its defaults, before the environment's own
	// (devDefaults, productionDefaults); nil leaves the zero value.
	init func()
	// validate checks the field; nil where the rules depend on the
	// environment and validate calls them itself (edge, frontend).
	validate func(*problems)
}

// sections are the objects of the stack configuration, in the order they
// are decoded, validated and listed by Keys.
func (c *Config) sections() []section {
	return []section{
		{KeyBackend, &c.Backend, func() { c.Backend = defaultBackend() }, c.validateBackend},
		{KeyDatabase, &c.Database, func() { c.Database = defaultDatabase() }, c.validateDatabase},
		{KeyBackup, &c.Backup, func() { c.Backup = defaultBackup(c.Stack) }, c.validateBackup},
		{KeyFrontend, &c.Frontend, func() { c.Frontend = defaultFrontend(c.Stack) }, nil},
		{KeyEdge, &c.Edge, func() { c.Edge = defaultEdge() }, nil},
		{KeyAlerts, &c.Alerts, nil, c.validateAlerts},
		{KeySLO, &c.SLO, func() { c.SLO = defaultSLO() }, c.validateSLO},
		{KeyMonitoring, &c.Monitoring, func() { c.Monitoring = defaultMonitoring() }, c.validateMonitoring},
	}
}
