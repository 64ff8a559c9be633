package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amimage "github.com/helloagents/infra/backend/alertmanager"
	"github.com/helloagents/infra/backend/imagetest"
	promimage "github.com/helloagents/infra/backend/prometheus"
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
	img := buildImages(t, dk)

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

	r := newRegion(t, dk)
	r.postgres(img.postgres)
	r.backend(img.backend, "backend-1")
	r.backend(img.backend, "backend-2")
	proxyAddr := r.proxy(img.proxy)
	alertmanager := r.alertmanager(img.alertmanager, amCfg)
	prom := r.prometheus(img.prometheus, promCfg, rules)

	// Both replicas are found through Docker DNS and scraped.
	waitFor(t, "Prometheus scraping both backend replicas", 90*time.Second, func() error {
		return wantValue(prom, `count(up{job="backend"} == 1)`, 2)
	})
	traffic := startTraffic(t, proxyAddr)
	// A minute of good traffic fills the page's long window: nothing fires.
	time.Sleep(testSLO.Windows()[0].Long)
	if got := traffic.counts(); got[http.StatusOK] == 0 || len(got) != 1 {
		t.Fatalf("answers before the outage = %v, want only 200s", got)
	}
	if n := hook.count(fastBurn, "firing"); n != 0 {
		t.Fatalf("%s fired %d times before the outage", fastBurn, n)
	}

	broke := time.Now()
	r.dk.Run(t, time.Minute, "stop", r.name("postgres"))
	within := fireBound(t)
	fired := hook.wait(t, fastBurn, "firing", within)
	t.Logf("outage: %s reached the webhook %s after Postgres stopped (bound %s); answers so far %v",
		fastBurn, fired.Sub(broke).Round(time.Millisecond), within, traffic.counts())
	if got := traffic.counts()[http.StatusServiceUnavailable]; got == 0 {
		t.Errorf("no 503 through the proxy during the outage: the outage was not real")
	}
	_ = alertmanager

	healed := time.Now()
	r.dk.Run(t, time.Minute, "start", r.name("postgres"))
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

// images are the tags of the images the test builds from backend/.
type images struct{ backend, proxy, postgres, prometheus, alertmanager string }

func buildImages(t *testing.T, dk imagetest.Docker) images {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "backend"))
	if err != nil {
		t.Fatal(err)
	}
	builder, base, goproxy := dk.GoBuilder(t), dk.DebianBase(t), imagetest.GoProxy(t)
	goArgs := map[string]string{"GO_IMAGE": builder, "RUNTIME_IMAGE": base, "GOPROXY": goproxy, "VERSION": "e2e"}
	baseArgs := map[string]string{"RUNTIME_IMAGE": base}
	img := images{
		backend:      imagetest.Tag("monitoring", "backend"),
		proxy:        imagetest.Tag("monitoring", "proxy"),
		postgres:     imagetest.Tag("monitoring", "postgres"),
		prometheus:   imagetest.Tag("monitoring", "prometheus"),
		alertmanager: imagetest.Tag("monitoring", "alertmanager"),
	}
	dk.Build(t, img.backend, dir, "Dockerfile", goArgs)
	dk.Build(t, img.postgres, dir, "postgres.Dockerfile", goArgs)
	dk.Build(t, img.proxy, dir, "proxy.Dockerfile", baseArgs)
	dk.Build(t, img.prometheus, dir, "prometheus.Dockerfile", baseArgs)
	dk.Build(t, img.alertmanager, dir, "alertmanager.Dockerfile", baseArgs)
	return img
}

// region is one Docker network with the containers of a region on it.
type region struct {
	t   *testing.T
	dk  imagetest.Docker
	net string
}

func newRegion(t *testing.T, dk imagetest.Docker) *region {
	r := &region{t: t, dk: dk, net: imagetest.Tag("monitoring", "net")}
	dk.Run(t, time.Minute, "network", "create", r.net)
	t.Cleanup(func() { dk.Cleanup("network", "rm", r.net) })
	return r
}

func (r *region) name(role string) string { return r.net + "-" + role }

// hardened are the flags every container of the program runs with.
var hardened = []string{"--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
	"--health-interval", "1s", "--health-start-period", "0s"}

// run creates a container on the network (with its alias), starts it and
// waits until Docker reports it healthy.
func (r *region) run(role, alias string, args ...string) string {
	r.t.Helper()
	name := r.name(role)
	create := append([]string{"create", "--name", name, "--network", r.net, "--network-alias", alias}, hardened...)
	r.dk.Run(r.t, time.Minute, append(create, args...)...)
	r.t.Cleanup(func() { r.dk.Cleanup("rm", "-f", "-v", name) })
	r.dk.Run(r.t, time.Minute, "start", name)
	r.dk.WaitHealthy(r.t, name, 2*time.Minute)
	return name
}

// configFlags give a container its configuration files as the program
// does: each in a variable (files: variable to content), written by the
// image's entrypoint into a tmpfs of the image user mounted at dir.
func configFlags(dir string, files map[string][]byte) []string {
	flags := []string{"--tmpfs", dir + ":rw,noexec,nosuid,size=1m,mode=0700,uid=65532,gid=65532"}
	for name, content := range files {
		flags = append(flags, "-e", name+"="+string(content))
	}
	return flags
}

// volume is a named volume removed at the end of the test.
func (r *region) volume(role string) string {
	v := r.name(role)
	r.dk.Run(r.t, time.Minute, "volume", "create", v)
	r.t.Cleanup(func() { r.dk.Cleanup("volume", "rm", "-f", v) })
	return v
}

const dbPassword = "e2e-password-not-secret"

func (r *region) postgres(image string) {
	r.run("postgres", "postgres",
		"-v", r.volume("pgdata")+":/var/lib/postgresql/data",
		"--tmpfs", "/tmp", "--tmpfs", "/var/run/postgresql:uid=999,gid=999",
		"-e", "POSTGRES_PASSWORD="+dbPassword, "-e", "POSTGRES_DB=helloagents",
		"-e", "PGDATA=/var/lib/postgresql/data/pgdata", image)
}

func (r *region) backend(image, role string) {
	r.run(role, "backend", "--tmpfs", "/tmp",
		"-e", "DATABASE_URL=postgres://postgres:"+dbPassword+"@postgres:5432/helloagents?sslmode=disable",
		"-e", "METRICS_PORT=9464", "-e", "IMAGE_FINGERPRINT=e2e", "-e", "LOG_LEVEL=warn", image)
}

// proxy runs the proxy, published on a loopback port; it returns host:port.
func (r *region) proxy(image string) string {
	name := r.run("proxy", "proxy", "-p", "127.0.0.1::8000", image)
	return r.dk.Run(r.t, time.Minute, "port", name, "8000/tcp")
}

func (r *region) alertmanager(image string, cfg []byte) string {
	args := configFlags(amimage.ConfigDir, map[string][]byte{amimage.EnvConfig: cfg})
	args = append(args, "-v", r.volume("am-data")+":"+amimage.DataDir,
		"--add-host", hostAlias+":host-gateway", "-p", "127.0.0.1::9093", image)
	name := r.run("alertmanager", "alertmanager", args...)
	return "http://" + r.dk.Run(r.t, time.Minute, "port", name, "9093/tcp")
}

func (r *region) prometheus(image string, cfg, rules []byte) string {
	args := configFlags(promimage.ConfigDir, map[string][]byte{promimage.EnvConfig: cfg, promimage.EnvRules: rules})
	args = append(args, "-v", r.volume("prom-data")+":"+promimage.DataDir, "-p", "127.0.0.1::9090", image)
	name := r.run("prometheus", "prometheus", args...)
	return "http://" + r.dk.Run(r.t, time.Minute, "port", name, "9090/tcp")
}

// traffic is a steady load through the proxy on the route the outage breaks.
type traffic struct {
	mu     sync.Mutex
	status map[int]int
}

func startTraffic(t *testing.T, addr string) *traffic {
	tr := &traffic{status: map[int]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	client := &http.Client{Timeout: 5 * time.Second}
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				code := 0
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/courses", nil)
				if resp, err := client.Do(req); err == nil {
					code = resp.StatusCode
					resp.Body.Close()
				}
				tr.mu.Lock()
				tr.status[code]++
				tr.mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	return tr
}

func (tr *traffic) counts() map[int]int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := make(map[int]int, len(tr.status))
	for k, v := range tr.status {
		out[k] = v
	}
	return out
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

// wantValue asks Prometheus for a scalar and compares it.
func wantValue(prom, query string, want float64) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, prom+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("query %s: %w", query, err)
	}
	if body.Status != "success" || len(body.Data.Result) != 1 {
		return fmt.Errorf("query %s: status %s, %d results", query, body.Status, len(body.Data.Result))
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	got, err := strconv.ParseFloat(s, 64)
	if err != nil || got != want {
		return fmt.Errorf("query %s = %q, want %v", query, s, want)
	}
	return nil
}

// waitFor retries check until it succeeds, failing after within with its
// last error.
func waitFor(t *testing.T, what string, within time.Duration, check func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(time.Second) {
		if err = check(); err == nil {
			return
		}
	}
	t.Fatalf("%s: not within %s: %v", what, within, strings.TrimSpace(fmt.Sprint(err)))
}
