package failover_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/testkit"
	"github.com/helloagents/infra/stacks/failover"
)

// pgroleScript stands in for the image's pgrole (the backend's side of the
// contract): a standby 120 s behind until promoted, exit 3 when promote is
// refused, the status JSON after a promotion.
const pgroleScript = `#!/bin/sh
status() {
  if [ -f /tmp/promoted ]; then
    echo '{"role":"primary","timeline":2,"inRecovery":false,"lastReplayAt":null,"replayLagSeconds":null,"replayLsn":"0/4000000","fenced":false}'
  else
    echo '{"role":"standby","timeline":1,"inRecovery":true,"lastReplayAt":"2026-11-27T12:00:00Z","replayLagSeconds":120,"replayLsn":"0/3000060","fenced":false}'
  fi
}
case "$1" in
status) status ;;
fence) touch /tmp/fenced ;;
promote)
  case " $* " in
  *" --accept-data-loss "*) echo "$*" > /tmp/promoted; status ;;
  *) echo "pgrole: refused: 120s behind (bound $3)" >&2; status; exit 3 ;;
  esac ;;
*) echo "usage: pgrole status|fence|promote" >&2; exit 2 ;;
esac
`

func docker(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// pgroleImage imports a tiny image: a static busybox and the pgrole script.
func pgroleImage(t *testing.T) string {
	t.Helper()
	testkit.RequireTool(t, "busybox", "apt-get install busybox-static")
	root := t.TempDir()
	for _, d := range []string{"bin", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o1777); err != nil {
			t.Fatal(err)
		}
	}
	busybox, _ := exec.LookPath("busybox")
	b, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"bin/busybox": b, "bin/pgrole": []byte(pgroleScript)} {
		if err := os.WriteFile(filepath.Join(root, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, applet := range []string{"sh", "sleep", "touch", "echo"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	tar, err := exec.CommandContext(t.Context(), "tar", "-C", root, "-c", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("helloagents-test/pgrole:%d", time.Now().UnixNano())
	docker(t, string(tar), "import", "-c", "ENV PATH=/bin", "-", tag)
	t.Cleanup(func() { _ = exec.CommandContext(context.Background(), "docker", "rmi", "-f", tag).Run() })
	return tag
}

// TestFailoverDockerAgainstTheEngine runs the real docker CLI against the local
// engine: the Postgres container is found by its labels among others, and
// pgrole's output and exit statuses come back through docker exec.
func TestFailoverDockerAgainstTheEngine(t *testing.T) {
	testkit.RequireTool(t, "docker", "the docker CLI: apt-get install docker.io")
	image := pgroleImage(t)
	stack := fmt.Sprintf("failover-test-%d", time.Now().UnixNano())
	// The container runs until pgrole fence marks it, as Postgres stops
	// once fenced; Fence waits for that exit.
	run := func(region, role string) {
		id := docker(t, "", "run", "-d", "--label", "helloagents.stack="+stack, "--label", "helloagents.region="+region,
			"--label", "helloagents.role="+role, image, "sh", "-c", "while [ ! -f /tmp/fenced ]; do sleep 1; done")
		t.Cleanup(func() { _ = exec.CommandContext(context.Background(), "docker", "rm", "-f", id).Run() })
	}
	run("us-east", "postgres")
	run("us-east", "backend") // same region, another role: not the database
	run("eu-west", "postgres")
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	d := failover.Docker{Stack: stack}
	ctx := context.Background()
	us := failover.Region{Name: "us-east", DockerHost: host}
	st, err := d.Status(ctx, us)
	if lag, _ := st.Lag(); err != nil || st.Role != "standby" || lag != 2*time.Minute {
		t.Fatalf("status %+v, %v", st, err)
	}
	if _, err := d.Promote(ctx, us, time.Minute, false); !errors.Is(err, failover.ErrPromoteRefused) {
		t.Errorf("promote 120s behind with --max-lag 1m: %v, want ErrPromoteRefused", err)
	}
	if st, err := d.Promote(ctx, us, time.Minute, true); err != nil || st.Role != "primary" || st.Timeline != 2 {
		t.Errorf("promote --accept-data-loss: %+v, %v", st, err)
	}
	if err := d.Fence(ctx, failover.Region{Name: "eu-west", DockerHost: host}); err != nil {
		t.Errorf("fence: %v", err)
	}
	if _, err := d.Status(ctx, failover.Region{Name: "ap-south", DockerHost: host}); err == nil || !strings.Contains(err.Error(), "0 running Postgres containers") {
		t.Errorf("a region without a container: %v", err)
	}
}
