package stacks

import (
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
}

// secretTable lists the configured secrets in the README table's order.
func secretTable() []secretSpec {
	always := func(Config) bool { return true }
	never := func(Config) bool { return false }
	return []secretSpec{
		{keyCloudflareAPIToken, func(s *Secrets) *Secret { return &s.CloudflareAPIToken },
			func(a *components.SecretsArgs) *string { return &a.CloudflareAPIToken }, always},
		{keyR2AccessKeyID, func(s *Secrets) *Secret { return &s.R2AccessKeyID },
			func(a *components.SecretsArgs) *string { return &a.R2AccessKeyID }, always},
		{keyR2SecretAccessKey, func(s *Secrets) *Secret { return &s.R2SecretAccessKey },
			func(a *components.SecretsArgs) *string { return &a.R2SecretAccessKey }, always},
		{keySentryDSN, func(s *Secrets) *Secret { return &s.SentryDSN },
			func(a *components.SecretsArgs) *string { return &a.SentryDSN }, always},
		{keyAIAPIKey, func(s *Secrets) *Secret { return &s.AIAPIKey },
			func(a *components.SecretsArgs) *string { return &a.AIAPIKey }, always},
		// Staging pushes; any environment with a registry user pulls with it.
		{keyRegistryPassword, func(s *Secrets) *Secret { return &s.RegistryPassword },
			func(a *components.SecretsArgs) *string { return &a.RegistryPassword },
			func(c Config) bool { return c.Environment.PushesImages() || c.Backend.RegistryUsername != "" }},
		// Required only as the alternative to alert emails (validateAlerts).
		{keyAlertWebhookURL, func(s *Secrets) *Secret { return &s.AlertWebhookURL },
			func(a *components.SecretsArgs) *string { return &a.AlertWebhookURL }, never},
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
