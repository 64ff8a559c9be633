package release

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/drain"
	"github.com/helloagents/infra/backend/internal/dockerdns"
	"github.com/helloagents/infra/backend/internal/imagetest"
	"github.com/helloagents/infra/backend/loadgen"
	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/proxy"
)

// backendName is the replicas' network alias, the name the proxy resolves.
const backendName = "backend"

// TestRelease proves that a release drops no request. Everything is real
// but Docker's network: the backend image built twice (VERSION gen1, gen2),
// the proxy image, PostgreSQL 15, and the release in the order the program
// orders it: start the new replicas, wait until Docker reports them healthy,
// then delete the old ones as the docker provider does, one by one:
// `docker stop` with the resource's destroyGraceSeconds as the timeout
// (drain.ServerGrace, what components.StopFor gives a replica: SIGTERM, and
// SIGKILL after it; the provider uses 0 when it is unset), then a forced
// remove. Traffic stays on
// loopback: every container runs with host networking, each replica on its
// own loopback address, and the proxy resolves the replicas through a DNS
// server in this test that answers like Docker's embedded DNS (a container is
// in the answer from its start until its removal).
//
// Meanwhile a bounded load runs on the proxy: keep-alive and new-connection
// clients on raw sockets (no transparent retries), /api/v1/courses and
// /health/ready, and slow POSTs (non-idempotent: the proxy does not resend
// them) in flight when the old replicas are stopped. Any transport error or
// unexpected answer is a failed request; the test wants none, and the last
// answers from the new generation. Without the grace period the replicas
// die with the POSTs in flight and the test fails.
func TestRelease(t *testing.T) {
	imagetest.RequireHeavy(t, "debootstrap")
	dk := imagetest.RequireDocker(t)
	pg := pgtest.Start(t)
	dbURL := pg.CreateDB(t, "release")

	buildContext, err := filepath.Abs("..") // backend/
	if err != nil {
		t.Fatal(err)
	}
	builder, base, goproxy := dk.GoBuilder(t), dk.DebianBase(t), imagetest.GoProxy(t)
	images := map[string]string{}
	for _, gen := range []string{"gen1", "gen2"} { // gen2 reuses gen1's cached layers
		images[gen] = imagetest.Tag("release", "backend-"+gen)
		dk.Build(t, images[gen], buildContext, "Dockerfile", map[string]string{
			"GO_IMAGE": builder, "GOPROXY": goproxy, "VERSION": gen,
		})
	}
	proxyImage := imagetest.Tag("release", "proxy")
	dk.Build(t, proxyImage, buildContext, "proxy.Dockerfile", map[string]string{"RUNTIME_IMAGE": base})
	if user := dk.Run(t, time.Minute, "image", "inspect", "-f", "{{.Config.User}}", proxyImage); user != "65532:65532" {
		t.Errorf("proxy image USER = %q, want 65532:65532", user)
	}

	dns := dockerdns.Start(t, backendName)
	backendPort := pgtest.FreePort(t)
	proxyPort, monitorPort, metricsPort := pgtest.FreePort(t), pgtest.FreePort(t), pgtest.FreePort(t)
	// Hardening as the program runs its containers: read-only root, no
	// capabilities, no privilege gain.
	hardening := []string{"--network", "host", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
		"--security-opt", "no-new-privileges"}
	health := []string{"--health-interval", "1s", "--health-timeout", "3s", "--health-retries", "3", "--health-start-period", "0s"}

	proxyName := imagetest.Tag("release", "proxy")
	run := append([]string{"run", "-d", "--name", proxyName}, hardening...)
	run = append(run, health...)
	for k, v := range map[string]string{
		proxy.EnvAddr: "127.0.0.1", proxy.EnvPort: strconv.Itoa(proxyPort), proxy.EnvMonitorPort: strconv.Itoa(monitorPort),
		proxy.EnvMetricsAddr: "127.0.0.1", proxy.EnvMetricsPort: strconv.Itoa(metricsPort),
		proxy.EnvResolver: dns.Addr(), proxy.EnvBackendHost: backendName, proxy.EnvBackendPort: strconv.Itoa(backendPort),
	} {
		run = append(run, "-e", k+"="+v)
	}
	dk.Run(t, time.Minute, append(run, proxyImage)...)
	t.Cleanup(func() { dk.Cleanup("rm", "-f", proxyName) })
	// Healthy before any backend exists: init-addr none, and the image's
	// HEALTHCHECK works without curl on a read-only root.
	dk.WaitHealthy(t, proxyName, 90*time.Second)

	// start runs one replica of a generation on its own loopback address
	// and puts it into DNS, as Docker does when a container starts.
	next := netip.MustParseAddr("127.0.0.2")
	start := func(gen string) string {
		ip := next
		next = next.Next()
		name := imagetest.Tag("release", gen)
		// SIGTERM and the stop timeout components.StopFor sets.
		run := append([]string{"run", "-d", "--name", name, "--stop-signal", "SIGTERM", "--stop-timeout", graceSeconds()}, hardening...)
		run = append(run, health...)
		run = append(run, "-e", "DATABASE_URL="+dbURL, "-e", "HOST="+ip.String(), "-e", "PORT="+strconv.Itoa(backendPort),
			"-e", "LOG_LEVEL=warn", images[gen])
		dk.Run(t, time.Minute, run...)
		t.Cleanup(func() { dk.Cleanup("rm", "-f", name) })
		dns.Add(name, ip)
		return name
	}

	gen1 := []string{start("gen1"), start("gen1")}
	for _, name := range gen1 {
		dk.WaitHealthy(t, name, 90*time.Second)
	}
	proxyAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(proxyPort))
	waitServed(t, proxyAddr, "/health/ready", "gen1", 60*time.Second)

	// The load: 8 keep-alive and 4 new-connection clients, each pausing
	// 10 ms between requests, and 4 slow-POST clients, bounded in time and
	// count.
	l := loadgen.New(proxyAddr, "/api/v1/courses", "/health/ready")
	ctx, stop := context.WithTimeout(context.Background(), 5*time.Minute)
	defer stop()
	loadDone := make(chan struct{})
	began := time.Now()
	go func() {
		defer close(loadDone)
		k, n, p := loadgen.KeepAlive, loadgen.NewConn, loadgen.SlowPost
		l.Run(ctx, []loadgen.Kind{k, k, k, k, k, k, k, k, n, n, n, n, p, p, p, p}, 10*time.Millisecond, 100_000)
	}()
	stopLoad := func() time.Duration {
		stop()
		<-loadDone
		return time.Since(began)
	}
	defer stopLoad()
	pause(ctx, 3*time.Second)

	// The release, in the program's order.
	releaseBegan := time.Now()
	gen2 := []string{start("gen2"), start("gen2")}
	for _, name := range gen2 {
		dk.WaitHealthy(t, name, 90*time.Second)
	}
	t.Logf("gen2 healthy after %s", time.Since(releaseBegan).Round(time.Millisecond))
	stoppedAt := time.Now()
	deleteAsProvider(t, dk, dns, gen1)
	releaseTook := time.Since(releaseBegan)
	pause(ctx, 3*time.Second)
	took := stopLoad()

	c := l.Counts()
	retried := retriedRequests(t, dk, proxyName)
	// The POSTs in flight when the old replicas got SIGTERM; some were on
	// them (round robin over four replicas).
	if n := l.InFlightAt(stoppedAt); n == 0 {
		t.Errorf("no slow POST was in flight when the old replicas were stopped: the test proved nothing about them")
	} else {
		t.Logf("slow POSTs in flight when the old replicas were stopped: %d", n)
	}
	t.Logf("release: %d requests in %s (%.0f/s), %d failed; release (start gen2 .. gen1 removed) took %s; versions seen in health bodies: %v; requests the proxy retried: %d",
		c.Sent, took.Round(time.Millisecond), float64(c.Sent)/took.Seconds(), c.Failed, releaseTook.Round(time.Millisecond), c.Versions, retried)
	lat := c.Latencies(releaseBegan, releaseBegan.Add(releaseTook))
	t.Logf("GET latency during the release (%d requests): p50 %s, p99 %s, max %s", lat.N,
		lat.P50.Round(time.Millisecond), lat.P99.Round(time.Millisecond), lat.Max.Round(time.Millisecond))
	if c.Failed != 0 {
		t.Errorf("%d of %d requests failed during the release; first ones:\n%s", c.Failed, c.Sent, strings.Join(c.Failures, "\n"))
	}
	if c.Sent < 1000 {
		t.Errorf("only %d requests were sent: the load did not run", c.Sent)
	}
	if c.Versions["gen1"] == 0 || c.Versions["gen2"] == 0 {
		t.Errorf("versions seen = %v, want both generations", c.Versions)
	}
	for client, v := range c.Last {
		if v != "gen2" {
			t.Errorf("client %d: last health body from %q, want gen2", client, v)
		}
	}
	// After the release every answer comes from the new generation.
	for range 10 {
		body, err := loadgen.Get(proxyAddr, "/health")
		if err != nil {
			t.Fatal(err)
		}
		if v := loadgen.HealthVersion(body); v != "gen2" {
			t.Errorf("GET /health through the proxy after the release: version %q, want gen2", v)
		}
	}

	// The proxy stops softly on the image's STOPSIGNAL (SIGUSR1): it exits 0
	// by itself before the stop timeout (a SIGKILL would be 137).
	dk.Run(t, time.Minute, "stop", "-t", "20", proxyName)
	if code := dk.Run(t, time.Minute, "inspect", "-f", "{{.State.ExitCode}}", proxyName); code != "0" {
		t.Errorf("proxy exit code after docker stop = %s, want 0 (soft stop)", code)
	}
}

// deleteAsProvider deletes the replicas the way the docker provider deletes
// a container resource (resourceDockerContainerDelete in
// terraform-provider-docker): ContainerStop with destroyGraceSeconds as the
// timeout, then a forced ContainerRemove; the replica leaves DNS when it is
// removed. One replica after the other: the engine deletes replaced
// replicas in parallel, and with two draining at once a readiness probe
// through the proxy can be retried from one draining replica to the other
// and get its 503 (3 of 10325 requests in one run, all /health/ready; API
// requests unaffected), a gap docs/PERFORMANCE.md describes.
func deleteAsProvider(t *testing.T, dk imagetest.Docker, dns *dockerdns.Server, names []string) {
	t.Helper()
	grace := graceSeconds()
	for _, name := range names {
		began := time.Now()
		dk.Run(t, 2*time.Minute, "stop", "-t", grace, name)
		dk.Run(t, time.Minute, "rm", "-f", name)
		dns.Remove(name)
		t.Logf("%s stopped (grace %ss) and removed in %s", name, grace, time.Since(began).Round(time.Millisecond))
	}
}

// graceSeconds is the replicas' grace period in Docker's whole seconds.
func graceSeconds() string { return strconv.Itoa(int(drain.ServerGrace / time.Second)) }

// waitServed waits (bounded) until the proxy answers path with 200 from
// the given version five times in a row.
func waitServed(t *testing.T, addr, path, want string, within time.Duration) {
	t.Helper()
	streak := 0
	for deadline := time.Now().Add(within); streak < 5; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s%s did not answer 200 from %s within %s", addr, path, want, within)
		}
		if body, err := loadgen.Get(addr, path); err == nil && loadgen.HealthVersion(body) == want {
			streak++
		} else {
			streak = 0
		}
	}
}

// retriedRequests counts the proxy's log lines of requests it retried or
// redispatched (httplog's retries field, "+N" when redispatched).
func retriedRequests(t *testing.T, dk imagetest.Docker, name string) int {
	t.Helper()
	out, err := dk.Command(context.Background(), "logs", name).CombinedOutput()
	if err != nil {
		t.Logf("proxy logs: %v", err)
		return -1
	}
	n := 0
	field := regexp.MustCompile(` \d+/\d+/\d+/\d+/(\+?)(\d+) \d+/\d+ `)
	for _, m := range field.FindAllStringSubmatch(string(out), -1) {
		if m[1] == "+" || m[2] != "0" {
			n++
		}
	}
	return n
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
