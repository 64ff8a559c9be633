package prometheus

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/internal/imagetest"
	"github.com/helloagents/infra/backend/internal/promtest"
)

// TestImage builds backend/prometheus.Dockerfile and runs it as the
// infrastructure program does: read-only root, no capabilities, no
// privilege gain, a named data volume at /prometheus and a configuration
// volume at /etc/prometheus into which the configuration and rules are
// uploaded before the container starts (docker cp, the provider's
// "uploads"). It checks that the container becomes healthy and ready, runs
// what was uploaded with the retention from the environment, refuses the
// lifecycle API, and stops cleanly on its STOPSIGNAL. Runs only with
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

	data, config := imagetest.Tag("prometheus", "data"), imagetest.Tag("prometheus", "config")
	name := imagetest.Tag("prometheus", "run")
	t.Cleanup(func() {
		dk.Cleanup("rm", "-f", name)
		dk.Cleanup("volume", "rm", "-f", data, config)
	})
	run := append([]string{"create", "--name", name}, imagetest.Hardening()...)
	run = append(run, imagetest.FastHealth()...)
	run = append(run, "-p", "127.0.0.1::"+strconv.Itoa(Port),
		"-v", data+":"+DataDir, "-v", config+":"+ConfigDir,
		"-e", EnvRetention+"=2d", image, "--web.external-url=http://prometheus.test/")
	dk.Run(t, time.Minute, run...)

	upload := t.TempDir()
	files := map[string]string{
		"prometheus.yml": `global:
  scrape_interval: 1s
  external_labels: {stack: test, region: r1}
rule_files: [` + RulesPath + `]
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["localhost:9090"]}]
`,
		"rules.yml": `groups:
  - name: test
    rules:
      - record: test:up:sum
        expr: sum(up)
`,
	}
	for file, content := range files {
		p := filepath.Join(upload, file)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		dk.Run(t, time.Minute, "cp", p, name+":"+ConfigDir+"/"+file)
	}
	dk.Run(t, time.Minute, "start", name)
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
		t.Errorf("running configuration is not the uploaded one:\n%s", cfg.Data.YAML)
	}
	// The uploaded rule file is the one loaded.
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct{ Name, Health string }
			}
		}
	}
	imagetest.GetJSON(t, base+"/api/v1/rules", &rules)
	if g := rules.Data.Groups; len(g) != 1 || len(g[0].Rules) != 1 || g[0].Rules[0].Name != "test:up:sum" {
		t.Errorf("loaded rules = %+v, want the uploaded test:up:sum", g)
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
