package pgexporter

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/internal/imagetest"
	"github.com/helloagents/infra/backend/internal/promtest"
	"github.com/helloagents/infra/backend/pgtest"
)

// TestImage builds backend/pgexporter.Dockerfile and runs it hardened as
// the infrastructure program does (read-only root, no capabilities, no
// privilege gain) against a real PostgreSQL on this machine (host
// networking, the exporter moved to a free port through its own variable).
// It checks that the container becomes healthy, serves the platform's
// series from the image's queries file, and that with the database gone it
// reports pg_up 0 and never logs the password of DATA_SOURCE_NAME. Runs
// only with IMAGE_TESTS=1 (see internal/imagetest).
func TestImage(t *testing.T) {
	imagetest.RequireHeavy(t, "debootstrap")
	dk := imagetest.RequireDocker(t)
	pg := pgtest.Start(t)
	buildContext, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	image := imagetest.Tag("pgexporter", "image")
	dk.Build(t, image, buildContext, "pgexporter.Dockerfile", map[string]string{"RUNTIME_IMAGE": dk.DebianBase(t)})
	if got := dk.Run(t, time.Minute, "image", "inspect", "-f", "{{.Config.User}} {{.Config.StopSignal}}", image); got != "65532:65532 SIGTERM" {
		t.Errorf("image USER and STOPSIGNAL = %q, want 65532:65532 SIGTERM", got)
	}

	// Trust authentication ignores the password; it is there to be kept
	// out of the log.
	const password = "pgexporter-test-secret-7f3a"
	dsn := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable", password, pg.Port)
	addr := fmt.Sprintf("127.0.0.1:%d", pgtest.FreePort(t))
	name := imagetest.Tag("pgexporter", "run")
	t.Cleanup(func() { dk.Cleanup("rm", "-f", name) })
	run := append([]string{"run", "-d", "--name", name, "--network", "host"}, imagetest.Hardening()...)
	run = append(run, imagetest.FastHealth()...)
	run = append(run, "-e", EnvListenAddress+"="+addr, "-e", EnvDataSourceName+"="+dsn, image)
	dk.Run(t, time.Minute, run...)
	dk.WaitHealthy(t, name, time.Minute)

	url := "http://" + addr + MetricsPath
	samples, err := promtest.Scrape(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	server := fmt.Sprintf("127.0.0.1:%d", pg.Port)
	for key, want := range map[string]float64{
		promtest.Key("pg_up"):                            1,
		promtest.Key(StandbyReplayLag, "server", server): 0, // a primary
	} {
		if v, ok := samples[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
	loaded := false
	for key, v := range samples {
		if strings.HasPrefix(key, "pg_exporter_user_queries_load_error{") && strings.Contains(key, QueriesPath) {
			loaded = v == 0
		}
	}
	if !loaded {
		t.Errorf("pg_exporter_user_queries_load_error for %s is not 0", QueriesPath)
	}

	pg.Stop(t)
	samples, err = promtest.Scrape(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	if v := samples[promtest.Key("pg_up")]; v != 0 {
		t.Errorf("pg_up = %v with the database stopped, want 0", v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logs, err := dk.Command(ctx, "logs", name).CombinedOutput()
	if err != nil {
		t.Fatalf("docker logs: %v", err)
	}
	if strings.Contains(string(logs), password) {
		t.Errorf("the exporter logged the password of %s:\n%s", EnvDataSourceName, logs)
	}
	if !strings.Contains(string(logs), "connection refused") {
		t.Errorf("the exporter logged no connection error with the database stopped:\n%s", logs)
	}
	// The exporter does not handle SIGTERM; as the container's first
	// process Go's runtime then exits with status 2 at once, well before
	// docker stop's SIGKILL (137).
	if code := dk.StopExitCode(t, name, 30*time.Second); code == 137 {
		t.Errorf("exit code after docker stop = %d: it did not stop on SIGTERM", code)
	}
}
