package stacks_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/policy/analyzertest"
	"github.com/helloagents/infra/policy/restype"
	"github.com/helloagents/infra/policy/rules"
)

// mutation changes one property of a real graph; policy is the one policy
// that must report it, at urn (the mutated resource, or the one a stack
// policy blames).
type mutation struct {
	name, stack, policy string
	apply               func(t *testing.T, rs []policyx.AnalyzerResource) (out []policyx.AnalyzerResource, urn string)
}

func TestPolicyMutations(t *testing.T) {
	mutations := []mutation{
		// The eight regressions the pack exists to stop: a root user or
		// image, a privileged container, HTTPS off, TLS 1.0, a plain-text
		// password, no backup job, no healthcheck.
		{"root user", "production", "containers-run-as-non-root", set(rules.IsBackendContainer, "root", "user")},
		{"USER root Dockerfile", "staging", "images-run-as-non-root", rootDockerfile},
		{"privileged", "production", "containers-least-privilege", set(rules.IsBackendContainer, true, "privileged")},
		{"always_use_https off", "staging", "https-only", set(isType(restype.ZoneSettings), "off", "settings", "alwaysUseHttps")},
		{"TLS 1.0", "production", "https-only", set(isType(restype.ZoneSettings), "1.0", "settings", "minTlsVersion")},
		{"plain-text password", "staging", "secrets-are-secret", plainEnvs(rules.IsPostgres)},
		{"no backup job", "production", "backups-configured", removeBackupJob},
		{"no healthcheck", "staging", "health-checks-configured", remove(rules.IsBackendContainer, "healthcheck")},
		// More of what the pack claims to catch.
		{"host network", "production", "containers-least-privilege", set(rules.IsBackendContainer, "host", "networkMode")},
		{"added capability", "staging", "containers-least-privilege", set(rules.IsPostgres, property.New([]property.Value{property.New("SYS_ADMIN")}), "capabilities", "adds")},
		{"writable root filesystem", "staging", "containers-read-only-root-filesystem", set(rules.IsBackupJob, false, "readOnly")},
		{"ssl flexible", "production", "https-only", set(isType(restype.ZoneSettings), "flexible", "settings", "ssl")},
		{"unproxied record", "staging", "https-only", set(isType(restype.Record), false, "proxied")},
		{"http monitor", "production", "https-only", set(isType(restype.LoadBalancerMonitor), "http", "type")},
		{"http CORS origin", "production", "https-only", editEnv(rules.IsBackendContainer, "CORS_ALLOWED_ORIGINS", "http://app.helloagents.dev")},
		{"zone settings not managed", "staging", "https-zone-settings-managed", removeZoneSettings},
		{"plain-text tunnel secret", "production", "secrets-are-secret", plain(isType(restype.Tunnel), "secret")},
		{"backups on the database host", "production", "backups-configured", editEnv(rules.IsBackupJob, "BACKUP_DESTINATION", "file:///backups")},
		{"3 days retention", "staging", "backups-retention", editEnv(rules.IsBackupJob, "BACKUP_RETENTION_DAYS", "3")},
		{"pool without monitor", "production", "health-checks-configured", remove(isType(restype.LoadBalancerPool), "monitor")},
		{"alert without destination", "staging", "alerts-have-destination", remove(isType(restype.NotificationPolicy), "emailIntegrations")},
		{"tunnel without alert", "production", "alerts-have-destination", removeTunnelAlert},
		{"backend without a grace period", "production", "containers-drain-before-kill", remove(rules.IsBackendContainer, "destroyGraceSeconds")},
		{"backend drain longer than its grace", "staging", "containers-drain-before-kill", editEnv(rules.IsBackendContainer, "SHUTDOWN_TIMEOUT", "1m")},
		{"dev proxy without a grace period", "dev", "containers-drain-before-kill", remove(isRole("proxy"), "destroyGraceSeconds")},
		{"monitoring hostname without Access", "production", "monitoring-behind-access", removeAccessApplication},
		{"Access application without policies", "staging", "monitoring-behind-access",
			set(isType(restype.AccessApplication), property.New([]property.Value{}), "policies")},
	}
	graphs := map[string]graph{}
	bin := analyzertest.Build(t)
	for _, m := range mutations {
		t.Run(m.stack+"/"+m.name, func(t *testing.T) {
			g, ok := graphs[m.stack]
			if !ok {
				g = capture(t, m.stack)
				graphs[m.stack] = g
			}
			mutated, urn := m.apply(t, g.analyzerResources())

			// In process.
			ds := evaluate(t, g, mutated)
			if got := mandatoryPolicies(ds); !slices.Equal(got, []string{m.policy}) {
				t.Fatalf("mandatory policies = %v, want exactly [%s]:\n%s", got, m.policy, diagnostics(ds))
			}
			for _, d := range ds {
				t.Logf("%s", d)
			}
			blamed := false
			for _, d := range ds {
				blamed = blamed || d.URN == urn
			}
			if !blamed {
				t.Errorf("no diagnostic on the mutated resource %s:\n%s", urn, diagnostics(ds))
			}

			// Over gRPC, through the built pack.
			srv := analyzertest.Start(t, bin, filepath.Join("..", "infra"))
			res := srv.Run(t, analyzertest.Stack{Name: m.stack, Project: project}, nil, toWire(mutated))
			var names []string
			for _, d := range res.Mandatory() {
				if !slices.Contains(names, d.GetPolicyName()) {
					names = append(names, d.GetPolicyName())
				}
			}
			if !slices.Equal(names, []string{m.policy}) {
				t.Errorf("over gRPC: mandatory policies = %v, want exactly [%s]:\n%s", names, m.policy, analyzertest.Format(res.All()))
			}
		})
	}
}

func toWire(rs []policyx.AnalyzerResource) []analyzertest.Resource {
	out := make([]analyzertest.Resource, 0, len(rs))
	for _, r := range rs {
		out = append(out, analyzertest.Resource{Type: r.Type, Name: r.Name, URN: r.URN, Parent: r.Parent,
			ProviderURN: r.Provider.URN, Inputs: resource.ToResourcePropertyMap(r.Properties)})
	}
	return out
}

func isType(token string) func(policyx.AnalyzerResource) bool {
	return func(r policyx.AnalyzerResource) bool { return r.Type == token }
}

// isRole matches a container by its helloagents.role label.
func isRole(role string) func(policyx.AnalyzerResource) bool {
	return func(r policyx.AnalyzerResource) bool {
		if r.Type != restype.DockerContainer {
			return false
		}
		set, _ := r.Properties.GetOk("labels")
		if !set.IsArray() {
			return false
		}
		for _, l := range set.AsArray().AsSlice() {
			m := l.AsMap()
			if m.Get("label").AsString() == labels.Role && m.Get("value").AsString() == role {
				return true
			}
		}
		return false
	}
}

// first returns the index of the first resource matching pred.
func first(t *testing.T, rs []policyx.AnalyzerResource, pred func(policyx.AnalyzerResource) bool) int {
	t.Helper()
	i := slices.IndexFunc(rs, pred)
	if i < 0 {
		t.Fatal("the real graph has no resource to mutate")
	}
	return i
}

// setPath returns m with the value at path replaced (nil deletes it).
func setPath(m property.Map, v any, path ...string) property.Map {
	if len(path) == 1 {
		if v == nil {
			return m.Delete(path[0])
		}
		return m.Set(path[0], toValue(v))
	}
	inner := property.Map{}
	if cur, ok := m.GetOk(path[0]); ok && cur.IsMap() {
		inner = cur.AsMap()
	}
	return m.Set(path[0], property.New(setPath(inner, v, path[1:]...)))
}

func toValue(v any) property.Value {
	switch v := v.(type) {
	case property.Value:
		return v
	case string:
		return property.New(v)
	case bool:
		return property.New(v)
	}
	panic("unsupported mutation value")
}

func set(pred func(policyx.AnalyzerResource) bool, v any, path ...string) func(*testing.T, []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
	return func(t *testing.T, rs []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
		i := first(t, rs, pred)
		rs[i].Properties = setPath(rs[i].Properties, v, path...)
		return rs, rs[i].URN
	}
}

func remove(pred func(policyx.AnalyzerResource) bool, key string) func(*testing.T, []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
	return set(pred, nil, key)
}

// plain strips the secret marking from one property.
func plain(pred func(policyx.AnalyzerResource) bool, key string) func(*testing.T, []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
	return func(t *testing.T, rs []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
		i := first(t, rs, pred)
		v, ok := rs[i].Properties.GetOk(key)
		if !ok || !v.Secret() {
			t.Fatalf("%s: %s is not a secret in the real graph", rs[i].URN, key)
		}
		rs[i].Properties = rs[i].Properties.Set(key, v.WithSecret(false))
		return rs, rs[i].URN
	}
}

// envs returns a container's env entries, whether the list is secret, and
// which entries are secret.
func envs(r policyx.AnalyzerResource) (entries []string, listSecret bool, secret []bool) {
	v := r.Properties.Get("envs")
	for _, e := range v.AsArray().AsSlice() {
		entries = append(entries, e.AsString())
		secret = append(secret, e.Secret())
	}
	return entries, v.Secret(), secret
}

func withEnvs(r policyx.AnalyzerResource, entries []string, listSecret bool, secret []bool) policyx.AnalyzerResource {
	vals := make([]property.Value, len(entries))
	for i, e := range entries {
		vals[i] = property.New(e).WithSecret(secret[i])
	}
	r.Properties = r.Properties.Set("envs", property.New(vals).WithSecret(listSecret))
	return r
}

// plainEnvs puts a container's whole env in plain text.
func plainEnvs(pred func(policyx.AnalyzerResource) bool) func(*testing.T, []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
	return func(t *testing.T, rs []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
		i := first(t, rs, pred)
		entries, listSecret, secret := envs(rs[i])
		if !listSecret && !slices.Contains(secret, true) {
			t.Fatalf("%s: env has no secret in the real graph", rs[i].URN)
		}
		rs[i] = withEnvs(rs[i], entries, false, make([]bool, len(entries)))
		return rs, rs[i].URN
	}
}

// editEnv sets one env variable, keeping the list's secrecy.
func editEnv(pred func(policyx.AnalyzerResource) bool, key, value string) func(*testing.T, []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
	return func(t *testing.T, rs []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
		i := first(t, rs, pred)
		entries, listSecret, secret := envs(rs[i])
		j := slices.IndexFunc(entries, func(e string) bool { return strings.HasPrefix(e, key+"=") })
		if j < 0 {
			t.Fatalf("%s: no env %s in the real graph", rs[i].URN, key)
		}
		entries[j] = key + "=" + value
		rs[i] = withEnvs(rs[i], entries, listSecret, secret)
		return rs, rs[i].URN
	}
}

// rootDockerfile points the backend image at a copy of its real Dockerfile
// that ends with USER root.
func rootDockerfile(t *testing.T, rs []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
	i := first(t, rs, func(r policyx.AnalyzerResource) bool {
		return r.Type == restype.DockerImage && strings.Contains(r.Name, "backend")
	})
	build := rs[i].Properties.Get("build").AsMap()
	path, err := rules.DockerfilePath("", build.Get("context").AsString(), build.Get("dockerfile").AsString())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the real graph's Dockerfile: %v", err)
	}
	mutated := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(mutated, append(data, []byte("\nUSER root\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	rs[i].Properties = setPath(rs[i].Properties, mutated, "build", "dockerfile")
	return rs, rs[i].URN
}

// removeBackupJob drops the first region's backup job; the stack policy
// blames that region's database.
func removeBackupJob(t *testing.T, rs []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
	i := first(t, rs, rules.IsBackupJob)
	provider := rs[i].Provider.URN
	rs = slices.Delete(rs, i, i+1)
	db := first(t, rs, func(r policyx.AnalyzerResource) bool { return rules.IsPostgres(r) && r.Provider.URN == provider })
	return rs, rs[db].URN
}

// removeZoneSettings drops the zone's HTTPS settings; the stack policy blames
// the records it publishes.
func removeZoneSettings(t *testing.T, rs []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
	rs = slices.DeleteFunc(rs, isType(restype.ZoneSettings))
	return rs, rs[first(t, rs, isType(restype.Record))].URN
}

// removeAccessApplication drops the first monitoring hostname's Access
// application; the stack policy blames the tunnel config that routes it.
func removeAccessApplication(t *testing.T, rs []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
	i := first(t, rs, isType(restype.AccessApplication))
	host := rs[i].Properties.Get("domain").AsString()
	rs = slices.Delete(rs, i, i+1)
	j := first(t, rs, func(r policyx.AnalyzerResource) bool {
		if r.Type != restype.TunnelConfig {
			return false
		}
		for _, rule := range r.Properties.Get("config").AsMap().Get("ingressRules").AsArray().AsSlice() {
			if h, ok := rule.AsMap().GetOk("hostname"); ok && h.IsString() && h.AsString() == host {
				return true
			}
		}
		return false
	})
	return rs, rs[j].URN
}

// removeTunnelAlert drops the first tunnel's notification policy; the stack
// policy blames the first tunnel.
func removeTunnelAlert(t *testing.T, rs []policyx.AnalyzerResource) ([]policyx.AnalyzerResource, string) {
	i := first(t, rs, func(r policyx.AnalyzerResource) bool {
		v, ok := r.Properties.GetOk("alertType")
		return r.Type == restype.NotificationPolicy && ok && v.IsString() && v.AsString() == labels.AlertTunnelHealth
	})
	rs = slices.Delete(rs, i, i+1)
	return rs, rs[first(t, rs, isType(restype.Tunnel))].URN
}
