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

// Specs lists every policy of the pack.
func Specs() []Spec {
	return []Spec{
		{
			Name:        "containers-run-as-non-root",
			Description: "Every Docker container sets `user` to a numeric non-root uid.",
			Level:       mandatory,
			Resource:    rules.ContainersRunAsNonRoot,
		},
		{
			Name:        "images-run-as-non-root",
			Description: "Every image built from a Dockerfile ends its built stage with a non-root USER.",
			Level:       mandatory,
			Resource:    rules.ImagesRunAsNonRoot,
		},
		{
			Name:        "containers-least-privilege",
			Description: "Containers are not privileged, add no capabilities outside the allow-list and use no host network/PID namespace outside dev.",
			Level:       mandatory,
			Schema: &policyx.ConfigSchema{Properties: map[string]map[string]any{
				rules.ConfigAllowedCapabilities: {
					"type":        "array",
					"items":       map[string]any{"type": "string", "pattern": "^(CAP_)?[A-Za-z_]+$"},
					"default":     []any{},
					"description": "Linux capabilities a container may add (e.g. NET_BIND_SERVICE).",
				},
			}},
			Resource: rules.ContainersLeastPrivilege,
		},
		{
			Name:        "containers-read-only-root-filesystem",
			Description: "Containers run with a read-only root filesystem (advisory in dev).",
			Level:       advisoryInDev,
			Resource:    rules.ContainersReadOnlyRoot,
		},
		{
			Name:        "https-only",
			Description: "Zones force HTTPS with a modern minimum TLS and strict SSL, web records are proxied, probes use HTTPS, and URLs handed to the backend and frontend are https:// (loopback excepted in dev).",
			Level:       mandatory,
			Schema: &policyx.ConfigSchema{Properties: map[string]map[string]any{
				rules.ConfigMinimumTLSVersion: {
					"type":        "string",
					"enum":        []any{"1.0", "1.1", "1.2", "1.3"},
					"default":     "1.2",
					"description": "Lowest Cloudflare minimum TLS version accepted.",
				},
			}},
			Resource: rules.HTTPSOnly,
		},
		{
			Name:        "https-zone-settings-managed",
			Description: "A stack that publishes DNS names in a zone also manages that zone's HTTPS settings.",
			Level:       mandatory,
			Stack:       rules.ZonesHaveHTTPSSettings,
		},
		{
			Name:        "secrets-are-secret",
			Description: "Values named like secrets (password, secret, token, key, DSN, DATABASE_URL) are Pulumi secrets.",
			Level:       mandatory,
			Resource:    rules.SecretsAreSecret,
		},
		{
			Name:        "backups-configured",
			Description: "Every PostgreSQL has a backup job on its Docker host, writing off-host outside dev.",
			Level:       advisoryInDev,
			Stack:       rules.BackupsConfigured,
		},
		{
			Name:        "backups-retention",
			Description: "Backup jobs outside dev keep backups for at least the configured number of days.",
			Level:       advisoryInDev,
			Schema: &policyx.ConfigSchema{Properties: map[string]map[string]any{
				rules.ConfigMinimumRetentionDays: {
					"type":        "integer",
					"minimum":     1,
					"default":     7,
					"description": "Shortest BACKUP_RETENTION_DAYS accepted.",
				},
			}},
			Resource: rules.BackupRetention,
		},
		{
			Name:        "health-checks-configured",
			Description: "Backend containers have a healthcheck and every load balancer pool has a monitor.",
			Level:       mandatory,
			Resource:    rules.HealthChecksConfigured,
		},
		{
			Name:        "alerts-have-destination",
			Description: "Outside dev every load balancer pool, health check and tunnel has a notification policy of its alert type, and every notification policy has a destination.",
			Level:       mandatory,
			Stack:       rules.AlertsHaveDestination,
		},
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

func policy(s Spec, env rules.Env, opts Options) policyx.Policy {
	settingsFor := func(cfg map[string]any) (rules.Settings, error) {
		st := rules.DefaultSettings()
		st.ProgramDir = opts.ProgramDir
		st, err := st.WithConfig(cfg)
		if err != nil {
			return st, fmt.Errorf("policy %s: %w", s.Name, err)
		}
		return st, nil
	}
	if s.Stack != nil {
		rule := s.Stack
		return policyx.NewStackValidationPolicy(s.Name, policyx.StackValidationPolicyArgs{
			Description:      s.Description,
			EnforcementLevel: s.Level(env),
			ConfigSchema:     s.Schema,
			ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) error {
				st, err := settingsFor(nil)
				if err != nil {
					return err
				}
				for _, f := range rule(args.Resources, rules.Context{Env: env, Settings: st}) {
					args.Manager.ReportViolation(f.Message, f.URN)
				}
				return nil
			},
		})
	}
	rule := s.Resource
	return policyx.NewResourceValidationPolicy(s.Name, policyx.ResourceValidationPolicyArgs{
		Description:      s.Description,
		EnforcementLevel: s.Level(env),
		ConfigSchema:     s.Schema,
		ValidateResource: func(_ context.Context, args policyx.ResourceValidationArgs) error {
			st, err := settingsFor(args.Config)
			if err != nil {
				return err
			}
			for _, msg := range rule(args.Resource, rules.Context{Env: env, Settings: st}) {
				args.Manager.ReportViolation(msg, "")
			}
			return nil
		},
	})
}
