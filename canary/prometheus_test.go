package canary

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helloagents/infra/internal/prometheustest"
	"github.com/helloagents/infra/monitoring"
)

// The stand-in region: two stable replicas and a canary, each adding a
// known mix of API requests per scrape, plus failing, slow health probes
// that must not count.
var (
	stableStarted = time.Unix(1_700_000_000, 0)
	canaryStarted = time.Unix(1_800_000_000, 250_000_000)
	stableReplica = prometheustest.Replica{Fingerprint: "sha256:stable", Started: stableStarted,
		OK: 100, Failed: 1, OKSeconds: 0.2, FailedSeconds: 0.7, Probes: 40, ProbeSeconds: 3}
	// The fingerprint has PromQL's string delimiters and escape in it.
	canaryFP      = `sha256:can"ary\x`
	canaryReplica = prometheustest.Replica{Fingerprint: canaryFP, Started: canaryStarted,
		OK: 20, Failed: 5, OKSeconds: 0.2, FailedSeconds: 0.7, Probes: 40, ProbeSeconds: 3}
)

// What histogram_quantile reads from those mixes (monitoring.DurationBuckets):
// the stable P95 is in (0.1, 0.25], the canary's in (0.5, 1].
var (
	stableP95 = 0.1 + (0.25-0.1)*(0.95*101)/100
	canaryP95 = 0.5 + (1-0.5)*(0.95*25-20)/5
)

func startRegion(t *testing.T, rules []byte) *prometheustest.Server {
	t.Helper()
	s1 := prometheustest.ReplicaMetrics(t, stableReplica)
	s2 := prometheustest.ReplicaMetrics(t, stableReplica)
	c := prometheustest.ReplicaMetrics(t, canaryReplica)
	prom := prometheustest.Start(t, prometheustest.Config{
		Backends: []string{s1.Listener.Addr().String(), s2.Listener.Addr().String(), c.Listener.Addr().String()},
		Rules:    rules,
	})
	// Enough scrapes of every replica for a 5 s window.
	prom.WaitFor(t, `min(count_over_time(up{job="backend"}[10s])) >= 7`, 1)
	return prom
}

func TestPrometheus(t *testing.T) {
	t.Parallel()
	prom := startRegion(t, nil)
	p := Prometheus{URL: prom.URL}
	ctx := t.Context()
	const window = 5 * time.Second

	canary, err := p.Figures(ctx, canaryFP, true, window)
	if err != nil {
		t.Fatal(err)
	}
	stable, err := p.Figures(ctx, canaryFP, false, window)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("canary %s; stable %s", canary, stable)
	// increase() extrapolates to the window: about a scrape per second
	// (fewer when the machine is busy). Counted health probes would show
	// in the exact ratio and P95 below.
	perWindow := window.Seconds()
	tests := []struct {
		name       string
		got        Figures
		requests   float64
		ratio, p95 float64
	}{
		{"canary", canary, 25 * perWindow, 5.0 / 25, canaryP95},
		{"stable", stable, 2 * 101 * perWindow, 1.0 / 101, stableP95},
	}
	for _, tc := range tests {
		if r := tc.got.Requests; r < 0.4*tc.requests || r > 1.6*tc.requests {
			t.Errorf("%s requests = %v, want about %v (health probes left out)", tc.name, r, tc.requests)
		}
		if tc.got.ErrorRatio == nil || math.Abs(*tc.got.ErrorRatio-tc.ratio) > 1e-9 {
			t.Errorf("%s error ratio = %v, want %v", tc.name, deref(tc.got.ErrorRatio), tc.ratio)
		}
		if tc.got.P95Seconds == nil || math.Abs(*tc.got.P95Seconds-tc.p95) > 1e-9 {
			t.Errorf("%s P95 = %v, want %v", tc.name, deref(tc.got.P95Seconds), tc.p95)
		}
	}

	none, err := p.Figures(ctx, "sha256:nobody", true, window)
	if err != nil || none.Requests != 0 || none.ErrorRatio != nil || none.P95Seconds != nil {
		t.Errorf("figures of a fingerprint nobody runs = %+v, %v; want none", none, err)
	}
	all, err := p.Figures(ctx, "sha256:nobody", false, window)
	if err != nil || all.Requests < stable.Requests/2 || all.ErrorRatio == nil || *all.ErrorRatio <= *stable.ErrorRatio || *all.ErrorRatio >= *canary.ErrorRatio {
		t.Errorf("every replica as the stable group = %+v, %v", all, err)
	}

	started, err := p.CanaryStarted(ctx, canaryFP)
	if d := started.Sub(canaryStarted); err != nil || d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("CanaryStarted = %v, %v; want %v", started, err, canaryStarted)
	}
	if started, err := p.CanaryStarted(ctx, "sha256:nobody"); err != nil || !started.IsZero() {
		t.Errorf("CanaryStarted of no replica = %v, %v; want the zero time", started, err)
	}

	burn, err := p.Burn(ctx, window)
	if err != nil {
		t.Fatal(err)
	}
	// Every replica's API requests: 7 failures in 227 per round of scrapes.
	// Unlike one group's ratio, the mix of the groups moves with how many
	// scrapes of each fell in the window (a busy machine misses some), so
	// the check is a band: counted health probes (half of them 5xx, 120 a
	// round) would put it near 19 %.
	wantRatio := (2*1 + 5.0) / (2*101 + 25)
	if burn.ErrorRatio == nil || math.Abs(*burn.ErrorRatio-wantRatio) > 0.25*wantRatio || len(burn.Firing) != 0 {
		t.Errorf("Burn = %+v (ratio %v), want ratio about %v and nothing firing", burn, deref(burn.ErrorRatio), wantRatio)
	}

	// Judge over the real Prometheus: the canary's 20 % errors fail it
	// early (at the first two polls unless a busy machine left a window
	// without two scrapes).
	var polls []Verdict
	l := limits
	l.MinRequests = 20
	v, err := Judge(ctx, p, Bake{Limits: l, Bake: 12 * time.Second, MaxBake: 12 * time.Second, Poll: 4 * time.Second,
		Wait: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }, OnPoll: func(v Verdict) { polls = append(polls, v) }}, canaryFP)
	if err != nil || v.Outcome != Failed || len(polls) > 3 {
		t.Errorf("Judge = %v, %v; want failed", v, err)
	}
	t.Logf("judge: %s after %d polls", v, len(polls))
}

// TestPrometheusBurnFiring loads a rule file with a burn-rate alert that
// always fires (and another alert that must not be reported).
func TestPrometheusBurnFiring(t *testing.T) {
	t.Parallel()
	rules := fmt.Sprintf(`groups:
  - name: test
    rules:
      - alert: %s
        expr: vector(1)
      - alert: %s
        expr: vector(1)
`, monitoring.AlertErrorBudgetBurnSlow, monitoring.AlertLatencyP95High)
	prom := startRegion(t, []byte(rules))
	prom.WaitFor(t, `count(ALERTS{alertstate="firing"})`, 2)
	burn, err := (Prometheus{URL: prom.URL}).Burn(t.Context(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(burn.Firing, []string{monitoring.AlertErrorBudgetBurnSlow}) || burn.ErrorRatio == nil {
		t.Errorf("Burn = %+v, want %s firing and a ratio", burn, monitoring.AlertErrorBudgetBurnSlow)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestPrometheusOneInstant: the queries of one reading are evaluated at
// the same time, so the 5xx count is a part of the total it is divided by.
func TestPrometheusOneInstant(t *testing.T) {
	var mu sync.Mutex
	var times []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, r.FormValue("time"))
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"300"]}]}}`)
	}))
	defer srv.Close()
	p := Prometheus{URL: srv.URL}
	if _, err := p.Figures(t.Context(), "fp", true, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Burn(t.Context(), time.Minute); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(times) != 6 || times[0] == "" || times[1] != times[0] || times[2] != times[0] || times[4] != times[3] || times[5] != times[3] {
		t.Errorf("evaluation times of Figures' and Burn's queries: %q, want one per reading", times)
	}
}

// TestPrometheusHeader: every query carries the Header, and a server that
// echoes it in an error does not get it into Figures' error.
func TestPrometheusHeader(t *testing.T) {
	const secret = "s3cret-token-value"
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Cf-Access-Client-Secret"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.FormValue("query"), "status_class") {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"refused, your secret was %s"}`, r.Header.Get("Cf-Access-Client-Secret"))
			return
		}
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"300"]}]}}`)
	}))
	defer srv.Close()
	p := Prometheus{URL: srv.URL, Header: http.Header{"Cf-Access-Client-Id": {"id.access"}, "Cf-Access-Client-Secret": {secret}}}
	_, err := p.Figures(t.Context(), "fp", true, time.Minute)
	if err == nil {
		t.Fatal("Figures did not report the server's error")
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v %#v", err, errors.Unwrap(err)), secret) {
		t.Errorf("the error shows the header: %v", err)
	}
	if !strings.Contains(err.Error(), "refused, your secret was [redacted]") {
		t.Errorf("error = %v, want the server's message, redacted", err)
	}
	if strings.Contains(fmt.Sprint(p), secret) || strings.Contains(fmt.Sprintf("%v", p), secret) {
		t.Errorf("the Prometheus prints its header: %v", p)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != secret || seen[1] != secret {
		t.Errorf("headers the server saw: %q, want the secret on both queries", seen)
	}

	// A client of the caller's keeps its settings and gets the header too.
	seen = nil
	mu.Unlock()
	_, err = Prometheus{URL: srv.URL, Header: p.Header, Client: &http.Client{Timeout: time.Second}}.CanaryStarted(t.Context(), "fp")
	mu.Lock()
	if err != nil || len(seen) != 1 || seen[0] != secret {
		t.Errorf("CanaryStarted with a client: %v, headers %q", err, seen)
	}
}

func TestPrometheusRefusesBadInput(t *testing.T) {
	if _, err := (Prometheus{}).Figures(t.Context(), "fp", true, time.Minute); err == nil {
		t.Error("no URL accepted")
	}
	if _, err := (Prometheus{URL: "http://127.0.0.1:1"}).Figures(t.Context(), "fp", true, 0); err == nil {
		t.Error("a zero window accepted")
	}
	if _, err := (Prometheus{URL: "http://127.0.0.1:1"}).Burn(t.Context(), -time.Second); err == nil {
		t.Error("a negative window accepted")
	}
}
