// Package e2e judges real canaries: the backend, proxy, Postgres and
// Prometheus images built from backend/ run a region on the local Docker
// engine (internal/regiontest), the proxy sends a canary replica its
// weight's share of a steady load, and canary.Judge reads the region's
// Prometheus. It has no code of its own, only TestCanaryReleases; it runs
// with IMAGE_TESTS=1.
package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/imagetest"
	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/proxy"
	"github.com/helloagents/infra/canary"
	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/internal/regiontest"
	"github.com/helloagents/infra/monitoring"
)

const (
	scrapeInterval = time.Second
	stableFP       = "stable-fp"
	canaryFP       = "canary-fp"
	// weight is the canary's share of the requests, in percent: high, so
	// the canary serves MinRequests within seconds.
	weight = 20
)

// bake is short so the three scenarios run in a few minutes; the limits
// are production's defaults: the platform's SLO (monitoring.DefaultSLO),
// half its error ratio over the stable replicas', 1.5 times their P95
// above a floor of a fifth of the P95 objective (as infra/promote sets it).
func bake(t *testing.T) canary.Bake {
	slo := monitoring.DefaultSLO()
	return canary.Bake{
		Limits: canary.Limits{
			MinRequests:          50,
			ErrorRatio:           slo.ErrorRatio,
			LatencyP95:           slo.LatencyP95,
			ErrorRatioOverStable: slo.ErrorRatio / 2,
			LatencyP95OverStable: 1.5,
			// The replicas answer in milliseconds, where a cold canary's
			// P95 can be a few times the warm stable one's: the floor
			// keeps that noise from failing a good canary.
			LatencyP95Floor: slo.LatencyP95 / 5,
		},
		Bake: 20 * time.Second, MaxBake: 40 * time.Second, Poll: 2 * time.Second,
		OnPoll: func(v canary.Verdict) { t.Logf("poll: %s", v) },
	}
}

// TestCanaryReleases runs three canary releases, each in its own region
// (a Docker network with Postgres, two stable replicas, the proxy and
// Prometheus, and a load through the proxy), in parallel:
//   - a good canary passes and becomes the stable version with no failed
//     request;
//   - a canary whose database role cannot read the courses (ready, but
//     every API request fails) fails within the bake and is rolled back,
//     the stable replicas untouched;
//   - a canary the proxy gives no weight ends with too little traffic.
func TestCanaryReleases(t *testing.T) {
	imagetest.RequireHeavy(t, "debootstrap")
	dk := imagetest.RequireDocker(t)
	started := time.Now()
	img := regiontest.BuildImages(t, dk, "canary", regiontest.Backend, regiontest.Proxy, regiontest.Postgres, regiontest.Prometheus)
	t.Logf("images built in %s", time.Since(started).Round(time.Second))
	t.Cleanup(func() { t.Logf("all scenarios: %s", time.Since(started).Round(time.Second)) })

	t.Run("good canary becomes stable", func(t *testing.T) {
		t.Parallel()
		reg := startRegion(t, dk, img, weight)
		before := reg.traffic.Counts()
		reg.canary(regiontest.Replica{})
		v, took := reg.judge(t)
		t.Logf("verdict after %s: %s", took, v)
		if v.Outcome != canary.Passed {
			t.Fatalf("good canary: %s", v)
		}
		// It becomes stable: two replicas of its image and fingerprint
		// under the stable alias, then the old replicas and the canary
		// stop as the program stops them (SIGTERM, the replica's grace).
		reg.Backend(img.Backend, "new-1", regiontest.Replica{Fingerprint: canaryFP})
		reg.Backend(img.Backend, "new-2", regiontest.Replica{Fingerprint: canaryFP})
		stopped := time.Now()
		reg.stop(reg.Name("stable-1"), reg.Name("stable-2"), reg.Name("canary"))
		t.Logf("old replicas and canary stopped in %s", time.Since(stopped).Round(time.Millisecond))
		// The new stable replicas serve alone for a while.
		regiontest.WaitFor(t, "Prometheus scraping only the new replicas", time.Minute, func() error {
			return regiontest.WantValue(reg.prom, fmt.Sprintf(`count(helloagents_build_info{job="backend",fingerprint=%q} * on (instance) group_left () (up == 1))`, canaryFP), 2)
		})
		time.Sleep(3 * time.Second)
		got := reg.traffic.Counts().Since(before)
		t.Logf("requests through the proxy from the canary's start to the end: %d, failed %d (%v)", got.Total(), got.Failed(), got)
		if got.Failed() != 0 || got.Total() == 0 {
			t.Errorf("answers %v: want only 200s", got)
		}
	})

	t.Run("bad canary is rolled back", func(t *testing.T) {
		t.Parallel()
		reg := startRegion(t, dk, img, weight)
		// A role that can connect, migrate (nothing to do) and beat, but
		// not read the courses: ready, yet every API request fails.
		reg.psql(t, `CREATE ROLE canary LOGIN PASSWORD 'canary-password';
GRANT USAGE, CREATE ON SCHEMA public TO canary;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO canary;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO canary;
REVOKE SELECT ON courses FROM canary;`)
		stable := reg.containers(t, "stable-1", "stable-2")
		before := reg.traffic.Counts()
		name := reg.canary(regiontest.Replica{DatabaseURL: regiontest.DatabaseURL("canary", "canary-password"),
			Args: []string{"-p", "127.0.0.1::8000"}})
		// Docker reported it healthy (Run waits); the proxy asks the same
		// readiness, and the API fails there.
		addr := reg.DK.Run(t, time.Minute, "port", name, "8000/tcp")
		ready, _ := imagetest.Request(t, http.MethodGet, "http://"+addr+"/health/ready")
		courses, body := imagetest.Request(t, http.MethodGet, "http://"+addr+"/api/v1/courses")
		t.Logf("canary: GET /health/ready %d, GET /api/v1/courses %d %s", ready, courses, strings.TrimSpace(body))
		if ready != http.StatusOK || courses < 500 {
			t.Fatalf("canary answers /health/ready %d and /api/v1/courses %d: want ready and failing", ready, courses)
		}
		v, took := reg.judge(t)
		during := reg.traffic.Counts().Since(before)
		t.Logf("verdict after %s: %s", took, v)
		if v.Outcome != canary.Failed || took > bake(t).Bake+10*time.Second {
			t.Fatalf("bad canary: %s after %s, want failed within the bake", v, took)
		}
		// Roll back: the canary goes.
		reg.stop(name)
		reg.DK.Run(t, time.Minute, "rm", "-f", name)
		frac := float64(during.Failed()) / float64(max(during.Total(), 1))
		t.Logf("failed requests through the proxy during the bake: %d of %d (%.2f %%), the canary's weight %d %%; %v",
			during.Failed(), during.Total(), 100*frac, weight, during)
		if frac > weight/100.0 {
			t.Errorf("%.2f %% of the requests failed, more than the canary's weight %d %%", 100*frac, weight)
		}
		if after := reg.containers(t, "stable-1", "stable-2"); after != stable {
			t.Errorf("stable replicas changed: before %s, after %s", stable, after)
		}
	})

	t.Run("canary without traffic", func(t *testing.T) {
		t.Parallel()
		reg := startRegion(t, dk, img, 0) // the image's default weights: the canary gets nothing
		reg.canary(regiontest.Replica{})
		// It is scraped (and health-checked by the proxy and Docker, which
		// the judgement must not count as traffic).
		regiontest.WaitFor(t, "Prometheus scraping the canary", time.Minute, func() error {
			return regiontest.WantValue(reg.prom, fmt.Sprintf(`count(helloagents_build_info{job="backend",fingerprint=%q})`, canaryFP), 1)
		})
		v, took := reg.judge(t)
		t.Logf("verdict after %s: %s", took, v)
		if v.Outcome != canary.TooLittleTraffic || v.Window < bake(t).MaxBake {
			t.Fatalf("canary without traffic: %s, want too little traffic at MaxBake", v)
		}
	})
}

// region is a region running two stable replicas (fingerprint stableFP)
// behind the proxy with the canary weight, Prometheus, and a load.
type region struct {
	*regiontest.Region
	t       *testing.T
	img     regiontest.Images
	prom    string
	traffic *regiontest.Traffic
}

func startRegion(t *testing.T, dk imagetest.Docker, img regiontest.Images, percent int) *region {
	t.Helper()
	rules, err := monitoring.Rules(monitoring.DefaultRuleArgs(monitoring.DefaultSLO(), scrapeInterval))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := monitoring.PrometheusConfig(monitoring.PrometheusArgs{Stack: "e2e", Region: "canary", ScrapeInterval: scrapeInterval})
	if err != nil {
		t.Fatal(err)
	}
	sw, cw, err := proxy.Weights(percent, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := &region{Region: regiontest.NewRegion(t, dk, "canary"), t: t, img: img}
	r.Postgres(img.Postgres)
	r.Backend(img.Backend, "stable-1", regiontest.Replica{Fingerprint: stableFP})
	r.Backend(img.Backend, "stable-2", regiontest.Replica{Fingerprint: stableFP})
	addr := r.Proxy(img.Proxy, map[string]string{proxy.EnvStableWeight: strconv.Itoa(sw), proxy.EnvCanaryWeight: strconv.Itoa(cw)})
	r.prom = r.Prometheus(img.Prometheus, cfg, rules)
	regiontest.WaitFor(t, "Prometheus scraping both stable replicas", 90*time.Second, func() error {
		return regiontest.WantValue(r.prom, `count(up{job="backend"} == 1)`, 2)
	})
	r.traffic = regiontest.StartTraffic(t, addr, 2)
	t.Logf("proxy weights: stable %d, canary %d (%d %%)", sw, cw, percent)
	return r
}

// canary runs the canary replica (alias backend-canary, fingerprint
// canaryFP) of the region's backend image.
func (r *region) canary(o regiontest.Replica) string {
	o.Alias, o.Fingerprint = proxy.CanaryHost, canaryFP
	return r.Backend(r.img.Backend, "canary", o)
}

// judge runs canary.Judge on the region's Prometheus; it returns the
// verdict and how long the judgement took.
func (r *region) judge(t *testing.T) (canary.Verdict, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	v, err := canary.Judge(ctx, canary.Prometheus{URL: r.prom}, bake(t), canaryFP)
	if err != nil {
		t.Fatalf("judge: %v (last verdict %s)", err, v)
	}
	return v, time.Since(start).Round(100 * time.Millisecond)
}

// stop stops containers at once as the program does: the backend's stop
// signal and its grace period (components.StopFor).
func (r *region) stop(names ...string) {
	grace := strconv.Itoa(components.StopFor(labels.RoleBackend).GraceSeconds())
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, n := range names {
		wg.Go(func() { _, errs[i] = r.DK.Try(2*time.Minute, "stop", "-t", grace, n) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			r.t.Errorf("docker stop: %v", err)
		}
	}
}

// containers is the ID, state and restart count of each role's container.
func (r *region) containers(t *testing.T, roles ...string) string {
	var out []string
	for _, role := range roles {
		out = append(out, r.DK.Run(t, time.Minute, "inspect", "-f", "{{.Id}} {{.State.Status}} {{.RestartCount}}", r.Name(role)))
	}
	return strings.Join(out, "; ")
}

// psql runs sql as the superuser on the region's database.
func (r *region) psql(t *testing.T, sql string) {
	t.Helper()
	r.DK.Run(t, time.Minute, "exec", "-e", "PGPASSWORD="+regiontest.DBPassword, r.Name("postgres"),
		"psql", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", "helloagents", "-c", sql)
}
