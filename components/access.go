package components

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// MonitoringHost is one monitoring hostname (a region's Prometheus or
// Alertmanager UI) and the tunnel of its region.
type MonitoringHost struct {
	Region   string
	Hostname string
	// TunnelCNAME is the region's <tunnel id>.cfargotunnel.com.
	TunnelCNAME pulumi.StringInput
}

// MonitoringAccessArgs configure who may reach the monitoring UIs.
type MonitoringAccessArgs struct {
	// Prefix names the Cloudflare objects ("helloagents-production").
	Prefix    string
	AccountID string
	ZoneID    string
	Hosts     []MonitoringHost
	// Emails and EmailDomains may sign in (Cloudflare Access sends a
	// one-time PIN, or the account's identity provider); at least one.
	Emails       []string
	EmailDomains []string
	// SessionDuration is how long a sign-in lasts ("24h").
	SessionDuration string
	Cloudflare      *cloudflare.Provider
}

// MonitoringAccess puts every region's monitoring hostnames behind
// Cloudflare Access: one self-hosted Access application per hostname, with
// two reusable policies, the people allowed (e-mail addresses and domains)
// and a service token for the operator tools (infra/status reads each
// region's Prometheus with it), and the hostnames' proxied DNS records,
// created only once their application exists, so no monitoring hostname
// ever resolves unprotected.
type MonitoringAccess struct {
	pulumi.ResourceState

	// ClientID and ClientSecret are the service token's credentials (the
	// CF-Access-Client-Id and CF-Access-Client-Secret headers), both
	// secrets.
	ClientID     pulumi.StringOutput
	ClientSecret pulumi.StringOutput
	// Applications maps each hostname to its Access application's id.
	Applications pulumi.StringMapOutput
}

// Access decisions (the API's names; the SDK docs print them camelCased).
const (
	accessAllow       = "allow"
	accessNonIdentity = "non_identity"
	accessSelfHosted  = "self_hosted"
)

// NewMonitoringAccess creates the token, the policies, the applications and
// the DNS records.
func NewMonitoringAccess(ctx *pulumi.Context, name string, args *MonitoringAccessArgs, opts ...pulumi.ResourceOption) (*MonitoringAccess, error) {
	if len(args.Emails) == 0 && len(args.EmailDomains) == 0 {
		return nil, errors.New("monitoring access: nobody allowed; give at least one e-mail address or domain")
	}
	a := &MonitoringAccess{}
	if err := ctx.RegisterComponentResource("helloagents:edge:MonitoringAccess", name, a, opts...); err != nil {
		return nil, err
	}
	cf := []pulumi.ResourceOption{pulumi.Parent(a), pulumi.Provider(args.Cloudflare)}
	policies, err := a.policies(ctx, name, args, cf)
	if err != nil {
		return nil, err
	}
	apps := pulumi.StringMap{}
	for _, h := range args.Hosts {
		id, err := accessApplication(ctx, name, args, h, policies, cf)
		if err != nil {
			return nil, err
		}
		apps[h.Hostname] = id
	}
	a.Applications = apps.ToStringMapOutput()
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{
		"applications": a.Applications,
		"clientId":     a.ClientID,
		"clientSecret": a.ClientSecret,
	}); err != nil {
		return nil, err
	}
	return a, nil
}

// policies creates the service token and the two reusable policies, and
// returns their ids in the order the applications list them.
func (a *MonitoringAccess) policies(ctx *pulumi.Context, name string, args *MonitoringAccessArgs, cf []pulumi.ResourceOption) (pulumi.StringArray, error) {
	token, err := cloudflare.NewZeroTrustAccessServiceToken(ctx, name+"-token", &cloudflare.ZeroTrustAccessServiceTokenArgs{
		AccountId: pulumi.String(args.AccountID),
		Name:      pulumi.String(args.Prefix + "-monitoring"),
		// Renewed by `pulumi up` within a month of its expiry (one year).
		MinDaysForRenewal: pulumi.Int(30),
	}, append(cf, pulumi.AdditionalSecretOutputs([]string{"clientId", "clientSecret"}))...)
	if err != nil {
		return nil, fmt.Errorf("monitoring service token: %w", err)
	}
	a.ClientID = pulumi.ToSecret(token.ClientId).(pulumi.StringOutput)
	a.ClientSecret = pulumi.ToSecret(token.ClientSecret).(pulumi.StringOutput)

	var people cloudflare.ZeroTrustAccessPolicyIncludeArray
	if len(args.Emails) > 0 {
		people = append(people, cloudflare.ZeroTrustAccessPolicyIncludeArgs{Emails: pulumi.ToStringArray(args.Emails)})
	}
	if len(args.EmailDomains) > 0 {
		people = append(people, cloudflare.ZeroTrustAccessPolicyIncludeArgs{EmailDomains: pulumi.ToStringArray(args.EmailDomains)})
	}
	allow, err := cloudflare.NewZeroTrustAccessPolicy(ctx, name+"-people", &cloudflare.ZeroTrustAccessPolicyArgs{
		AccountId:       pulumi.String(args.AccountID),
		Name:            pulumi.String(args.Prefix + ": monitoring, people"),
		Decision:        pulumi.String(accessAllow),
		Includes:        people,
		SessionDuration: pulumi.String(args.SessionDuration),
	}, cf...)
	if err != nil {
		return nil, fmt.Errorf("monitoring access policy: %w", err)
	}
	tools, err := cloudflare.NewZeroTrustAccessPolicy(ctx, name+"-tools", &cloudflare.ZeroTrustAccessPolicyArgs{
		AccountId: pulumi.String(args.AccountID),
		Name:      pulumi.String(args.Prefix + ": monitoring, operator tools"),
		Decision:  pulumi.String(accessNonIdentity),
		Includes: cloudflare.ZeroTrustAccessPolicyIncludeArray{cloudflare.ZeroTrustAccessPolicyIncludeArgs{
			// The token's id is no credential, but the list is named like
			// one (the pack's secrets-are-secret rule): kept secret.
			ServiceTokens: pulumi.StringArray{pulumi.ToSecret(token.ID().ToStringOutput()).(pulumi.StringOutput)},
		}},
	}, cf...)
	if err != nil {
		return nil, fmt.Errorf("monitoring service token policy: %w", err)
	}
	return pulumi.StringArray{allow.ID().ToStringOutput(), tools.ID().ToStringOutput()}, nil
}

// accessApplication protects one hostname and then publishes its DNS
// record; it returns the application's id.
func accessApplication(ctx *pulumi.Context, name string, args *MonitoringAccessArgs, h MonitoringHost,
	policies pulumi.StringArray, cf []pulumi.ResourceOption,
) (pulumi.StringOutput, error) {
	logical := fmt.Sprintf("%s-%s", name, sanitize(h.Hostname))
	app, err := cloudflare.NewZeroTrustAccessApplication(ctx, logical, &cloudflare.ZeroTrustAccessApplicationArgs{
		AccountId:       pulumi.String(args.AccountID),
		Name:            pulumi.String(fmt.Sprintf("%s: %s (region %s)", args.Prefix, h.Hostname, h.Region)),
		Domain:          pulumi.String(h.Hostname),
		Type:            pulumi.String(accessSelfHosted),
		SessionDuration: pulumi.String(args.SessionDuration),
		Policies:        policies,
		// A tool presenting a bad token gets 401, not a login page.
		ServiceAuth401Redirect: pulumi.Bool(true),
		AppLauncherVisible:     pulumi.Bool(true),
	}, cf...)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("access application %s: %w", h.Hostname, err)
	}
	if _, err := cloudflare.NewRecord(ctx, logical+"-dns", &cloudflare.RecordArgs{
		ZoneId:  pulumi.String(args.ZoneID),
		Name:    pulumi.String(h.Hostname),
		Type:    pulumi.String("CNAME"),
		Content: h.TunnelCNAME,
		Proxied: pulumi.Bool(true),
		Comment: pulumi.String("HelloAgents monitoring, region " + h.Region + " (Cloudflare Access)"),
	}, append(cf, pulumi.DependsOn([]pulumi.Resource{app}))...); err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("DNS record of %s: %w", h.Hostname, err)
	}
	return app.ID().ToStringOutput(), nil
}
