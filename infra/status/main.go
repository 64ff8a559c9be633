// Command status shows what a stack runs, region by region: the image
// digest, and the answer of the region's full health endpoint (/health)
// with each component (database, sandbox pool, AI service).
//
//	go run ./infra/status --stack production [--json]
//
// It reads the stack's outputs (healthUrls, backendImage, backupImage)
// with `pulumi stack output --json` in the current directory. Exit status:
// 0 every region healthy (also --help), 1 a region is unhealthy or
// unreachable, 2 usage error or the outputs cannot be read.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/internal/cli"
)

const envStack = "STATUS_STACK"

func main() {
	code := run(context.Background(), os.Args[1:], os.Getenv, cli.StackOutputs, http.DefaultClient, os.Stdout, os.Stderr)
	os.Exit(code)
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
}

// Status is the whole answer.
type Status struct {
	Stack       string   `json:"stack"`
	BackupImage string   `json:"backupImage,omitempty"`
	Regions     []Region `json:"regions"`
}

func run(ctx context.Context, args []string, getenv func(string) string,
	outputs func(context.Context, string) (map[string]any, error), client *http.Client, stdout, stderr io.Writer,
) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", getenv(envStack), "the Pulumi `stack` to show (env "+envStack+"), e.g. production")
	jsonOut := fs.Bool("json", false, "print JSON on stdout instead of the table")
	timeout := fs.Duration("timeout", 5*time.Second, "time limit of each region's /health request")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: go run ./infra/status --stack STACK [--json]

Shows, per region of the stack, the image it runs and its /health answer
with every component. Reads the stack outputs healthUrls, backendImage and
backupImage (pulumi stack output --json, current directory).

Exit status: 0 every region healthy (also --help), 1 a region unhealthy or
unreachable, 2 usage error or outputs unreadable.

Flags:
`)
		cli.PrintDefaults(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *stack == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "status: --stack is required (or set "+envStack+"); run with --help for usage")
		return 2
	}
	out, err := deployed(ctx, outputs, *stack)
	if err != nil {
		fmt.Fprintln(stderr, "status:", err)
		return 2
	}
	st := collect(ctx, client, *timeout, *stack, out)
	if len(st.Regions) == 0 {
		fmt.Fprintf(stderr, "status: stack %q has no %s output; deploy it first\n", *stack, contract.OutputHealthURLs)
		return 2
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
	} else {
		printTable(stdout, st)
	}
	for _, r := range st.Regions {
		if r.Status != "healthy" {
			return 1
		}
	}
	return 0
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
// /health) in name order.
func collect(ctx context.Context, client *http.Client, timeout time.Duration, stack string, out contract.Deployed) Status {
	st := Status{Stack: stack, BackupImage: out.BackupImage}
	for _, name := range slices.Sorted(maps.Keys(out.HealthURLs)) {
		r := Region{Name: name, HealthURL: out.HealthURLs[name], Image: out.BackendImage}
		probe(ctx, client, timeout, &r)
		st.Regions = append(st.Regions, r)
	}
	return st
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
	fmt.Fprintln(tw, "REGION\tSTATUS\tVERSION\tIMAGE\tCOMPONENTS")
	for _, r := range st.Regions {
		var comps []string
		for _, n := range slices.Sorted(maps.Keys(r.Components)) {
			comps = append(comps, n+"="+string(r.Components[n].Status))
		}
		detail := strings.Join(comps, " ")
		if r.Error != "" {
			detail = r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Status, r.Version, r.Image, detail)
	}
	_ = tw.Flush()
}
