// Command verify checks a deployed HelloAgents platform: the backend's health
// endpoints (always mandatory) and a smoke suite (courses API, CORS from the
// frontend origin, the frontend, security headers, P95 response time).
//
//	go run ./infra/verify --api https://api.example.dev --frontend https://example.dev
//	go run ./infra/verify --stack staging
//
// Exit status: 0 when every check passes, 1 when a check fails, 2 for a usage
// error.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/helloagents/infra/backend/cli"
	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/internal/pulumicli"
	"github.com/helloagents/infra/verify"
)

// Exit statuses.
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
)

// Environment variables that stand in for flags not given (a flag wins).
const (
	envAPI      = "VERIFY_API_URL"
	envFrontend = "VERIFY_FRONTEND_URL"
	envStack    = "VERIFY_STACK"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runWith(ctx, os.Args[1:], host{getenv: os.Getenv, outputs: pulumicli.StackOutputs}, os.Stdout, os.Stderr, colourWanted(os.Stdout))
	stop()
	os.Exit(code)
}

// host is what run takes from the machine: the environment and a stack's
// outputs. Tests replace both.
type host struct {
	getenv  func(string) string
	outputs func(ctx context.Context, stack string) (map[string]any, error)
}

// fromStack fills the URLs the flags left empty from the stack's outputs
// apiUrl and frontendUrl.
func fromStack(ctx context.Context, h host, stack string, opts *verify.Options) error {
	raw, err := h.outputs(ctx, stack)
	if err != nil {
		return err
	}
	out, err := contract.DecodeOutputs(raw)
	if err != nil {
		return fmt.Errorf("stack %q: %w", stack, err)
	}
	if opts.API == "" {
		if opts.API = out.APIURL; opts.API == "" {
			return fmt.Errorf("stack %q has no %s output; deploy it first (pulumi up --stack %s)", stack, contract.OutputAPIURL, stack)
		}
	}
	if opts.Frontend == "" && !strings.HasPrefix(out.FrontendURL, "http://localhost") {
		opts.Frontend = out.FrontendURL
	}
	return nil
}

// run is runWith on the real environment, without stack lookups.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, colour bool) int {
	return runWith(ctx, args, host{getenv: func(string) string { return "" }, outputs: pulumicli.StackOutputs}, stdout, stderr, colour)
}

// colourWanted reports whether f is a terminal and NO_COLOR is unset
// (https://no-color.org): pipes and CI logs get plain text.
func colourWanted(f *os.File) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}

// runWith is main without the process: it parses args, verifies, prints,
// and returns the exit status.
func runWith(ctx context.Context, args []string, h host, stdout, stderr io.Writer, colour bool) int {
	var f flags
	fs := f.define(h, stderr)
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if !f.options(ctx, h, stderr) {
		return exitUsage
	}
	rep := verify.Run(ctx, f.opts)
	if f.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "verify: write report:", err)
			return exitFail
		}
	} else {
		printText(stdout, rep, colour)
	}
	if !rep.Passed() {
		return exitFail
	}
	return exitPass
}

// flags is the command line of one run.
type flags struct {
	opts     verify.Options
	retries  int
	jsonOut  bool
	minPass  float64
	p95Limit time.Duration
	stack    string
	quiet    bool
}

// define returns the flag set that fills f; the environment h provides the
// defaults of the URL and stack flags.
func (f *flags) define(h host, stderr io.Writer) *flag.FlagSet {
	fs := cli.NewFlagSet("verify", usage, stderr)
	fs.StringVar(&f.opts.API, "api", h.getenv(envAPI), "base `URL` of the backend API, e.g. https://api.example.dev (env "+envAPI+"; required unless --stack)")
	fs.StringVar(&f.opts.Frontend, "frontend", h.getenv(envFrontend), "`URL` of the frontend; enables the frontend and CORS checks (its origin is sent as Origin) (env "+envFrontend+")")
	fs.StringVar(&f.stack, "stack", h.getenv(envStack), "read --api and --frontend from this Pulumi `stack`'s outputs apiUrl and frontendUrl (env "+envStack+"), e.g. staging")
	fs.BoolVar(&f.quiet, "quiet", false, "do not say on stderr what a retry waits for")
	fs.IntVar(&f.retries, "retries", verify.DefaultRetries, "how often a failed check is retried before it counts as failed (0: no retries)")
	fs.DurationVar(&f.opts.Backoff, "backoff", verify.DefaultBackoff, "wait before the first retry; doubles for each further retry")
	fs.DurationVar(&f.opts.Timeout, "timeout", verify.DefaultTimeout, "time limit of one request")
	fs.IntVar(&f.opts.Requests, "requests", verify.DefaultRequests, "number of sequential requests for the response-time (P95) measurement")
	fs.Float64Var(&f.minPass, "min-pass-rate", verify.DefaultMinPassRate, "share of smoke checks that must pass, in (0, 1]; health checks are always mandatory")
	fs.DurationVar(&f.p95Limit, "p95", verify.DefaultP95Limit, "response-time target: the P95 must stay below it")
	fs.BoolVar(&f.jsonOut, "json", false, "print the report as JSON on stdout instead of text")
	return fs
}

// usage heads the --help text, before the flags.
const usage = `Usage: go run ./infra/verify --api URL [--frontend URL] [flags]
       go run ./infra/verify --stack STACK [flags]

Checks /health, /health/ready and /health/live (status, body shape, every
component) and a smoke suite: GET /api/v1/courses, CORS preflight from the
frontend origin, the frontend answering 200, security headers, and the P95
response time over --requests requests. With --stack, the URLs come from
the stack's outputs (pulumi stack output --json --stack STACK, run in the
current directory). While a check is retried, stderr says what it waits for.

Exit status: 0 all checks pass, 1 a check failed, 2 usage error.

Flags:
`

// parse parses args; ok is false when the run ends with code (--help, or
// a usage error the flag set has reported).
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	if code, done := cli.Parse(fs, args); done {
		return code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "verify: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return exitUsage, false
	}
	return exitPass, true
}

// options completes f.opts from the flags and the stack's outputs and
// checks them, printing every problem to stderr; false on a usage error.
// The flags' own problems are decided before the stack is read: a typo
// must not wait for (or fail in) pulumi stack output.
func (f *flags) options(ctx context.Context, h host, stderr io.Writer) bool {
	f.opts.MinPassRate, f.opts.P95Limit = f.minPass, f.p95Limit
	if !f.quiet {
		f.opts.Progress = stderr
	}
	errs := f.opts.ApplyFlags(f.retries)
	if f.p95Limit <= 0 {
		errs = append(errs, fmt.Sprintf("--p95 %s: must be positive", f.p95Limit))
	}
	if len(errs) == 0 && f.stack != "" {
		if err := fromStack(ctx, h, f.stack, &f.opts); err != nil {
			fmt.Fprintln(stderr, "verify:", err)
			return false
		}
	}
	if err := f.opts.Validate(); err != nil && (len(errs) == 0 || f.stack == "") {
		errs = append(errs, err.Error())
	}
	for _, e := range errs {
		fmt.Fprintln(stderr, "verify:", e)
	}
	if len(errs) > 0 {
		fmt.Fprintln(stderr, "run with --help for usage")
		return false
	}
	return true
}
