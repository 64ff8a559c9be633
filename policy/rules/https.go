package rules

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/policy/restype"
)

// webRecordTypes are the DNS record types that serve web traffic.
var webRecordTypes = []string{"A", "AAAA", "CNAME"}

// HTTPSOnly checks that traffic is HTTPS end to end: zone settings force HTTPS
// with a modern minimum TLS and strict origin certificates, web DNS records go
// through the Cloudflare proxy, monitors and health checks probe over verified
// HTTPS, and every URL handed to the backend (container env) or the frontend
// (Pages environment variables) is https:// (loopback http:// is allowed in
// dev only).
func HTTPSOnly(r policyx.AnalyzerResource, c Context) []string {
	switch r.Type {
	case restype.ZoneSettings:
		return zoneSettings(r, c)
	case restype.Record:
		return proxiedRecord(r)
	case restype.LoadBalancerMonitor:
		return probeType(r, "https", "probes over plain HTTP")
	case restype.Healthcheck:
		return probeType(r, "HTTPS", "probes over plain HTTP or TCP")
	case restype.DockerContainer:
		return containerURLs(r, c)
	case restype.PagesProject:
		return pagesURLs(r, c)
	}
	return nil
}

func zoneSettings(r policyx.AnalyzerResource, c Context) []string {
	var out []string
	check := func(key, want string, ok func(string) bool) {
		v, st := stringAt(r.Properties, "settings", key)
		switch {
		case st == unknown:
		case st == absent:
			out = append(out, fmt.Sprintf("%s: settings.%s is not set, so the zone keeps whatever it had; set settings.%s to %q",
				label(r), key, key, want))
		case !ok(v):
			out = append(out, fmt.Sprintf("%s: settings.%s is %q; set it to %q", label(r), key, v, want))
		}
	}
	check("alwaysUseHttps", "on", func(v string) bool { return v == "on" })
	minTLS := c.Settings.MinimumTLSVersion
	check("minTlsVersion", minTLS, func(v string) bool {
		i, j := slices.Index(tlsVersions, v), slices.Index(tlsVersions, minTLS)
		return i >= 0 && i >= j
	})
	check("ssl", "strict", func(v string) bool { return v == "strict" })
	return out
}

func proxiedRecord(r policyx.AnalyzerResource) []string {
	typ, tst := stringAt(r.Properties, "type")
	name, nst := stringAt(r.Properties, "name")
	if tst != known || nst == unknown || !slices.Contains(webRecordTypes, strings.ToUpper(typ)) {
		return nil
	}
	if strings.HasPrefix(name, "_") { // _acme-challenge, _domainkey...: not web traffic
		return nil
	}
	proxied, st := boolAt(r.Properties, "proxied")
	if st == unknown || proxied {
		return nil
	}
	return []string{fmt.Sprintf("%s: %s record %q has proxied %v, so visitors reach the origin without Cloudflare's HTTPS; set `proxied: true`",
		label(r), typ, name, proxied)}
}

func probeType(r policyx.AnalyzerResource, want, why string) []string {
	var out []string
	typ, st := stringAt(r.Properties, "type")
	switch {
	case st == unknown:
	case st == absent:
		out = append(out, fmt.Sprintf("%s: type is not set (the default is http, which %s); set `type: %q`", label(r), why, want))
	case !strings.EqualFold(typ, want):
		out = append(out, fmt.Sprintf("%s: type is %q, which %s; set `type: %q`", label(r), typ, why, want))
	}
	if insecure, st := boolAt(r.Properties, "allowInsecure"); st == known && insecure {
		out = append(out, fmt.Sprintf("%s: allowInsecure is true, so the origin certificate is not verified; remove `allowInsecure`", label(r)))
	}
	return out
}

func containerURLs(r policyx.AnalyzerResource, c Context) []string {
	var out []string
	for _, e := range containerEnv(r) {
		if !e.Known {
			continue
		}
		for _, u := range plainHTTPURLs(e.Value, c.Env) {
			shown := u
			if e.Secret {
				shown = "(secret value)"
			}
			out = append(out, fmt.Sprintf("%s: env %s hands the backend the plain-HTTP URL %s; use https:// (loopback http:// is allowed in dev only)",
				label(r), e.Key, shown))
		}
	}
	return out
}

func pagesURLs(r policyx.AnalyzerResource, c Context) []string {
	var out []string
	for _, deployment := range []string{"production", "preview"} {
		v, st := at(r.Properties, "deploymentConfigs", deployment, "environmentVariables")
		if st != known || !v.IsMap() {
			continue
		}
		for key, val := range v.AsMap().AllStable {
			if !val.IsString() {
				continue
			}
			for _, u := range plainHTTPURLs(val.AsString(), c.Env) {
				out = append(out, fmt.Sprintf("%s: deploymentConfigs.%s.environmentVariables.%s hands the frontend the plain-HTTP URL %s; use https://",
					label(r), deployment, key, u))
			}
		}
	}
	return out
}

// plainHTTPURLs returns the http:// URLs in a value (a single URL or a comma-
// or space-separated list such as CORS origins), except loopback ones in dev.
func plainHTTPURLs(value string, env Env) []string {
	var out []string
	for _, field := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		u, err := url.Parse(strings.TrimSpace(field))
		if err != nil || !strings.EqualFold(u.Scheme, "http") || u.Host == "" {
			continue
		}
		if env.Local() && isLoopback(u.Hostname()) {
			continue
		}
		out = append(out, field)
	}
	return out
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Finding is a violation a stack rule attributes to one resource.
type Finding struct {
	URN     string
	Message string
}

// ZonesHaveHTTPSSettings refuses a stack that manages DNS names (records, load
// balancers) in a zone without also managing that zone's HTTPS settings (a
// ZoneSettingsOverride for the same zoneId): otherwise HTTPS enforcement rests
// on whatever someone clicked in the dashboard.
func ZonesHaveHTTPSSettings(resources []policyx.AnalyzerResource, _ Context) []Finding {
	managed := map[string]bool{}
	for _, r := range resources {
		if r.Type == restype.ZoneSettings {
			switch id, st := stringAt(r.Properties, "zoneId"); st {
			case known:
				managed[id] = true
			case unknown:
				return nil // it may be any zone: judged again in the update
			}
		}
	}
	var out []Finding
	for _, r := range resources {
		if r.Type != restype.Record && r.Type != restype.LoadBalancer {
			continue
		}
		id, st := stringAt(r.Properties, "zoneId")
		if st != known || managed[id] {
			continue
		}
		out = append(out, Finding{URN: r.URN, Message: fmt.Sprintf(
			"%s: publishes a DNS name in zone %q, but the stack has no %s for that zone; add a ZoneSettingsOverride with alwaysUseHttps on, minTlsVersion 1.2+ and ssl strict",
			label(r), id, restype.ZoneSettings)})
	}
	return out
}
