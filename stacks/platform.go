// Package stacks composes the platform's components from a stack's typed
// Config (package stacks/config): Load reads it inside the Pulumi program,
// Platform declares the resources.
package stacks

import (
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/stacks/config"
)

// Outputs are the stack outputs Platform exports (names in the contract).
type Outputs struct {
	APIURL       pulumi.StringOutput
	FrontendURL  pulumi.StringOutput
	HealthURLs   pulumi.StringMapOutput
	BackendImage pulumi.StringOutput
	BackupBucket pulumi.StringOutput
	// BackupImage is the pgbackup image (an extra output, beyond the
	// contract): the digest to copy into production's backup.image.
	BackupImage pulumi.StringOutput
	// ProxyImage is the region proxy's image: the digest to copy into
	// production's backend.proxyImage.
	ProxyImage pulumi.StringOutput
	// PostgresImage is the database image (PostgreSQL with pgBackRest): the
	// digest to copy into production's database.image.
	PostgresImage pulumi.StringOutput
	// PrometheusImage, AlertmanagerImage and PGExporterImage are the
	// monitoring images: the digests to copy into production's
	// monitoring.*Image.
	PrometheusImage   pulumi.StringOutput
	AlertmanagerImage pulumi.StringOutput
	PGExporterImage   pulumi.StringOutput
	// PrometheusURLs maps each region to where its Prometheus answers
	// (dev: 127.0.0.1; elsewhere behind Cloudflare Access).
	PrometheusURLs pulumi.StringMapOutput
	// MonitoringClientID and MonitoringClientSecret are the Access service
	// token the operator tools send to the monitoring hostnames (secrets;
	// not in dev).
	MonitoringClientID     pulumi.StringOutput
	MonitoringClientSecret pulumi.StringOutput
	// Canaries maps each region running a canary to its contract.Canary
	// (empty when none runs).
	Canaries pulumi.MapOutput
}

// Exports are the stack outputs by their contract names, the names the
// promotion, status and verify tools read through contract.DecodeOutputs.
func (o Outputs) Exports() map[string]pulumi.Output {
	return map[string]pulumi.Output{
		contract.OutputAPIURL:            o.APIURL,
		contract.OutputFrontendURL:       o.FrontendURL,
		contract.OutputHealthURLs:        o.HealthURLs,
		contract.OutputBackendImage:      o.BackendImage,
		contract.OutputBackupBucket:      o.BackupBucket,
		contract.OutputBackupImage:       o.BackupImage,
		contract.OutputProxyImage:        o.ProxyImage,
		contract.OutputPostgresImage:     o.PostgresImage,
		contract.OutputPrometheusImage:   o.PrometheusImage,
		contract.OutputAlertmanagerImage: o.AlertmanagerImage,
		contract.OutputPGExporterImage:   o.PGExporterImage,
		contract.OutputPrometheusURLs:    o.PrometheusURLs,
		contract.OutputCanaries:          o.Canaries,
	}
}

// SecretExports are the secret stack outputs, by their contract names:
// only stacks behind Cloudflare have them.
func (o Outputs) SecretExports() map[string]pulumi.Output {
	if o.MonitoringClientID == (pulumi.StringOutput{}) {
		return nil
	}
	return map[string]pulumi.Output{
		contract.OutputMonitoringClientID:     o.MonitoringClientID,
		contract.OutputMonitoringClientSecret: o.MonitoringClientSecret,
	}
}

// images are the references the regions run: built here (dev, staging) or
// digest-pinned in config (production). In production each region's
// backend image comes from its own regions[i].image.
type images struct {
	backend, backup, proxy, postgres     pulumi.StringOutput
	prometheus, alertmanager, pgexporter pulumi.StringOutput
}

// Fixed limits of the sidecar containers; the backend's come from config.
var (
	tunnelLimits = components.Limits{MemoryMB: 128, CPUs: 0.5}
	backupLimits = components.Limits{MemoryMB: 256, CPUs: 0.5}
	proxyLimits  = components.Limits{MemoryMB: 128, CPUs: 0.5}
)

// maxReplicas is the most backend replicas a region may run (validation's
// upper bound); the proxy is sized for two generations of them.
const maxReplicas = 3

// Platform composes the components for cfg and exports the stack outputs:
// apiUrl, frontendUrl, healthUrls (region -> readiness URL), backendImage and
// backupBucket. cfg must come from Parse or Load (validated).
func Platform(ctx *pulumi.Context, cfg config.Config) (*Outputs, error) {
	p := platform{ctx: ctx, cfg: cfg, prefix: "helloagents-" + config.SanitizeStack(cfg.Stack), cloud: cfg.Environment.BehindCloudflare()}
	return p.compose()
}

type platform struct {
	ctx    *pulumi.Context
	cfg    config.Config
	prefix string
	cloud  bool
	// flat creates the regions' components at the stack's root, as before
	// the Region component parented them: set only by the URN-continuity
	// test, which deploys that shape and then this one over its state.
	flat bool

	secrets    *components.Secrets
	cloudflare *cloudflare.Provider
	registry   *components.RegistryAuth
}

// compose creates the stack in the order its data flows: credentials and
// images, the backup bucket, each region, then (outside dev) the edge.
func (p *platform) compose() (*Outputs, error) {
	cfg := p.cfg
	if err := p.credentials(); err != nil {
		return nil, err
	}
	imgs, err := p.images()
	if err != nil {
		return nil, err
	}
	out := &Outputs{APIURL: pulumi.String(cfg.APIURL()).ToStringOutput()}
	bucket, err := p.backupBucket(out)
	if err != nil {
		return nil, err
	}
	tunnels, err := p.regions(imgs, bucket, out)
	if err != nil {
		return nil, err
	}
	p.imageOutputs(out, imgs)
	out.FrontendURL = pulumi.String(cfg.FrontendURL()).ToStringOutput()
	if p.cloud {
		if out.FrontendURL, err = p.cloudEdge(tunnels); err != nil {
			return nil, err
		}
		if err := p.monitoringAccess(tunnels, out); err != nil {
			return nil, err
		}
	}
	out.export(p.ctx)
	return out, nil
}

// backupBucket creates the R2 bucket of the backups (nil in dev, whose
// backups stay in volumes) and records its name in out.
func (p *platform) backupBucket(out *Outputs) (*components.BackupBucket, error) {
	cfg := p.cfg
	if !p.cloud {
		out.BackupBucket = pulumi.String(p.prefix + "-backups").ToStringOutput()
		return nil, nil
	}
	bucket, err := components.NewBackupBucket(p.ctx, "backups", &components.BackupBucketArgs{
		AccountID: cfg.Edge.AccountID, Bucket: cfg.Backup.Bucket, Cloudflare: p.cloudflare,
		Protect: cfg.Environment.ProtectsData(),
	})
	if err != nil {
		return nil, err
	}
	out.BackupBucket = bucket.Name
	return bucket, nil
}

// regions creates every region, records each one's readiness URL in out
// and returns the regions' tunnels (none in dev).
func (p *platform) regions(imgs images, bucket *components.BackupBucket, out *Outputs) (map[string]*components.Tunnel, error) {
	pull := !p.cfg.Environment.Local()
	health := pulumi.StringMap{}
	prometheus := pulumi.StringMap{}
	canaries := pulumi.Map{}
	tunnels := map[string]*components.Tunnel{}
	for _, r := range p.cfg.Regions {
		tunnel, err := p.region(r, imgs, pull, bucket)
		if err != nil {
			return nil, err
		}
		health[r.Name] = pulumi.String(p.cfg.HealthURL(r))
		prometheus[r.Name] = pulumi.String(p.cfg.PrometheusURL(r))
		if c, ok := p.cfg.RunningCanary(r); ok {
			canaries[r.Name] = pulumi.ToMap(c.Output())
		}
		if tunnel != nil {
			tunnels[r.Name] = tunnel
		}
	}
	out.HealthURLs = health.ToStringMapOutput()
	out.PrometheusURLs = prometheus.ToStringMapOutput()
	out.Canaries = canaries.ToMapOutput()
	return tunnels, nil
}

// imageOutputs records the images the stack runs; production's backend is
// the digest its first region pins.
func (p *platform) imageOutputs(out *Outputs, imgs images) {
	out.BackendImage = imgs.backend
	out.BackupImage = imgs.backup
	out.ProxyImage = imgs.proxy
	out.PostgresImage = imgs.postgres
	out.PrometheusImage = imgs.prometheus
	out.AlertmanagerImage = imgs.alertmanager
	out.PGExporterImage = imgs.pgexporter
	if p.cfg.Environment.PinsImages() {
		out.BackendImage = pulumi.String(p.cfg.Regions[0].Image).ToStringOutput()
	}
}

// export registers the stack outputs under their contract names.
func (out *Outputs) export(ctx *pulumi.Context) {
	exports := out.Exports()
	maps.Copy(exports, out.SecretExports())
	for _, name := range slices.Sorted(maps.Keys(exports)) {
		ctx.Export(name, exports[name])
	}
}

// credentials creates the Secrets component, the registry login and the
// Cloudflare provider every other resource uses.
func (p *platform) credentials() error {
	ctx, cfg := p.ctx, p.cfg
	var names []string
	for _, r := range cfg.Regions {
		names = append(names, r.Name)
	}
	args := &components.SecretsArgs{
		Regions: names, Primary: cfg.Primary().Name, Tunnels: p.cloud, RepositoryPassphrase: p.cloud && cfg.Database.Archiving,
	}
	secretArgs(cfg.Secrets, args)
	secrets, err := components.NewSecrets(ctx, "secrets", args)
	if err != nil {
		return err
	}
	p.secrets = secrets
	if cfg.Backend.RegistryServer != "" && secrets.HasRegistry {
		p.registry = &components.RegistryAuth{
			Server: cfg.Backend.RegistryServer, Username: cfg.Backend.RegistryUsername, Password: secrets.RegistryPassword,
		}
	}
	if p.cloud {
		p.cloudflare, err = cloudflare.NewProvider(ctx, "cloudflare", &cloudflare.ProviderArgs{ApiToken: secrets.CloudflareAPIToken})
		if err != nil {
			return err
		}
	}
	return nil
}

// cloudEdge creates the edge (the load balancer tries the regions in
// failover order: the database primary first), its alerts and the
// frontend, and returns the frontend's URL.
func (p *platform) cloudEdge(tunnels map[string]*components.Tunnel) (pulumi.StringOutput, error) {
	cfg := p.cfg
	var edgeRegions []components.EdgeRegion
	ids := map[string]pulumi.StringOutput{}
	for _, r := range cfg.FailoverOrder() {
		edgeRegions = append(edgeRegions, components.EdgeRegion{
			Name: r.Name, Hostname: cfg.RegionHostname(r), TunnelCNAME: tunnels[r.Name].CNAME,
		})
		ids[r.Name] = tunnels[r.Name].ID
	}
	e := cfg.Edge
	edge, err := components.NewEdge(p.ctx, "edge", &components.EdgeArgs{
		AccountID: e.AccountID, ZoneID: e.ZoneID, APIHostname: e.APIHostname,
		Regions: edgeRegions, HealthCheck: cfg.HealthCheck,
		ManageZoneSettings: e.ManageZoneSettings, MinTLSVersion: e.MinTLSVersion,
		HSTSMaxAgeSeconds: e.HSTSMaxAgeSeconds, CheckRegions: e.CheckRegions,
		Cloudflare: p.cloudflare,
	})
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	if err := p.alerts(edge, ids); err != nil {
		return pulumi.StringOutput{}, err
	}
	f := cfg.Frontend
	fe, err := components.NewFrontend(p.ctx, "frontend", &components.FrontendArgs{
		AccountID: e.AccountID, ZoneID: e.ZoneID, ProjectName: f.ProjectName, Hostname: f.Hostname,
		GitHubOwner: f.GitHubOwner, GitHubRepo: f.GitHubRepo, ProductionBranch: f.ProductionBranch,
		RootDir: f.RootDir, BuildCommand: f.BuildCommand, OutputDir: f.OutputDir,
		APIURLVariable: f.APIURLVariable, APIURL: cfg.APIURL(), Cloudflare: p.cloudflare,
	})
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return fe.URL, nil
}

// images builds the backend, pgbackup, proxy, Postgres and monitoring images (dev: on the build
// engine, kept local; staging: pushed, referenced by repo digest) or, in
// production, returns the digest-pinned references from config: production
// never builds.
func (p *platform) images() (images, error) {
	cfg := p.cfg
	if cfg.Environment.PinsImages() {
		return images{
			backend:      pulumi.String(cfg.Regions[0].Image).ToStringOutput(),
			backup:       pulumi.String(cfg.Backup.Image).ToStringOutput(),
			proxy:        pulumi.String(cfg.Backend.ProxyImage).ToStringOutput(),
			postgres:     pulumi.String(cfg.Database.Image).ToStringOutput(),
			prometheus:   pulumi.String(cfg.Monitoring.PrometheusImage).ToStringOutput(),
			alertmanager: pulumi.String(cfg.Monitoring.AlertmanagerImage).ToStringOutput(),
			pgexporter:   pulumi.String(cfg.Monitoring.PGExporterImage).ToStringOutput(),
		}, nil
	}
	builder, err := docker.NewProvider(p.ctx, "build-docker", &docker.ProviderArgs{Host: pulumi.String(cfg.Backend.BuildHost)})
	if err != nil {
		return images{}, err
	}
	build := func(name, repo, dockerfile string) (pulumi.StringOutput, error) {
		img, err := components.NewImage(p.ctx, name, &components.ImageArgs{
			Repository: repo, Tag: config.SanitizeStack(cfg.Stack),
			Context: config.BackendContext(), Dockerfile: filepath.Join(config.BackendContext(), dockerfile),
			Push: cfg.Environment.PushesImages(), Registry: p.registry, Provider: builder,
		})
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		return img.Ref, nil
	}
	var imgs images
	if imgs.backend, err = build("backend-image", cfg.Backend.Repository, config.BackendDockerfile); err != nil {
		return imgs, err
	}
	if imgs.backup, err = build("backup-image", SiblingRepository(cfg.Backend.Repository, "pgbackup"), config.BackupDockerfile); err != nil {
		return imgs, err
	}
	if imgs.proxy, err = build("proxy-image", SiblingRepository(cfg.Backend.Repository, "proxy"), config.ProxyDockerfile); err != nil {
		return imgs, err
	}
	if imgs.postgres, err = build("postgres-image", SiblingRepository(cfg.Backend.Repository, "postgres"), config.PostgresDockerfile); err != nil {
		return imgs, err
	}
	for _, m := range []struct {
		name, dockerfile string
		into             *pulumi.StringOutput
	}{
		{"prometheus", config.PrometheusDockerfile, &imgs.prometheus},
		{"alertmanager", config.AlertmanagerDockerfile, &imgs.alertmanager},
		{"pgexporter", config.PGExporterDockerfile, &imgs.pgexporter},
	} {
		if *m.into, err = build(m.name+"-image", SiblingRepository(cfg.Backend.Repository, m.name), m.dockerfile); err != nil {
			return imgs, err
		}
	}
	return imgs, nil
}

// SiblingRepository is where another image of the platform lives: beside
// the backend repository ("ghcr.io/org/backend" -> "ghcr.io/org/pgbackup"),
// or the local name "helloagents-pgbackup" in dev.
func SiblingRepository(backendRepo, name string) string {
	if !strings.Contains(backendRepo, "/") {
		return "helloagents-" + name
	}
	return path.Dir(backendRepo) + "/" + name
}

// BackupRepository is where the pgbackup image lives (see SiblingRepository).
func BackupRepository(backendRepo string) string { return SiblingRepository(backendRepo, "pgbackup") }
