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
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/internal/cli"
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
	code := runWith(ctx, os.Args[1:], host{getenv: os.Getenv, outputs: cli.StackOutputs}, os.Stdout, os.Stderr, colourWanted(os.Stdout))
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
	return runWith(ctx, args, host{getenv: func(string) string { return "" }, outputs: cli.StackOutputs}, stdout, stderr, colour)
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
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts     verify.Options
		retries  int
		jsonOut  bool
		minPass  float64
		p95Limit time.Duration
		stack    string
		quiet    bool
	)
	fs.StringVar(&opts.API, "api", h.getenv(envAPI), "base `URL` of the backend API, e.g. https://api.example.dev (env "+envAPI+"; required unless --stack)")
	fs.StringVar(&opts.Frontend, "frontend", h.getenv(envFrontend), "`URL` of the frontend; enables the frontend and CORS checks (its origin is sent as Origin) (env "+envFrontend+")")
	fs.StringVar(&stack, "stack", h.getenv(envStack), "read --api and --frontend from this Pulumi `stack`'s outputs apiUrl and frontendUrl (env "+envStack+"), e.g. staging")
	fs.BoolVar(&quiet, "quiet", false, "do not say on stderr what a retry waits for")
	fs.IntVar(&retries, "retries", verify.DefaultRetries, "how often a failed check is retried before it counts as failed (0: no retries)")
	fs.DurationVar(&opts.Backoff, "backoff", verify.DefaultBackoff, "wait before the first retry; doubles for each further retry")
	fs.DurationVar(&opts.Timeout, "timeout", verify.DefaultTimeout, "time limit of one request")
	fs.IntVar(&opts.Requests, "requests", verify.DefaultRequests, "number of sequential requests for the response-time (P95) measurement")
	fs.Float64Var(&minPass, "min-pass-rate", verify.DefaultMinPassRate, "share of smoke checks that must pass, in (0, 1]; health checks are always mandatory")
	fs.DurationVar(&p95Limit, "p95", verify.DefaultP95Limit, "response-time target: the P95 must stay below it")
	fs.BoolVar(&jsonOut, "json", false, "print the report as JSON on stdout instead of text")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: go run ./infra/verify --api URL [--frontend URL] [flags]
       go run ./infra/verify --stack STACK [flags]

Checks /health, /health/ready and /health/live (status, body shape, every
component) and a smoke suite: GET /api/v1/courses, CORS preflight from the
frontend origin, the frontend answering 200, security headers, and the P95
response time over --requests requests. With --stack, the URLs come from
the stack's outputs (pulumi stack output --json --stack STACK, run in the
current directory). While a check is retried, stderr says what it waits for.

Exit status: 0 all checks pass, 1 a check failed, 2 usage error.

Flags:
`)
		cli.PrintDefaults(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "verify: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return exitUsage
	}
	opts.MinPassRate, opts.P95Limit = minPass, p95Limit
	if !quiet {
		opts.Progress = stderr
	}
	var errs []string
	if stack != "" {
		if err := fromStack(ctx, h, stack, &opts); err != nil {
			fmt.Fprintln(stderr, "verify:", err)
			return exitUsage
		}
	}
	errs = append(errs, opts.ApplyFlags(retries)...)
	if p95Limit <= 0 {
		errs = append(errs, fmt.Sprintf("--p95 %s: must be positive", p95Limit))
	}
	if err := opts.Validate(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, "verify:", e)
		}
		fmt.Fprintln(stderr, "run with --help for usage")
		return exitUsage
	}

	rep := verify.Run(ctx, opts)
	if jsonOut {
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
