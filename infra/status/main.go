// Command status shows what a stack runs, region by region: the image
// digest, how many backend replicas are healthy, the answer of the
// region's full health endpoint (/health) with each component, the
// database's role, the age of the last full backup, and from the region's
// Prometheus the error ratio and P95 latency of the last hour and the
// error budget left; for a region running a canary (the canaries output),
// its weight, the time left in its bake and its figures next to the
// stable replicas'.
//
//	go run ./infra/status --stack production [--json] [--prometheus REGION=URL]...
//
// It reads the stack's outputs (healthUrls, backendImage, backupImage)
// and config (each region's image and dockerHost, the slo section) with
// the pulumi CLI in the current directory, the replicas with `docker
// --host <dockerHost> ps`, and the metrics from each region's Prometheus
// HTTP API (the prometheusUrls output, or --prometheus REGION=URL) (with the Cloudflare Access service token of CF_ACCESS_CLIENT_ID
// and CF_ACCESS_CLIENT_SECRET over https). Exit status: 0 every region and
// replica healthy (also --help), 1 a region is unhealthy or unreachable
// or a replica is not healthy, 2 usage error or the outputs cannot be
// read. Metrics never change the exit status.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/helloagents/infra/backend/cli"
	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/canary"
	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/internal/pulumicli"
)

const envStack = "STATUS_STACK"

func main() {
	d := deps{outputs: pulumicli.StackOutputs, config: pulumicli.StackConfig, client: http.DefaultClient, replicas: dockerCLI{}}
	code := run(context.Background(), os.Args[1:], os.Getenv, d, os.Stdout, os.Stderr)
	os.Exit(code)
}

// deps are what status reads, injectable for tests.
type deps struct {
	outputs  func(context.Context, string) (map[string]any, error)
	config   func(context.Context, string) (map[string]string, error)
	client   *http.Client
	replicas Replicas
}

// Region is one line of the status.
type Region struct {
	Name       string                   `json:"name"`
	HealthURL  string                   `json:"healthUrl"`
	Image      string                   `json:"image"`
	Status     string                   `json:"status"` // healthy, unhealthy, unreachable
	HTTPStatus int                      `json:"httpStatus,omitempty"`
	Version    string                   `json:"version,omitempty"`
	Components map[string]health.Result `json:"components,omitempty"`
	Error      string                   `json:"error,omitempty"`
	// DatabaseRole is primary or standby, from the database component.
	DatabaseRole string `json:"databaseRole"`
	// LastBackupSeconds is the age of the newest full backup, from the
	// backups component; absent when none is recorded or backups are off.
	LastBackupSeconds *float64 `json:"lastBackupSeconds,omitempty"`
	// Replicas are the region's backend containers; HealthyReplicas of
	// them run and pass their healthcheck. ReplicaError says why they
	// could not be listed.
	Replicas        []Replica `json:"replicas"`
	HealthyReplicas int       `json:"healthyReplicas"`
	ReplicaError    string    `json:"replicaError,omitempty"`
	// Metrics are the region's numbers from its Prometheus.
	Metrics Metrics `json:"metrics"`
	// Canary is the region's running canary (the canaries output), with
	// its figures next to the stable replicas'; absent when none runs.
	Canary     *CanaryStatus `json:"canary,omitempty"`
	dockerHost string
}

// Status is the whole answer.
type Status struct {
	Stack       string   `json:"stack"`
	BackupImage string   `json:"backupImage,omitempty"`
	Regions     []Region `json:"regions"`
}

// usage heads --help, above the flags.
const usage = `Usage: go run ./infra/status --stack STACK [--json] [--prometheus REGION=URL]...

Shows, per region of the stack: the image digest it runs, its backend
replicas (healthy/total, from docker --host <dockerHost> ps filtered on the
helloagents.* labels), its /health answer with every component, the
database role (primary, or standby when the database component says so)
and the age of the last full backup (the backups component). Reads the
stack outputs healthUrls, backendImage and backupImage and the stack config
(pulumi stack output / pulumi config, current directory).

From each region's Prometheus (the stack output prometheusUrls: dev
http://127.0.0.1:9090, staging and production the region's monitoring
hostname; --prometheus REGION=URL overrides a region's), also the
region's error ratio and P95 latency of the last hour and the error budget
left over the SLO period (helloagents:slo, default 99.9 % over 30 days),
from that Prometheus's HTTP API. A hostname behind Cloudflare Access needs
a service token: set ` + envAccessClientID + ` and ` + envAccessClientSecret + `
(sent over https only, never printed). A Prometheus that cannot be read
shows "metrics unavailable: <reason>".

Exit status: 0 every region and replica healthy (also --help), 1 a region
unhealthy or unreachable, or a replica not healthy, 2 usage error or
outputs unreadable. A Docker engine or a Prometheus that cannot be reached
is shown, not counted as unhealthy.

A region running a canary (infra/promote is judging it; the stack output
canaries) gets a line under the table: the canary's image and weight, the
time left in its bake (from the canary replica's start in Prometheus), and
its request count, error ratio and P95 next to the stable replicas' over
the time it has run.

Flags:
`

func run(ctx context.Context, args []string, getenv func(string) string, d deps, stdout, stderr io.Writer) int {
	opts, code, done := parseArgs(args, getenv, stderr)
	if done {
		return code
	}
	st, err := gather(ctx, d, opts)
	if err != nil {
		fmt.Fprintln(stderr, "status:", err)
		return 2
	}
	if opts.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
	} else {
		printTable(stdout, st)
	}
	for _, r := range st.Regions {
		if r.Status != "healthy" || r.HealthyReplicas < len(r.Replicas) {
			return 1
		}
	}
	return 0
}

// options are the command line of status.
type options struct {
	stack      string
	json       bool
	timeout    time.Duration
	prometheus prometheusFlag
	token      accessToken
}

// parseArgs reads the flags. done is true when run must exit with code:
// after --help (0) or a usage error (2, already reported on stderr).
func parseArgs(args []string, getenv func(string) string, stderr io.Writer) (opts options, code int, done bool) {
	fs := cli.NewFlagSet("status", usage, stderr)
	fs.StringVar(&opts.stack, "stack", getenv(envStack), "the Pulumi `stack` to show (env "+envStack+"), e.g. production")
	fs.BoolVar(&opts.json, "json", false, "print JSON on stdout instead of the table")
	fs.DurationVar(&opts.timeout, "timeout", 5*time.Second, "time limit of each region's /health request and of each Prometheus query")
	opts.prometheus = prometheusFlag{}
	fs.Var(opts.prometheus, "prometheus", "`REGION=URL` of a region's Prometheus (repeat per region), e.g. local=http://127.0.0.1:9090")
	if code, done := cli.Parse(fs, args); done {
		return opts, code, true
	}
	if opts.stack == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "status: --stack is required (or set "+envStack+"); run with --help for usage")
		return opts, 2, true
	}
	// A zero or negative bound would fail every probe after the stack was
	// read; it is a usage error, decided here.
	if opts.timeout <= 0 {
		fmt.Fprintf(stderr, "status: --timeout %s: must be positive; run with --help for usage\n", opts.timeout)
		return opts, 2, true
	}
	opts.token = accessToken{id: getenv(envAccessClientID), secret: getenv(envAccessClientSecret)}
	if (opts.token.id == "") != (opts.token.secret == "") {
		fmt.Fprintln(stderr, "status: set both "+envAccessClientID+" and "+envAccessClientSecret+" (a Cloudflare Access service token), or neither")
		return opts, 2, true
	}
	return opts, 0, false
}

// gather reads the stack's outputs and config, then collects every
// region's status; a stack without regions has not been deployed.
func gather(ctx context.Context, d deps, opts options) (Status, error) {
	out, err := deployed(ctx, d.outputs, opts.stack)
	if err != nil {
		return Status{}, err
	}
	cfg, err := d.config(ctx, opts.stack)
	if err != nil {
		return Status{}, err
	}
	if len(out.HealthURLs) == 0 {
		return Status{}, fmt.Errorf("stack %q has no %s output; deploy it first", opts.stack, contract.OutputHealthURLs)
	}
	for _, name := range slices.Sorted(maps.Keys(opts.prometheus)) {
		if _, ok := out.HealthURLs[name]; !ok {
			return Status{}, fmt.Errorf("--prometheus %s=...: stack %q has no region %s (regions: %s)",
				name, opts.stack, name, strings.Join(slices.Sorted(maps.Keys(out.HealthURLs)), ", "))
		}
	}
	return collect(ctx, d, opts, out, cfg), nil
}

// deployed reads a stack's outputs through the contract's decoder.
func deployed(ctx context.Context, outputs func(context.Context, string) (map[string]any, error), stack string) (contract.Deployed, error) {
	raw, err := outputs(ctx, stack)
	if err != nil {
		return contract.Deployed{}, err
	}
	out, err := contract.DecodeOutputs(raw)
	if err != nil {
		return contract.Deployed{}, fmt.Errorf("stack %q: %w", stack, err)
	}
	return out, nil
}

// collect probes every region's /health (the health URL's host, path
// /health), lists its replicas and reads its metrics, in name order.
func collect(ctx context.Context, d deps, opts options, out contract.Deployed, cfg map[string]string) Status {
	st := Status{Stack: opts.stack, BackupImage: out.BackupImage}
	regions := configRegions(cfg)
	slo, sloErr := sloFromConfig(cfg)
	// Prometheus's answers are read, not followed: a redirect is a login
	// page (Cloudflare Access), and must not take the token elsewhere.
	promClient := *d.client
	promClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, name := range slices.Sorted(maps.Keys(out.HealthURLs)) {
		r := Region{Name: name, HealthURL: out.HealthURLs[name], Image: out.BackendImage}
		if c, ok := regions[name]; ok {
			r.Image, r.dockerHost = cmp.Or(c.Image, out.BackendImage), c.DockerHost
		}
		probe(ctx, d.client, opts.timeout, &r)
		r.DatabaseRole = databaseRole(r.Components)
		if age, ok := lastBackupAge(r.Components); ok {
			s := age.Seconds()
			r.LastBackupSeconds = &s
		}
		listReplicas(ctx, d.replicas, opts.stack, &r)
		base, err := regionPrometheus(opts.prometheus, out.PrometheusURLs, name)
		if c, ok := out.Canaries[name]; ok {
			var src *canary.Prometheus
			if err == nil {
				src = canarySource(base, &promClient, opts.token)
			}
			cctx, cancel := context.WithTimeout(ctx, 3*opts.timeout)
			r.Canary = canaryStatus(cctx, c, src, err, time.Now())
			cancel()
		}
		switch {
		case err != nil:
			r.Metrics.Error = err.Error()
		case sloErr != nil:
			r.Metrics = Metrics{Prometheus: base.Redacted(), Error: sloErr.Error()}
		default:
			r.Metrics = regionMetrics(ctx, prometheus{base: base, client: &promClient, token: opts.token, timeout: opts.timeout}, slo)
		}
		st.Regions = append(st.Regions, r)
	}
	return st
}

// configRegion is what status reads of one configured region.
type configRegion struct {
	Name       string `json:"name"`
	DockerHost string `json:"dockerHost"`
	// Image is set in production (the promoted digest); staging and dev
	// build theirs and export it as backendImage.
	Image string `json:"image"`
}

// configRegions decodes helloagents:regions by name; an unreadable value
// leaves every region without a Docker host (shown as such).
func configRegions(cfg map[string]string) map[string]configRegion {
	var list []configRegion
	_ = json.Unmarshal([]byte(cfg["helloagents:regions"]), &list)
	m := make(map[string]configRegion, len(list))
	for _, r := range list {
		m[r.Name] = r
	}
	return m
}

func listReplicas(ctx context.Context, reps Replicas, stack string, r *Region) {
	if r.dockerHost == "" {
		r.ReplicaError = "no dockerHost configured for this region"
		return
	}
	list, err := reps.Backend(ctx, r.dockerHost, stack, r.Name)
	if err != nil {
		r.ReplicaError = err.Error()
		return
	}
	r.Replicas, r.HealthyReplicas = list, countHealthy(list)
}

func probe(ctx context.Context, client *http.Client, timeout time.Duration, r *Region) {
	full := r.HealthURL
	if i := strings.Index(full, health.FullPath); i >= 0 {
		full = full[:i] + health.FullPath
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, full, nil)
	if err != nil {
		r.Status, r.Error = "unreachable", err.Error()
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		r.Status, r.Error = "unreachable", err.Error()
		return
	}
	defer resp.Body.Close()
	r.HTTPStatus = resp.StatusCode
	var body health.Report
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		r.Status, r.Error = "unhealthy", fmt.Sprintf("HTTP %d, body not the health JSON: %v", resp.StatusCode, err)
		return
	}
	r.Version, r.Components = body.Version, body.Components
	r.Status = "unhealthy"
	if resp.StatusCode == http.StatusOK && body.Status == health.Healthy {
		r.Status = "healthy"
	}
}

func printTable(w io.Writer, st Status) {
	fmt.Fprintf(w, "stack %s", st.Stack)
	if st.BackupImage != "" {
		fmt.Fprintf(w, " (backup job %s)", st.BackupImage)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tSTATUS\tREPLICAS\tDATABASE\tLAST BACKUP\tERRORS 1H\tP95 1H\tBUDGET LEFT\tVERSION\tIMAGE\tCOMPONENTS")
	for _, r := range st.Regions {
		var comps []string
		for _, n := range slices.Sorted(maps.Keys(r.Components)) {
			comps = append(comps, n+"="+string(r.Components[n].Status))
		}
		detail := strings.Join(comps, " ")
		if r.Error != "" {
			detail = r.Error
		}
		replicas := fmt.Sprintf("%d/%d healthy", r.HealthyReplicas, len(r.Replicas))
		if r.ReplicaError != "" {
			replicas = "unknown"
			detail += "; replicas: " + r.ReplicaError
		}
		backup := "none"
		if r.LastBackupSeconds != nil {
			backup = (time.Duration(*r.LastBackupSeconds) * time.Second).String() + " ago"
		}
		ratio, p95, budget := r.Metrics.columns()
		if r.Metrics.Error != "" {
			detail += "; metrics unavailable: " + r.Metrics.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Name, r.Status, replicas, r.DatabaseRole, backup, ratio, p95, budget, r.Version, r.Image, detail)
	}
	_ = tw.Flush()
	printCanaries(w, st)
}
