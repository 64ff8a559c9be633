package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/pgtest"
)

// maxImageBytes is the size budget of the runtime image.
const maxImageBytes = 25 << 20

// TestDockerImage builds the real backend/Dockerfile, runs it with host
// networking against a real PostgreSQL and checks what production relies on:
// a non-root process, a small image and a healthcheck Docker reports healthy.
// No registry is reachable, so the Go builder base is made from this
// machine's toolchain and passed as GO_IMAGE; the runtime stage is scratch.
func TestDockerImage(t *testing.T) {
	dk := requireDocker(t)
	pg := pgtest.Start(t)
	dbURL := pg.CreateDB(t, "image")

	tag := fmt.Sprintf("helloagents-test/%s:%d", "%s", time.Now().UnixNano())
	builder := fmt.Sprintf(tag, "go-builder")
	image := fmt.Sprintf(tag, "backend")
	importBuilder(t, dk, builder)

	buildContext, err := filepath.Abs("../..") // backend/, the build context
	if err != nil {
		t.Fatal(err)
	}
	// The builder downloads modules through the same proxy as this machine.
	goproxy := strings.TrimSpace(output(t, "go", "env", "GOPROXY"))
	if goproxy == "" || goproxy == "off" {
		goproxy = "https://proxy.golang.org,direct"
	}
	dk.run(t, 20*time.Minute, "build", "--build-arg", "GO_IMAGE="+builder, "--build-arg", "GOPROXY="+goproxy,
		"--build-arg", "VERSION=1.0.0-imagetest", "-t", image, "-f", filepath.Join(buildContext, "Dockerfile"), buildContext)
	t.Cleanup(func() { dk.cleanup("rmi", "-f", image) })

	size, err := strconv.ParseInt(dk.run(t, time.Minute, "image", "inspect", "-f", "{{.Size}}", image), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image size: %.1f MB", float64(size)/(1<<20))
	if size >= maxImageBytes {
		t.Errorf("image is %d bytes, budget %d", size, maxImageBytes)
	}
	if user := dk.run(t, time.Minute, "image", "inspect", "-f", "{{.Config.User}}", image); user != "65532:65532" {
		t.Errorf("image USER = %q, want 65532:65532", user)
	}

	port := freePort(t)
	id := dk.run(t, time.Minute, "run", "-d", "--network", "host",
		"-e", "DATABASE_URL="+dbURL, "-e", "HOST=127.0.0.1", "-e", "PORT="+strconv.Itoa(port),
		"--health-interval", "1s", "--health-timeout", "3s", "--health-retries", "3", "--health-start-period", "0s",
		image)
	t.Cleanup(func() { dk.cleanup("rm", "-f", id) })

	// Bounded wait for Docker's verdict.
	var health string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		health = dk.run(t, time.Minute, "inspect", "-f", "{{.State.Health.Status}}", id)
		if health != "starting" {
			break
		}
	}
	if health != "healthy" {
		logs, _ := dk.command(context.Background(), "logs", id).CombinedOutput()
		t.Fatalf("container health = %q, want healthy\nlogs:\n%s", health, logs)
	}

	pid := dk.run(t, time.Minute, "inspect", "-f", "{{.State.Pid}}", id)
	uid := effectiveUID(t, dk, id, pid)
	if uid == "0" || uid == "" {
		t.Errorf("container process effective uid = %q, want non-root", uid)
	}
	t.Logf("container process effective uid: %s", uid)

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, base+"/health/ready", 200, 30*time.Second)
	code, body := get(t, base+"/health")
	if code != 200 || body["version"] != "1.0.0-imagetest" {
		t.Errorf("/health from the container = %d %v", code, body)
	}
}

// docker runs the Docker CLI that matches the engine.
type docker struct{ bin string }

// requireDocker finds a CLI and a running engine: a failure under CI, a skip elsewhere.
func requireDocker(t *testing.T) docker {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("docker image test needs %s", what)
		}
		t.Skipf("docker image test skipped: %s not available (set CI=1 to make this a failure)", what)
	}
	// /usr/bin/docker is Debian's client, matching the 20.10 engine and
	// running BuildKit builds without the buildx plugin.
	bin := "/usr/bin/docker"
	if _, err := os.Stat(bin); err != nil {
		p, err := exec.LookPath("docker")
		if err != nil {
			missing("the docker CLI")
		}
		bin = p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		missing("a running Docker engine (" + strings.TrimSpace(string(out)) + ")")
	}
	return docker{bin: bin}
}

func (d docker) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=1")
	return cmd
}

// run runs a docker command and returns its trimmed stdout.
func (d docker) run(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := d.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

func (d docker) cleanup(args ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = d.command(ctx, args...).Run()
}

// importBuilder makes a Go builder image from this machine: the toolchain
// in GOROOT, CA certificates and a static busybox as /bin/sh (Debian's
// busybox-static).
func importBuilder(t *testing.T, dk docker, tag string) {
	t.Helper()
	const busybox = "/bin/busybox"
	if _, err := os.Stat(busybox); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("docker image test needs %s (apt-get install busybox-static)", busybox)
		}
		t.Skipf("docker image test skipped: %s missing (apt-get install busybox-static)", busybox)
	}
	goroot := strings.TrimSpace(output(t, "go", "env", "GOROOT"))
	root := t.TempDir()
	for _, dir := range []string{"bin", "etc/ssl/certs", "tmp", "root", "go"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	output(t, "cp", busybox, filepath.Join(root, "bin/busybox"))
	for _, applet := range strings.Fields(output(t, busybox, "--list")) {
		if applet != "busybox" {
			if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
				t.Fatal(err)
			}
		}
	}
	output(t, "cp", "/etc/ssl/certs/ca-certificates.crt", filepath.Join(root, "etc/ssl/certs/"))
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tarCmd := exec.CommandContext(ctx, "tar", "-C", root, "-cf", "-", ".", "-C", "/", strings.TrimPrefix(goroot, "/"))
	imp := dk.command(ctx, "import",
		"-c", "ENV PATH="+goroot+"/bin:/go/bin:/bin", "-c", "ENV GOPATH=/go", "-c", "ENV HOME=/root",
		"-", tag)
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	imp.Stdin = pipe
	var out bytes.Buffer
	imp.Stdout, imp.Stderr, tarCmd.Stderr = &out, &out, &out
	if err := imp.Start(); err != nil {
		t.Fatal(err)
	}
	if err := tarCmd.Run(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out.String())
	}
	if err := imp.Wait(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out.String())
	}
	t.Cleanup(func() { dk.cleanup("rmi", "-f", tag) })
}

// effectiveUID reads the container's main process's effective uid from the
// host's /proc (the image has no shell for docker exec), or from docker top.
func effectiveUID(t *testing.T, dk docker, id, pid string) string {
	t.Helper()
	if status, err := os.ReadFile("/proc/" + pid + "/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" {
				return f[2] // real, effective, saved, filesystem
			}
		}
	}
	lines := strings.Split(dk.run(t, time.Minute, "top", id, "-o", "euid"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}
