package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/alert"
	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/pgbackup"
	"github.com/helloagents/infra/backend/postgres"
	"github.com/helloagents/infra/backend/server"
	"github.com/helloagents/infra/components"
)

// secretSpec is one configured secret, described once: its key, where it
// lives in Secrets and components.SecretsArgs, when a stack must set it and
// which containers get it under which variable. Keys, SecretKeys, Parse,
// validation, the Secrets component's inputs, every container's secret
// variables and the README's secrets table (checked by a test) all come
// from secretTable.
type secretSpec struct {
	key string
	// field is the secret's place in Config.Secrets.
	field func(*Secrets) *Secret
	// arg is its place in the Secrets component's inputs.
	arg func(*components.SecretsArgs) *string
	// required reports whether c must set it; validateSecrets asks it
	// outside dev only, where nothing may run unauthenticated.
	required func(c Config) bool
	// env is the variable each container role reads it from; a role not
	// listed never gets it.
	env map[labels.ContainerRole]string
	// inFile is, for a secret rendered into a configuration file of the
	// monitoring (never a variable of its own), the variable that carries
	// that file into each container role that gets it.
	inFile map[labels.ContainerRole]string
	// output is the Pulumi secret the Secrets component made of it, and
	// whether c's containers get it (false: not configured, or of no use
	// in c's environment).
	output func(s *components.Secrets, c Config) (pulumi.StringOutput, bool)
}

// Conditions of secretTable's rows.
func always(Config) bool { return true }
func never(Config) bool  { return false }

// offSite hands out one of R2's keys: R2 is the off-site store of the
// stacks behind Cloudflare; dev keeps its backups in volumes, so its
// containers never get the keys.
func offSite(out func(*components.Secrets) pulumi.StringOutput) func(*components.Secrets, Config) (pulumi.StringOutput, bool) {
	return func(s *components.Secrets, c Config) (pulumi.StringOutput, bool) {
		return out(s), c.Environment.BehindCloudflare()
	}
}

// secretTable lists the configured secrets in the README table's order.
func secretTable() []secretSpec {
	return []secretSpec{
		{key: keyCloudflareAPIToken, field: func(s *Secrets) *Secret { return &s.CloudflareAPIToken },
			arg: func(a *components.SecretsArgs) *string { return &a.CloudflareAPIToken }, required: always},
		{key: keyR2AccessKeyID, field: func(s *Secrets) *Secret { return &s.R2AccessKeyID },
			arg: func(a *components.SecretsArgs) *string { return &a.R2AccessKeyID }, required: always,
			env: map[labels.ContainerRole]string{
				labels.RoleBackup:   pgbackup.EnvAccessKeyID,
				labels.RolePostgres: postgres.EnvRepo1S3Key, labels.RolePITR: postgres.EnvRepo1S3Key},
			output: offSite(func(s *components.Secrets) pulumi.StringOutput { return s.R2AccessKeyID })},
		{key: keyR2SecretAccessKey, field: func(s *Secrets) *Secret { return &s.R2SecretAccessKey },
			arg: func(a *components.SecretsArgs) *string { return &a.R2SecretAccessKey }, required: always,
			env: map[labels.ContainerRole]string{
				labels.RoleBackup:   pgbackup.EnvSecretAccessKey,
				labels.RolePostgres: postgres.EnvRepo1S3KeySecret, labels.RolePITR: postgres.EnvRepo1S3KeySecret},
			output: offSite(func(s *components.Secrets) pulumi.StringOutput { return s.R2SecretAccessKey })},
		{key: keySentryDSN, field: func(s *Secrets) *Secret { return &s.SentryDSN },
			arg: func(a *components.SecretsArgs) *string { return &a.SentryDSN }, required: always,
			env: map[labels.ContainerRole]string{
				labels.RoleBackend: server.EnvSentryDSN, labels.RoleBackup: pgbackup.EnvSentryDSN, labels.RolePITR: postgres.EnvSentryDSN},
			output: func(s *components.Secrets, _ Config) (pulumi.StringOutput, bool) { return s.SentryDSN, s.HasSentryDSN }},
		{key: keyAIAPIKey, field: func(s *Secrets) *Secret { return &s.AIAPIKey },
			arg: func(a *components.SecretsArgs) *string { return &a.AIAPIKey }, required: always,
			env:    map[labels.ContainerRole]string{labels.RoleBackend: server.EnvAIAPIKey},
			output: func(s *components.Secrets, _ Config) (pulumi.StringOutput, bool) { return s.AIAPIKey, s.HasAIAPIKey }},
		// Staging pushes; any environment with a registry user pulls with it.
		{key: keyRegistryPassword, field: func(s *Secrets) *Secret { return &s.RegistryPassword },
			arg:      func(a *components.SecretsArgs) *string { return &a.RegistryPassword },
			required: func(c Config) bool { return c.Environment.PushesImages() || c.Backend.RegistryUsername != "" }},
		// Required only as the alternative to alert emails (validateAlerts).
		{key: keyAlertWebhookURL, field: func(s *Secrets) *Secret { return &s.AlertWebhookURL },
			arg: func(a *components.SecretsArgs) *string { return &a.AlertWebhookURL }, required: never,
			env:    map[labels.ContainerRole]string{labels.RoleBackup: alert.EnvURL, labels.RolePITR: alert.EnvURL},
			inFile: map[labels.ContainerRole]string{labels.RoleAlertmanager: components.EnvAlertmanagerConfig},
			output: func(s *components.Secrets, _ Config) (pulumi.StringOutput, bool) {
				return s.AlertWebhookURL, s.HasAlertWebhookURL
			}},
		// Rendered into prometheus.yml and alertmanager.yml (passed as
		// secret variables), never a variable of their own; required with
		// their usernames (validateMonitoring).
		{key: keyMonitoringRemoteWritePassword, field: func(s *Secrets) *Secret { return &s.MonitoringRemoteWritePassword },
			arg:      func(a *components.SecretsArgs) *string { return &a.MonitoringRemoteWritePassword },
			required: never,
			inFile:   map[labels.ContainerRole]string{labels.RolePrometheus: components.EnvPrometheusConfig}},
		{key: keyMonitoringSMTPPassword, field: func(s *Secrets) *Secret { return &s.MonitoringSMTPPassword },
			arg:      func(a *components.SecretsArgs) *string { return &a.MonitoringSMTPPassword },
			required: never,
			inFile:   map[labels.ContainerRole]string{labels.RoleAlertmanager: components.EnvAlertmanagerConfig}},
	}
}

// secrets picks the credentials out of raw.
func secrets(raw map[string]string) Secrets {
	var s Secrets
	for _, spec := range secretTable() {
		*spec.field(&s) = Secret(raw[full(spec.key)])
	}
	return s
}

// args hands every configured secret to the Secrets component, which
// turns each into a Pulumi secret output.
func (s Secrets) args(into *components.SecretsArgs) {
	for _, spec := range secretTable() {
		*spec.arg(into) = spec.field(&s).Reveal()
	}
}

// secretEnv is the configured secrets containers of role get in c, by
// variable: every row that names the role and that c hands out.
func secretEnv(role labels.ContainerRole, secrets *components.Secrets, c Config) map[string]pulumi.StringInput {
	env := map[string]pulumi.StringInput{}
	for _, spec := range secretTable() {
		name, ok := spec.env[role]
		if !ok {
			continue
		}
		if out, ok := spec.output(secrets, c); ok {
			env[name] = out
		}
	}
	return env
}
