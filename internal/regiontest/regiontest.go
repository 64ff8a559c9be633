// Package regiontest runs a region's serving and monitoring path from the
// real images built from backend/ on the local Docker engine, as the
// program runs them: each region is a Docker network with Postgres,
// backend replicas (network alias backend, or backend-canary), the proxy,
// Prometheus and Alertmanager, plus a load generator through the proxy. The
// end-to-end tests of monitoring/e2e and canary/e2e share it.
package regiontest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amimage "github.com/helloagents/infra/backend/alertmanager"
	"github.com/helloagents/infra/backend/imagetest"
	promimage "github.com/helloagents/infra/backend/prometheus"
)

// Images are the tags of the images built from backend/; empty when not
// asked for.
type Images struct{ Backend, Proxy, Postgres, Prometheus, Alertmanager string }

// The images BuildImages can build.
const (
	Backend      = "backend"
	Proxy        = "proxy"
	Postgres     = "postgres"
	Prometheus   = "prometheus"
	Alertmanager = "alertmanager"
)

// BuildImages builds the images named (Backend, Proxy, ...) from backend/
// with the machine's Go builder and Debian base, tagged for area; they are
// removed when the test ends.
func BuildImages(t *testing.T, dk imagetest.Docker, area string, which ...string) Images {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", "backend"))
	if err != nil {
		t.Fatal(err)
	}
	builder, base, goproxy := dk.GoBuilder(t), dk.DebianBase(t), imagetest.GoProxy(t)
	goArgs := map[string]string{"GO_IMAGE": builder, "RUNTIME_IMAGE": base, "GOPROXY": goproxy, "VERSION": "e2e"}
	baseArgs := map[string]string{"RUNTIME_IMAGE": base}
	var img Images
	for _, b := range []struct {
		name, dockerfile string
		tag              *string
		args             map[string]string
	}{
		{Backend, "Dockerfile", &img.Backend, goArgs},
		{Postgres, "postgres.Dockerfile", &img.Postgres, goArgs},
		{Proxy, "proxy.Dockerfile", &img.Proxy, baseArgs},
		{Prometheus, "prometheus.Dockerfile", &img.Prometheus, baseArgs},
		{Alertmanager, "alertmanager.Dockerfile", &img.Alertmanager, baseArgs},
	} {
		if !slices.Contains(which, b.name) {
			continue
		}
		*b.tag = imagetest.Tag(area, b.name)
		dk.Build(t, *b.tag, dir, b.dockerfile, b.args)
	}
	return img
}

// Region is one Docker network with the containers of a region on it.
type Region struct {
	t   *testing.T
	DK  imagetest.Docker
	Net string
}

// NewRegion creates a network, removed with its containers when the test
// ends.
func NewRegion(t *testing.T, dk imagetest.Docker, area string) *Region {
	r := &Region{t: t, DK: dk, Net: imagetest.Tag(area, "net")}
	dk.Run(t, time.Minute, "network", "create", r.Net)
	t.Cleanup(func() { dk.Cleanup("network", "rm", r.Net) })
	return r
}

// Name is the container name of a role in the region.
func (r *Region) Name(role string) string { return r.Net + "-" + role }

// Hardened are the flags every container of the program runs with, and
// fast health checks.
var Hardened = []string{"--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
	"--health-interval", "1s", "--health-start-period", "0s"}

// Run creates a container of role on the network (with its alias), starts
// it and waits until Docker reports it healthy; it returns its name.
func (r *Region) Run(role, alias string, args ...string) string {
	r.t.Helper()
	name := r.Name(role)
	create := append([]string{"create", "--name", name, "--network", r.Net, "--network-alias", alias}, Hardened...)
	r.DK.Run(r.t, time.Minute, append(create, args...)...)
	r.t.Cleanup(func() { r.DK.Cleanup("rm", "-f", "-v", name) })
	r.DK.Run(r.t, time.Minute, "start", name)
	r.DK.WaitHealthy(r.t, name, 2*time.Minute)
	return name
}

// ConfigFlags give a container its configuration files as the program
// does: each in a variable (files: variable to content), written by the
// image's entrypoint into a tmpfs of the image user mounted at dir.
func ConfigFlags(dir string, files map[string][]byte) []string {
	flags := []string{"--tmpfs", dir + ":rw,noexec,nosuid,size=1m,mode=0700,uid=65532,gid=65532"}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		flags = append(flags, "-e", name+"="+string(files[name]))
	}
	return flags
}

// Volume is a named volume removed at the end of the test.
func (r *Region) Volume(role string) string {
	v := r.Name(role)
	r.DK.Run(r.t, time.Minute, "volume", "create", v)
	r.t.Cleanup(func() { r.DK.Cleanup("volume", "rm", "-f", v) })
	return v
}

// DBPassword is the test database's superuser password.
const DBPassword = "e2e-password-not-secret"

// DatabaseURL is the backend's DATABASE_URL for user and password on the
// region's Postgres.
func DatabaseURL(user, password string) string {
	return "postgres://" + url.UserPassword(user, password).String() + "@postgres:5432/helloagents?sslmode=disable"
}

// Postgres runs Postgres (alias postgres) with database helloagents.
func (r *Region) Postgres(image string) string {
	return r.Run("postgres", "postgres",
		"-v", r.Volume("pgdata")+":/var/lib/postgresql/data",
		"--tmpfs", "/tmp", "--tmpfs", "/var/run/postgresql:uid=999,gid=999",
		"-e", "POSTGRES_PASSWORD="+DBPassword, "-e", "POSTGRES_DB=helloagents",
		"-e", "PGDATA=/var/lib/postgresql/data/pgdata", image)
}

// Replica is how a backend replica runs.
type Replica struct {
	// Alias is its network alias: "backend" when empty.
	Alias string
	// Fingerprint is its IMAGE_FINGERPRINT: "e2e" when empty.
	Fingerprint string
	// DatabaseURL: the superuser's when empty.
	DatabaseURL string
	// Args are more flags of docker create (before the image).
	Args []string
}

// Backend runs a replica of image as role (metrics on 9464).
func (r *Region) Backend(image, role string, o Replica) string {
	alias, fp, db := o.Alias, o.Fingerprint, o.DatabaseURL
	if alias == "" {
		alias = "backend"
	}
	if fp == "" {
		fp = "e2e"
	}
	if db == "" {
		db = DatabaseURL("postgres", DBPassword)
	}
	args := append([]string{"--tmpfs", "/tmp", "-e", "DATABASE_URL=" + db,
		"-e", "METRICS_PORT=9464", "-e", "IMAGE_FINGERPRINT=" + fp, "-e", "LOG_LEVEL=warn"}, o.Args...)
	return r.Run(role, alias, append(args, image)...)
}

// Proxy runs the proxy with env (over the image's defaults), published on a
// loopback port; it returns host:port.
func (r *Region) Proxy(image string, env map[string]string) string {
	var args []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		args = append(args, "-e", k+"="+env[k])
	}
	name := r.Run("proxy", "proxy", append(args, "-p", "127.0.0.1::8000", image)...)
	return r.DK.Run(r.t, time.Minute, "port", name, "8000/tcp")
}

// Alertmanager runs Alertmanager with cfg, published on a loopback port;
// args are more flags of docker create. It returns its URL.
func (r *Region) Alertmanager(image string, cfg []byte, args ...string) string {
	flags := ConfigFlags(amimage.ConfigDir, map[string][]byte{amimage.EnvConfig: cfg})
	flags = append(flags, "-v", r.Volume("am-data")+":"+amimage.DataDir, "-p", "127.0.0.1::9093")
	name := r.Run("alertmanager", "alertmanager", append(append(flags, args...), image)...)
	return "http://" + r.DK.Run(r.t, time.Minute, "port", name, "9093/tcp")
}

// Prometheus runs Prometheus with cfg and rules, published on a loopback
// port; it returns its URL.
func (r *Region) Prometheus(image string, cfg, rules []byte) string {
	args := ConfigFlags(promimage.ConfigDir, map[string][]byte{promimage.EnvConfig: cfg, promimage.EnvRules: rules})
	args = append(args, "-v", r.Volume("prom-data")+":"+promimage.DataDir, "-p", "127.0.0.1::9090", image)
	name := r.Run("prometheus", "prometheus", args...)
	return "http://" + r.DK.Run(r.t, time.Minute, "port", name, "9090/tcp")
}

// Traffic is a steady load through the proxy on GET /api/v1/courses: it
// counts the answers by status, 0 for a transport error.
type Traffic struct {
	mu     sync.Mutex
	status map[int]int
}

// StartTraffic sends requests from workers workers (each pausing 20 ms
// between requests) to addr until the test ends.
func StartTraffic(t *testing.T, addr string, workers int) *Traffic {
	tr := &Traffic{status: map[int]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	client := &http.Client{Timeout: 5 * time.Second}
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				code := 0
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/courses", nil)
				if resp, err := client.Do(req); err == nil {
					code = resp.StatusCode
					resp.Body.Close()
				} else if ctx.Err() != nil {
					return // the test ended: not a failure
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

// Counts are the answers so far by status.
func (tr *Traffic) Counts() Counts {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return maps.Clone(tr.status)
}

// Counts are answers by status (0: transport error).
type Counts map[int]int

// Since is c minus an earlier snapshot.
func (c Counts) Since(earlier Counts) Counts {
	out := Counts{}
	for k, v := range c {
		if d := v - earlier[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// Total is every answer; Failed every one that is not a 200.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Failed counts the answers that are not 200, transport errors included.
func (c Counts) Failed() int { return c.Total() - c[http.StatusOK] }

// WantValue asks Prometheus for a scalar and compares it.
func WantValue(prom, query string, want float64) error {
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

// WaitFor retries check until it succeeds, failing after within with its
// last error.
func WaitFor(t *testing.T, what string, within time.Duration, check func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(time.Second) {
		if err = check(); err == nil {
			return
		}
	}
	t.Fatalf("%s: not within %s: %v", what, within, strings.TrimSpace(fmt.Sprint(err)))
}
