// Package pack assembles the rules of package rules into the HelloAgents
// CrossGuard policy pack (policyx, experimental in Pulumi v3.274.1).
//
// policyx ignores the pack-level enforcement level, so every policy carries
// its own, chosen per environment when the engine configures the stack
// (ConfigureStack builds the pack, see FromContext). policyx also hands
// configuration only to resource policies (StackValidationArgs has no Config
// and no stack tags), which is why every configurable check is a resource
// policy and the stack policies take no config.
package pack

import (
	"context"
	"fmt"

	"github.com/blang/semver"
	"github.com/helloagents/infra/policy/rules"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// Name and Version identify the pack (PulumiPolicy.yaml and Pulumi Cloud).
const (
	Name    = "helloagents-guardrails"
	Version = "0.1.0"
)

// EnvironmentKey is the stack config key that names the environment.
const EnvironmentKey = "helloagents:environment"

// ResourceRule checks one resource.
type ResourceRule func(policyx.AnalyzerResource, rules.Context) []string

// StackRule checks the whole resource graph.
type StackRule func([]policyx.AnalyzerResource, rules.Context) []rules.Finding

// Spec describes one policy of the pack. Exactly one of Resource and Stack is set.
type Spec struct {
	Name        string
	Description string
	// Level is the enforcement level in an environment.
	Level    func(rules.Env) policyx.EnforcementLevel
	Schema   *policyx.ConfigSchema
	Resource ResourceRule
	Stack    StackRule
}

func always(l policyx.EnforcementLevel) func(rules.Env) policyx.EnforcementLevel {
	return func(rules.Env) policyx.EnforcementLevel { return l }
}

// advisoryInDev is mandatory everywhere but dev.
func advisoryInDev(e rules.Env) policyx.EnforcementLevel {
	if e.Local() {
		return policyx.EnforcementLevelAdvisory
	}
	return policyx.EnforcementLevelMandatory
}

var mandatory = always(policyx.EnforcementLevelMandatory)

// Specs lists every policy of the pack, in the order the engine reports them.
func Specs() []Spec {
	return []Spec{
		containersRunAsNonRoot(),
		imagesRunAsNonRoot(),
		containersLeastPrivilege(),
		containersReadOnlyRoot(),
		containersDrainBeforeKill(),
		httpsOnly(),
		httpsZoneSettingsManaged(),
		secretsAreSecret(),
		backupsConfigured(),
		backupsRetention(),
		healthChecksConfigured(),
		alertsHaveDestination(),
		monitoringBehindAccess(),
	}
}

// schema is a config schema of one property (policyx hands config to
// resource policies only).
func schema(key string, property map[string]any) *policyx.ConfigSchema {
	return &policyx.ConfigSchema{Properties: map[string]map[string]any{key: property}}
}

func containersRunAsNonRoot() Spec {
	return Spec{
		Name:        "containers-run-as-non-root",
		Description: "Every Docker container sets `user` to a numeric non-root uid.",
		Level:       mandatory,
		Resource:    rules.ContainersRunAsNonRoot,
	}
}

func imagesRunAsNonRoot() Spec {
	return Spec{
		Name:        "images-run-as-non-root",
		Description: "Every image built from a Dockerfile ends its built stage with a non-root USER.",
		Level:       mandatory,
		Resource:    rules.ImagesRunAsNonRoot,
	}
}

func containersLeastPrivilege() Spec {
	return Spec{
		Name:        "containers-least-privilege",
		Description: "Containers are not privileged, add no capabilities outside the allow-list and use no host network/PID namespace outside dev.",
		Level:       mandatory,
		Schema: schema(rules.ConfigAllowedCapabilities, map[string]any{
			"type":        "array",
			"items":       map[string]any{"type": "string", "pattern": "^(CAP_)?[A-Za-z_]+$"},
			"default":     []any{},
			"description": "Linux capabilities a container may add (e.g. NET_BIND_SERVICE).",
		}),
		Resource: rules.ContainersLeastPrivilege,
	}
}

func containersReadOnlyRoot() Spec {
	return Spec{
		Name:        "containers-read-only-root-filesystem",
		Description: "Containers run with a read-only root filesystem (advisory in dev).",
		Level:       advisoryInDev,
		Resource:    rules.ContainersReadOnlyRoot,
	}
}

func containersDrainBeforeKill() Spec {
	return Spec{
		Name:        "containers-drain-before-kill",
		Description: "Serving containers (backend, proxy, cloudflared) set destroyGraceSeconds to at least the drain their variables ask for: without it the docker provider kills them at once on replace and destroy.",
		Level:       mandatory,
		Resource:    rules.ContainersDrainBeforeKill,
	}
}

func httpsOnly() Spec {
	return Spec{
		Name:        "https-only",
		Description: "Zones force HTTPS with a modern minimum TLS and strict SSL, web records are proxied, probes use HTTPS, and URLs handed to the backend and frontend are https:// (loopback excepted in dev).",
		Level:       mandatory,
		Schema: schema(rules.ConfigMinimumTLSVersion, map[string]any{
			"type":        "string",
			"enum":        []any{"1.0", "1.1", "1.2", "1.3"},
			"default":     "1.2",
			"description": "Lowest Cloudflare minimum TLS version accepted.",
		}),
		Resource: rules.HTTPSOnly,
	}
}

func httpsZoneSettingsManaged() Spec {
	return Spec{
		Name:        "https-zone-settings-managed",
		Description: "A stack that publishes DNS names in a zone also manages that zone's HTTPS settings.",
		Level:       mandatory,
		Stack:       rules.ZonesHaveHTTPSSettings,
	}
}

func secretsAreSecret() Spec {
	return Spec{
		Name:        "secrets-are-secret",
		Description: "Values named like secrets (password, secret, token, key, DSN, DATABASE_URL) are Pulumi secrets.",
		Level:       mandatory,
		Resource:    rules.SecretsAreSecret,
	}
}

func backupsConfigured() Spec {
	return Spec{
		Name:        "backups-configured",
		Description: "Every PostgreSQL has a backup job on its Docker host, writing off-host outside dev.",
		Level:       advisoryInDev,
		Stack:       rules.BackupsConfigured,
	}
}

func backupsRetention() Spec {
	return Spec{
		Name:        "backups-retention",
		Description: "Backup jobs outside dev keep backups for at least the configured number of days.",
		Level:       advisoryInDev,
		Schema: schema(rules.ConfigMinimumRetentionDays, map[string]any{
			"type":        "integer",
			"minimum":     1,
			"default":     7,
			"description": "Shortest BACKUP_RETENTION_DAYS accepted.",
		}),
		Resource: rules.BackupRetention,
	}
}

func healthChecksConfigured() Spec {
	return Spec{
		Name:        "health-checks-configured",
		Description: "Backend containers have a healthcheck and every load balancer pool has a monitor.",
		Level:       mandatory,
		Resource:    rules.HealthChecksConfigured,
	}
}

func alertsHaveDestination() Spec {
	return Spec{
		Name:        "alerts-have-destination",
		Description: "Outside dev every load balancer pool, health check and tunnel has a notification policy of its alert type, and every notification policy has a destination.",
		Level:       mandatory,
		Stack:       rules.AlertsHaveDestination,
	}
}

func monitoringBehindAccess() Spec {
	return Spec{
		Name:        "monitoring-behind-access",
		Description: "Every hostname a tunnel routes to a monitoring service (Prometheus, Alertmanager, the Postgres exporter) is covered by a Cloudflare Access application with at least one policy.",
		Level:       mandatory,
		Stack:       rules.MonitoringBehindAccess,
	}
}

// Options tune New.
type Options struct {
	// ProgramDir is where relative docker build paths are resolved (see
	// rules.Settings.ProgramDir); empty means the working directory.
	ProgramDir string
}

// New builds the pack for an environment.
func New(env rules.Env, opts Options) (policyx.PolicyPack, error) {
	specs := Specs()
	policies := make([]policyx.Policy, 0, len(specs))
	for _, s := range specs {
		policies = append(policies, policy(s, env, opts))
	}
	return policyx.NewPolicyPack(Name, semver.MustParse(Version), policyx.EnforcementLevelMandatory, policies)
}

// FromContext builds the pack for the stack the engine is configuring: the
// environment comes from the stack's `helloagents:environment` config, else
// from the stack name (rules.DetectEnv).
func FromContext(ctx *pulumi.Context) (policyx.PolicyPack, error) {
	env, err := rules.DetectEnv(ctx.Stack(), config.Get(ctx, EnvironmentKey))
	if err != nil {
		return nil, fmt.Errorf("stack %q: %s: %w", ctx.Stack(), EnvironmentKey, err)
	}
	return New(env, Options{})
}

// policy binds a spec to an environment: its level there, and rules that
// run with that environment and the policy's settings.
func policy(s Spec, env rules.Env, opts Options) policyx.Policy {
	b := binding{spec: s, env: env, opts: opts}
	if s.Stack != nil {
		return b.stackPolicy()
	}
	return b.resourcePolicy()
}

// binding is a spec in one environment with the pack's options.
type binding struct {
	spec Spec
	env  rules.Env
	opts Options
}

// context is what a rule sees: the environment and the default settings
// with the program directory, overridden by the policy's config.
func (b binding) context(cfg map[string]any) (rules.Context, error) {
	st := rules.DefaultSettings()
	st.ProgramDir = b.opts.ProgramDir
	st, err := st.WithConfig(cfg)
	if err != nil {
		return rules.Context{}, fmt.Errorf("policy %s: %w", b.spec.Name, err)
	}
	return rules.Context{Env: b.env, Settings: st}, nil
}

// stackPolicy reports each finding on the resource it names; stack
// policies get no config from policyx, so they run on the defaults.
func (b binding) stackPolicy() policyx.Policy {
	rule := b.spec.Stack
	return policyx.NewStackValidationPolicy(b.spec.Name, policyx.StackValidationPolicyArgs{
		Description:      b.spec.Description,
		EnforcementLevel: b.spec.Level(b.env),
		ConfigSchema:     b.spec.Schema,
		ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) error {
			c, err := b.context(nil)
			if err != nil {
				return err
			}
			for _, f := range rule(args.Resources, c) {
				args.Manager.ReportViolation(f.Message, f.URN)
			}
			return nil
		},
	})
}

// resourcePolicy reports each message on the resource under analysis.
func (b binding) resourcePolicy() policyx.Policy {
	rule := b.spec.Resource
	return policyx.NewResourceValidationPolicy(b.spec.Name, policyx.ResourceValidationPolicyArgs{
		Description:      b.spec.Description,
		EnforcementLevel: b.spec.Level(b.env),
		ConfigSchema:     b.spec.Schema,
		ValidateResource: func(_ context.Context, args policyx.ResourceValidationArgs) error {
			c, err := b.context(args.Config)
			if err != nil {
				return err
			}
			for _, msg := range rule(args.Resource, c) {
				args.Manager.ReportViolation(msg, "")
			}
			return nil
		},
	})
}
