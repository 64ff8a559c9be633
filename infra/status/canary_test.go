package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/internal/prometheustest"
)

// TestStatusShowsARunningCanary runs Debian's Prometheus scraping a stable
// replica and a canary started two minutes ago, each of a known mix of
// requests, and reads the canary through status: its weight, the time
// left in its 10-minute bake, and its figures next to the stable ones.
func TestStatusShowsARunningCanary(t *testing.T) {
	digest := "sha256:" + strings.Repeat("c", 64)
	started := time.Now().Add(-2 * time.Minute)
	stable := prometheustest.ReplicaMetrics(t, prometheustest.Replica{Fingerprint: "sha256:" + strings.Repeat("5", 64),
		Started: started.Add(-time.Hour), OK: 100, OKSeconds: 0.05, Probes: 10, ProbeSeconds: 0.01})
	canaryReplica := prometheustest.ReplicaMetrics(t, prometheustest.Replica{Fingerprint: digest,
		Started: started, OK: 19, Failed: 1, OKSeconds: 0.05, FailedSeconds: 0.7, Probes: 10, ProbeSeconds: 0.01})
	prom := prometheustest.Start(t, prometheustest.Config{Backends: []string{stable.Listener.Addr().String(), canaryReplica.Listener.Addr().String()}})
	prom.WaitFor(t, `min(count_over_time(up{job="backend"}[1h]))`, 3)

	eu := region(t, 200, report(health.Healthy, health.Healthy, ""))
	d := deps{
		outputs: func(context.Context, string) (map[string]any, error) {
			return map[string]any{
				"backendImage": image,
				"healthUrls":   map[string]any{"eu-west": eu.URL + "/health/ready"},
				"canaries": map[string]any{"eu-west": map[string]any{
					"image": "ghcr.io/helloagents/backend@" + digest, "weight": 10.0, "bake": "10m", "maxBake": "30m",
				}},
			}, nil
		},
		config: func(context.Context, string) (map[string]string, error) {
			return map[string]string{"helloagents:regions": `[{"name":"eu-west","dockerHost":"ssh://eu"}]`}, nil
		},
		client:   http.DefaultClient,
		replicas: &fakeReplicas{byRegion: map[string][]Replica{"eu-west": {{Name: "b-0", State: "running", Health: "healthy"}}}},
	}
	args := []string{"--stack", "production", "--prometheus", "eu-west=" + prom.URL}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), append(args, "--json"), func(string) string { return "" }, d, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, &out, &errOut)
	}
	var st Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	c := st.Regions[0].Canary
	if c == nil || c.Error != "" {
		t.Fatalf("canary %+v, want its figures\n%s", c, prom.Log())
	}
	if c.Weight != 10 || c.BakeSeconds != 600 || c.MaxBakeSeconds != 1800 || !strings.HasSuffix(c.Image, digest) {
		t.Errorf("canary %+v, want weight 10, bake 600 s, max bake 1800 s and its image", c)
	}
	// Started two minutes ago (and a little more by now): about 8 minutes left.
	if c.BakeLeftSeconds == nil || *c.BakeLeftSeconds > 480 || *c.BakeLeftSeconds < 420 {
		t.Errorf("bake left %v s, want just under 480", deref(c.BakeLeftSeconds))
	}
	// Each scrape adds 1 failure in 20 API requests on the canary and none
	// on the stable replica; the probes are not the API's requests.
	if r := c.Canary.ErrorRatio; r == nil || math.Abs(*r-0.05) > 1e-9 {
		t.Errorf("canary error ratio %v, want 0.05", deref(r))
	}
	if r := c.Stable.ErrorRatio; r == nil || *r != 0 {
		t.Errorf("stable error ratio %v, want 0", deref(r))
	}
	if c.Canary.Requests <= 0 || c.Stable.Requests <= c.Canary.Requests {
		t.Errorf("requests: canary %v, stable %v; want the stable replica's five times the canary's", c.Canary.Requests, c.Stable.Requests)
	}

	out.Reset()
	if code := run(t.Context(), args, func(string) string { return "" }, d, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, &out, &errOut)
	}
	for _, want := range []string{"canary in eu-west: ghcr.io/helloagents/backend@" + digest + " at 10 % of the requests, ",
		" of its 10m0s bake left", "canary ", "error ratio 5.00 %", "; stable "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, &out)
		}
	}
}
