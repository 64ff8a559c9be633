package components_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
)

// monitoringArgs are a region's monitoring with the given files and host
// ports (0: none, as outside dev).
func monitoringArgs(host *components.Region, promCfg, amCfg string, promPort, amPort int) *components.MonitoringArgs {
	limits := components.Limits{MemoryMB: 128, CPUs: 0.25, MaxRestarts: 5}
	return &components.MonitoringArgs{
		Host: host,
		Images: components.MonitoringImages{
			Prometheus:   pulumi.String("r/prometheus@sha256:" + strings.Repeat("a", 64)),
			Alertmanager: pulumi.String("r/alertmanager@sha256:" + strings.Repeat("b", 64)),
			PGExporter:   pulumi.String("r/pgexporter@sha256:" + strings.Repeat("c", 64)),
		},
		Pull: true, User: "65532:65532",
		PrometheusConfig: secret(promCfg), Rules: pulumi.String("groups: []\n"), AlertmanagerConfig: secret(amCfg),
		Retention: "15d", PrometheusURL: "https://prometheus-eu.example.dev", AlertmanagerURL: "https://alertmanager-eu.example.dev",
		PrometheusHostPort: promPort, AlertmanagerHostPort: amPort,
		DatabaseURL:      secret("postgres://app:pw-db@postgres:5432/app?sslmode=disable"),
		PrometheusLimits: limits, AlertmanagerLimits: limits, ExporterLimits: limits,
	}
}

// runMonitoring renders one region's monitoring under mocks.
func runMonitoring(t *testing.T, promCfg, amCfg string, promPort, amPort int) *mocktest.Monitor {
	t.Helper()
	return run(t, func(ctx *pulumi.Context) error {
		host, err := newHost(ctx, "ssh://deploy@eu.example.dev")
		if err != nil {
			return err
		}
		_, err = components.NewMonitoring(ctx, "monitoring-eu", monitoringArgs(host, promCfg, amCfg, promPort, amPort), host.Child())
		return err
	})
}

// label returns the value of a container's label key.
func label(c mocktest.Resource, key string) (resource.PropertyValue, bool) {
	for _, l := range arr(c.Inputs["labels"]) {
		o := mocktest.Unwrap(l).ObjectValue()
		if mocktest.Unwrap(o["label"]).StringValue() == key {
			return o["value"], true
		}
	}
	return resource.PropertyValue{}, false
}

func TestMonitoringContainers(t *testing.T) {
	m := runMonitoring(t, "remote_write: [{password: rw-SECRET}]\n", "receivers: [{name: hook, url: https://hooks.example.dev/SECRET}]\n", 0, 0)
	if n := m.Count(restype.DockerContainer); n != 3 {
		t.Fatalf("containers = %d, want 3 (prometheus, alertmanager, pgexporter)", n)
	}
	if n := m.Count(restype.DockerRemoteImage); n != 3 {
		t.Errorf("pulled images = %d, want 3", n)
	}
	var vols []string
	for _, v := range m.ByType(restype.DockerVolume) {
		vols = append(vols, str(v, "name"))
	}
	slices.Sort(vols)
	if want := []string{"helloagents-test-alertmanager-data", "helloagents-test-prometheus-data"}; !slices.Equal(vols, want) {
		t.Errorf("volumes %v, want %v", vols, want)
	}
	for _, tc := range []struct {
		name, role, docker string
		aliases            []string // per network: private, egress ("" = not on it)
		files              []string // the variables carrying files, each a secret entry
		mounts             map[string]string
		configDir          string // the configuration tmpfs
		flags              []string
	}{
		{"monitoring-eu-prometheus", "prometheus", "helloagents-test-prometheus", []string{"prometheus", "prometheus"},
			[]string{"PROMETHEUS_CONFIG", "PROMETHEUS_RULES"},
			map[string]string{"/prometheus": "helloagents-test-prometheus-data"}, "/etc/prometheus",
			[]string{"--web.external-url=https://prometheus-eu.example.dev"}},
		{"monitoring-eu-alertmanager", "alertmanager", "helloagents-test-alertmanager", []string{"alertmanager", "alertmanager"},
			[]string{"ALERTMANAGER_CONFIG"},
			map[string]string{"/alertmanager": "helloagents-test-alertmanager-data"}, "/etc/alertmanager",
			[]string{"--web.external-url=https://alertmanager-eu.example.dev"}},
		{"monitoring-eu-pgexporter", "pgexporter", "helloagents-test-pgexporter", []string{"pgexporter", ""}, nil, nil, "", nil},
	} {
		t.Run(tc.role, func(t *testing.T) {
			c, ok := m.Named(restype.DockerContainer, tc.name)
			if !ok {
				t.Fatalf("%s not registered", tc.name)
			}
			checkMonitoringContainer(t, c, tc.role, tc.docker)
			checkMonitoringNetworks(t, c, tc.aliases)
			if n := len(listOf(c, "uploads")); n != 0 {
				t.Errorf("%d uploads: the provider copies them at the container's root, which Docker refuses on a read-only root filesystem", n)
			}
			for _, v := range tc.files {
				e, ok := envEntry(c, v)
				if !ok || !e.IsSecret() {
					t.Errorf("env %s = %v (present %v), want a secret entry", v, e, ok)
				}
			}
			tmpfs := map[string]string{}
			if v := mocktest.Unwrap(c.Inputs["tmpfs"]); v.IsObject() {
				for k, o := range v.ObjectValue() {
					tmpfs[string(k)] = mocktest.Unwrap(o).StringValue()
				}
			}
			if tc.configDir != "" && tmpfs[tc.configDir] != "rw,noexec,nosuid,size=1m,mode=0700,uid=65532,gid=65532" {
				t.Errorf("tmpfs %v, want %s owned by the image user (the entrypoint writes the files there)", tmpfs, tc.configDir)
			}
			if tmpfs["/tmp"] == "" {
				t.Errorf("tmpfs %v, want the private /tmp too", tmpfs)
			}
			mounts := map[string]string{}
			for _, mt := range arr(c.Inputs["mounts"]) {
				o := mocktest.Unwrap(mt).ObjectValue()
				mounts[mocktest.Unwrap(o["target"]).StringValue()] = mocktest.Unwrap(o["source"]).StringValue()
			}
			if len(mounts) != len(tc.mounts) {
				t.Errorf("mounts %v, want %v", mounts, tc.mounts)
			}
			for target, vol := range tc.mounts {
				if mounts[target] != vol {
					t.Errorf("mount %s = %q, want the volume %s", target, mounts[target], vol)
				}
			}
			var cmd []string
			for _, a := range arr(c.Inputs["command"]) {
				cmd = append(cmd, mocktest.Unwrap(a).StringValue())
			}
			// Only what the image's entrypoint does not pass: Prometheus
			// and Alertmanager refuse a flag given twice.
			if !slices.Equal(cmd, tc.flags) {
				t.Errorf("command %q, want %q", cmd, tc.flags)
			}
			if tc.files != nil {
				v, ok := label(c, labels.Config)
				if !ok || v.IsSecret() || len(mocktest.Unwrap(v).StringValue()) != 10 {
					t.Errorf("label %s = %v, want a plain 10-digit digest of the files", labels.Config, v)
				}
			}
		})
	}
	prom, _ := m.Named(restype.DockerContainer, "monitoring-eu-prometheus")
	if e, ok := envEntry(prom, "PROMETHEUS_RETENTION"); !ok || e.IsSecret() || mocktest.Unwrap(e).StringValue() != "PROMETHEUS_RETENTION=15d" {
		t.Errorf("prometheus env PROMETHEUS_RETENTION = %v (present %v), want a plain 15d", e, ok)
	}
	exporter, _ := m.Named(restype.DockerContainer, "monitoring-eu-pgexporter")
	envs := listOf(exporter, "envs")
	if len(envs) != 1 || !strings.HasPrefix(mocktest.Unwrap(envs[0]).StringValue(), "DATA_SOURCE_NAME=postgres://") || !envs[0].IsSecret() {
		t.Errorf("exporter env %v, want the DSN as one secret DATA_SOURCE_NAME entry", envs)
	}
	for _, needle := range []string{"rw-SECRET", "hooks.example.dev/SECRET", "pw-db"} {
		for _, r := range m.Resources() {
			for k, v := range r.Inputs {
				if strings.Contains(plainText(v), needle) {
					t.Errorf("%s: input %s holds %q in plain text", r, k, needle)
				}
			}
		}
	}
}

// envEntry is c's env entry of the variable key, as registered.
func envEntry(c mocktest.Resource, key string) (resource.PropertyValue, bool) {
	for _, e := range listOf(c, "envs") {
		if strings.HasPrefix(mocktest.Unwrap(e).StringValue(), key+"=") {
			return e, true
		}
	}
	return resource.PropertyValue{}, false
}

// listOf is the list input k of r.
func listOf(r mocktest.Resource, k resource.PropertyKey) []resource.PropertyValue {
	return arr(r.Inputs[k])
}

// plainText concatenates every string in v outside secret values.
func plainText(v resource.PropertyValue) string {
	switch {
	case v.IsSecret():
		return ""
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		var b strings.Builder
		for _, e := range v.ArrayValue() {
			b.WriteString(plainText(e))
		}
		return b.String()
	case v.IsObject():
		var b strings.Builder
		for _, e := range v.ObjectValue() {
			b.WriteString(plainText(e))
		}
		return b.String()
	}
	return ""
}

func checkMonitoringContainer(t *testing.T, c mocktest.Resource, role, name string) {
	t.Helper()
	if got := str(c, "name"); got != name {
		t.Errorf("name %q, want %q", got, name)
	}
	if v, _ := label(c, labels.Role); mocktest.Unwrap(v).StringValue() != role {
		t.Errorf("role label %v, want %s", v, role)
	}
	if str(c, "user") != "65532:65532" || !mocktest.Unwrap(c.Inputs["readOnly"]).BoolValue() {
		t.Errorf("user %q readOnly %v: not hardened", str(c, "user"), c.Inputs["readOnly"])
	}
	if drops := mocktest.Strings(mocktest.Unwrap(c.Inputs["capabilities"]).ObjectValue()["drops"]); !slices.Equal(drops, []string{"ALL"}) {
		t.Errorf("capability drops %v", drops)
	}
	stop := components.StopFor(labels.ContainerRole(role))
	if mocktest.Unwrap(c.Inputs["destroyGraceSeconds"]).NumberValue() != float64(stop.GraceSeconds()) {
		t.Errorf("destroyGraceSeconds %v, want %d", c.Inputs["destroyGraceSeconds"], stop.GraceSeconds())
	}
	if c.DeleteBeforeReplace == nil || !*c.DeleteBeforeReplace {
		t.Errorf("deleteBeforeReplace %v, want true: one instance per data volume and fixed name", c.DeleteBeforeReplace)
	}
	if !strings.Contains(c.Provider, "region-eu-docker") || !strings.Contains(c.Parent, "helloagents:monitoring:Monitoring") {
		t.Errorf("provider %q parent %q, want the region's provider under the Monitoring component", c.Provider, c.Parent)
	}
	if len(listOf(c, "ports")) != 0 {
		t.Errorf("publishes %v outside dev", c.Inputs["ports"])
	}
}

// checkMonitoringNetworks compares a container's aliases on the private and
// egress networks with want ("" = not attached).
func checkMonitoringNetworks(t *testing.T, c mocktest.Resource, want []string) {
	t.Helper()
	got := []string{"", ""}
	for _, n := range arr(c.Inputs["networksAdvanced"]) {
		o := mocktest.Unwrap(n).ObjectValue()
		i := 0
		if strings.HasSuffix(mocktest.Unwrap(o["name"]).StringValue(), "-egress") {
			i = 1
		}
		got[i] = strings.Join(mocktest.Strings(o["aliases"]), ",")
	}
	if !slices.Equal(got, want) {
		t.Errorf("aliases (private, egress) %q, want %q", got, want)
	}
}

// TestMonitoringDevPorts: in dev the UIs are published on 127.0.0.1 only.
func TestMonitoringDevPorts(t *testing.T) {
	m := runMonitoring(t, "a", "b", 9090, 9093)
	for name, port := range map[string]float64{"monitoring-eu-prometheus": 9090, "monitoring-eu-alertmanager": 9093} {
		r, _ := m.Named(restype.DockerContainer, name)
		ports := listOf(r, "ports")
		if len(ports) != 1 {
			t.Fatalf("%s: ports %v, want one", name, ports)
		}
		p := mocktest.Unwrap(ports[0]).ObjectValue()
		if mocktest.Unwrap(p["ip"]).StringValue() != "127.0.0.1" || mocktest.Unwrap(p["internal"]).NumberValue() != port ||
			mocktest.Unwrap(p["external"]).NumberValue() != port {
			t.Errorf("%s: port %v, want 127.0.0.1:%v", name, p, port)
		}
	}
	exporter, _ := m.Named(restype.DockerContainer, "monitoring-eu-pgexporter")
	if len(listOf(exporter, "ports")) != 0 {
		t.Errorf("the exporter publishes %v", exporter.Inputs["ports"])
	}
}

// TestMonitoringConfigLabel: a change of a file changes its container's
// config label (the visible sign of the replacement its secret variable
// forces) and no other's.
func TestMonitoringConfigLabel(t *testing.T) {
	labels := func(promCfg, amCfg string) map[string]string {
		m := runMonitoring(t, promCfg, amCfg, 0, 0)
		out := map[string]string{}
		for _, r := range m.ByType(restype.DockerContainer) {
			if v, ok := label(r, labels.Config); ok {
				out[r.Name] = mocktest.Unwrap(v).StringValue()
			}
		}
		return out
	}
	base, changed := labels("scrape: 15s", "route: a"), labels("scrape: 30s", "route: a")
	if base["monitoring-eu-prometheus"] == changed["monitoring-eu-prometheus"] {
		t.Error("a new prometheus.yml keeps the Prometheus config label")
	}
	if base["monitoring-eu-alertmanager"] != changed["monitoring-eu-alertmanager"] {
		t.Error("a new prometheus.yml changes the Alertmanager config label")
	}
	if again := labels("scrape: 15s", "route: a"); again["monitoring-eu-prometheus"] != base["monitoring-eu-prometheus"] {
		t.Error("the same files give another label")
	}
}

// TestMonitoringOutsideItsRegion: without its region's Child option the
// component is refused instead of landing on the local engine.
func TestMonitoringOutsideItsRegion(t *testing.T) {
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		host, err := newHost(ctx, "ssh://deploy@eu.example.dev")
		if err != nil {
			return err
		}
		_, err = components.NewMonitoring(ctx, "monitoring-eu", monitoringArgs(host, "a", "b", 0, 0))
		return err
	}, pulumi.WithMocks("helloagents", "test", mocktest.New()))
	if err == nil || !strings.Contains(err.Error(), `monitoring "monitoring-eu": no docker provider`) {
		t.Fatalf("err = %v, want no docker provider", err)
	}
}
