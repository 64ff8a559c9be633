package components

import (
	"fmt"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// FrontendArgs configure the Cloudflare Pages site.
type FrontendArgs struct {
	AccountID        string
	ZoneID           string
	ProjectName      string
	Hostname         string
	GitHubOwner      string
	GitHubRepo       string
	ProductionBranch string
	RootDir          string
	BuildCommand     string
	OutputDir        string
	// APIURLVariable carries APIURL into production and preview builds.
	APIURLVariable string
	APIURL         string
	Cloudflare     *cloudflare.Provider
}

// Frontend is the static site on Cloudflare Pages, built from GitHub on every
// push to the production branch and on every pull request (preview
// deployments), served on a custom domain behind a proxied DNS record.
type Frontend struct {
	pulumi.ResourceState

	URL pulumi.StringOutput
	// PagesSubdomain is <project>.pages.dev.
	PagesSubdomain pulumi.StringOutput
}

// NewFrontend creates the Pages project, its domain and DNS record.
func NewFrontend(ctx *pulumi.Context, name string, args *FrontendArgs, opts ...pulumi.ResourceOption) (*Frontend, error) {
	f := &Frontend{}
	if err := ctx.RegisterComponentResource("helloagents:frontend:Frontend", name, f, opts...); err != nil {
		return nil, err
	}
	cf := []pulumi.ResourceOption{pulumi.Parent(f), pulumi.Provider(args.Cloudflare)}
	project, err := cloudflare.NewPagesProject(ctx, name, pagesProjectArgs(args), cf...)
	if err != nil {
		return nil, fmt.Errorf("pages project %s: %w", args.ProjectName, err)
	}
	if err := pagesDomain(ctx, name, args, project, cf); err != nil {
		return nil, err
	}
	f.URL = pulumi.String("https://" + args.Hostname).ToStringOutput()
	f.PagesSubdomain = project.Subdomain
	if err := ctx.RegisterResourceOutputs(f, pulumi.Map{"url": f.URL, "pagesSubdomain": f.PagesSubdomain}); err != nil {
		return nil, err
	}
	return f, nil
}

// pagesProjectArgs build from the GitHub repository (production branch and
// previews) with the API URL as a build variable.
func pagesProjectArgs(args *FrontendArgs) *cloudflare.PagesProjectArgs {
	vars := pulumi.StringMap{args.APIURLVariable: pulumi.String(args.APIURL)}
	return &cloudflare.PagesProjectArgs{
		AccountId:        pulumi.String(args.AccountID),
		Name:             pulumi.String(args.ProjectName),
		ProductionBranch: pulumi.String(args.ProductionBranch),
		Source: &cloudflare.PagesProjectSourceArgs{
			Type: pulumi.String("github"),
			Config: &cloudflare.PagesProjectSourceConfigArgs{
				Owner:                       pulumi.String(args.GitHubOwner),
				RepoName:                    pulumi.String(args.GitHubRepo),
				ProductionBranch:            pulumi.String(args.ProductionBranch),
				ProductionDeploymentEnabled: pulumi.Bool(true),
				DeploymentsEnabled:          pulumi.Bool(true),
				PrCommentsEnabled:           pulumi.Bool(true),
				PreviewDeploymentSetting:    pulumi.String("all"),
			},
		},
		BuildConfig: &cloudflare.PagesProjectBuildConfigArgs{
			BuildCommand:   pulumi.String(args.BuildCommand),
			DestinationDir: pulumi.String(args.OutputDir),
			RootDir:        pulumi.String(args.RootDir),
			BuildCaching:   pulumi.Bool(true),
		},
		DeploymentConfigs: &cloudflare.PagesProjectDeploymentConfigsArgs{
			Production: &cloudflare.PagesProjectDeploymentConfigsProductionArgs{EnvironmentVariables: vars},
			Preview:    &cloudflare.PagesProjectDeploymentConfigsPreviewArgs{EnvironmentVariables: vars},
		},
	}
}

// pagesDomain serves the project on args.Hostname: the Pages custom domain
// and the proxied CNAME to the project's pages.dev subdomain.
func pagesDomain(ctx *pulumi.Context, name string, args *FrontendArgs, project *cloudflare.PagesProject, cf []pulumi.ResourceOption) error {
	if _, err := cloudflare.NewPagesDomain(ctx, name+"-domain", &cloudflare.PagesDomainArgs{
		AccountId:   pulumi.String(args.AccountID),
		ProjectName: project.Name,
		Domain:      pulumi.String(args.Hostname),
	}, cf...); err != nil {
		return fmt.Errorf("pages domain %s: %w", args.Hostname, err)
	}
	if _, err := cloudflare.NewRecord(ctx, name+"-dns", &cloudflare.RecordArgs{
		ZoneId:  pulumi.String(args.ZoneID),
		Name:    pulumi.String(args.Hostname),
		Type:    pulumi.String("CNAME"),
		Content: project.Subdomain,
		Proxied: pulumi.Bool(true),
		Comment: pulumi.String("HelloAgents frontend (Cloudflare Pages)"),
	}, cf...); err != nil {
		return fmt.Errorf("frontend DNS record %s: %w", args.Hostname, err)
	}
	return nil
}
