package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/imagetest"
	"github.com/helloagents/infra/backend/pgtest"
)

// maxImageBytes is the size budget of the runtime image.
const maxImageBytes = 25 << 20

// TestDockerImage builds the real backend/Dockerfile, runs it with host
// networking against a real PostgreSQL and checks what production relies on:
// a non-root process, a small image and a healthcheck Docker reports healthy.
// No registry is reachable, so the Go builder base is made from this
// machine's toolchain (imagetest.GoBuilder) and passed as GO_IMAGE; the
// runtime stage is scratch.
func TestDockerImage(t *testing.T) {
	dk := imagetest.RequireDocker(t)
	pg := pgtest.Start(t)
	dbURL := pg.CreateDB(t, "image")

	buildContext, err := filepath.Abs("../..") // backend/, the build context
	if err != nil {
		t.Fatal(err)
	}
	image := imagetest.Tag("server", "backend")
	dk.Build(t, image, buildContext, "Dockerfile", map[string]string{
		"GO_IMAGE": dk.GoBuilder(t), "GOPROXY": imagetest.GoProxy(t), "VERSION": "1.0.0-imagetest",
	})

	size, err := strconv.ParseInt(dk.Run(t, time.Minute, "image", "inspect", "-f", "{{.Size}}", image), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image size: %.1f MB", float64(size)/(1<<20))
	if size >= maxImageBytes {
		t.Errorf("image is %d bytes, budget %d", size, maxImageBytes)
	}
	if user := dk.Run(t, time.Minute, "image", "inspect", "-f", "{{.Config.User}}", image); user != "65532:65532" {
		t.Errorf("image USER = %q, want 65532:65532", user)
	}

	port := freePort(t)
	id := dk.Run(t, time.Minute, "run", "-d", "--network", "host",
		"-e", "DATABASE_URL="+dbURL, "-e", "HOST=127.0.0.1", "-e", "PORT="+strconv.Itoa(port),
		"--health-interval", "1s", "--health-timeout", "3s", "--health-retries", "3", "--health-start-period", "0s",
		image)
	t.Cleanup(func() { dk.Cleanup("rm", "-f", id) })

	dk.WaitHealthy(t, id, 90*time.Second)

	pid := dk.Run(t, time.Minute, "inspect", "-f", "{{.State.Pid}}", id)
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

// effectiveUID reads the container's main process's effective uid from the
// host's /proc (the image has no shell for docker exec), or from docker top.
func effectiveUID(t *testing.T, dk imagetest.Docker, id, pid string) string {
	t.Helper()
	if status, err := os.ReadFile("/proc/" + pid + "/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" {
				return f[2] // real, effective, saved, filesystem
			}
		}
	}
	lines := strings.Split(dk.Run(t, time.Minute, "top", id, "-o", "euid"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
