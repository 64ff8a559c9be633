// Package imagetest is what the Docker image tests share (the backend
// module's, and the root module's monitoring test): the Docker CLI, the CI
// rule for missing tools, and the base images they build locally because no
// registry is reachable on the build machines.
//
// Base images (a Go builder from this machine's GOROOT, Debian bookworm by
// debootstrap) take minutes to make, so each is made once per machine and
// reused by its tag. `go test ./...` runs packages in parallel processes, so
// the making is serialised with a file lock in os.TempDir().
package imagetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/testkit"
)

// EnvImageTests enables the heavy image tests (Debian bases, apt inside
// builds, several containers); .ci/run sets it.
const EnvImageTests = "IMAGE_TESTS"

// RequireHeavy skips the test unless IMAGE_TESTS=1. Once enabled, a missing
// tool fails the test: whoever set the variable asked for the test to run.
func RequireHeavy(t testing.TB, tools ...string) {
	t.Helper()
	if os.Getenv(EnvImageTests) != "1" {
		t.Skipf("heavy image test skipped: set %s=1 (needs docker, debootstrap, root, the Debian mirror and the Go module proxy)", EnvImageTests)
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("image test needs %s: %v", tool, err)
		}
	}
}

// missing fails under CI and skips elsewhere: CI must never pass by skipping.
func missing(t testing.TB, what string) {
	t.Helper()
	testkit.Missing(t, "docker image test needs "+what+", which is not available")
}

// Docker runs the Docker CLI that matches the engine.
type Docker struct{ bin string }

// RequireDocker finds a CLI and a running engine: a failure under CI (or
// with IMAGE_TESTS=1), a skip elsewhere.
func RequireDocker(t testing.TB) Docker {
	t.Helper()
	// /usr/bin/docker is Debian's client, matching the 20.10 engine and
	// running BuildKit builds without the buildx plugin.
	bin := "/usr/bin/docker"
	if _, err := os.Stat(bin); err != nil {
		p, err := exec.LookPath("docker")
		if err != nil {
			missing(t, "the docker CLI")
		}
		bin = p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		missing(t, "a running Docker engine ("+strings.TrimSpace(string(out))+")")
	}
	return Docker{bin: bin}
}

// Command is a docker command with BuildKit enabled.
func (d Docker) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=1")
	return cmd
}

// Run runs a docker command and returns its trimmed stdout; it fails the
// test with both outputs when the command fails.
func (d Docker) Run(t testing.TB, timeout time.Duration, args ...string) string {
	t.Helper()
	out, err := d.Try(timeout, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Try runs a docker command and returns its trimmed stdout, or an error
// carrying both outputs. It is safe to call from any goroutine.
func (d Docker) Try(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := d.Command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Cleanup runs a docker command and ignores its outcome (for t.Cleanup).
func (d Docker) Cleanup(args ...string) {
	_, _ = d.Try(time.Minute, args...)
}

// Exists reports whether an image with this tag is present.
func (d Docker) Exists(tag string) bool {
	_, err := d.Try(time.Minute, "image", "inspect", "-f", "{{.Id}}", tag)
	return err == nil
}

// WaitHealthy waits (bounded) until Docker reports the container healthy
// and fails the test with its logs when it reports anything else.
func (d Docker) WaitHealthy(t testing.TB, id string, within time.Duration) {
	t.Helper()
	if err := d.AwaitHealthy(id, within); err != nil {
		t.Fatal(err)
	}
}

// AwaitHealthy is WaitHealthy returning an error, for use off the test
// goroutine.
func (d Docker) AwaitHealthy(id string, within time.Duration) error {
	var health string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		out, err := d.Try(time.Minute, "inspect", "-f", "{{.State.Health.Status}}", id)
		if err != nil {
			return err
		}
		if health = out; health != "starting" {
			break
		}
	}
	if health != "healthy" {
		logs, _ := d.Command(context.Background(), "logs", id).CombinedOutput()
		return fmt.Errorf("container %s health = %q, want healthy\nlogs:\n%s", id, health, logs)
	}
	return nil
}

// Output runs a program and returns its stdout, failing the test with its
// stderr when it fails.
func Output(t testing.TB, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// GoProxy is this machine's GOPROXY, for builder stages that download
// modules through the same proxy.
func GoProxy(t testing.TB) string {
	t.Helper()
	p := strings.TrimSpace(Output(t, time.Minute, "go", "env", "GOPROXY"))
	if p == "" || p == "off" {
		p = "https://proxy.golang.org,direct"
	}
	return p
}
