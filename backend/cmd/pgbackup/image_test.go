package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/imagetest"
	"github.com/helloagents/infra/backend/internal/dbfixture"
	"github.com/helloagents/infra/backend/pgtest"
)

// TestImage builds backend/pgbackup.Dockerfile and runs the image as the
// Database component does: non-root, a named volume at /backups, host
// networking to a real PostgreSQL. It backs up, restores into an empty
// database and checks the content, then runs the scheduler and stops it with
// `docker stop` (exit 0).
//
// No registry is reachable, so both bases are made locally and kept per
// machine (imagetest): Debian bookworm by debootstrap (from the Debian mirror,
// about two minutes the first time) and the Go builder from this machine's
// GOROOT. The build runs apt-get against the Debian mirror, so the test runs
// only with IMAGE_TESTS=1 (and then needs docker and debootstrap, as root).
func TestImage(t *testing.T) {
	imagetest.RequireHeavy(t, "debootstrap")
	dk := imagetest.RequireDocker(t)
	pg := pgtest.Start(t)
	src := pg.CreateDB(t, "app")
	dbfixture.Seed(t, src, 300)
	want := dbfixture.Fingerprint(t, src)
	empty := pg.CreateDB(t, "restored")

	image := imagetest.Tag("pgbackup", "image")
	volume := imagetest.Tag("pgbackup", "volume")
	t.Cleanup(func() { dk.Cleanup("volume", "rm", "-f", volume) })
	buildContext, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dk.Build(t, image, buildContext, "pgbackup.Dockerfile", map[string]string{
		"GO_IMAGE": dk.GoBuilder(t), "RUNTIME_IMAGE": dk.DebianBase(t), "GOPROXY": imagetest.GoProxy(t),
	})
	// docker returns stdout and stderr together: pgbackup and `docker logs`
	// may write what the test looks for to either.
	docker := func(t *testing.T, timeout time.Duration, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		out, err := dk.Command(ctx, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", args[0], err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if user := docker(t, time.Minute, "image", "inspect", "-f", "{{.Config.User}}", image); user != "65532:65532" {
		t.Errorf("image USER = %q, want 65532:65532", user)
	}

	runArgs := []string{"run", "--rm", "--network", "host", "-v", volume + ":/backups", "-e", "DATABASE_URL=" + src, image}
	docker(t, 5*time.Minute, append(runArgs, "backup")...)
	if out := docker(t, time.Minute, append(runArgs, "list")...); !strings.Contains(out, "app/") {
		t.Errorf("list in the image shows no backup:\n%s", out)
	}
	docker(t, 5*time.Minute, append(runArgs, "restore", "--latest", "--target-url", empty)...)
	got := dbfixture.Fingerprint(t, empty)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: restored %q, original %q", k, got[k], v)
		}
	}

	name := imagetest.Tag("pgbackup", "run")
	docker(t, time.Minute, "run", "-d", "--name", name, "--network", "host", "-v", volume+":/backups",
		"-e", "DATABASE_URL="+src, "-e", "BACKUP_SCHEDULE=@every 1s", image)
	t.Cleanup(func() { dk.Cleanup("rm", "-f", name) })
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		if strings.Contains(docker(t, time.Minute, "logs", name), `"status":"ok"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful run logged:\n%s", docker(t, time.Minute, "logs", name))
		}
	}
	docker(t, time.Minute, "stop", "-t", "30", name)
	if code := docker(t, time.Minute, "inspect", "-f", "{{.State.ExitCode}}", name); code != "0" {
		t.Errorf("exit code after docker stop = %s, want 0\n%s", code, docker(t, time.Minute, "logs", name))
	}
}
