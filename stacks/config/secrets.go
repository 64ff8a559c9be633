package config

// SecretSpec is one configured secret as the configuration sees it: its key,
// its place in Secrets and when a stack must set it. Keys, SecretKeys,
// Parse and validation come from SecretTable; how the platform hands each
// secret to its containers is package stacks' half of the table, which a
// test there keeps in the same order.
type SecretSpec struct {
	Key string
	// Field is the secret's place in Config.Secrets.
	Field func(*Secrets) *Secret
	// Required reports whether c must set it; validateSecrets asks it
	// outside dev only, where nothing may run unauthenticated.
	Required func(c Config) bool
}

// Conditions of SecretTable's rows.
func always(Config) bool { return true }
func never(Config) bool  { return false }

// SecretTable lists the configured secrets in the README table's order.
func SecretTable() []SecretSpec {
	return []SecretSpec{
		{Key: KeyCloudflareAPIToken, Field: func(s *Secrets) *Secret { return &s.CloudflareAPIToken }, Required: always},
		{Key: KeyR2AccessKeyID, Field: func(s *Secrets) *Secret { return &s.R2AccessKeyID }, Required: always},
		{Key: KeyR2SecretAccessKey, Field: func(s *Secrets) *Secret { return &s.R2SecretAccessKey }, Required: always},
		{Key: KeySentryDSN, Field: func(s *Secrets) *Secret { return &s.SentryDSN }, Required: always},
		{Key: KeyAIAPIKey, Field: func(s *Secrets) *Secret { return &s.AIAPIKey }, Required: always},
		// Staging pushes; any environment with a registry user pulls with it.
		{Key: KeyRegistryPassword, Field: func(s *Secrets) *Secret { return &s.RegistryPassword },
			Required: func(c Config) bool { return c.Environment.PushesImages() || c.Backend.RegistryUsername != "" }},
		// Required only as the alternative to alert emails (validateAlerts).
		{Key: KeyAlertWebhookURL, Field: func(s *Secrets) *Secret { return &s.AlertWebhookURL }, Required: never},
		// Required with their usernames (validateMonitoring).
		{Key: KeyMonitoringRemoteWritePassword, Field: func(s *Secrets) *Secret { return &s.MonitoringRemoteWritePassword },
			Required: never},
		{Key: KeyMonitoringSMTPPassword, Field: func(s *Secrets) *Secret { return &s.MonitoringSMTPPassword },
			Required: never},
	}
}

// secrets picks the credentials out of raw.
func secrets(raw map[string]string) Secrets {
	var s Secrets
	for _, spec := range SecretTable() {
		*spec.Field(&s) = Secret(raw[full(spec.Key)])
	}
	return s
}

// Get is the secret of key (without the namespace); "" for a key that
// names no secret.
func (s Secrets) Get(key string) Secret {
	for _, spec := range SecretTable() {
		if spec.Key == key {
			return *spec.Field(&s)
		}
	}
	return ""
}
