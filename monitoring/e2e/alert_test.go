package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/imagetest"
	"github.com/helloagents/infra/internal/regiontest"
	"github.com/helloagents/infra/monitoring"
)

// The test's SLO: the platform's objectives over a 12-hour period instead
// of 30 days, so every alert window is 60 times shorter (the page's long
// window 1 h becomes 60 s, its short window 5 min becomes 5 s).
var testSLO = func() monitoring.SLO {
	s := monitoring.DefaultSLO()
	s.Period = 12 * time.Hour
	return s
}()

const (
	scrapeInterval = time.Second
	fastBurn       = "HelloAgentsErrorBudgetBurnFast"
	// hostAlias is the name containers reach the test's webhook receiver
	// by (Docker's host-gateway).
	hostAlias = "host.docker.internal"
)

// TestFastBurnAlertReachesWebhook runs a region's serving and monitoring
// path from the real images on a Docker network, as the program runs them:
// two backend replicas (network alias backend, metrics on 9464), the proxy,
// Postgres, Prometheus (finding the replicas by Docker DNS) and Alertmanager
// with the rendered configuration and rules. Traffic goes through the
// proxy; then Postgres is stopped, so /api/v1/courses answers 503, and the
// fast-burn alert must reach the webhook receiver within the time its
// windows allow; after Postgres is back, its resolution must arrive too.
func TestFastBurnAlertReachesWebhook(t *testing.T) {
	imagetest.RequireHeavy(t, "debootstrap")
	dk := imagetest.RequireDocker(t)
	img := regiontest.BuildImages(t, dk, "monitoring", regiontest.Backend, regiontest.Proxy, regiontest.Postgres,
		regiontest.Prometheus, regiontest.Alertmanager)

	hook := startReceiver(t)
	rules, err := monitoring.Rules(monitoring.DefaultRuleArgs(testSLO, scrapeInterval))
	if err != nil {
		t.Fatal(err)
	}
	promCfg, err := monitoring.PrometheusConfig(monitoring.PrometheusArgs{
		Stack: "e2e", Region: "local", ScrapeInterval: scrapeInterval,
	})
	if err != nil {
		t.Fatal(err)
	}
	amCfg, err := monitoring.AlertmanagerConfig(monitoring.AlertmanagerArgs{
		Stack: "e2e", Region: "local", WebhookURL: hook.URL(hostAlias),
		Timing: monitoring.Timing{GroupWait: time.Second, PageGroupWait: time.Second, GroupInterval: 5 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}

	r := regiontest.NewRegion(t, dk, "monitoring")
	r.Postgres(img.Postgres)
	r.Backend(img.Backend, "backend-1", regiontest.Replica{})
	r.Backend(img.Backend, "backend-2", regiontest.Replica{})
	proxyAddr := r.Proxy(img.Proxy, nil)
	alertmanager := r.Alertmanager(img.Alertmanager, amCfg, "--add-host", hostAlias+":host-gateway")
	prom := r.Prometheus(img.Prometheus, promCfg, rules)

	// Both replicas are found through Docker DNS and scraped.
	regiontest.WaitFor(t, "Prometheus scraping both backend replicas", 90*time.Second, func() error {
		return regiontest.WantValue(prom, `count(up{job="backend"} == 1)`, 2)
	})
	traffic := regiontest.StartTraffic(t, proxyAddr, 4)
	// A minute of good traffic fills the page's long window: nothing fires.
	time.Sleep(testSLO.Windows()[0].Long)
	if got := traffic.Counts(); got[http.StatusOK] == 0 || len(got) != 1 {
		t.Fatalf("answers before the outage = %v, want only 200s", got)
	}
	if n := hook.count(fastBurn, "firing"); n != 0 {
		t.Fatalf("%s fired %d times before the outage", fastBurn, n)
	}

	broke := time.Now()
	r.DK.Run(t, time.Minute, "stop", r.Name("postgres"))
	within := fireBound(t)
	fired := hook.wait(t, fastBurn, "firing", within)
	t.Logf("outage: %s reached the webhook %s after Postgres stopped (bound %s); answers so far %v",
		fastBurn, fired.Sub(broke).Round(time.Millisecond), within, traffic.Counts())
	if got := traffic.Counts()[http.StatusServiceUnavailable]; got == 0 {
		t.Errorf("no 503 through the proxy during the outage: the outage was not real")
	}
	_ = alertmanager

	healed := time.Now()
	r.DK.Run(t, time.Minute, "start", r.Name("postgres"))
	resolved := hook.wait(t, fastBurn, "resolved", resolveBound(t))
	t.Logf("recovery: the resolution reached the webhook %s after Postgres started", resolved.Sub(healed).Round(time.Millisecond))
}

// fireBound is how long the fast-burn alert may take to reach the receiver:
// its short window fills with errors, its for: elapses, one evaluation and
// a scrape on either side, Alertmanager's group_wait, plus the time the
// backend takes to notice the lost database (its pool's connect timeout).
func fireBound(t *testing.T) time.Duration {
	w := testSLO.Windows()[0]
	return w.Short + w.For + 4*scrapeInterval + time.Second + 30*time.Second
}

// resolveBound: Postgres starts, the replicas reconnect, the short window
// clears, and Alertmanager's group_interval passes.
func resolveBound(t *testing.T) time.Duration {
	w := testSLO.Windows()[0]
	return w.Short + 4*scrapeInterval + 5*time.Second + 60*time.Second
}

// receiver is the webhook Alertmanager notifies: it records each alert of
// each notification with the time it arrived.
type receiver struct {
	port string
	mu   sync.Mutex
	got  []notice
	note chan struct{}
}

type notice struct {
	alert, status string
	at            time.Time
}

// startReceiver listens on every interface: Alertmanager reaches it from
// its bridge network through the host gateway.
func startReceiver(t *testing.T) *receiver {
	ln, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	rc := &receiver{port: port, note: make(chan struct{}, 1)}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return rc
}

func (rc *receiver) URL(host string) string {
	return "http://" + net.JoinHostPort(host, rc.port) + "/hook"
}

// ServeHTTP decodes Alertmanager's webhook payload (version 4).
func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Alerts []struct {
			Status string            `json:"status"`
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	for _, a := range body.Alerts {
		rc.got = append(rc.got, notice{alert: a.Labels["alertname"], status: a.Status, at: time.Now()})
	}
	rc.mu.Unlock()
	select {
	case rc.note <- struct{}{}:
	default:
	}
}

func (rc *receiver) count(alert, status string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, g := range rc.got {
		if g.alert == alert && g.status == status {
			n++
		}
	}
	return n
}

// wait returns when alert arrived with status, failing after within.
func (rc *receiver) wait(t *testing.T, alert, status string, within time.Duration) time.Time {
	t.Helper()
	deadline := time.After(within)
	for {
		rc.mu.Lock()
		for _, g := range rc.got {
			if g.alert == alert && g.status == status {
				rc.mu.Unlock()
				return g.at
			}
		}
		seen := fmt.Sprint(rc.got)
		rc.mu.Unlock()
		select {
		case <-rc.note:
		case <-time.After(time.Second):
		case <-deadline:
			t.Fatalf("%s %s did not reach the webhook within %s; notifications seen: %s", alert, status, within, seen)
		}
	}
}
