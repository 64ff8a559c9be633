package realprovider

import (
	"context"
	"fmt"
	"io"
	"log"
	"math"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/loadgen"
	"github.com/helloagents/infra/backend/proxy"
	"github.com/helloagents/infra/backend/server"
	"github.com/helloagents/infra/canary"
	"github.com/helloagents/infra/monitoring"
)

// The canary the step configures in the copy's Pulumi.dev.yaml.
const (
	canaryWeight      = 20
	canaryMinRequests = 50
	canaryConfig      = "    canary:\n      weight: 20\n      bake: 30s\n      minRequests: 50\n"
	// buildHostLine is the last line of helloagents:backend in Pulumi.dev.yaml.
	buildHostLine = "    buildHost: unix:///var/run/docker.sock\n"
	// replicasLine is the line of regions[0] the canary image goes after.
	replicasLine = "      replicas: 1\n"
)

// stackContainer is one container of the dev stack.
type stackContainer struct{ id, role, canary string }

// stackContainers lists the dev stack's containers (short IDs).
func stackContainers(t *testing.T) []stackContainer {
	t.Helper()
	var out []stackContainer
	lines := docker(t, "ps", "-a", "--filter", "label=helloagents.stack=dev", "--format",
		`{{.ID}} {{.Label "`+labels.Role+`"}} {{.Label "`+labels.Canary+`"}}`)
	for _, line := range strings.Split(lines, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			c := stackContainer{id: f[0], role: f[1]}
			if len(f) > 2 {
				c.canary = f[2]
			}
			out = append(out, c)
		}
	}
	return out
}

// ids are the containers' IDs.
func ids(cs []stackContainer) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.id)
	}
	slices.Sort(out)
	return out
}

// diffContainers are the containers of after not in before (added) and of
// before not in after (gone).
func diffContainers(before, after []stackContainer) (added, gone []stackContainer) {
	b, a := ids(before), ids(after)
	for _, c := range after {
		if !slices.Contains(b, c.id) {
			added = append(added, c)
		}
	}
	for _, c := range before {
		if !slices.Contains(a, c.id) {
			gone = append(gone, c)
		}
	}
	return added, gone
}

// summaryParts are the counts of a summary by operation ("created",
// "replaced", "deleted", "updated", "unchanged").
func summaryParts(t *testing.T, sum string) map[string]int {
	t.Helper()
	out := map[string]int{}
	re := regexp.MustCompile(`^[+\-~]*\s*(\d+) (\w+)$`)
	for _, p := range strings.Split(sum, ", ") {
		m := re.FindStringSubmatch(strings.TrimSpace(p))
		if m == nil {
			t.Fatalf("summary part %q of %q is not \"N operation\"", p, sum)
		}
		n, _ := strconv.Atoi(m[1])
		out[m[2]] += n
	}
	return out
}

// expectSummary checks that the summary did exactly want (besides
// unchanged resources).
func expectSummary(t *testing.T, what, sum string, want map[string]int) {
	t.Helper()
	got := summaryParts(t, sum)
	delete(got, "unchanged")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: `make up` reports %q, want %v besides unchanged resources", what, sum, want)
	}
}

// canaryRelease runs a canary through the real docker provider: it turns
// backend.canary on (the proxy, which holds the fixed host port, is
// replaced delete-before-replace: without load), pushes the image the
// stable replica runs to an in-process registry on 127.0.0.1 and makes its
// digest regions[0].canaryImage; under load through the proxy, `make up`
// adds the canary (one container, its image pulled from the registry;
// nothing else changes, also after a refresh), canary.Judge on the
// stack's Prometheus passes it with its share of the requests near the
// weight, and removing canaryImage deletes it with its drain, 0 requests
// failed. backend.canary stays set: with no
// canary running the proxy sends every request to the stable replica, and
// the later steps (replace Postgres, destroy) do not depend on it.
func (d *devStack) canaryRelease(t *testing.T) {
	d.canaryOn(t)
	ref := pushCanaryImage(t)

	before := stackContainers(t)
	ev := followEvents(t)
	l := loadgen.New(api, "/api/v1/courses", "/health/ready")
	stopLoad := startLoad(l)
	defer stopLoad()
	time.Sleep(3 * time.Second)

	// 3. Canary up.
	d.edit(t, "Pulumi.dev.yaml", func(s string) string {
		return strings.Replace(s, replicasLine, replicasLine+"      canaryImage: "+ref+"\n", 1)
	})
	began := time.Now()
	out, took := d.run(t, 15*time.Minute, "make", "up")
	upEnded := time.Now()
	sum := summary(out)
	d.record("canary up under load (`make up`, regions[0].canaryImage set)", "%s, %s", took.Round(time.Second), sum)
	// The canary's container only: dev pulls no image through a resource
	// (components: Pull is false in a local environment, so there is no
	// <name>-canary-image); the provider pulls the reference when it
	// creates the container.
	expectSummary(t, "canary up", sum, map[string]int{"created": 1})
	if err := dockerTry(t, "image", "inspect", ref); err != nil {
		t.Errorf("%s is not on the engine after the canary up: it was not pulled (%v)", ref, err)
	}
	mid := stackContainers(t)
	added, gone := diffContainers(before, mid)
	if len(gone) != 0 || len(added) != 1 || added[0].canary != "true" || added[0].role != string(labels.RoleBackend) {
		t.Fatalf("canary up: containers added %v, gone %v; want exactly one backend container labelled %s=true", added, gone, labels.Canary)
	}
	can := added[0].id
	stable := stableReplica(t, mid)
	checkCanaryContainer(t, can, stable)

	// The canary up is the stack's state: a preview changes nothing, also
	// after a refresh reads the canary back from the engine.
	for _, flags := range []string{"--expect-no-changes", "--expect-no-changes --refresh"} {
		pout, ptook := d.run(t, 10*time.Minute, "make", "preview", "PREVIEW_FLAGS="+flags)
		d.record("`make preview PREVIEW_FLAGS=\""+flags+"\"` with the canary running", "%s, %s", ptook.Round(time.Second), summary(pout))
	}

	want := d.wantTargets(t)
	want[monitoring.JobBackend]++
	followed := time.Now()
	d.awaitTargets(t, want)
	d.record("Prometheus scraping the canary (`backend-canary`), every target up", "%s after `make up` returned (%s more)",
		time.Since(upEnded).Round(time.Second), time.Since(followed).Round(time.Second))

	v := d.judge(t, ref)

	// 4. Canary ended: canaryImage removed, backend.canary kept.
	d.edit(t, "Pulumi.dev.yaml", func(s string) string {
		return strings.Replace(s, "      canaryImage: "+ref+"\n", "", 1)
	})
	ev.close()
	ev = followEvents(t)
	out, took = d.run(t, 15*time.Minute, "make", "up")
	ended := time.Now()
	time.Sleep(3 * time.Second)
	stopLoad()
	ev.close()
	sum = summary(out)
	d.record("canary removed under load (`make up`, canaryImage unset)", "%s, %s", took.Round(time.Second), sum)
	expectSummary(t, "canary removed", sum, map[string]int{"deleted": 1})
	after := stackContainers(t)
	added, gone = diffContainers(mid, after)
	if len(added) != 0 || len(gone) != 1 || gone[0].id != can {
		t.Errorf("canary removed: containers added %v, gone %v; want only the canary %s gone", added, gone, can)
	}
	for _, e := range append(ev.of("backend", "kill"), ev.of("backend", "die")...) {
		if !strings.Contains(e.Name, "-backend-canary-") {
			t.Errorf("a stable replica had a %s event while the canary was removed: %+v", e.Action, e)
		}
	}
	posts := checkDrained(t, ev, l)

	c := l.Counts()
	lat := c.Latencies(began, ended)
	if c.Failed != 0 {
		t.Errorf("%d of %d requests failed during the canary's up, bake and removal; first ones:\n%s", c.Failed, c.Sent, strings.Join(c.Failures, "\n"))
	}
	if c.Sent < 1000 || lat.N == 0 {
		t.Errorf("only %d requests sent (%d GETs during the canary): the load did not run", c.Sent, lat.N)
	}
	if lat.Max >= time.Second {
		t.Errorf("slowest GET during the canary took %s, want under 1 s", lat.Max)
	}
	d.record("requests during the canary (up, bake, removal)", "%d sent, %d failed; GETs p50 %s, p99 %s, max %s; %d slow POSTs in flight at the canary's SIGTERM",
		c.Sent, c.Failed, lat.P50.Round(time.Millisecond), lat.P99.Round(time.Millisecond), lat.Max.Round(time.Millisecond), posts)
	d.awaitTargets(t, d.wantTargets(t))

	pout, ptook := d.run(t, 10*time.Minute, "make", "preview", "PREVIEW_FLAGS=--expect-no-changes")
	d.record("`make preview PREVIEW_FLAGS=\"--expect-no-changes\"` after the canary, backend.canary kept", "%s, %s", ptook.Round(time.Second), summary(pout))
	t.Logf("verdict: %s", v)
}

// canaryOn sets backend.canary in the copy's Pulumi.dev.yaml and runs
// `make up` with no load: the proxy's variables gain the weights, and the
// proxy, which publishes the fixed host port, is replaced delete before
// create; nothing else changes.
func (d *devStack) canaryOn(t *testing.T) {
	before := stackContainers(t)
	oldProxy := containerIDs(t)["proxy"]
	d.edit(t, "Pulumi.dev.yaml", func(s string) string {
		return strings.Replace(s, buildHostLine, buildHostLine+canaryConfig, 1)
	})
	out, took := d.run(t, 15*time.Minute, "make", "up")
	sum := summary(out)
	ready := waitReady(t)
	d.record("backend.canary set (`make up`, no load: the proxy replaced delete-before-replace)", "%s, %s; ready %s later",
		took.Round(time.Second), sum, ready.Round(100*time.Millisecond))
	expectSummary(t, "backend.canary set", sum, map[string]int{"replaced": 1})
	added, gone := diffContainers(before, stackContainers(t))
	newProxy := containerIDs(t)["proxy"]
	if len(added) != 1 || len(gone) != 1 || gone[0].id != oldProxy || added[0].id != newProxy || newProxy == oldProxy {
		t.Errorf("backend.canary set: containers added %v, gone %v; want only the proxy %s replaced", added, gone, oldProxy)
	}
	sw, cw, err := proxy.Weights(canaryWeight, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	env := docker(t, "inspect", "-f", `{{range .Config.Env}}{{println .}}{{end}}`, newProxy)
	for _, kv := range []string{fmt.Sprintf("%s=%d", proxy.EnvStableWeight, sw), fmt.Sprintf("%s=%d", proxy.EnvCanaryWeight, cw)} {
		if !slices.Contains(strings.Split(env, "\n"), kv) {
			t.Errorf("the new proxy's environment lacks %s (proxy.Weights(%d, 1, 1)):\n%s", kv, canaryWeight, env)
		}
	}
}

// stableReplica is the ID of the stack's one stable backend replica.
func stableReplica(t *testing.T, cs []stackContainer) string {
	t.Helper()
	var stable []string
	for _, c := range cs {
		if c.role == string(labels.RoleBackend) && c.canary != "true" {
			stable = append(stable, c.id)
		}
	}
	if len(stable) != 1 {
		t.Fatalf("stable backend replicas %v, want one", stable)
	}
	return stable[0]
}

// pushCanaryImage pushes the image the stable replica runs to an
// in-process OCI registry on 127.0.0.1 (the engine pulls from a loopback
// registry over plain HTTP) and returns its digest-pinned reference, with
// the engine's references to it removed so `make up` must pull it.
func pushCanaryImage(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	repo := host + "/helloagents/backend"
	image := docker(t, "inspect", "-f", "{{.Image}}", stableReplica(t, stackContainers(t)))
	docker(t, "tag", image, repo+":canary")
	pushed := docker(t, "push", repo+":canary")
	m := regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(pushed)
	if m == nil {
		t.Fatalf("docker push printed no digest:\n%s", pushed)
	}
	ref := repo + "@" + m[1]
	docker(t, "rmi", repo+":canary")
	if err := dockerTry(t, "rmi", ref); err != nil {
		t.Logf("docker rmi %s: %v", ref, err)
	}
	if dockerTry(t, "image", "inspect", ref) == nil {
		t.Logf("%s still resolves on the engine: `make up` may not need to pull it", ref)
	}
	t.Logf("canary image %s (the stable replica's image %s, pushed to the registry on %s)", ref, image, host)
	return ref
}

// dockerTry runs the docker CLI and returns its error only.
func dockerTry(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	return exec.CommandContext(ctx, "docker", args...).Run()
}

// checkCanaryContainer: the canary answers to backend-canary (not
// backend) on the egress network, runs as the stable replica's non-root
// user, is healthy, and its IMAGE_FINGERPRINT is its image's digest.
func checkCanaryContainer(t *testing.T, can, stable string) {
	t.Helper()
	aliases := docker(t, "inspect", "-f", `{{range $n, $s := .NetworkSettings.Networks}}{{range $s.Aliases}}{{println .}}{{end}}{{end}}`, can)
	if a := strings.Fields(aliases); !slices.Contains(a, proxy.CanaryHost) || slices.Contains(a, "backend") {
		t.Errorf("canary aliases %v, want %s and not backend", a, proxy.CanaryHost)
	}
	user, stableUser := docker(t, "inspect", "-f", "{{.Config.User}}", can), docker(t, "inspect", "-f", "{{.Config.User}}", stable)
	if user != stableUser || user == "" || user == "root" || user == "0" || strings.HasPrefix(user, "0:") {
		t.Errorf("canary runs as user %q, stable replica as %q: want the same non-root user", user, stableUser)
	}
	if h := docker(t, "inspect", "-f", "{{.State.Health.Status}}", can); h != "healthy" {
		t.Errorf("canary health %q, want healthy", h)
	}
}

// judge runs canary.Judge on the dev stack's Prometheus with production's
// limits and a short bake: the canary (the stable replica's image under
// another fingerprint) must pass, with its share of the API requests near
// the weight.
func (d *devStack) judge(t *testing.T, ref string) canary.Verdict {
	t.Helper()
	slo := monitoring.DefaultSLO()
	b := canary.Bake{
		Limits: canary.Limits{
			MinRequests: canaryMinRequests, ErrorRatio: slo.ErrorRatio, LatencyP95: slo.LatencyP95,
			ErrorRatioOverStable: 0.005, LatencyP95OverStable: 1.5, LatencyP95Floor: 100 * time.Millisecond,
		},
		Bake: 30 * time.Second, MaxBake: 90 * time.Second, Poll: 5 * time.Second,
		OnPoll: func(v canary.Verdict) { t.Logf("poll: %s", v) },
	}
	fp := server.ImageFingerprint(ref)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	v, err := canary.Judge(ctx, canary.Prometheus{URL: prometheusURL}, b, fp)
	if err != nil {
		t.Fatalf("canary.Judge: %v (last verdict: %s)", err, v)
	}
	t.Logf("verdict after %s: %s", time.Since(began).Round(time.Second), v)
	share := v.Canary.Requests / (v.Canary.Requests + v.Stable.Requests)
	// Round-robin by weight is not random; a binomial spread over the
	// judged requests bounds the noise of increase()'s extrapolation at
	// the window's ends, never tighter than ±10 points.
	p := float64(canaryWeight) / 100
	n := v.Canary.Requests + v.Stable.Requests
	tol := max(0.10, 4*math.Sqrt(p*(1-p)/n))
	d.record("canary judged (canary.Judge on the stack's Prometheus: bake 30s, poll 5s, production's limits)", "%s after %s; canary share %.1f %% of %.0f API requests (weight %d %%)",
		v, time.Since(began).Round(time.Second), 100*share, n, canaryWeight)
	if v.Outcome != canary.Passed {
		t.Errorf("canary %s, want passed: %s", v.Outcome, v)
	}
	if math.Abs(share-p) > tol {
		t.Errorf("canary served %.1f %% of %.0f API requests, want %d %% ± %.1f points", 100*share, n, canaryWeight, 100*tol)
	}
	return v
}
