package realprovider

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/loadgen"
	"github.com/helloagents/infra/components"
)

// api is where the dev stack's proxy answers (backend.hostPort).
const api = "127.0.0.1:8000"

// devStack is the suite's dev stack, deployed with `make up` from the copy.
type devStack struct {
	*suite
	figures []row
}

// TestDevLifecycle deploys dev exactly as `make up` does, checks every
// endpoint, shows that a no-change preview changes nothing (with and
// without --refresh), releases a changed backend under load through the
// proxy, replaces Postgres, and destroys the stack, through the official
// docker provider. The steps share the stack, so they run in order.
func TestDevLifecycle(t *testing.T) {
	s := newSuite(t)
	requireBases(t)
	if ids := docker(t, "ps", "-aq", "--filter", "label=helloagents.stack=dev"); ids != "" {
		t.Fatalf("a dev stack already runs on this engine (containers %s): `make down` first", strings.Join(strings.Fields(ids), " "))
	}
	d := &devStack{suite: s}
	t.Cleanup(func() { d.down(t) })
	steps := []struct {
		name string
		run  func(*testing.T)
	}{
		{"up", d.up},
		{"endpoints", d.endpoints},
		{"graphs", d.graphs},
		{"no changes", d.noChanges},
		{"release under load", d.release},
		{"canary release", d.canaryRelease},
		{"replace postgres", d.replacePostgres},
		{"destroy", d.destroy},
	}
	for _, step := range steps {
		if !t.Run(step.name, step.run) {
			t.Fatalf("step %q failed; later steps need it; figures so far:\n%s", step.name, table(d.figures))
		}
	}
	t.Logf("figures (docs/PERFORMANCE.md):\n%s", table(d.figures))
}

func (d *devStack) record(what, format string, args ...any) {
	d.figures = append(d.figures, row{what, fmt.Sprintf(format, args...)})
}

// up deploys dev with `make up`; it creates as many resources as the
// README's quick start says.
func (d *devStack) up(t *testing.T) {
	out, took := d.run(t, 20*time.Minute, "make", "up")
	sum := summary(out)
	d.record("`make up` (first deploy, images built)", "%s, %s", took.Round(time.Second), sum)
	if want := readmeCreated(t, d.dir); sum != fmt.Sprintf("+ %d created", want) {
		t.Errorf("`make up` reports %q; the README's quick start says + %d created", sum, want)
	}
}

// readmeCreated is the "+ N created" of the README's `make up` sample.
func readmeCreated(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^Resources:\n\s+\+ (\d+) created$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md has no `make up` sample ending in \"Resources: + N created\"")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// endpoints checks what the README promises on 127.0.0.1:8000, once the
// stack is ready: `up` returns when the backend replicas are live, and
// readiness also needs Postgres, which the program does not wait for (a
// standby seeding from the repository may take minutes).
func (d *devStack) endpoints(t *testing.T) {
	took := waitReady(t)
	d.record("ready after `make up` returned", "%s", took.Round(100*time.Millisecond))
	for _, path := range []string{"/health/live", "/health/ready", "/api/v1/courses"} {
		if _, err := loadgen.Get(api, path); err != nil {
			t.Error(err)
		}
	}
	body, err := loadgen.Get(api, "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Status     string `json:"status"`
		Components map[string]struct {
			Status string `json:"status"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatalf("/health: %v: %s", err, body)
	}
	want := map[string]string{"database": "healthy", "sandbox_pool": "disabled", "ai_service": "", "backups": ""}
	for name, status := range want {
		got, ok := h.Components[name]
		if !ok || status != "" && got.Status != status {
			t.Errorf("/health component %s = %+v (present %v), want status %q: %s", name, got, ok, status, body)
		}
	}
	if h.Status != "healthy" {
		t.Errorf("/health status %q: %s", h.Status, body)
	}
}

// noChanges: `up` with no change changes nothing, also after a refresh
// reads every resource back from the engine.
func (d *devStack) noChanges(t *testing.T) {
	for _, flags := range []string{"--expect-no-changes", "--expect-no-changes --refresh"} {
		out, took := d.run(t, 10*time.Minute, "make", "preview", "PREVIEW_FLAGS="+flags)
		d.record("`make preview PREVIEW_FLAGS=\""+flags+"\"`", "%s, %s", took.Round(time.Second), summary(out))
	}
}

// down removes whatever is left when a step failed.
func (d *devStack) down(t *testing.T) {
	if out, _, err := d.try(10*time.Minute, "make", "down"); err != nil {
		t.Logf("make down: %v\n%s", err, tail(out, 30))
	}
}

// destroy runs `make down`: the provider stops every container with its
// role's signal and grace period (components.StopFor: stopSignal and
// destroyGraceSeconds), so none is killed at the end of its grace period
// and Prometheus and Alertmanager shut down cleanly (exit 0: TSDB closed,
// silences and notification log written); nothing of the stack is left.
func (d *devStack) destroy(t *testing.T) {
	ev := followEvents(t)
	_, took := d.run(t, 10*time.Minute, "make", "down")
	ev.close()
	d.checkStops(t, ev)
	left := map[string]string{
		"containers": docker(t, "ps", "-aq", "--filter", "label=helloagents.stack=dev"),
		"volumes":    docker(t, "volume", "ls", "-q", "--filter", "name=helloagents-dev"),
		"networks":   docker(t, "network", "ls", "-q", "--filter", "name=helloagents-dev"),
		"images":     docker(t, "images", "-q", "--filter", "reference=helloagents-*:dev"),
	}
	for what, ids := range left {
		if ids != "" {
			t.Errorf("after make down, %s of the stack are left: %s", what, strings.Join(strings.Fields(ids), " "))
		}
	}
	d.record("`make down`", "%s, nothing left", took.Round(time.Second))
}

// checkStops checks the kill and die events of the containers `make down`
// stopped against StopFor and records how each role stopped.
func (d *devStack) checkStops(t *testing.T, ev *events) {
	t.Helper()
	signals := map[string]syscall.Signal{"SIGTERM": syscall.SIGTERM, "SIGINT": syscall.SIGINT, "SIGUSR1": syscall.SIGUSR1}
	var stops []string
	for _, role := range ev.roles() {
		stop := components.StopFor(labels.ContainerRole(role))
		want, ok := signals[stop.Signal]
		if !ok {
			t.Fatalf("role %s stops with %s, which the suite cannot check", role, stop.Signal)
		}
		kills, dies := ev.of(role, "kill"), ev.of(role, "die")
		for _, k := range kills {
			if k.Signal != strconv.Itoa(int(want)) {
				t.Errorf("%s got signal %s, want only %s (%d): its grace period of %d s (destroyGraceSeconds) did not cover its stop",
					k.Name, k.Signal, stop.Signal, want, stop.GraceSeconds())
			}
		}
		for _, die := range dies {
			took := "not running"
			if len(kills) > 0 {
				took = die.At.Sub(kills[0].At).Round(100 * time.Millisecond).String()
			}
			stops = append(stops, fmt.Sprintf("%s: %s, exit %s after %s", role, stop.Signal, die.Exit, took))
			if (role == string(labels.RolePrometheus) || role == string(labels.RoleAlertmanager)) && die.Exit != "0" {
				t.Errorf("%s exited %s on %s, want 0 (a clean shutdown)", die.Name, die.Exit, stop.Signal)
			}
		}
	}
	t.Logf("stops during make down:\n%s", strings.Join(stops, "\n"))
	d.record("stops during `make down`", "%s", strings.Join(stops, "; "))
}

// summary is the resource summary of a pulumi command's output: the last
// one, which for an `up` is what it did (the preview it prints first
// counts a container as "to replace" when the ID of an image it runs is
// not known before the build).
func summary(out string) string {
	var parts []string
	sc := bufio.NewScanner(strings.NewReader(out))
	in := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "Resources:":
			in, parts = true, nil
		case in && line == "":
			in = false
		case in:
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, ", ")
}

// requireBases skips unless the base images the Dockerfiles name are on
// the engine or can be made from the stand-ins the backend's image tests
// build (no registry is reachable on some machines).
func requireBases(t *testing.T) {
	t.Helper()
	goVersion, err := exec.CommandContext(t.Context(), "go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	standIns := map[string]string{
		"golang:1.26-bookworm": "helloagents-test/go-builder:" + strings.TrimSpace(string(goVersion)),
		"debian:bookworm-slim": "helloagents-test/debian:bookworm-" + time.Now().UTC().Format("200601"),
	}
	for base, standIn := range standIns {
		if exec.CommandContext(t.Context(), "docker", "image", "inspect", base).Run() == nil {
			continue
		}
		if exec.CommandContext(t.Context(), "docker", "image", "inspect", standIn).Run() != nil {
			t.Skipf("no %s on the engine: pull it, or run the backend image tests once (IMAGE_TESTS=1 go test ./backend/release/) to build the stand-in %s", base, standIn)
		}
		docker(t, "tag", standIn, base)
		t.Logf("tagged %s as %s (no registry here)", standIn, base)
	}
}
