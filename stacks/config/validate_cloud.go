package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// validateEdge checks the Cloudflare side (not used in dev).
func (c Config) validateEdge(p *problems) {
	c.validateEdgeIDs(p)
	if !isDomain(c.Edge.Domain) {
		p.bad(full(KeyEdge)+".domain", c.Edge.Domain, "a DNS domain such as helloagents.dev")
		return
	}
	c.validateAPIHostname(p)
	c.validateEdgeSettings(p)
}

// validateEdgeIDs checks the Cloudflare account and zone ids, refusing the
// documented placeholders with how to find the real ones.
func (c Config) validateEdgeIDs(p *problems) {
	k := full(KeyEdge)
	e := c.Edge
	switch {
	case !hex32.MatchString(e.AccountID):
		p.bad(k+".accountId", e.AccountID, "a Cloudflare account id (32 hex characters)")
	case IsPlaceholder(e.AccountID):
		p.bad(k+".accountId", e.AccountID, "your Cloudflare account id, not the documented placeholder; "+
			"copy it from the dashboard (Account home, Account ID) and run: pulumi config set --stack "+c.Stack+" --path edge.accountId <id>")
	}
	switch {
	case !hex32.MatchString(e.ZoneID):
		p.bad(k+".zoneId", e.ZoneID, "a Cloudflare zone id (32 hex characters)")
	case IsPlaceholder(e.ZoneID):
		p.bad(k+".zoneId", e.ZoneID, "your zone's id, not the documented placeholder; "+
			"copy it from the zone's Overview page (API, Zone ID) and run: pulumi config set --stack "+c.Stack+" --path edge.zoneId <id>")
	}
}

// validateAPIHostname checks the API hostname is inside the domain and that
// each region's hostname derived from it is a valid DNS name.
func (c Config) validateAPIHostname(p *problems) {
	k := full(KeyEdge)
	e := c.Edge
	if !isDomain(e.APIHostname) || !strings.HasSuffix(e.APIHostname, "."+e.Domain) {
		p.bad(k+".apiHostname", e.APIHostname, "a hostname inside "+e.Domain+", e.g. api."+e.Domain)
		return
	}
	for _, r := range c.Regions {
		if h := c.RegionHostname(r); !isDomain(h) {
			p.bad(k+".apiHostname", e.APIHostname, "a hostname whose regional form "+h+" is a valid DNS name")
		}
	}
}

// validateEdgeSettings checks TLS, HSTS, the tunnel image and the health
// check's probe regions.
func (c Config) validateEdgeSettings(p *problems) {
	k := full(KeyEdge)
	e := c.Edge
	if e.MinTLSVersion != "1.2" && e.MinTLSVersion != "1.3" {
		p.bad(k+".minTlsVersion", e.MinTLSVersion, `"1.2" or "1.3"`)
	}
	if e.HSTSMaxAgeSeconds < 86400 {
		p.bad(k+".hstsMaxAgeSeconds", e.HSTSMaxAgeSeconds, "at least 86400 (one day); 31536000 recommended")
	}
	if e.TunnelImage == "" {
		p.missing(k+".tunnelImage", "the cloudflared image")
	}
	if len(e.CheckRegions) == 0 {
		p.bad(k+".checkRegions", "[]", strings.Join(checkRegions, ", "))
	}
	for _, r := range e.CheckRegions {
		if !slices.Contains(checkRegions, r) {
			p.bad(k+".checkRegions", r, strings.Join(checkRegions, ", "))
		}
	}
}

func (c Config) validateFrontend(p *problems) {
	k := full(KeyFrontend)
	f := c.Frontend
	if !pagesName.MatchString(f.ProjectName) {
		p.bad(k+".projectName", f.ProjectName, "a Pages project name: lowercase letters, digits and '-', 1..58 characters")
	}
	if !isDomain(f.Hostname) || (c.Edge.Domain != "" && f.Hostname != c.Edge.Domain && !strings.HasSuffix(f.Hostname, "."+c.Edge.Domain)) {
		p.bad(k+".hostname", f.Hostname, "a hostname inside the zone "+c.Edge.Domain)
	}
	if !githubName.MatchString(f.GitHubOwner) {
		p.bad(k+".githubOwner", f.GitHubOwner, "a GitHub user or organization name")
	}
	if !githubName.MatchString(f.GitHubRepo) {
		p.bad(k+".githubRepo", f.GitHubRepo, "a GitHub repository name")
	}
	if f.ProductionBranch == "" {
		p.missing(k+".productionBranch", "the branch Pages deploys to production, e.g. main")
	}
	if f.OutputDir == "" {
		p.missing(k+".outputDir", "the build output directory, e.g. dist")
	}
	if !envVarName.MatchString(f.APIURLVariable) {
		p.bad(k+".apiUrlVariable", f.APIURLVariable, "an environment variable name such as VITE_API_URL")
	}
}

// validateSecrets requires every credential outside dev, where nothing may
// silently run unauthenticated or without error tracking. Values are never
// quoted in the messages.
func (c Config) validateSecrets(p *problems) {
	s := c.Secrets
	for _, spec := range SecretTable() {
		if spec.Required(c) && *spec.Field(&s) == "" {
			p.missing(full(spec.Key), fmt.Sprintf("required outside dev; set it with: pulumi config set --secret %s <value>", full(spec.Key)))
		}
	}
	if s.SentryDSN != "" {
		if u, err := url.Parse(s.SentryDSN.Reveal()); err != nil || u.Scheme != "https" || u.Host == "" {
			p.bad(full(KeySentryDSN), s.SentryDSN, "an https:// Sentry DSN (HTTP is allowed only in dev)")
		}
	}
}

// isDomain reports whether s is a DNS name of at least two labels.
func isDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !dnsLabel.MatchString(l) {
			return false
		}
	}
	return !allDigits.MatchString(labels[len(labels)-1])
}
