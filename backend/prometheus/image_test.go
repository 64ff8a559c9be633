package prometheus

import (
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/imagetest"
	"github.com/helloagents/infra/backend/internal/promtest"
)

// TestImage builds backend/prometheus.Dockerfile and runs it as the
// infrastructure program does: read-only root, no capabilities, no
// privilege gain, a named data volume at /prometheus, a tmpfs of the image
// user at /etc/prometheus, and the configuration and rules in EnvConfig and
// EnvRules. It checks that the container becomes healthy and ready, runs
// the files it was given with the retention from the environment, keeps
// them from Prometheus's environment, refuses the lifecycle API, and stops
// cleanly on its STOPSIGNAL. Runs only with
// IMAGE_TESTS=1 (the build runs apt-get against the Debian mirror on a
// base made by debootstrap; see internal/imagetest).
func TestImage(t *testing.T) {
	imagetest.RequireHeavy(t, "debootstrap")
	dk := imagetest.RequireDocker(t)
	buildContext, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	image := imagetest.Tag("prometheus", "image")
	dk.Build(t, image, buildContext, "prometheus.Dockerfile", map[string]string{"RUNTIME_IMAGE": dk.DebianBase(t)})
	if got := dk.Run(t, time.Minute, "image", "inspect", "-f", "{{.Config.User}} {{.Config.StopSignal}}", image); got != "65532:65532 SIGTERM" {
		t.Errorf("image USER and STOPSIGNAL = %q, want 65532:65532 SIGTERM", got)
	}

	data := imagetest.Tag("prometheus", "data")
	name := imagetest.Tag("prometheus", "run")
	t.Cleanup(func() {
		dk.Cleanup("rm", "-f", name)
		dk.Cleanup("volume", "rm", "-f", data)
	})
	files := map[string]string{
		EnvConfig: `global:
  scrape_interval: 1s
  external_labels: {stack: test, region: r1}
rule_files: [` + RulesPath + `]
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["localhost:9090"]}]
`,
		EnvRules: `groups:
  - name: test
    rules:
      - record: test:up:sum
        expr: sum(up)
`,
	}
	run := append([]string{"run", "-d", "--name", name}, imagetest.Hardening()...)
	run = append(run, imagetest.FastHealth()...)
	run = append(run, "-p", "127.0.0.1::"+strconv.Itoa(Port),
		"-v", data+":"+DataDir, "--tmpfs", ConfigDir+":rw,noexec,nosuid,size=1m,mode=0700,uid=65532,gid=65532",
		"-e", EnvRetention+"=2d", "-e", EnvConfig+"="+files[EnvConfig], "-e", EnvRules+"="+files[EnvRules],
		image, "--web.external-url=http://prometheus.test/")
	dk.Run(t, time.Minute, run...)
	dk.WaitHealthy(t, name, 2*time.Minute)
	base := "http://" + dk.HostPort(t, name, Port)

	if code, body := imagetest.Request(t, http.MethodGet, base+ReadyPath); code != http.StatusOK {
		t.Errorf("GET %s = %d %q, want 200", ReadyPath, code, body)
	}
	var flags struct{ Data map[string]string }
	imagetest.GetJSON(t, base+"/api/v1/status/flags", &flags)
	for flag, want := range map[string]string{
		"storage.tsdb.retention.time": "2d",
		"storage.tsdb.path":           DataDir,
		"config.file":                 ConfigPath,
		"web.enable-lifecycle":        "false",
		"web.enable-admin-api":        "false",
		"web.external-url":            "http://prometheus.test/",
	} {
		if got := flags.Data[flag]; got != want {
			t.Errorf("flag %s = %q, want %q", flag, got, want)
		}
	}
	var cfg struct{ Data struct{ YAML string } }
	imagetest.GetJSON(t, base+"/api/v1/status/config", &cfg)
	if !strings.Contains(cfg.Data.YAML, "region: r1") {
		t.Errorf("running configuration is not the one given:\n%s", cfg.Data.YAML)
	}
	// The rule file given is the one loaded.
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct{ Name, Health string }
			}
		}
	}
	imagetest.GetJSON(t, base+"/api/v1/rules", &rules)
	if g := rules.Data.Groups; len(g) != 1 || len(g[0].Rules) != 1 || g[0].Rules[0].Name != "test:up:sum" {
		t.Errorf("loaded rules = %+v, want the given test:up:sum", g)
	}
	// The files are written readable by the image user only and are not in
	// the environment of Prometheus (PID 1 after the entrypoint's exec).
	if got := dk.Run(t, time.Minute, "exec", name, "stat", "-c", "%a %u", ConfigPath, RulesPath); got != "600 65532\n600 65532" {
		t.Errorf("mode and owner of the written files = %q, want 600 65532", got)
	}
	if env := dk.Run(t, time.Minute, "exec", name, "cat", "/proc/1/environ"); strings.Contains(env, EnvConfig) || strings.Contains(env, EnvRules) {
		t.Errorf("Prometheus's environment still holds the files: %q", env)
	}
	if code, _ := imagetest.Request(t, http.MethodPost, base+"/-/reload"); code != http.StatusForbidden {
		t.Errorf("POST /-/reload = %d, want 403 (lifecycle API off)", code)
	}
	samples, err := promtest.Scrape(t.Context(), base+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if samples[promtest.Key("prometheus_config_last_reload_successful")] != 1 {
		t.Error("prometheus_config_last_reload_successful is not 1")
	}

	if code := dk.StopExitCode(t, name, 30*time.Second); code != 0 {
		t.Errorf("exit code after docker stop = %d, want 0 (clean shutdown on SIGTERM)", code)
	}
}
