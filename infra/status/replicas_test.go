package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/testkit"
)

// TestDockerCLIListsTheRegionsBackends runs dockerCLI against the real
// engine: created (never started) containers of an empty imported image
// carry the platform's labels; only the backend replicas of the asked
// stack and region come back.
func TestDockerCLIListsTheRegionsBackends(t *testing.T) {
	testkit.RequireTool(t, "docker", "the docker CLI")
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	stack := fmt.Sprintf("statustest%d", time.Now().UnixNano())
	image := "helloagents-status-test:" + stack
	var empty bytes.Buffer
	empty.Write(make([]byte, 1024)) // an empty tar archive: two zero blocks
	imp := exec.CommandContext(t.Context(), "docker", "--host", host, "import", "-", image)
	imp.Stdin = &empty
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_ = exec.CommandContext(context.Background(), "docker", "--host", host, "rmi", "-f", image).Run()
	})
	create := func(name, stack, region string, role labels.ContainerRole) {
		out, err := exec.CommandContext(t.Context(), "docker", "--host", host, "create", "--name", name,
			"--label", labels.Stack+"="+stack, "--label", labels.Region+"="+region,
			"--label", labels.Role+"="+string(role), image, "/none").CombinedOutput()
		if err != nil {
			t.Fatalf("docker create %s: %v\n%s", name, err, out)
		}
		t.Cleanup(func() {
			_ = exec.CommandContext(context.Background(), "docker", "--host", host, "rm", "-f", name).Run()
		})
	}
	create(stack+"-eu-backend-0", stack, "eu", labels.RoleBackend)
	create(stack+"-eu-backend-1", stack, "eu", labels.RoleBackend)
	create(stack+"-eu-postgres", stack, "eu", labels.RolePostgres)
	create(stack+"-us-backend-0", stack, "us", labels.RoleBackend)
	create(stack+"x-eu-backend-0", stack+"x", "eu", labels.RoleBackend)

	reps, err := dockerCLI{}.Backend(t.Context(), host, stack, "eu")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range reps {
		names = append(names, r.Name)
		if r.State != "created" || r.Health != "none" || r.Image != image {
			t.Errorf("replica %+v, want state created, health none, image %s", r, image)
		}
	}
	if got := strings.Join(names, ","); got != stack+"-eu-backend-1,"+stack+"-eu-backend-0" &&
		got != stack+"-eu-backend-0,"+stack+"-eu-backend-1" {
		t.Errorf("replicas %q, want the two eu backends of %s only", got, stack)
	}
	if n := countHealthy(reps); n != 0 {
		t.Errorf("%d healthy, want 0: none runs", n)
	}

	_, err = dockerCLI{}.Backend(t.Context(), "tcp://127.0.0.1:1", stack, "eu")
	if err == nil || !strings.Contains(err.Error(), "docker --host tcp://127.0.0.1:1 ps") {
		t.Errorf("unreachable engine: error %v, want one naming the host", err)
	}
}
