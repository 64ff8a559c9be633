package alertmanager

import (
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/imagetest"
)

// TestImage builds backend/alertmanager.Dockerfile and runs it as the
// infrastructure program does: read-only root, no capabilities, no
// privilege gain, a named data volume at /alertmanager, a tmpfs of the
// image user at /etc/alertmanager, and the configuration in EnvConfig. It
// checks that the container becomes healthy, runs the configuration it was
// given without clustering (and keeps it from Alertmanager's environment),
// takes an alert, stops cleanly on its STOPSIGNAL and leaves its state on
// the data volume. Runs only with
// IMAGE_TESTS=1 (see internal/imagetest).
func TestImage(t *testing.T) {
	imagetest.RequireHeavy(t, "debootstrap")
	dk := imagetest.RequireDocker(t)
	buildContext, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	image := imagetest.Tag("alertmanager", "image")
	dk.Build(t, image, buildContext, "alertmanager.Dockerfile", map[string]string{"RUNTIME_IMAGE": dk.DebianBase(t)})
	if got := dk.Run(t, time.Minute, "image", "inspect", "-f", "{{.Config.User}} {{.Config.StopSignal}}", image); got != "65532:65532 SIGTERM" {
		t.Errorf("image USER and STOPSIGNAL = %q, want 65532:65532 SIGTERM", got)
	}

	data := imagetest.Tag("alertmanager", "data")
	name := imagetest.Tag("alertmanager", "run")
	t.Cleanup(func() {
		dk.Cleanup("rm", "-f", name)
		dk.Cleanup("volume", "rm", "-f", data)
	})
	cfg := `route:
  receiver: given
  group_by: [region, alertname]
receivers:
  - name: given
`
	run := append([]string{"run", "-d", "--name", name}, imagetest.Hardening()...)
	run = append(run, imagetest.FastHealth()...)
	run = append(run, "-p", "127.0.0.1::"+strconv.Itoa(Port), "-v", data+":"+DataDir,
		"--tmpfs", ConfigDir+":rw,noexec,nosuid,size=1m,mode=0700,uid=65532,gid=65532", "-e", EnvConfig+"="+cfg, image)
	dk.Run(t, time.Minute, run...)
	dk.WaitHealthy(t, name, 2*time.Minute)
	base := "http://" + dk.HostPort(t, name, Port)

	if code, body := imagetest.Request(t, http.MethodGet, base+ReadyPath); code != http.StatusOK {
		t.Errorf("GET %s = %d %q, want 200", ReadyPath, code, body)
	}
	var status struct {
		Cluster struct{ Status string }
		Config  struct{ Original string }
	}
	imagetest.GetJSON(t, base+"/api/v2/status", &status)
	if status.Cluster.Status != "disabled" {
		t.Errorf("cluster status = %q, want disabled (no gossip)", status.Cluster.Status)
	}
	if !strings.Contains(status.Config.Original, "receiver: given") {
		t.Errorf("running configuration is not the one given:\n%s", status.Config.Original)
	}
	if got := dk.Run(t, time.Minute, "exec", name, "stat", "-c", "%a %u", ConfigPath); got != "600 65532" {
		t.Errorf("mode and owner of the written file = %q, want 600 65532", got)
	}
	if env := dk.Run(t, time.Minute, "exec", name, "cat", "/proc/1/environ"); strings.Contains(env, EnvConfig) {
		t.Errorf("Alertmanager's environment still holds the file: %q", env)
	}

	// An alert posted as Prometheus posts it is listed back.
	post := dk.Run(t, time.Minute, "run", "--rm", "--network", "container:"+name, "--entrypoint", "amtool", image,
		"--alertmanager.url=http://127.0.0.1:9093", "alert", "add", "TestAlert", "region=r1", "--annotation=summary=test")
	var alerts []struct{ Labels map[string]string }
	imagetest.GetJSON(t, base+"/api/v2/alerts", &alerts)
	if len(alerts) != 1 || alerts[0].Labels["alertname"] != "TestAlert" {
		t.Errorf("alerts = %+v after amtool alert add (%s), want TestAlert", alerts, post)
	}

	if code := dk.StopExitCode(t, name, 30*time.Second); code != 0 {
		t.Errorf("exit code after docker stop = %d, want 0 (clean shutdown on SIGTERM)", code)
	}
	files := strings.Fields(dk.Run(t, time.Minute, "run", "--rm", "-v", data+":"+DataDir, "--entrypoint", "ls", image, DataDir))
	for _, f := range []string{"nflog", "silences"} {
		if !slices.Contains(files, f) {
			t.Errorf("data volume holds %v, want %s", files, f)
		}
	}
}
