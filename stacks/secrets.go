package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/alert"
	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/pgbackup"
	"github.com/helloagents/infra/backend/postgres"
	"github.com/helloagents/infra/backend/server"
	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/stacks/config"
)

// secretSpec is how the platform uses one configured secret: where it goes
// in components.SecretsArgs and which containers get it under which
// variable. Its key, Config field and when it is required are
// config.SecretTable's; secretTable has the same rows in the same order (a
// test checks), so every container's secret variables and the README's
// secrets table (checked by a test) come from the two halves.
type secretSpec struct {
	key string
	// arg is its place in the Secrets component's inputs.
	arg func(*components.SecretsArgs) *string
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
	output func(s *components.Secrets, c config.Config) (pulumi.StringOutput, bool)
}

// offSite hands out one of R2's keys: R2 is the off-site store of the
// stacks behind Cloudflare; dev keeps its backups in volumes, so its
// containers never get the keys.
func offSite(out func(*components.Secrets) pulumi.StringOutput) func(*components.Secrets, config.Config) (pulumi.StringOutput, bool) {
	return func(s *components.Secrets, c config.Config) (pulumi.StringOutput, bool) {
		return out(s), c.Environment.BehindCloudflare()
	}
}

// secretTable lists the configured secrets in config.SecretTable's order.
func secretTable() []secretSpec {
	return []secretSpec{
		{key: config.KeyCloudflareAPIToken,
			arg: func(a *components.SecretsArgs) *string { return &a.CloudflareAPIToken }},
		{key: config.KeyR2AccessKeyID,
			arg: func(a *components.SecretsArgs) *string { return &a.R2AccessKeyID },
			env: map[labels.ContainerRole]string{
				labels.RoleBackup:   pgbackup.EnvAccessKeyID,
				labels.RolePostgres: postgres.EnvRepo1S3Key, labels.RolePITR: postgres.EnvRepo1S3Key},
			output: offSite(func(s *components.Secrets) pulumi.StringOutput { return s.R2AccessKeyID })},
		{key: config.KeyR2SecretAccessKey,
			arg: func(a *components.SecretsArgs) *string { return &a.R2SecretAccessKey },
			env: map[labels.ContainerRole]string{
				labels.RoleBackup:   pgbackup.EnvSecretAccessKey,
				labels.RolePostgres: postgres.EnvRepo1S3KeySecret, labels.RolePITR: postgres.EnvRepo1S3KeySecret},
			output: offSite(func(s *components.Secrets) pulumi.StringOutput { return s.R2SecretAccessKey })},
		{key: config.KeySentryDSN,
			arg: func(a *components.SecretsArgs) *string { return &a.SentryDSN },
			env: map[labels.ContainerRole]string{
				labels.RoleBackend: server.EnvSentryDSN, labels.RoleBackup: pgbackup.EnvSentryDSN, labels.RolePITR: postgres.EnvSentryDSN},
			output: func(s *components.Secrets, _ config.Config) (pulumi.StringOutput, bool) {
				return s.SentryDSN, s.HasSentryDSN
			}},
		{key: config.KeyAIAPIKey,
			arg: func(a *components.SecretsArgs) *string { return &a.AIAPIKey },
			env: map[labels.ContainerRole]string{labels.RoleBackend: server.EnvAIAPIKey},
			output: func(s *components.Secrets, _ config.Config) (pulumi.StringOutput, bool) {
				return s.AIAPIKey, s.HasAIAPIKey
			}},
		{key: config.KeyRegistryPassword,
			arg: func(a *components.SecretsArgs) *string { return &a.RegistryPassword }},
		{key: config.KeyAlertWebhookURL,
			arg:    func(a *components.SecretsArgs) *string { return &a.AlertWebhookURL },
			env:    map[labels.ContainerRole]string{labels.RoleBackup: alert.EnvURL, labels.RolePITR: alert.EnvURL},
			inFile: map[labels.ContainerRole]string{labels.RoleAlertmanager: components.EnvAlertmanagerConfig},
			output: func(s *components.Secrets, _ config.Config) (pulumi.StringOutput, bool) {
				return s.AlertWebhookURL, s.HasAlertWebhookURL
			}},
		// Rendered into prometheus.yml and alertmanager.yml (passed as
		// secret variables), never a variable of their own.
		{key: config.KeyMonitoringRemoteWritePassword,
			arg:    func(a *components.SecretsArgs) *string { return &a.MonitoringRemoteWritePassword },
			inFile: map[labels.ContainerRole]string{labels.RolePrometheus: components.EnvPrometheusConfig}},
		{key: config.KeyMonitoringSMTPPassword,
			arg:    func(a *components.SecretsArgs) *string { return &a.MonitoringSMTPPassword },
			inFile: map[labels.ContainerRole]string{labels.RoleAlertmanager: components.EnvAlertmanagerConfig}},
	}
}

// secretArgs hands every configured secret to the Secrets component, which
// turns each into a Pulumi secret output.
func secretArgs(s config.Secrets, into *components.SecretsArgs) {
	for _, spec := range secretTable() {
		*spec.arg(into) = s.Get(spec.key).Reveal()
	}
}

// secretEnv is the configured secrets containers of role get in c, by
// variable: every row that names the role and that c hands out.
func secretEnv(role labels.ContainerRole, secrets *components.Secrets, c config.Config) map[string]pulumi.StringInput {
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
