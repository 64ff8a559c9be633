package stacks

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/helloagents/infra/internal/mocktest"
)

// unwrap strips the secret marker.
func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

func obj(v resource.PropertyValue) resource.PropertyMap { return unwrap(v).ObjectValue() }

func strs(v resource.PropertyValue) []string {
	var out []string
	for _, e := range unwrap(v).ArrayValue() {
		out = append(out, unwrap(e).StringValue())
	}
	return out
}

// role is what a container is for, from its helloagents.role label.
func role(c mocktest.Resource) string {
	labels := unwrap(c.Inputs["labels"])
	if c.Type != mocktest.DockerContainer || !labels.IsArray() {
		return ""
	}
	for _, l := range labels.ArrayValue() {
		if o := obj(l); unwrap(o["label"]).StringValue() == "helloagents.role" {
			return unwrap(o["value"]).StringValue()
		}
	}
	return ""
}

func TestContainerSecurity(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "production"} {
		t.Run(stack, func(t *testing.T) {
			m, cfg, _ := runStack(t, stack)
			wantUser := map[string]string{"backend": "65532:65532", "postgres": "999:999", "pgbackrest": "999:999", "backup": "65532:65532", "tunnel": "65532:65532", "proxy": "65532:65532"}
			for _, c := range m.ByType(mocktest.DockerContainer) {
				in := c.Inputs
				r := role(c)
				if got := unwrap(in["user"]).StringValue(); got != wantUser[r] {
					t.Errorf("%s: user %q, want %q", c.Name, got, wantUser[r])
				}
				if !unwrap(in["readOnly"]).BoolValue() {
					t.Errorf("%s: root filesystem not read-only", c.Name)
				}
				if got := strs(obj(in["capabilities"])["drops"]); len(got) != 1 || got[0] != "ALL" {
					t.Errorf("%s: capabilities drop %v, want [ALL]", c.Name, got)
				}
				if _, ok := obj(in["capabilities"])["adds"]; ok {
					t.Errorf("%s: adds capabilities", c.Name)
				}
				if got := strs(in["securityOpts"]); len(got) != 1 || got[0] != "no-new-privileges:true" {
					t.Errorf("%s: securityOpts %v", c.Name, got)
				}
				if unwrap(in["restart"]).StringValue() != "on-failure" || unwrap(in["maxRetryCount"]).NumberValue() != float64(cfg.Backend.MaxRestarts) {
					t.Errorf("%s: restart %v max %v", c.Name, in["restart"], in["maxRetryCount"])
				}
				if unwrap(in["memory"]).NumberValue() <= 0 || unwrap(in["cpus"]).StringValue() == "" {
					t.Errorf("%s: no memory/CPU limits", c.Name)
				}
				if !c.Custom || !strings.Contains(c.Provider, "region-") {
					t.Errorf("%s: not on its region's explicit provider: %q", c.Name, c.Provider)
				}
				checkNetworks(t, stack, c)
				checkPorts(t, stack, c)
				// The backup jobs have no server to probe; the proxy's
				// healthcheck is its image's (HAProxy's own monitor endpoint).
				if r != "backup" && r != "pgbackrest" && r != "proxy" {
					checkHealthcheck(t, cfg, c)
				}
			}
		})
	}
}

func checkHealthcheck(t *testing.T, cfg Config, c mocktest.Resource) {
	t.Helper()
	hc, ok := c.Inputs["healthcheck"]
	if !ok {
		t.Errorf("%s: no healthcheck", c.Name)
		return
	}
	h := obj(hc)
	if unwrap(h["interval"]).StringValue() != "30s" || unwrap(h["timeout"]).StringValue() != "5s" ||
		unwrap(h["retries"]).NumberValue() != 3 || unwrap(h["startPeriod"]).StringValue() != "10s" {
		t.Errorf("%s: healthcheck %v does not follow the shared settings", c.Name, h)
	}
	tests := strs(h["tests"])
	switch role(c) {
	case "backend":
		if strings.Join(tests, " ") != strings.Join(cfg.Backend.HealthcheckCommand, " ")+" /health/live" {
			t.Errorf("%s: healthcheck test %v", c.Name, tests)
		}
	case "postgres":
		if len(tests) < 2 || tests[1] != "pg_isready" {
			t.Errorf("%s: healthcheck test %v, want pg_isready", c.Name, tests)
		}
	}
}

func checkNetworks(t *testing.T, stack string, c mocktest.Resource) {
	t.Helper()
	var nets []string
	for _, n := range unwrap(c.Inputs["networksAdvanced"]).ArrayValue() {
		nets = append(nets, unwrap(obj(n)["name"]).StringValue())
	}
	var want []string
	switch role(c) {
	case "postgres":
		want = []string{"private"}
	case "tunnel", "proxy":
		want = []string{"egress"}
	default:
		want = []string{"private", "egress"}
	}
	if len(nets) != len(want) {
		t.Errorf("%s: networks %v, want %v", c.Name, nets, want)
		return
	}
	for i, w := range want {
		if !strings.HasPrefix(nets[i], "helloagents-"+stack) || !strings.HasSuffix(nets[i], "-"+w) {
			t.Errorf("%s: network %d = %q, want the stack's %s network", c.Name, i, nets[i], w)
		}
	}
	if _, ok := c.Inputs["networkMode"]; ok {
		t.Errorf("%s: sets networkMode", c.Name)
	}
}

func checkPorts(t *testing.T, stack string, c mocktest.Resource) {
	t.Helper()
	ports, ok := c.Inputs["ports"]
	if stack != "dev" || role(c) != "proxy" {
		if ok && len(unwrap(ports).ArrayValue()) > 0 {
			t.Errorf("%s: publishes ports %v; only the dev proxy may", c.Name, ports)
		}
		return
	}
	list := unwrap(ports).ArrayValue()
	if len(list) != 1 {
		t.Fatalf("%s: ports %v, want exactly one", c.Name, ports)
	}
	p := obj(list[0])
	if unwrap(p["ip"]).StringValue() != "127.0.0.1" || unwrap(p["internal"]).NumberValue() != 8000 || unwrap(p["external"]).NumberValue() != 8000 {
		t.Errorf("%s: port %v, want 127.0.0.1:8000->8000", c.Name, p)
	}
}

func TestNetworksPrivateIsInternal(t *testing.T) {
	m, _, _ := runStack(t, "production")
	for _, n := range m.ByType(mocktest.DockerNetwork) {
		internal := n.Inputs["internal"].IsBool() && n.Inputs["internal"].BoolValue()
		if strings.HasSuffix(n.Name, "-private") != internal {
			t.Errorf("%s: internal=%v", n.Name, internal)
		}
	}
}
