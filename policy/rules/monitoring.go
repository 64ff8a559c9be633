package rules

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/policy/restype"
)

// MonitoringServices are the network aliases of a region's monitoring
// containers (components.Monitoring): a tunnel ingress rule whose service
// is one of them publishes a monitoring UI, which nobody may reach without
// signing in.
var MonitoringServices = []string{"prometheus", "alertmanager", "pgexporter"}

// accessApplications are the type tokens of a Cloudflare Access application
// (pulumi-cloudflare v5 serves both names).
var accessApplications = []string{restype.AccessApplication, restype.LegacyAccessApplication}

// MonitoringBehindAccess is a stack rule: every hostname a tunnel routes to
// a monitoring service (MonitoringServices) is covered by a Cloudflare
// Access application (its domain, a self-hosted domain or a destination,
// or a one-level wildcard of the zone) that has at least one policy.
// Without one, Prometheus (every metric, every target's address) and
// Alertmanager (silences: anyone could mute every page) would answer the
// whole internet. An uncovered hostname is reported on the tunnel config,
// an application without policies on the application. Hostnames and
// policies not known yet are not judged.
func MonitoringBehindAccess(resources []policyx.AnalyzerResource, _ Context) []Finding {
	apps := accessCoverage(resources)
	var out []Finding
	for _, r := range resources {
		if r.Type != restype.TunnelConfig {
			continue
		}
		for _, route := range monitoringRoutes(r) {
			app, covered := apps.lookup(route.hostname)
			switch {
			case !covered:
				out = append(out, Finding{URN: r.URN, Message: fmt.Sprintf(
					"%s: hostname %s reaches the monitoring service %s without a Cloudflare Access application covering it; "+
						"protect it (components.MonitoringAccess, helloagents:monitoring.accessEmails / accessDomains) or remove the route",
					label(r), route.hostname, route.service)})
			case !app.policies:
				out = append(out, Finding{URN: app.urn, Message: fmt.Sprintf(
					"%s: the Access application of %s (routed by %s to the monitoring service %s) has no policy, so nobody is allowed in and no service token works; "+
						"give it the monitoring policies (components.MonitoringAccess)",
					app.label, route.hostname, label(r), route.service)})
			}
		}
	}
	return out
}

// route is one tunnel ingress rule to a monitoring service.
type route struct{ hostname, service string }

// monitoringRoutes are a tunnel config's ingress rules whose service is a
// monitoring container, with a known hostname.
func monitoringRoutes(r policyx.AnalyzerResource) []route {
	rules, _ := arrayAt(r.Properties, "config", "ingressRules")
	var out []route
	for _, rule := range rules {
		if !rule.IsMap() {
			continue
		}
		host, hst := stringAt(rule.AsMap(), "hostname")
		service, sst := stringAt(rule.AsMap(), "service")
		if hst != known || sst != known || host == "" {
			continue
		}
		u, err := url.Parse(service)
		if err != nil || !slices.Contains(MonitoringServices, strings.ToLower(u.Hostname())) {
			continue
		}
		out = append(out, route{hostname: strings.ToLower(host), service: service})
	}
	return out
}

// coverage maps each hostname an Access application covers to that
// application; pending is set when an application's hostnames are not
// known yet.
type coverage struct {
	hosts   map[string]appCover
	pending bool
}

// appCover is an Access application: whether it has policies (or may
// have, once they are known), and how to name it.
type appCover struct {
	policies   bool
	urn, label string
}

// accessCoverage reads every Access application of the graph.
func accessCoverage(resources []policyx.AnalyzerResource) coverage {
	c := coverage{hosts: map[string]appCover{}}
	for _, r := range resources {
		if !slices.Contains(accessApplications, r.Type) {
			continue
		}
		list, st := arrayAt(r.Properties, "policies")
		hasPolicies := st == unknown || len(list) > 0
		domains, complete := applicationDomains(r)
		c.pending = c.pending || !complete
		for _, d := range domains {
			if prev, ok := c.hosts[d]; !ok || !prev.policies {
				c.hosts[d] = appCover{policies: hasPolicies, urn: r.URN, label: label(r)}
			}
		}
	}
	return c
}

// applicationDomains are the hostnames an application protects (its
// domain, self-hosted domains and destination URIs, without paths);
// complete is false when one of them is not known yet.
func applicationDomains(r policyx.AnalyzerResource) (domains []string, complete bool) {
	complete = true
	add := func(v string, st state) {
		switch st {
		case unknown:
			complete = false
		case known:
			host, _, _ := strings.Cut(v, "/")
			domains = append(domains, strings.ToLower(host))
		}
	}
	add(stringAt(r.Properties, "domain"))
	for _, key := range []string{"selfHostedDomains", "destinations"} {
		list, st := arrayAt(r.Properties, key)
		if st == unknown {
			complete = false
		}
		for _, v := range list {
			switch {
			case v.IsComputed():
				complete = false
			case v.IsString():
				add(v.AsString(), known)
			case v.IsMap():
				add(stringAt(v.AsMap(), "uri"))
			}
		}
	}
	return domains, complete
}

// lookup returns the application covering host, if any (one with
// policies first). While an application's hostnames are unknown (a
// preview), an uncovered host is given the benefit of the doubt; the
// update judges it.
func (c coverage) lookup(host string) (appCover, bool) {
	if a, ok := c.hosts[host]; ok {
		return a, true
	}
	if _, rest, ok := strings.Cut(host, "."); ok {
		if a, ok := c.hosts["*."+rest]; ok {
			return a, true
		}
	}
	return appCover{policies: true}, c.pending
}
