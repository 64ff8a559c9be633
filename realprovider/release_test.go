package realprovider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/loadgen"
)

// release changes the backend's code, so the image and every replica
// change, and runs `make up` under a load through the proxy: keep-alive
// and new-connection GETs and slow POSTs (which the proxy does not resend).
// The docker provider deletes the old replica with its grace period: it
// must get SIGTERM, drain and exit 0, with no request failed and none
// slower than 1 s; Postgres, its volume, the jobs, the proxy and the
// monitoring untouched, and Prometheus scraping the new replica (found by
// Docker DNS) with no reconfiguration.
func (d *devStack) release(t *testing.T) {
	before := containerIDs(t)
	volume := docker(t, "volume", "inspect", "-f", "{{.CreatedAt}}", "helloagents-dev-pgdata")
	ev := followEvents(t)
	l := loadgen.New(api, "/api/v1/courses", "/health/ready")
	stopLoad := startLoad(l)
	time.Sleep(3 * time.Second)
	d.edit(t, "backend/cmd/server/main.go", func(s string) string {
		return strings.Replace(s, "print the build version", "print the build version (release under load)", 1)
	})
	// Build the image first, as a pipeline does before it deploys (staging
	// builds, production pulls a digest): an update of the image resource
	// alone, so the compile does not take the CPU from the serving
	// containers during the release on this one machine.
	_, built := d.pulumi(t, "up", "--target", d.urn(t, "docker:index/image:Image::backend-image"))
	began := time.Now()
	out, took := d.run(t, 15*time.Minute, "make", "up")
	ended := time.Now()
	time.Sleep(3 * time.Second)
	stopLoad()
	ev.close()

	c := l.Counts()
	lat := c.Latencies(began, ended)
	if c.Failed != 0 {
		t.Errorf("%d of %d requests failed during the release; first ones:\n%s", c.Failed, c.Sent, strings.Join(c.Failures, "\n"))
	}
	if c.Sent < 1000 || lat.N == 0 {
		t.Errorf("only %d requests sent (%d GETs during the release): the load did not run", c.Sent, lat.N)
	}
	t.Logf("during the release: %d requests, %d failed; GETs p50 %s, p99 %s, max %s", c.Sent, c.Failed, lat.P50, lat.P99, lat.Max)
	slow := slowProxyLines(t)
	t.Logf("the proxy's requests of 300 ms or more (but the slow POSTs):\n%s", slow)
	if lat.Max >= time.Second {
		t.Errorf("slowest GET during the release took %s, want under 1 s", lat.Max)
	}
	posts := checkDrained(t, ev, l)
	checkUntouched(t, before, containerIDs(t), "backend")
	if after := docker(t, "volume", "inspect", "-f", "{{.CreatedAt}}", "helloagents-dev-pgdata"); after != volume {
		t.Errorf("the data volume was recreated: created %s, now %s", volume, after)
	}
	followed := time.Now()
	d.awaitTargets(t, d.wantTargets(t))
	follow := time.Since(followed)
	d.record("image of the changed backend built (`pulumi up --target` the image, before the release)", "%s", built.Round(time.Second))
	d.record("release of a changed backend (`make up`)", "%s, %s", took.Round(time.Second), summary(out))
	d.record("requests during the release", "%d sent, %d failed; GETs p50 %s, p99 %s, max %s; %d slow POSTs in flight at SIGTERM",
		c.Sent, c.Failed, lat.P50.Round(time.Millisecond), lat.P99.Round(time.Millisecond), lat.Max.Round(time.Millisecond), posts)
	d.record("Prometheus scraping the new replica, every target up, after the release", "%s more", follow.Round(time.Second))
}

// pulumi runs the CLI on the dev stack with the environment `make up`
// gives it (its state backend, passphrase and generated config file).
func (d *devStack) pulumi(t *testing.T, args ...string) (string, time.Duration) {
	t.Helper()
	args = append(args, "--stack", "dev")
	if args[0] == "up" {
		args = append(args, "--config-file", filepath.Join(d.dir, ".pulumi-state", "Pulumi.dev.yaml"))
	}
	return d.run(t, 15*time.Minute, "env", append([]string{
		"PULUMI_BACKEND_URL=file://" + filepath.Join(d.dir, ".pulumi-state"),
		"PULUMI_CONFIG_PASSPHRASE=helloagents-dev", "pulumi"}, args...)...)
}

// urn finds the URN of the dev stack's resource whose URN ends in suffix.
func (d *devStack) urn(t *testing.T, suffix string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "state.json")
	d.pulumi(t, "stack", "export", "--file", file)
	out, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Deployment struct {
			Resources []struct {
				URN string `json:"urn"`
			} `json:"resources"`
		} `json:"deployment"`
	}
	if err := json.Unmarshal(out, &state); err != nil {
		t.Fatalf("pulumi stack export: %v", err)
	}
	for _, r := range state.Deployment.Resources {
		if strings.HasSuffix(r.URN, suffix) {
			return r.URN
		}
	}
	t.Fatalf("no resource of the dev stack ends in %s", suffix)
	return ""
}

// checkDrained: the old replica got SIGTERM, never SIGKILL, and exited 0
// (its drain finished). It returns the slow POSTs in flight at SIGTERM.
func checkDrained(t *testing.T, ev *events, l *loadgen.Load) int {
	t.Helper()
	kills, dies := ev.of("backend", "kill"), ev.of("backend", "die")
	if len(kills) == 0 || len(dies) == 0 {
		t.Fatalf("no kill/die event of the old replica (kills %v, dies %v)", kills, dies)
	}
	for _, k := range kills {
		if k.Signal != "15" {
			t.Errorf("%s got signal %s at %s, want only SIGTERM (15): the grace period did not cover the drain", k.Name, k.Signal, k.At.Format(time.TimeOnly))
		}
	}
	for _, die := range dies {
		if die.Exit != "0" {
			t.Errorf("%s exited %s, want 0 (drained)", die.Name, die.Exit)
		}
		t.Logf("%s: SIGTERM at %s, exited %s after %s", die.Name, kills[0].At.Format(time.TimeOnly), die.Exit, die.At.Sub(kills[0].At).Round(time.Millisecond))
	}
	posts := l.InFlightAt(kills[0].At)
	if posts == 0 {
		t.Errorf("no slow POST was in flight when the old replica got SIGTERM: the step proved nothing about them")
	}
	return posts
}

// replacePostgres changes the Postgres image, which replaces its container
// (delete before create: one data volume). The provider must stop it with
// SIGINT (a fast shutdown) within its grace period: a clean shutdown in
// its log, a start without crash recovery, and the data intact.
func (d *devStack) replacePostgres(t *testing.T) {
	marker := psqlMarker(t)
	old := containerIDs(t)["postgres"]
	logs := followLogs(t, old)
	ev := followEvents(t)
	d.edit(t, "backend/postgres.Dockerfile", func(s string) string {
		return s + "\nLABEL org.opencontainers.image.description=\"PostgreSQL 15 with pgBackRest\"\n"
	})
	out, took := d.run(t, 15*time.Minute, "make", "up")
	ev.close()
	oldLog := logs()
	if !strings.Contains(oldLog, "database system is shut down") {
		t.Errorf("the old Postgres did not shut down cleanly; its log ends:\n%s", tail(oldLog, 15))
	}
	for _, k := range ev.of("postgres", "kill") {
		if k.Signal != "2" {
			t.Errorf("Postgres got signal %s, want only SIGINT (2, fast shutdown)", k.Signal)
		}
	}
	now := containerIDs(t)["postgres"]
	if now == old {
		t.Fatalf("Postgres was not replaced (still %s)", old)
	}
	newLog := docker(t, "logs", now)
	if !strings.Contains(newLog, "database system was shut down at") || strings.Contains(newLog, "was interrupted") {
		t.Errorf("the new Postgres did not start from a clean shutdown:\n%s", tail(newLog, 15))
	}
	if got := psql(t, "SELECT v FROM suite_marker"); got != marker {
		t.Errorf("marker row after the replacement = %q, want %q", got, marker)
	}
	ready := waitReady(t)
	d.record("Postgres replaced (`make up`)", "%s, %s; clean shutdown, no crash recovery, data intact; ready %s later", took.Round(time.Second), summary(out), ready.Round(100*time.Millisecond))
}

// checkUntouched compares the containers of every role but skip.
func checkUntouched(t *testing.T, before, after map[string]string, skip string) {
	t.Helper()
	for _, role := range []string{"postgres", "backup", "pgbackrest", "proxy", "prometheus", "alertmanager", "pgexporter"} {
		if role != skip && before[role] != after[role] {
			t.Errorf("%s container changed: %q, now %q", role, before[role], after[role])
		}
	}
	if before[skip] == after[skip] {
		t.Errorf("%s containers did not change: %s", skip, after[skip])
	}
}

// startLoad runs l (8 keep-alive, 4 new-connection, 4 slow-POST clients,
// bounded to 15 minutes) until the returned stop.
func startLoad(l *loadgen.Load) (stop func()) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	done := make(chan struct{})
	go func() {
		defer close(done)
		k, n, p := loadgen.KeepAlive, loadgen.NewConn, loadgen.SlowPost
		l.Run(ctx, []loadgen.Kind{k, k, k, k, k, k, k, k, n, n, n, n, p, p, p, p}, 10*time.Millisecond, 1_000_000)
	}()
	return func() { cancel(); <-done }
}

// psqlMarker writes a row of its own into the stack's database.
func psqlMarker(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	marker := hex.EncodeToString(b)
	psql(t, fmt.Sprintf("CREATE TABLE IF NOT EXISTS suite_marker (v text); DELETE FROM suite_marker; INSERT INTO suite_marker VALUES ('%s')", marker))
	return marker
}
