package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"testing"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/internal/prometheustest"
)

// TestStatusAgainstRealPrometheus runs Debian's Prometheus (the version
// the regions run) scraping a stand-in for the backend's metrics listener
// whose error ratio and P95 are known exactly, and reads the region's
// numbers through status.
func TestStatusAgainstRealPrometheus(t *testing.T) {
	backend := prometheustest.BackendMetrics(t)
	prom := prometheustest.Start(t, prometheustest.Config{Backend: backend.Listener.Addr().String()})
	// Three scrapes: rate needs two samples.
	prom.WaitFor(t, `count_over_time(helloagents_http_requests_total{job="backend",status_class="5xx"}[1h])`, 3)

	eu := region(t, 200, report(health.Healthy, health.Healthy, ""))
	d := deps{
		outputs: func(context.Context, string) (map[string]any, error) {
			return map[string]any{"backendImage": image, "healthUrls": map[string]any{"eu-west": eu.URL + "/health/ready"}}, nil
		},
		config: func(context.Context, string) (map[string]string, error) {
			return map[string]string{
				"helloagents:regions": `[{"name":"eu-west","dockerHost":"ssh://eu"}]`,
				"helloagents:slo":     `{"availability":0.98}`,
			}, nil
		},
		client:   http.DefaultClient,
		replicas: &fakeReplicas{byRegion: map[string][]Replica{"eu-west": {{Name: "b-0", State: "running", Health: "healthy"}}}},
	}
	var out, errOut bytes.Buffer
	args := []string{"--stack", "staging", "--json", "--prometheus", "eu-west=" + prom.URL}
	if code := run(t.Context(), args, func(string) string { return "" }, d, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, &out, &errOut)
	}
	var st Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("%v\n%s", err, &out)
	}
	m := st.Regions[0].Metrics
	if m.Error != "" {
		t.Fatalf("metrics unavailable: %s\n%s", m.Error, prom.Log())
	}
	for _, c := range []struct {
		name string
		got  *float64
		want float64
	}{
		{"error ratio", m.ErrorRatio, prometheustest.ErrorRatio},
		{"p95", m.P95Seconds, prometheustest.P95},
		// availability 0.98 from the stack config: a budget of 0.02
		{"error budget left", m.ErrorBudgetLeft, 1 - prometheustest.ErrorRatio/0.02},
	} {
		if c.got == nil || math.Abs(*c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, deref(c.got), c.want)
		}
	}
}
