package stacks

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
	"github.com/helloagents/infra/stacks/config"
)

// unwrap strips the secret marker.
func obj(v resource.PropertyValue) resource.PropertyMap { return mocktest.Unwrap(v).ObjectValue() }

// role is what a container is for, from its helloagents.role label.
func role(c mocktest.Resource) string {
	labels := mocktest.Unwrap(c.Inputs["labels"])
	if c.Type != restype.DockerContainer || !labels.IsArray() {
		return ""
	}
	for _, l := range labels.ArrayValue() {
		if o := obj(l); mocktest.Unwrap(o["label"]).StringValue() == "helloagents.role" {
			return mocktest.Unwrap(o["value"]).StringValue()
		}
	}
	return ""
}

func TestContainerSecurity(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "production"} {
		t.Run(stack, func(t *testing.T) {
			m, cfg, _ := runStack(t, stack)
			wantUser := map[string]string{"backend": "65532:65532", "postgres": "999:999", "pgbackrest": "999:999", "backup": "65532:65532", "tunnel": "65532:65532", "proxy": "65532:65532",
				"prometheus": "65532:65532", "alertmanager": "65532:65532", "pgexporter": "65532:65532"}
			for _, c := range m.ByType(restype.DockerContainer) {
				in := c.Inputs
				r := role(c)
				if got := mocktest.Unwrap(in["user"]).StringValue(); got != wantUser[r] {
					t.Errorf("%s: user %q, want %q", c.Name, got, wantUser[r])
				}
				if !mocktest.Unwrap(in["readOnly"]).BoolValue() {
					t.Errorf("%s: root filesystem not read-only", c.Name)
				}
				if got := mocktest.Strings(obj(in["capabilities"])["drops"]); len(got) != 1 || got[0] != "ALL" {
					t.Errorf("%s: capabilities drop %v, want [ALL]", c.Name, got)
				}
				if _, ok := obj(in["capabilities"])["adds"]; ok {
					t.Errorf("%s: adds capabilities", c.Name)
				}
				if got := mocktest.Strings(in["securityOpts"]); len(got) != 1 || got[0] != "no-new-privileges:true" {
					t.Errorf("%s: securityOpts %v", c.Name, got)
				}
				if mocktest.Unwrap(in["restart"]).StringValue() != "on-failure" || mocktest.Unwrap(in["maxRetryCount"]).NumberValue() != float64(cfg.Backend.MaxRestarts) {
					t.Errorf("%s: restart %v max %v", c.Name, in["restart"], in["maxRetryCount"])
				}
				if mocktest.Unwrap(in["memory"]).NumberValue() <= 0 || mocktest.Unwrap(in["cpus"]).StringValue() == "" {
					t.Errorf("%s: no memory/CPU limits", c.Name)
				}
				if !c.Custom || !strings.Contains(c.Provider, "region-") {
					t.Errorf("%s: not on its region's explicit provider: %q", c.Name, c.Provider)
				}
				checkNetworks(t, stack, c)
				checkPorts(t, stack, c)
				// The backup jobs have no server to probe; the proxy's and
				// the monitoring containers' healthchecks are their images'
				// (HAProxy's monitor endpoint, Prometheus's /-/ready...).
				if !slices.Contains([]string{"backup", "pgbackrest", "proxy", "prometheus", "alertmanager", "pgexporter"}, r) {
					checkHealthcheck(t, cfg, c)
				}
			}
		})
	}
}

func checkHealthcheck(t *testing.T, cfg config.Config, c mocktest.Resource) {
	t.Helper()
	hc, ok := c.Inputs["healthcheck"]
	if !ok {
		t.Errorf("%s: no healthcheck", c.Name)
		return
	}
	h := obj(hc)
	if mocktest.Unwrap(h["interval"]).StringValue() != "30s" || mocktest.Unwrap(h["timeout"]).StringValue() != "5s" ||
		mocktest.Unwrap(h["retries"]).NumberValue() != 3 || mocktest.Unwrap(h["startPeriod"]).StringValue() != "10s" {
		t.Errorf("%s: healthcheck %v does not follow the shared settings", c.Name, h)
	}
	tests := mocktest.Strings(h["tests"])
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
	for _, n := range mocktest.Unwrap(c.Inputs["networksAdvanced"]).ArrayValue() {
		nets = append(nets, mocktest.Unwrap(obj(n)["name"]).StringValue())
	}
	var want []string
	switch role(c) {
	case "postgres", "pgexporter":
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

// devPorts are the ports published in dev, on 127.0.0.1 only, by role:
// the API through the proxy and the monitoring UIs.
var devPorts = map[string]float64{"proxy": 8000, "prometheus": 9090, "alertmanager": 9093}

func checkPorts(t *testing.T, stack string, c mocktest.Resource) {
	t.Helper()
	ports, ok := c.Inputs["ports"]
	port, published := devPorts[role(c)]
	if stack != "dev" || !published {
		if ok && len(mocktest.Unwrap(ports).ArrayValue()) > 0 {
			t.Errorf("%s: publishes ports %v; only the dev proxy, Prometheus and Alertmanager may, on 127.0.0.1", c.Name, ports)
		}
		return
	}
	list := mocktest.Unwrap(ports).ArrayValue()
	if len(list) != 1 {
		t.Fatalf("%s: ports %v, want exactly one", c.Name, ports)
	}
	p := obj(list[0])
	if mocktest.Unwrap(p["ip"]).StringValue() != "127.0.0.1" || mocktest.Unwrap(p["internal"]).NumberValue() != port || mocktest.Unwrap(p["external"]).NumberValue() != port {
		t.Errorf("%s: port %v, want 127.0.0.1:%v->%v", c.Name, p, port, port)
	}
}

func TestNetworksPrivateIsInternal(t *testing.T) {
	m, _, _ := runStack(t, "production")
	for _, n := range m.ByType(restype.DockerNetwork) {
		internal := n.Inputs["internal"].IsBool() && n.Inputs["internal"].BoolValue()
		if strings.HasSuffix(n.Name, "-private") != internal {
			t.Errorf("%s: internal=%v", n.Name, internal)
		}
	}
}
