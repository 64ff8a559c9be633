package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/alertmanager"
	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/pgexporter"
	promimage "github.com/helloagents/infra/backend/prometheus"
)

// Names and ports of a region's monitoring, on the region's networks. They
// are the targets of the Prometheus configuration package monitoring renders
// (job backend: the BackendAlias replicas on BackendMetricsPort; proxy:
// ProxyAlias on ProxyMetricsPort; postgres: PGExporterAlias on
// PGExporterPort) and the services the region's tunnel routes the
// monitoring hostnames to.
const (
	PrometheusAlias   = "prometheus"
	PrometheusPort    = 9090
	AlertmanagerAlias = "alertmanager"
	AlertmanagerPort  = 9093
	PGExporterAlias   = "pgexporter"
	PGExporterPort    = 9187
	// BackendMetricsPort is the backend's METRICS_PORT and ProxyMetricsPort
	// the proxy's PROXY_METRICS_PORT: private listeners, never published
	// and never routed.
	BackendMetricsPort = 9464
	ProxyMetricsPort   = 8405
)

// Where the files and the data live inside the monitoring containers (the
// images' contracts, backend/prometheus and backend/alertmanager). The
// data directories are named volumes. The configuration directories are
// tmpfs mounts of the image user, into which the images' entrypoints write
// the files the container's environment carries (EnvPrometheusConfig,
// EnvPrometheusRules, EnvAlertmanagerConfig) at every start: the docker
// provider's uploads cannot be used, since it copies them into the
// container at its root, which Docker refuses on a read-only root
// filesystem ("container rootfs is marked read-only") even when the files
// would land on a volume.
const (
	PrometheusConfigDir    = promimage.ConfigDir
	PrometheusConfigFile   = promimage.ConfigPath
	PrometheusRulesFile    = promimage.RulesPath
	PrometheusDataDir      = promimage.DataDir
	AlertmanagerConfigDir  = alertmanager.ConfigDir
	AlertmanagerConfigFile = alertmanager.ConfigPath
	AlertmanagerDataDir    = alertmanager.DataDir
)

// The variables that carry the configuration files into the monitoring
// containers, each a Pulumi secret.
const (
	EnvPrometheusConfig   = promimage.EnvConfig
	EnvPrometheusRules    = promimage.EnvRules
	EnvAlertmanagerConfig = alertmanager.EnvConfig
)

// EnvPrometheusRetention is how long the Prometheus image keeps samples
// (its entrypoint's --storage.tsdb.retention.time, backend/prometheus).
const EnvPrometheusRetention = promimage.EnvRetention

// MonitoringImages are the references of the three monitoring images
// (backend/prometheus.Dockerfile, alertmanager.Dockerfile,
// pgexporter.Dockerfile).
type MonitoringImages struct {
	Prometheus   pulumi.StringInput
	Alertmanager pulumi.StringInput
	PGExporter   pulumi.StringInput
}

// MonitoringArgs configure one region's Prometheus, Alertmanager and
// Postgres exporter.
type MonitoringArgs struct {
	// Host is the region's engine, networks and identity.
	Host *Region
	// Images are built (dev, staging) or digest-pinned (production); Pull
	// fetches them onto the region's engine first.
	Images MonitoringImages
	Pull   bool
	// User is the numeric non-root uid:gid of the three images.
	User string
	// PrometheusConfig, Rules and AlertmanagerConfig are the rendered files
	// (package monitoring). They are passed as Pulumi secrets: the
	// Prometheus configuration may hold the remote_write password and the
	// Alertmanager one the webhook URL and the SMTP password.
	PrometheusConfig   pulumi.StringInput
	Rules              pulumi.StringInput
	AlertmanagerConfig pulumi.StringInput
	// Retention is how long Prometheus keeps samples ("15d").
	Retention string
	// PrometheusURL and AlertmanagerURL are how people reach the UIs (dev:
	// http://127.0.0.1:9090; elsewhere the region's monitoring hostnames):
	// the links in alerts and notifications point there.
	PrometheusURL   string
	AlertmanagerURL string
	// PrometheusHostPort and AlertmanagerHostPort, when non-zero, publish
	// the UIs on 127.0.0.1 (dev only; elsewhere they are reached through
	// the region's tunnel behind Cloudflare Access).
	PrometheusHostPort   int
	AlertmanagerHostPort int
	// DatabaseURL is the exporter's DSN, a secret.
	DatabaseURL pulumi.StringInput

	PrometheusLimits   Limits
	AlertmanagerLimits Limits
	ExporterLimits     Limits
}

// Monitoring is a region measuring itself: Prometheus scrapes the region's
// backend replicas (found through Docker DNS on BackendAlias, so a release
// needs no reconfiguration), its proxy, the Postgres exporter, Alertmanager
// and itself, evaluates the SLO rules and sends alerts to Alertmanager,
// which notifies the stack's destinations. Every container is hardened like
// the others (harden); Prometheus and Alertmanager keep their data on named
// volumes and get their configuration in their environment.
type Monitoring struct {
	pulumi.ResourceState

	// PrometheusURL and AlertmanagerURL are how the region's own containers
	// (and its tunnel) reach them.
	PrometheusURL   string
	AlertmanagerURL string
	// Containers are the three containers' Docker names.
	Containers pulumi.StringArrayOutput
}

// NewMonitoring creates the region's monitoring. Each container has a fixed
// name and is replaced delete-before-create: Prometheus and Alertmanager
// lock their data directory (two of them on one volume would fail), and in
// dev they hold a fixed host port. A configuration change therefore leaves
// the region without monitoring for the seconds of the restart; the data
// and the silences stay on their volumes.
func NewMonitoring(ctx *pulumi.Context, name string, args *MonitoringArgs, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	m := &Monitoring{
		PrometheusURL:   fmt.Sprintf("http://%s:%d", PrometheusAlias, PrometheusPort),
		AlertmanagerURL: fmt.Sprintf("http://%s:%d", AlertmanagerAlias, AlertmanagerPort),
	}
	if err := ctx.RegisterComponentResource("helloagents:monitoring:Monitoring", name, m, opts...); err != nil {
		return nil, err
	}
	if err := requireDocker(&m.ResourceState, "monitoring", name); err != nil {
		return nil, err
	}
	in := []pulumi.ResourceOption{pulumi.Parent(m)}
	var names pulumi.StringArray
	for _, create := range []func(*pulumi.Context, string, *MonitoringArgs, []pulumi.ResourceOption) (*docker.Container, error){
		prometheus, alertmanagerContainer, pgExporter,
	} {
		c, err := create(ctx, name, args, in)
		if err != nil {
			return nil, fmt.Errorf("monitoring of region %s: %w", args.Host.Region, err)
		}
		names = append(names, c.Name)
	}
	m.Containers = names.ToStringArrayOutput()
	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{
		"containers":      m.Containers,
		"prometheusUrl":   pulumi.String(m.PrometheusURL),
		"alertmanagerUrl": pulumi.String(m.AlertmanagerURL),
	}); err != nil {
		return nil, err
	}
	return m, nil
}

// prometheus creates Prometheus on its data volume.
func prometheus(ctx *pulumi.Context, name string, args *MonitoringArgs, in []pulumi.ResourceOption) (*docker.Container, error) {
	img, err := image(ctx, name+"-prometheus-image", args.Images.Prometheus, args.Pull, in...)
	if err != nil {
		return nil, err
	}
	data, err := volume(ctx, name, args.Host.Prefix, in, "prometheus-data", PrometheusDataDir)
	if err != nil {
		return nil, err
	}
	// The image's entrypoint (backend/prometheus/entrypoint.sh) writes the
	// files into the configuration tmpfs and passes the paths above and the
	// retention from its variable; the command adds the URL the UI and the
	// alerts' links use.
	c := &docker.ContainerArgs{
		Name:  pulumi.Sprintf("%s-prometheus", args.Host.Prefix),
		Image: img,
		Envs: env(map[string]string{EnvPrometheusRetention: args.Retention}, map[string]pulumi.StringInput{
			EnvPrometheusConfig: args.PrometheusConfig,
			EnvPrometheusRules:  args.Rules,
		}),
		Command:          pulumi.ToStringArray([]string{"--web.external-url=" + args.PrometheusURL}),
		Mounts:           docker.ContainerMountArray{data},
		Tmpfs:            configTmpfs(PrometheusConfigDir, args.User),
		Labels:           configLabel(args.PrometheusConfig, args.Rules),
		NetworksAdvanced: bothNetworks(args.Host, PrometheusAlias),
	}
	publish(c, PrometheusPort, args.PrometheusHostPort)
	harden(c, args.User, args.PrometheusLimits, args.Host.Identity(labels.RolePrometheus))
	return docker.NewContainer(ctx, name+"-prometheus", c, append(in, pulumi.DeleteBeforeReplace(true))...)
}

// alertmanagerContainer creates Alertmanager on its data volume, with the
// egress network to reach the webhook and the mail server.
func alertmanagerContainer(ctx *pulumi.Context, name string, args *MonitoringArgs, in []pulumi.ResourceOption) (*docker.Container, error) {
	img, err := image(ctx, name+"-alertmanager-image", args.Images.Alertmanager, args.Pull, in...)
	if err != nil {
		return nil, err
	}
	data, err := volume(ctx, name, args.Host.Prefix, in, "alertmanager-data", AlertmanagerDataDir)
	if err != nil {
		return nil, err
	}
	// The image's entrypoint (backend/alertmanager/entrypoint.sh) writes
	// the file into the configuration tmpfs and passes the paths above,
	// the port and no clustering (one Alertmanager per region); the
	// command adds the URL the notifications' links use. Alertmanager
	// refuses a flag given twice, so the command repeats none of the
	// entrypoint's.
	c := &docker.ContainerArgs{
		Name:             pulumi.Sprintf("%s-alertmanager", args.Host.Prefix),
		Image:            img,
		Envs:             env(nil, map[string]pulumi.StringInput{EnvAlertmanagerConfig: args.AlertmanagerConfig}),
		Command:          pulumi.ToStringArray([]string{"--web.external-url=" + args.AlertmanagerURL}),
		Mounts:           docker.ContainerMountArray{data},
		Tmpfs:            configTmpfs(AlertmanagerConfigDir, args.User),
		Labels:           configLabel(args.AlertmanagerConfig),
		NetworksAdvanced: bothNetworks(args.Host, AlertmanagerAlias),
	}
	publish(c, AlertmanagerPort, args.AlertmanagerHostPort)
	harden(c, args.User, args.AlertmanagerLimits, args.Host.Identity(labels.RoleAlertmanager))
	return docker.NewContainer(ctx, name+"-alertmanager", c, append(in, pulumi.DeleteBeforeReplace(true))...)
}

// pgExporter creates the Postgres exporter on the private network only,
// beside the database it reads. Its flags (port, extra queries) are the
// image's; the DSN is a secret variable.
func pgExporter(ctx *pulumi.Context, name string, args *MonitoringArgs, in []pulumi.ResourceOption) (*docker.Container, error) {
	img, err := image(ctx, name+"-pgexporter-image", args.Images.PGExporter, args.Pull, in...)
	if err != nil {
		return nil, err
	}
	c := &docker.ContainerArgs{
		Name:  pulumi.Sprintf("%s-pgexporter", args.Host.Prefix),
		Image: img,
		Envs:  env(nil, map[string]pulumi.StringInput{pgexporter.EnvDataSourceName: args.DatabaseURL}),
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{
			docker.ContainerNetworksAdvancedArgs{Name: args.Host.PrivateNetworkName, Aliases: pulumi.ToStringArray([]string{PGExporterAlias})},
		},
	}
	harden(c, args.User, args.ExporterLimits, args.Host.Identity(labels.RolePGExporter))
	return docker.NewContainer(ctx, name+"-pgexporter", c, append(in, pulumi.DeleteBeforeReplace(true))...)
}

// volume creates the named volume <prefix>-<suffix> and returns its mount
// at target.
func volume(ctx *pulumi.Context, name, prefix string, in []pulumi.ResourceOption, suffix, target string) (docker.ContainerMountArgs, error) {
	vol, err := docker.NewVolume(ctx, name+"-"+suffix, &docker.VolumeArgs{
		Name: pulumi.Sprintf("%s-%s", prefix, suffix),
	}, in...)
	if err != nil {
		return docker.ContainerMountArgs{}, fmt.Errorf("volume %s: %w", suffix, err)
	}
	return docker.ContainerMountArgs{
		Type:   pulumi.String("volume"),
		Source: vol.Name,
		Target: pulumi.String(target),
	}, nil
}

// configTmpfs are the tmpfs mounts of a monitoring container: the private
// /tmp of every container and dir, a small tmpfs owned by user (uid:gid)
// and closed to others, where the entrypoint writes the configuration.
func configTmpfs(dir, user string) pulumi.StringMap {
	uid, gid, _ := strings.Cut(user, ":")
	return pulumi.StringMap{
		"/tmp": pulumi.String(tmpOptions),
		dir:    pulumi.String(fmt.Sprintf("rw,noexec,nosuid,size=1m,mode=0700,uid=%s,gid=%s", uid, gid)),
	}
}

// configLabel is the labels.Config label over the contents of files: a
// truncated SHA-256 that reveals nothing of them, so it is not secret.
func configLabel(files ...pulumi.StringInput) docker.ContainerLabelArray {
	parts := pulumi.Array{}
	for _, f := range files {
		parts = append(parts, f)
	}
	digest := parts.ToArrayOutput().ApplyT(func(vals []any) string {
		strs := make([]string, 0, len(vals))
		for _, v := range vals {
			strs = append(strs, fmt.Sprint(v))
		}
		return fingerprint("monitoring config", strs...)
	}).(pulumi.StringOutput)
	return docker.ContainerLabelArray{docker.ContainerLabelArgs{
		Label: pulumi.String(labels.Config),
		Value: pulumi.Unsecret(digest).(pulumi.StringOutput),
	}}
}

// bothNetworks puts a container on the private network (where it meets the
// exporter) and the egress network (the backend replicas, the proxy, the
// tunnel, and the way out), under alias on each.
func bothNetworks(h *Region, alias string) docker.ContainerNetworksAdvancedArray {
	aliases := pulumi.ToStringArray([]string{alias})
	return docker.ContainerNetworksAdvancedArray{
		docker.ContainerNetworksAdvancedArgs{Name: h.PrivateNetworkName, Aliases: aliases},
		docker.ContainerNetworksAdvancedArgs{Name: h.EgressNetworkName, Aliases: aliases},
	}
}

// publish publishes c's port on 127.0.0.1:hostPort; nothing when hostPort
// is 0.
func publish(c *docker.ContainerArgs, port, hostPort int) {
	if hostPort == 0 {
		return
	}
	c.Ports = docker.ContainerPortArray{docker.ContainerPortArgs{
		Internal: pulumi.Int(port),
		External: pulumi.Int(hostPort),
		Ip:       pulumi.String("127.0.0.1"),
		Protocol: pulumi.String("tcp"),
	}}
}
