package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/components"
)

// secretSpec is one configured secret, described once: its key, where it
// lives in Secrets and components.SecretsArgs, and when a stack must set it.
// Keys, SecretKeys, Parse, validation, the Secrets component's inputs and
// the README's secrets table (checked by a test) all come from secretTable.
type secretSpec struct {
	key string
	// field is the secret's place in Config.Secrets.
	field func(*Secrets) *Secret
	// arg is its place in the Secrets component's inputs.
	arg func(*components.SecretsArgs) *string
	// required reports whether c must set it; validateSecrets asks it
	// outside dev only, where nothing may run unauthenticated.
	required func(c Config) bool
	// backendEnv is the backend container's variable that carries it
	// (empty: the backend does not get it) and output the Pulumi secret
	// the Secrets component made of it (false: not configured).
	backendEnv string
	output     func(*components.Secrets) (pulumi.StringOutput, bool)
}

// secretTable lists the configured secrets in the README table's order.
func secretTable() []secretSpec {
	always := func(Config) bool { return true }
	never := func(Config) bool { return false }
	return []secretSpec{
		{keyCloudflareAPIToken, func(s *Secrets) *Secret { return &s.CloudflareAPIToken },
			func(a *components.SecretsArgs) *string { return &a.CloudflareAPIToken }, always, "", nil},
		{keyR2AccessKeyID, func(s *Secrets) *Secret { return &s.R2AccessKeyID },
			func(a *components.SecretsArgs) *string { return &a.R2AccessKeyID }, always, "", nil},
		{keyR2SecretAccessKey, func(s *Secrets) *Secret { return &s.R2SecretAccessKey },
			func(a *components.SecretsArgs) *string { return &a.R2SecretAccessKey }, always, "", nil},
		{keySentryDSN, func(s *Secrets) *Secret { return &s.SentryDSN },
			func(a *components.SecretsArgs) *string { return &a.SentryDSN }, always,
			"SENTRY_DSN", func(s *components.Secrets) (pulumi.StringOutput, bool) { return s.SentryDSN, s.HasSentryDSN }},
		{keyAIAPIKey, func(s *Secrets) *Secret { return &s.AIAPIKey },
			func(a *components.SecretsArgs) *string { return &a.AIAPIKey }, always,
			"AI_API_KEY", func(s *components.Secrets) (pulumi.StringOutput, bool) { return s.AIAPIKey, s.HasAIAPIKey }},
		// Staging pushes; any environment with a registry user pulls with it.
		{keyRegistryPassword, func(s *Secrets) *Secret { return &s.RegistryPassword },
			func(a *components.SecretsArgs) *string { return &a.RegistryPassword },
			func(c Config) bool { return c.Environment.PushesImages() || c.Backend.RegistryUsername != "" }, "", nil},
		// Required only as the alternative to alert emails (validateAlerts).
		{keyAlertWebhookURL, func(s *Secrets) *Secret { return &s.AlertWebhookURL },
			func(a *components.SecretsArgs) *string { return &a.AlertWebhookURL }, never, "", nil},
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

// backendSecretEnv is the backend's secret variables: every configured
// secret the table hands to the backend, plus its database URL.
func backendSecretEnv(secrets *components.Secrets, databaseURL pulumi.StringInput) map[string]pulumi.StringInput {
	env := map[string]pulumi.StringInput{"DATABASE_URL": databaseURL}
	for _, spec := range secretTable() {
		if spec.backendEnv == "" {
			continue
		}
		if out, ok := spec.output(secrets); ok {
			env[spec.backendEnv] = out
		}
	}
	return env
}
