package proxy

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/internal/dockerdns"
	"github.com/helloagents/infra/backend/internal/promtest"
	"github.com/helloagents/infra/backend/pgtest"
)

func TestWeights(t *testing.T) {
	share := func(stable, canaries, s, c int) float64 {
		return 100 * float64(canaries*c) / float64(canaries*c+stable*s)
	}
	// Exact: the smallest integers with the ratio.
	for _, tc := range []struct{ percent, stable, canaries, wantStable, wantCanary int }{
		{0, 2, 1, 1, 0},
		{10, 2, 1, 9, 2}, // 2 / (2 + 2×9) = 10 %
		{20, 2, 1, 2, 1}, // 1 / (1 + 2×2)
		{50, 1, 1, 1, 1},
		{10, 1, 1, 9, 1},
		{5, 3, 1, 19, 3},     // 3 / (3 + 3×19)
		{25, 3, 2, 2, 1},     // 2×1 / (2×1 + 3×2)
		{1, 200, 1, 99, 200}, // 200 / (200 + 200×99): the largest still under 256
		{99, 1, 1, 1, 99},
	} {
		s, c, err := Weights(tc.percent, tc.stable, tc.canaries)
		if err != nil || s != tc.wantStable || c != tc.wantCanary {
			t.Errorf("Weights(%d, %d, %d) = %d, %d, %v; want %d, %d", tc.percent, tc.stable, tc.canaries, s, c, err, tc.wantStable, tc.wantCanary)
			continue
		}
		if got := share(tc.stable, tc.canaries, s, c); math.Abs(got-float64(tc.percent)) > 1e-9 {
			t.Errorf("Weights(%d, %d, %d) = %d, %d: canary share %v %%, want exactly %d %%", tc.percent, tc.stable, tc.canaries, s, c, got, tc.percent)
		}
	}
	// Scaled under MaxWeight: the share is the nearest any two weights
	// of 1..256 give.
	for _, tc := range []struct{ percent, stable, canaries int }{
		{1, 300, 1}, // 99 : 300
		{3, 1, 7},   // 679 : 3, about 226 : 1
		{1, 1, 3},   // 297 : 1: 256 : 1 is the best there is
		{37, 5, 3},  // 189 : 185 ... within range, exact
		{2, 1, 200}, // 9800 : 2
	} {
		s, c, err := Weights(tc.percent, tc.stable, tc.canaries)
		if err != nil || s < 1 || s > MaxWeight || c < 1 || c > MaxWeight {
			t.Errorf("Weights(%d, %d, %d) = %d, %d, %v; want both within 1..%d", tc.percent, tc.stable, tc.canaries, s, c, err, MaxWeight)
			continue
		}
		best := math.Inf(1)
		for cc := 1; cc <= MaxWeight; cc++ {
			for ss := 1; ss <= MaxWeight; ss++ {
				best = math.Min(best, math.Abs(share(tc.stable, tc.canaries, ss, cc)-float64(tc.percent)))
			}
		}
		got := math.Abs(share(tc.stable, tc.canaries, s, c) - float64(tc.percent))
		if got > best+1e-9 {
			t.Errorf("Weights(%d, %d, %d) = %d, %d: %.4f points off, the best weights are %.4f off", tc.percent, tc.stable, tc.canaries, s, c, got, best)
		}
	}
	for _, bad := range []struct {
		percent, stable, canaries int
		want                      string
	}{
		{-1, 2, 1, "must be 0 to 99"},
		{100, 2, 1, "must be 0 to 99"},
		{10, 0, 1, "at least one stable and one canary replica, not 0 and 1"},
		{10, 2, 0, "at least one stable and one canary replica, not 2 and 0"},
	} {
		if _, _, err := Weights(bad.percent, bad.stable, bad.canaries); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Weights(%d, %d, %d) error = %v, want %q", bad.percent, bad.stable, bad.canaries, err, bad.want)
		}
	}
}

// TestCanaryShare runs the real haproxy with haproxy.cfg in front of two
// stable replicas (alias backend: 127.0.0.1 and 127.0.0.2) and a canary
// (alias backend-canary: 127.0.0.3), all on one port as in a container
// network, and counts where N requests go.
func TestCanaryShare(t *testing.T) {
	bin := haproxyBinary(t)
	const n = 2000
	tests := []struct {
		name      string
		percent   int
		canary    bool // the canary alias resolves
		wantShare float64
	}{
		{"10 percent", 10, true, 0.10},
		{"weight 0", 0, true, 0},
		{"no canary", 10, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			port, counts := replicas(t, "127.0.0.1", "127.0.0.2", "127.0.0.3")
			dns := dockerdns.Start(t, "backend")
			dns.Add("stable-1", netip.MustParseAddr("127.0.0.1"))
			dns.Add("stable-2", netip.MustParseAddr("127.0.0.2"))
			if tc.canary {
				dns.AddAlias(CanaryHost, "canary-1", netip.MustParseAddr("127.0.0.3"))
			}
			sw, cw, err := Weights(tc.percent, 2, 1)
			if err != nil {
				t.Fatal(err)
			}
			public, metrics := pgtest.FreePort(t), pgtest.FreePort(t)
			env := Defaults()
			maps.Copy(env, map[string]string{
				EnvAddr: "127.0.0.1", EnvPort: strconv.Itoa(public), EnvMonitorPort: strconv.Itoa(pgtest.FreePort(t)),
				EnvMetricsAddr: "127.0.0.1", EnvMetricsPort: strconv.Itoa(metrics),
				EnvResolver: dns.Addr(), EnvBackendPort: strconv.Itoa(port), EnvMaxServers: "4",
				EnvStableWeight: strconv.Itoa(sw), EnvCanaryWeight: strconv.Itoa(cw),
			})
			startHAProxy(t, bin, env)

			// Every server that resolves is in: its first check passed.
			want := []string{"replica1", "replica2"}
			if tc.canary {
				want = append(want, "canary1")
			}
			metricsURL := fmt.Sprintf("http://127.0.0.1:%d%s", metrics, MetricsPath)
			waitFor(t, 30*time.Second, func() bool {
				series, err := promtest.Scrape(t.Context(), metricsURL)
				if err != nil {
					return false
				}
				for _, srv := range want {
					if series[promtest.Key("haproxy_server_check_status", "proxy", "replicas", "server", srv, "state", "L7OK")] != 1 {
						return false
					}
				}
				return true
			}, fmt.Sprintf("servers %v checked", want))
			// Two stable replicas, each to be found: their slots are
			// filled in DNS order, whichever that is.
			counts.reset()

			client := &http.Client{Timeout: 10 * time.Second}
			url := fmt.Sprintf("http://127.0.0.1:%d/api/v1/courses", public)
			for i := range n {
				if code, body := get(client, url); code != http.StatusOK {
					t.Fatalf("request %d = %d %q", i, code, body)
				}
			}
			got := counts.get()
			canary := got["127.0.0.3"]
			if got["127.0.0.1"]+got["127.0.0.2"]+canary != n {
				t.Fatalf("answers by replica %v, want %d in all", got, n)
			}
			// Round-robin by weight is deterministic, but the bound holds
			// for any fair way to pick: the binomial's 4 σ around n×p.
			mean := n * tc.wantShare
			sigma := math.Sqrt(n * tc.wantShare * (1 - tc.wantShare))
			t.Logf("weights stable %d, canary %d: canary %d of %d (%.2f %%), want %.0f ± %.1f (4σ); by replica %v",
				sw, cw, canary, n, 100*float64(canary)/n, mean, 4*sigma, got)
			if math.Abs(float64(canary)-mean) > 4*sigma {
				t.Errorf("the canary answered %d of %d requests, want %.0f ± %.1f", canary, n, mean, 4*sigma)
			}
			if got["127.0.0.1"] == 0 || got["127.0.0.2"] == 0 {
				t.Errorf("a stable replica got nothing: %v", got)
			}
		})
	}
}

// counter counts the API requests each replica answered (not the health
// checks).
type counter struct {
	mu sync.Mutex
	by map[string]int
}

func (c *counter) reset() { c.mu.Lock(); c.by = map[string]int{}; c.mu.Unlock() }

func (c *counter) get() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.by)
}

// replicas listens on one port of every ip (a free port of the first) and
// answers 200 everywhere; it returns the port and the counts by ip.
func replicas(t *testing.T, ips ...string) (int, *counter) {
	t.Helper()
	c := &counter{by: map[string]int{}}
	var port int
	for attempt := 0; ; attempt++ {
		var lns []net.Listener
		ok := true
		for i, ip := range ips {
			addr := net.JoinHostPort(ip, strconv.Itoa(port))
			ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp4", addr)
			if err != nil {
				ok = false
				break
			}
			if i == 0 {
				port = ln.Addr().(*net.TCPAddr).Port
			}
			lns = append(lns, ln)
		}
		if !ok {
			for _, ln := range lns {
				ln.Close()
			}
			if attempt > 10 {
				t.Fatalf("no port free on every one of %v", ips)
			}
			port = 0
			continue
		}
		for i, ln := range lns {
			ip := ips[i]
			srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/api/") {
					c.mu.Lock()
					c.by[ip]++
					c.mu.Unlock()
				}
				_, _ = w.Write([]byte("ok\n"))
			})}
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { _ = srv.Close() })
		}
		return port, c
	}
}
