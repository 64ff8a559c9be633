package components_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
)

func accessRun(t *testing.T, emails, domains []string) (*mocktest.Monitor, *components.MonitoringAccess) {
	t.Helper()
	var access *components.MonitoringAccess
	m := run(t, func(ctx *pulumi.Context) error {
		cf, err := cfProvider(ctx)
		if err != nil {
			return err
		}
		var hosts []components.MonitoringHost
		for _, r := range []string{"eu", "us"} {
			for _, svc := range []string{"prometheus", "alertmanager"} {
				hosts = append(hosts, components.MonitoringHost{Region: r, Hostname: svc + "-" + r + ".example.dev",
					TunnelCNAME: pulumi.String("tunnel-" + r + ".cfargotunnel.com")})
			}
		}
		access, err = components.NewMonitoringAccess(ctx, "monitoring-access", &components.MonitoringAccessArgs{
			Prefix: "helloagents-test", AccountID: "acct", ZoneID: "zone", Hosts: hosts,
			Emails: emails, EmailDomains: domains, SessionDuration: "24h", Cloudflare: cf,
		})
		return err
	})
	return m, access
}

func TestMonitoringAccess(t *testing.T) {
	m, access := accessRun(t, []string{"oncall@example.dev"}, []string{"example.dev"})
	apps := m.ByType(restype.AccessApplication)
	if len(apps) != 4 {
		t.Fatalf("access applications = %d, want one per hostname (4)", len(apps))
	}
	records := map[string]mocktest.Resource{}
	for _, r := range m.ByType(restype.Record) {
		records[str(r, "name")] = r
	}
	for _, app := range apps {
		host := str(app, "domain")
		if str(app, "type") != "self_hosted" || str(app, "accountId") != "acct" || str(app, "sessionDuration") != "24h" {
			t.Errorf("%s: inputs %v", host, app.Inputs)
		}
		if got := len(arr(app.Inputs["policies"])); got != 2 {
			t.Errorf("%s: %d policies, want the people's and the tools'", host, got)
		}
		rec, ok := records[host]
		if !ok {
			t.Errorf("%s: no DNS record", host)
			continue
		}
		region := strings.TrimSuffix(strings.SplitN(host, "-", 2)[1], ".example.dev")
		if str(rec, "content") != "tunnel-"+region+".cfargotunnel.com" || !mocktest.Unwrap(rec.Inputs["proxied"]).BoolValue() || str(rec, "type") != "CNAME" {
			t.Errorf("%s: record %v, want a proxied CNAME to its region's tunnel", host, rec.Inputs)
		}
	}
	if len(records) != 4 {
		t.Errorf("records %d, want 4", len(records))
	}
	decisions := map[string][]string{}
	for _, p := range m.ByType(restype.AccessPolicy) {
		d := str(p, "decision")
		for _, inc := range arr(p.Inputs["includes"]) {
			for k, v := range mocktest.Unwrap(inc).ObjectValue() {
				decisions[d] = append(decisions[d], string(k)+"="+strings.Join(mocktest.Strings(v), ","))
				if k == "serviceTokens" && !v.IsSecret() && !mocktest.Unwrap(v).ArrayValue()[0].IsSecret() {
					t.Errorf("service token list in plain text")
				}
			}
		}
	}
	slices.Sort(decisions["allow"])
	if want := []string{"emailDomains=example.dev", "emails=oncall@example.dev"}; !slices.Equal(decisions["allow"], want) {
		t.Errorf("allow policy includes %v, want %v", decisions["allow"], want)
	}
	if got := decisions["non_identity"]; len(got) != 1 || !strings.HasPrefix(got[0], "serviceTokens=") {
		t.Errorf("non_identity policy includes %v, want the service token", got)
	}
	if n := m.Count(restype.AccessServiceToken); n != 1 {
		t.Errorf("service tokens = %d, want 1", n)
	}
	for name, o := range map[string]pulumi.StringOutput{"clientId": access.ClientID, "clientSecret": access.ClientSecret} {
		v, secret, known, err := mocktest.Await(o)
		if err != nil || !known || !secret || v == "" {
			t.Errorf("%s: %v known=%v secret=%v err=%v, want a known secret", name, v, known, secret, err)
		}
	}
}

func TestMonitoringAccessRefusesNobody(t *testing.T) {
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := components.NewMonitoringAccess(ctx, "monitoring-access", &components.MonitoringAccessArgs{Prefix: "p"})
		return err
	}, pulumi.WithMocks("helloagents", "test", mocktest.New()))
	if err == nil || !strings.Contains(err.Error(), "nobody allowed") {
		t.Fatalf("err = %v, want nobody allowed", err)
	}
}
