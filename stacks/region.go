package stacks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/server"
	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/stacks/config"
)

// region creates one region: the Region component (its engine and
// networks) and, as its children, the database and backups, the backend
// replicas, the proxy, (outside dev) the tunnel, and the monitoring.
func (p *platform) region(r config.Region, imgs images, pull bool, bucket *components.BackupBucket) (*components.Tunnel, error) {
	ctx, cfg := p.ctx, p.cfg
	prefix := p.prefix
	if len(cfg.Regions) > 1 {
		prefix += "-" + r.Name
	}
	var registry *components.RegistryAuth
	if pull {
		registry = p.registry
	}
	host, err := components.NewRegion(ctx, "region-"+r.Name, &components.RegionArgs{
		Prefix: prefix, Stack: cfg.Stack, Region: r.Name, DockerHost: r.DockerHost, SSHOpts: r.SSHOpts, Registry: registry,
	})
	if err != nil {
		return nil, err
	}
	d := cfg.Database
	db, err := components.NewDatabase(ctx, "db-"+r.Name, &components.DatabaseArgs{
		Prefix: prefix, Region: r.Name, Host: host,
		Image: imgs.postgres, Pull: pull, Name: d.Name, User: d.User, RunAs: d.RunAs,
		PITR:        p.pitr(bucket),
		Standby:     !cfg.IsPrimary(r),
		Password:    p.secrets.DatabasePassword,
		Limits:      components.Limits{MemoryMB: d.MemoryMB, CPUs: cfg.Backend.CPUs, MaxRestarts: cfg.Backend.MaxRestarts},
		ProtectData: cfg.Environment.ProtectsData(),
		HealthCheck: cfg.HealthCheck,
		Backup:      p.backup(r, imgs, pull, bucket),
	}, p.inRegion(host))
	if err != nil {
		return nil, err
	}
	if err := p.backend(r, host, imgs, pull, db); err != nil {
		return nil, err
	}
	tunnel, err := p.edgeOfRegion(r, prefix, host, imgs, pull)
	if err != nil {
		return nil, err
	}
	return tunnel, p.monitoring(r, host, imgs, pull, db)
}

// inRegion is the option every component of region host is created with:
// host.Child, or (the flat hook of the URN-continuity test) only the
// region's provider, the shape the stack had before Region parented them.
func (p *platform) inRegion(host *components.Region) pulumi.ResourceOption {
	if p.flat {
		return pulumi.Providers(host.Provider)
	}
	return host.Child()
}

// backup wires the pgbackup job of region r (run only beside the primary):
// dumps to s3://<bucket>/<prefix>/<region>, or a volume in dev.
func (p *platform) backup(r config.Region, imgs images, pull bool, bucket *components.BackupBucket) components.BackupArgs {
	cfg := p.cfg
	b := cfg.Backup
	backup := components.BackupArgs{
		Image: imgs.backup, Pull: pull, RunAs: b.RunAs,
		Schedule: b.Schedule, RetentionDays: b.RetentionDays, KeepLast: b.KeepLast,
		Limits: backupLimits, SentryEnvironment: string(cfg.Environment),
		SecretEnv: secretEnv(labels.RoleBackup, p.secrets, cfg),
	}
	backup.Limits.MaxRestarts = cfg.Backend.MaxRestarts
	if p.cloud {
		backup.Destination = fmt.Sprintf("s3://%s/%s/%s", b.Bucket, b.Prefix, r.Name)
		backup.S3Endpoint = bucket.Endpoint
	} else {
		backup.Destination = "file:///backups"
		backup.LocalVolume = true
	}
	return backup
}

// backend creates region r's API replicas.
func (p *platform) backend(r config.Region, host *components.Region, imgs images, pull bool, db *components.Database) error {
	cfg := p.cfg
	be := cfg.Backend
	envs := map[string]string{
		server.EnvSentryEnvironment:      string(cfg.Environment),
		server.EnvSentryTracesSampleRate: strconv.FormatFloat(be.SentryTracesSampleRate, 'f', -1, 64),
		server.EnvCORSAllowedOrigins:     strings.Join(be.CORSAllowedOrigins, ","),
	}
	if be.AppVersion != "" {
		envs[server.EnvAppVersion] = be.AppVersion
	}
	if be.SandboxPoolURL != "" {
		envs[server.EnvSandboxPoolURL] = be.SandboxPoolURL
	}
	if cfg.Database.Archiving {
		// /health's backups component calls WAL older than this (plus a
		// minute) degraded.
		envs[server.EnvArchiveTimeout] = cfg.Database.ArchiveTimeout
	}
	secretVars := secretEnv(labels.RoleBackend, p.secrets, cfg)
	secretVars[server.EnvDatabaseURL] = db.URL
	backendRef := imgs.backend
	if cfg.Environment.PinsImages() {
		backendRef = pulumi.String(r.Image).ToStringOutput()
	}
	var canary *components.CanaryArgs
	if r.CanaryImage != "" {
		// Validation holds it to backend.canary being configured, so the
		// proxy already weights the canary servers.
		canary = &components.CanaryArgs{Image: pulumi.String(r.CanaryImage), Pull: pull}
	}
	_, err := components.NewBackendService(p.ctx, "backend-"+r.Name, &components.BackendServiceArgs{
		Host:  host,
		Image: backendRef, Pull: pull, Replicas: r.Replicas,
		Port: be.Port, User: be.User, MetricsPort: components.BackendMetricsPort,
		Limits:      components.Limits{MemoryMB: be.MemoryMB, CPUs: be.CPUs, MaxRestarts: be.MaxRestarts},
		HealthCheck: cfg.HealthCheck, HealthcheckCommand: be.HealthcheckCommand,
		Env: envs, SecretEnv: secretVars,
		Canary: canary,
	}, p.inRegion(host))
	return err
}

// edgeOfRegion creates region r's proxy and (outside dev) its tunnel.
func (p *platform) edgeOfRegion(r config.Region, prefix string, host *components.Region, imgs images, pull bool) (*components.Tunnel, error) {
	cfg := p.cfg
	be := cfg.Backend
	hostPort := 0
	if cfg.Environment.Local() {
		hostPort = be.HostPort
	}
	proxyLimits := proxyLimits
	proxyLimits.MaxRestarts = be.MaxRestarts
	canaryWeight := 0
	if be.Canary != nil {
		// Weighted whenever the stack runs canaries, not only while one
		// runs: starting or ending a canary leaves the proxy as it is.
		canaryWeight = be.Canary.Weight
	}
	proxy, err := components.NewProxy(p.ctx, "proxy-"+r.Name, &components.ProxyArgs{
		Host: host, Image: imgs.proxy, Pull: pull,
		Port: be.Port, BackendPort: be.Port, HostPort: hostPort, MaxReplicas: maxReplicas,
		MetricsPort:  components.ProxyMetricsPort,
		Limits:       proxyLimits,
		CanaryWeight: canaryWeight, Replicas: r.Replicas,
	}, p.inRegion(host))
	if err != nil {
		return nil, err
	}
	if !p.cloud {
		return nil, nil
	}
	limits := tunnelLimits
	limits.MaxRestarts = be.MaxRestarts
	return components.NewTunnel(p.ctx, "tunnel-"+r.Name, &components.TunnelArgs{
		Prefix: prefix, Region: r.Name, AccountID: cfg.Edge.AccountID,
		Secret:    p.secrets.TunnelSecrets[r.Name],
		Hostnames: []string{cfg.Edge.APIHostname, cfg.RegionHostname(r)},
		Service:   proxy.URL, Routes: p.monitoringRoutes(r), Image: cfg.Edge.TunnelImage,
		Host: host, Cloudflare: p.cloudflare, Limits: limits, HealthCheck: cfg.HealthCheck,
	}, p.inRegion(host))
}

// pitr wires WAL archiving and the scheduled physical backups: the stack's
// one encrypted repository on R2 under /<backup.prefix>/pgbackrest (the
// dumps' bucket), or in dev a repository volume. Every region gets the same
// settings: the primary archives into the repository and backs up to it,
// the standbys restore and replay from it, and after a failover they follow
// the new primary's timeline in the same place. Nil when archiving is off
// (dev only).
func (p *platform) pitr(bucket *components.BackupBucket) *components.PITRArgs {
	cfg := p.cfg
	d := cfg.Database
	if !d.Archiving {
		return nil
	}
	limits := backupLimits
	limits.MaxRestarts = cfg.Backend.MaxRestarts
	a := &components.PITRArgs{
		ArchiveTimeout: d.ArchiveTimeoutDuration(), RetentionFull: d.RetentionFull,
		FullSchedule: d.FullSchedule, DiffSchedule: d.DiffSchedule,
		Limits: limits, SentryEnvironment: string(cfg.Environment),
		ServerSecretEnv: secretEnv(labels.RolePostgres, p.secrets, cfg),
		JobSecretEnv:    secretEnv(labels.RolePITR, p.secrets, cfg),
	}
	if p.cloud {
		a.S3Endpoint = strings.TrimPrefix(bucket.Endpoint, "https://")
		a.Bucket = cfg.Backup.Bucket
		a.RepoPath = RepositoryPath(cfg.Backup.Prefix)
		a.CipherPass = p.secrets.RepositoryPassphrase
	}
	return a
}

// RepositoryPath is the pgBackRest repository of a stack in its backup
// bucket: one per stack, shared by the primary and the standbys.
func RepositoryPath(prefix string) string { return "/" + prefix + "/pgbackrest" }
