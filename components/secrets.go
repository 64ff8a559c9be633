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
}

// NewSecrets generates and collects the platform's secrets.
func NewSecrets(ctx *pulumi.Context, name string, args *SecretsArgs, opts ...pulumi.ResourceOption) (*Secrets, error) {
	s := &Secrets{TunnelSecrets: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource("helloagents:secrets:Secrets", name, s, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(s)
	// Alphanumeric only: the password is embedded in DATABASE_URL.
	pw, err := random.NewRandomPassword(ctx, name+"-db-password", &random.RandomPasswordArgs{
		Length:  pulumi.Int(32),
		Special: pulumi.Bool(false),
	}, child, pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(fmt.Sprintf("%s-db-password-%s", name, args.Primary))}}))
	if err != nil {
		return nil, fmt.Errorf("database password: %w", err)
	}
	s.DatabasePassword = pulumi.ToSecret(pw.Result).(pulumi.StringOutput)
	for _, region := range args.Regions {
		if args.Tunnels {
			// Cloudflare wants at least 32 random bytes, base64-encoded.
			id, err := random.NewRandomId(ctx, fmt.Sprintf("%s-tunnel-secret-%s", name, region), &random.RandomIdArgs{
				ByteLength: pulumi.Int(32),
			}, child)
			if err != nil {
				return nil, fmt.Errorf("tunnel secret for region %s: %w", region, err)
			}
			s.TunnelSecrets[region] = pulumi.ToSecret(id.B64Std).(pulumi.StringOutput)
		}
	}
	generated := 1 + len(s.TunnelSecrets)
	if args.RepositoryPassphrase {
		pw, err := random.NewRandomPassword(ctx, name+"-repository-passphrase", &random.RandomPasswordArgs{
			Length:  pulumi.Int(48),
			Special: pulumi.Bool(false),
		}, child)
		if err != nil {
			return nil, fmt.Errorf("repository passphrase: %w", err)
		}
		s.RepositoryPassphrase = pulumi.ToSecret(pw.Result).(pulumi.StringOutput)
		generated++
	}
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
	// Only the count is registered: the values must not become outputs.
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{
		"generated": pulumi.Int(generated),
	}); err != nil {
		return nil, err
	}
	return s, nil
}
