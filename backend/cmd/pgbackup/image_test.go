package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/internal/dbfixture"
	"github.com/helloagents/infra/backend/pgtest"
)

// TestImage builds backend/pgbackup.Dockerfile and runs the image as the
// Database component does: non-root, a named volume at /backups, host
// networking to a real PostgreSQL. It backs up, restores into an empty
// database and checks the content, then runs the scheduler and stops it with
// `docker stop` (exit 0).
//
// No registry is reachable, so both bases are made here: Debian bookworm by
// debootstrap (from the Debian mirror, about two minutes), and the Go builder
// from it plus this machine's GOROOT. That costs minutes and network, so the
// test runs only with PGBACKUP_IMAGE_TEST=1 (and then needs docker and
// debootstrap, as root).
func TestImage(t *testing.T) {
	if os.Getenv("PGBACKUP_IMAGE_TEST") == "" {
		t.Skip("image test skipped: set PGBACKUP_IMAGE_TEST=1 (needs docker, debootstrap, root, the Debian mirror)")
	}
	for _, tool := range []string{"/usr/bin/docker", "debootstrap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("image test needs %s: %v", tool, err)
		}
	}
	pg := pgtest.Start(t)
	src := pg.CreateDB(t, "app")
	dbfixture.Seed(t, src, 300)
	want := dbfixture.Fingerprint(t, src)
	empty := pg.CreateDB(t, "restored")

	stamp := time.Now().UnixNano()
	base := fmt.Sprintf("helloagents-test/debian:%d", stamp)
	builder := fmt.Sprintf("helloagents-test/go-builder:%d", stamp)
	image := fmt.Sprintf("helloagents-test/pgbackup:%d", stamp)
	volume := fmt.Sprintf("pgbackup-test-%d", stamp)
	t.Cleanup(func() {
		for _, args := range [][]string{{"rmi", "-f", image, builder, base}, {"volume", "rm", "-f", volume}} {
			_ = dockerCmd(context.Background(), args...).Run()
		}
	})

	root := filepath.Join(t.TempDir(), "rootfs")
	mirror := os.Getenv("DEBIAN_MIRROR")
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	sh(t, 15*time.Minute, "debootstrap", "--variant=minbase", "bookworm", root, mirror)
	_ = os.RemoveAll(filepath.Join(root, "var/cache/apt/archives"))
	importDir(t, root, base)
	goroot := strings.TrimSpace(sh(t, time.Minute, "go", "env", "GOROOT"))
	sh(t, 5*time.Minute, "cp", "-a", goroot, filepath.Join(root, "usr/local/go"))
	// The builder fetches modules over HTTPS: give it this machine's trust
	// store (which may include a local proxy's CA), as golang images have one.
	sh(t, time.Minute, "mkdir", "-p", filepath.Join(root, "etc/ssl/certs"))
	sh(t, time.Minute, "cp", "/etc/ssl/certs/ca-certificates.crt", filepath.Join(root, "etc/ssl/certs/"))
	importDir(t, root, builder, "--change", "ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")

	goproxy := strings.TrimSpace(sh(t, time.Minute, "go", "env", "GOPROXY"))
	buildContext, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	docker(t, 20*time.Minute, "build", "--network", "host", "-f", filepath.Join(buildContext, "pgbackup.Dockerfile"),
		"--build-arg", "GO_IMAGE="+builder, "--build-arg", "RUNTIME_IMAGE="+base, "--build-arg", "GOPROXY="+goproxy,
		"-t", image, buildContext)
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

	name := fmt.Sprintf("pgbackup-run-%d", stamp)
	docker(t, time.Minute, "run", "-d", "--name", name, "--network", "host", "-v", volume+":/backups",
		"-e", "DATABASE_URL="+src, "-e", "BACKUP_SCHEDULE=@every 1s", image)
	t.Cleanup(func() { _ = dockerCmd(context.Background(), "rm", "-f", name).Run() })
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

func dockerCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/usr/bin/docker", args...) // the client matching the 20.10 engine
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=1")
	return cmd
}

func docker(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := dockerCmd(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker %s: %v\n%s%s", args[0], err, stdout.String(), stderr.String())
	}
	return strings.TrimSpace(stdout.String() + stderr.String())
}

func sh(t *testing.T, timeout time.Duration, prog string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, prog, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", prog, err, out)
	}
	return string(out)
}

// importDir makes an image of a directory tree (docker import of its tar).
func importDir(t *testing.T, dir, tag string, extra ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tar := exec.CommandContext(ctx, "tar", "-C", dir, "-c", ".")
	imp := dockerCmd(ctx, append(append([]string{"import"}, extra...), "-", tag)...)
	pipe, err := tar.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	imp.Stdin = pipe
	var out bytes.Buffer
	imp.Stdout, imp.Stderr = &out, &out
	if err := tar.Start(); err != nil {
		t.Fatal(err)
	}
	if err := imp.Run(); err != nil {
		t.Fatalf("docker import %s: %v\n%s", tag, err, out.String())
	}
	if err := tar.Wait(); err != nil {
		t.Fatalf("tar %s: %v", dir, err)
	}
}
