package components

import (
	"fmt"

	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// SecretsArgs are the inputs of Secrets: the credentials an operator set with
// `pulumi config set --secret` (empty when unset) and what to generate.
type SecretsArgs struct {
	// Regions get one tunnel secret each (with Tunnels).
	Regions []string
	// Primary is the region whose database password, generated per region
	// before the stack had one database, becomes the stack's: the
	// password's former name (<name>-db-password-<Primary>) is its alias,
	// so a single-region stack keeps its password and its URN history, and
	// a multi-region stack keeps the primary's, which the standbys inherit
	// when they are restored from the primary's backups.
	Primary string
	// Tunnels generates one Cloudflare Tunnel secret per region.
	Tunnels bool
	// RepositoryPassphrase generates the passphrase that encrypts the
	// stack's pgBackRest repositories (one per stack, so any region can
	// read another's WAL).
	RepositoryPassphrase bool

	AIAPIKey           string
	SentryDSN          string
	CloudflareAPIToken string
	R2AccessKeyID      string
	R2SecretAccessKey  string
	RegistryPassword   string
	AlertWebhookURL    string
	// The monitoring's credentials: Prometheus's remote_write password and
	// Alertmanager's SMTP password.
	MonitoringRemoteWritePassword string
	MonitoringSMTPPassword        string
}

// Secrets is the one place that generates (random) and collects (config)
// every secret of the platform and hands each out as a Pulumi secret output,
// so no component ever sees a credential as a plain string and none ends up
// in the state or a preview in clear text.
type Secrets struct {
	pulumi.ResourceState

	// DatabasePassword is the stack's one database password: every region
	// runs a copy of the primary's cluster, so every DATABASE_URL carries it.
	DatabasePassword pulumi.StringOutput
	// TunnelSecrets are keyed by region name.
	TunnelSecrets map[string]pulumi.StringOutput
	// RepositoryPassphrase encrypts the pgBackRest repositories; unset
	// (zero) unless requested.
	RepositoryPassphrase pulumi.StringOutput

	// Collected secrets; the Has* flags say whether the operator set them.
	AIAPIKey           pulumi.StringOutput
	SentryDSN          pulumi.StringOutput
	CloudflareAPIToken pulumi.StringOutput
	R2AccessKeyID      pulumi.StringOutput
	R2SecretAccessKey  pulumi.StringOutput
	RegistryPassword   pulumi.StringOutput
	HasAIAPIKey        bool
	HasSentryDSN       bool
	HasRegistry        bool
	// AlertWebhookURL is the alert webhook (its URL is its credential).
	AlertWebhookURL    pulumi.StringOutput
	HasAlertWebhookURL bool
	// MonitoringRemoteWritePassword and MonitoringSMTPPassword go into the
	// rendered Prometheus and Alertmanager files.
	MonitoringRemoteWritePassword pulumi.StringOutput
	MonitoringSMTPPassword        pulumi.StringOutput
}

// NewSecrets generates and collects the platform's secrets.
func NewSecrets(ctx *pulumi.Context, name string, args *SecretsArgs, opts ...pulumi.ResourceOption) (*Secrets, error) {
	s := &Secrets{TunnelSecrets: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource("helloagents:secrets:Secrets", name, s, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(s)
	var err error
	if s.DatabasePassword, err = databasePassword(ctx, name, args.Primary, child); err != nil {
		return nil, err
	}
	if args.Tunnels {
		if err := tunnelSecrets(ctx, name, args.Regions, s.TunnelSecrets, child); err != nil {
			return nil, err
		}
	}
	generated := 1 + len(s.TunnelSecrets)
	if args.RepositoryPassphrase {
		if s.RepositoryPassphrase, err = repositoryPassphrase(ctx, name, child); err != nil {
			return nil, err
		}
		generated++
	}
	s.collected(args)
	// Only the count is registered: the values must not become outputs.
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{
		"generated": pulumi.Int(generated),
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// databasePassword is the stack's one database password, aliased to its
// per-region name of old (see SecretsArgs.Primary). Alphanumeric only: it
// is embedded in DATABASE_URL.
func databasePassword(ctx *pulumi.Context, name, primary string, child pulumi.ResourceOption) (pulumi.StringOutput, error) {
	pw, err := random.NewRandomPassword(ctx, name+"-db-password", &random.RandomPasswordArgs{
		Length:  pulumi.Int(32),
		Special: pulumi.Bool(false),
	}, child, pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(fmt.Sprintf("%s-db-password-%s", name, primary))}}))
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("database password: %w", err)
	}
	return pulumi.ToSecret(pw.Result).(pulumi.StringOutput), nil
}

// tunnelSecrets generates one Cloudflare Tunnel secret per region into
// secrets, keyed by region. Cloudflare wants at least 32 random bytes,
// base64-encoded.
func tunnelSecrets(ctx *pulumi.Context, name string, regions []string, secrets map[string]pulumi.StringOutput, child pulumi.ResourceOption) error {
	for _, region := range regions {
		id, err := random.NewRandomId(ctx, fmt.Sprintf("%s-tunnel-secret-%s", name, region), &random.RandomIdArgs{
			ByteLength: pulumi.Int(32),
		}, child)
		if err != nil {
			return fmt.Errorf("tunnel secret for region %s: %w", region, err)
		}
		secrets[region] = pulumi.ToSecret(id.B64Std).(pulumi.StringOutput)
	}
	return nil
}

// repositoryPassphrase is the passphrase of the stack's pgBackRest
// repositories.
func repositoryPassphrase(ctx *pulumi.Context, name string, child pulumi.ResourceOption) (pulumi.StringOutput, error) {
	pw, err := random.NewRandomPassword(ctx, name+"-repository-passphrase", &random.RandomPasswordArgs{
		Length:  pulumi.Int(48),
		Special: pulumi.Bool(false),
	}, child)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("repository passphrase: %w", err)
	}
	return pulumi.ToSecret(pw.Result).(pulumi.StringOutput), nil
}

// collected wraps the operator's configured secrets as secret outputs, an
// unset one as a secret empty string, and records which were set.
func (s *Secrets) collected(args *SecretsArgs) {
	secret := func(v string) pulumi.StringOutput {
		return pulumi.ToSecret(pulumi.String(v)).(pulumi.StringOutput)
	}
	s.AIAPIKey, s.HasAIAPIKey = secret(args.AIAPIKey), args.AIAPIKey != ""
	s.SentryDSN, s.HasSentryDSN = secret(args.SentryDSN), args.SentryDSN != ""
	s.CloudflareAPIToken = secret(args.CloudflareAPIToken)
	s.R2AccessKeyID = secret(args.R2AccessKeyID)
	s.R2SecretAccessKey = secret(args.R2SecretAccessKey)
	s.RegistryPassword, s.HasRegistry = secret(args.RegistryPassword), args.RegistryPassword != ""
	s.AlertWebhookURL, s.HasAlertWebhookURL = secret(args.AlertWebhookURL), args.AlertWebhookURL != ""
	s.MonitoringRemoteWritePassword = secret(args.MonitoringRemoteWritePassword)
	s.MonitoringSMTPPassword = secret(args.MonitoringSMTPPassword)
}
