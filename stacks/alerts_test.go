package stacks

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
	"github.com/helloagents/infra/stacks/config"
)

func TestAlertsValidation(t *testing.T) {
	const hook = "https://hooks.slack.com/services/T0/B0/hook-SECRET"
	for _, tc := range []struct {
		name  string
		stack string
		set   map[string]string
		drop  []string
		want  []string // substrings of the error; nil: valid
	}{
		{"committed staging", "staging", nil, nil, nil},
		{"webhook only", "production", map[string]string{"helloagents:alertWebhookUrl": hook}, []string{"helloagents:alerts"}, nil},
		{"dev needs no destination", "dev", nil, nil, nil},
		{"staging without destination", "staging", nil, []string{"helloagents:alerts"},
			[]string{`helloagents:alerts.emails: invalid value "[]"; allowed: at least one email address, or the secret helloagents:alertWebhookUrl`}},
		{"production with empty list", "production", map[string]string{"helloagents:alerts": `{"emails":[]}`}, nil,
			[]string{"helloagents:alerts.emails: invalid value", "production alerts must reach someone"}},
		{"not an address", "staging", map[string]string{"helloagents:alerts": `{"emails":["oncall"]}`}, nil,
			[]string{`helloagents:alerts.emails[0]: invalid value "oncall"; allowed: a plain email address`}},
		{"display name", "staging", map[string]string{"helloagents:alerts": `{"emails":["On Call <oncall@x.dev>"]}`}, nil,
			[]string{`helloagents:alerts.emails[0]: invalid value "On Call <oncall@x.dev>"`}},
		{"duplicate", "staging", map[string]string{"helloagents:alerts": `{"emails":["a@x.dev","A@x.dev"]}`}, nil,
			[]string{`helloagents:alerts.emails[1]: invalid value "A@x.dev"; allowed: an address not listed twice`}},
		{"unknown field", "staging", map[string]string{"helloagents:alerts": `{"email":["a@x.dev"]}`}, nil,
			[]string{"helloagents:alerts.email: unknown field (did you mean `emails`?)"}},
		{"http webhook outside dev", "staging", map[string]string{"helloagents:alertWebhookUrl": "http://hooks.example.dev/x-SECRET"}, nil,
			[]string{`helloagents:alertWebhookUrl: invalid value [secret]; allowed: an https:// webhook URL`}},
		{"http webhook in dev", "dev", map[string]string{"helloagents:alertWebhookUrl": "http://127.0.0.1:9/hook"}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := stackRaw(t, tc.stack)
			for _, k := range tc.drop {
				delete(raw, k)
			}
			for k, v := range tc.set {
				raw[k] = v
			}
			_, err := config.Parse(tc.stack, raw)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error reveals a secret:\n%v", err)
			}
		})
	}
}

// TestEveryMonitoredObjectHasAlerts: the staging and production graphs hold
// one notification policy per pool, health check and tunnel, filtered on
// that object's id, plus the zone's certificate policy, each with a destination.
func TestEveryMonitoredObjectHasAlerts(t *testing.T) {
	for _, stack := range []string{"staging", "production"} {
		t.Run(stack, func(t *testing.T) {
			m, cfg, _ := runStack(t, stack)
			ids := func(token string) []string {
				var out []string
				for _, r := range m.ByType(token) {
					out = append(out, r.Name+"-id") // the mock's id
				}
				slices.Sort(out)
				return out
			}
			covered := map[string][]string{}
			for _, p := range m.ByType(restype.NotificationPolicy) {
				typ := mocktest.Unwrap(p.Inputs["alertType"]).StringValue()
				if f := mocktest.Unwrap(p.Inputs["filters"]); f.IsObject() {
					for _, key := range []string{"poolIds", "healthCheckIds", "tunnelIds"} {
						if v, ok := f.ObjectValue()[resource.PropertyKey(key)]; ok {
							covered[typ] = append(covered[typ], mocktest.Strings(v)...)
						}
					}
				}
				emails := mocktest.Unwrap(p.Inputs["emailIntegrations"])
				if !emails.IsArray() || len(emails.ArrayValue()) != len(cfg.Alerts.Emails) {
					t.Errorf("%s: email destinations %v, want %v", p.Name, emails, cfg.Alerts.Emails)
				}
			}
			for typ, token := range map[string]string{
				labels.AlertLoadBalancingHealth: restype.LoadBalancerPool,
				labels.AlertHealthCheckStatus:   restype.Healthcheck,
				labels.AlertTunnelHealth:        restype.Tunnel,
			} {
				got := covered[typ]
				slices.Sort(got)
				if want := ids(token); !slices.Equal(got, want) {
					t.Errorf("%s policies cover %v, want one per %s: %v", typ, got, token, want)
				}
			}
			if n := len(covered[labels.AlertUniversalSSL]); n != 0 || !slices.ContainsFunc(m.ByType(restype.NotificationPolicy), func(r mocktest.Resource) bool {
				return mocktest.Unwrap(r.Inputs["alertType"]).StringValue() == labels.AlertUniversalSSL
			}) {
				t.Error("no zone certificate policy")
			}
			if len(cfg.Regions) > 1 && len(covered[labels.AlertLoadBalancingHealth]) != len(cfg.Regions) {
				t.Errorf("%d pool policies for %d regions", len(covered[labels.AlertLoadBalancingHealth]), len(cfg.Regions))
			}
		})
	}
}

func TestWebhookURLIsSecretInTheGraph(t *testing.T) {
	const hook = "https://hooks.slack.com/services/T0/B0/hook-SECRET"
	raw := stackRaw(t, "production")
	raw["helloagents:alertWebhookUrl"] = hook
	cfg, err := config.Parse("production", raw)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Secrets.AlertWebhookURL.String(); s != "[secret]" {
		t.Errorf("the webhook prints as %q", s)
	}
	m := runConfig(t, cfg)
	hooks := m.ByType(restype.NotificationWebhook)
	if len(hooks) != 1 || !hooks[0].Inputs["url"].IsSecret() {
		t.Fatalf("webhook destinations %v: want one, its url a secret", hooks)
	}
	for _, p := range m.ByType(restype.NotificationPolicy) {
		if len(mocktest.Unwrap(p.Inputs["webhooksIntegrations"]).ArrayValue()) != 1 {
			t.Errorf("%s does not notify the webhook", p.Name)
		}
	}
	// The backup jobs, beside the primary database only, post to it.
	for _, r := range []config.Region{cfg.Primary()} {
		found := false
		for _, c := range m.ByType(restype.DockerContainer) {
			if !strings.Contains(c.Name, r.Name) || !strings.HasSuffix(c.Name, "-backup") {
				continue
			}
			envs := c.Inputs["envs"]
			for _, e := range mocktest.Unwrap(envs).ArrayValue() {
				v := mocktest.Unwrap(e).StringValue()
				if v == "ALERT_WEBHOOK_URL="+hook {
					found = e.IsSecret() || envs.IsSecret()
				}
			}
			if !slices.ContainsFunc(mocktest.Unwrap(envs).ArrayValue(), func(e resource.PropertyValue) bool {
				return mocktest.Unwrap(e).StringValue() == "ALERT_REGION="+r.Name
			}) {
				t.Errorf("%s: no ALERT_REGION=%s", c.Name, r.Name)
			}
		}
		if !found {
			t.Errorf("region %s: no backup job with ALERT_WEBHOOK_URL as a secret env entry", r.Name)
		}
	}
	if leaks := plainLeaksIn(m, hook); len(leaks) > 0 {
		t.Errorf("webhook URL in plain text: %v", leaks)
	}
}

// runConfig runs the platform for cfg under mocks.
func runConfig(t *testing.T, cfg config.Config) *mocktest.Monitor {
	t.Helper()
	m := mocktest.New()
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := Platform(ctx, cfg)
		return err
	}, pulumi.WithMocks("helloagents", cfg.Stack, m))
	if err != nil {
		t.Fatalf("program failed: %v", err)
	}
	return m
}

// plainLeaksIn lists the inputs that hold needle outside a secret.
func plainLeaksIn(m *mocktest.Monitor, needle string) []string {
	var out []string
	for _, r := range m.Resources() {
		for k, v := range r.Inputs {
			if len(plainLeaks(v, []string{needle})) > 0 {
				out = append(out, r.String()+" "+string(k))
			}
		}
	}
	return out
}
