// Command promote moves the image that passed staging into production,
// region by region, with health gates and automatic rollback.
//
//	go run ./infra/promote --from staging --to production [--regions a,b] [--dry-run] [--json] [--notify URL] [--yes]
//	go run ./infra/promote --to production --rollback [--yes]
//
// It drives the Pulumi project in --work-dir through the Automation API
// (the `pulumi` CLI on PATH, the backend `pulumi login` or
// PULUMI_BACKEND_URL selects). Exit status: 0 promoted (or previewed),
// 1 refused before any change, 2 usage error, 3 rolled back,
// 4 error, manual action needed (see docs/DELIVERY.md).
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/helloagents/infra/backend/cli"
	"github.com/helloagents/infra/internal/attest"
	"github.com/helloagents/infra/notify"
	"github.com/helloagents/infra/stacks/operation"
	"github.com/helloagents/infra/stacks/promote"
	"github.com/helloagents/infra/verify"
)

// notifyEnv is --notify's fallback: CI keeps the webhook in a secret.
const notifyEnv = "HELLOAGENTS_NOTIFY_WEBHOOK"

// Environment variables that stand in for flags not given (a flag wins).
const (
	envFrom    = "PROMOTE_FROM"
	envTo      = "PROMOTE_TO"
	envWorkDir = "PROMOTE_WORK_DIR"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	term := terminal{in: os.Stdin, out: os.Stderr, tty: cli.IsTerminal(os.Stdin)}
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, openProject, term)
	stop()
	os.Exit(code)
}

// openProject opens the Pulumi project in dir: the real program, run by
// the language plugin of the user's Pulumi installation.
func openProject(ctx context.Context, dir string) (promote.Stacks, error) {
	ws, err := auto.NewLocalWorkspace(ctx, auto.WorkDir(dir))
	if err != nil {
		return nil, fmt.Errorf("open the Pulumi project in %s: %w", dir, err)
	}
	return operation.Workspace{WS: ws}, nil
}

// terminal is where a production change is confirmed: the answer is read
// from in, the question written to out; tty says whether in is a terminal
// (nobody answers a pipe or CI: no question then).
type terminal struct {
	in  io.Reader
	out io.Writer
	tty bool
}

// confirm returns the engine's confirmation hook, which the engine calls
// only for a production target (by its parsed environment): changes that
// are not dry runs ask on a terminal unless --yes.
func (t terminal) confirm(o promote.Options, yes bool) func(string) error {
	if o.DryRun {
		return nil
	}
	return func(plan string) error { return cli.Confirm(t.in, t.out, t.tty, yes, plan) }
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// usage heads --help, above the flags.
const usage = `Usage: go run ./infra/promote --from STACK --to STACK [flags]
       go run ./infra/promote --to STACK --rollback [flags]
       go run ./infra/promote --to STACK --image REPO@sha256:DIGEST [flags]

Promotes the digest-pinned image the source stack exports (output
backendImage) into the target stack: verifies the source (output apiUrl),
then per target region in configured order sets helloagents:regions[i].image,
runs pulumi up and gates on the region's healthUrls entry and the smoke
suite. After every region (not with --regions) a final wave promotes the
source's backupImage into backup.image. A failed update or gate restores
every touched region's previous digest and deploys again. The previous
digests are journaled before the first change; re-run to resume an
interrupted promotion, or --abort to roll it back.

With --rollback (or --image previous), each region goes back to the
digest it ran before its current one, taken from the target's update
history: succeeded updates replayed as an undo stack, so a promotion that
was rolled back is never a target and a second --rollback steps back once
more. It is refused, nothing changed, when a region has no previous digest
(its first release) or only the committed placeholder before it. With
--image, that digest is rolled out to every region instead. Neither reads
or gates a source stack; both keep the gates, journal and exit codes.

A change to production that is not a --dry-run shows each region's
current and new digest and asks "Proceed? [y/N]" when stdin is a
terminal, unless --yes. Without a terminal (CI) nothing is asked.

Before anything changes, every image the run rolls out (not with
--rollback) must carry a signed SBOM (SPDX or CycloneDX) and a SLSA build
provenance attestation in its registry, as the deploy workflow attaches
them; the registry is read with this machine's Docker credentials (docker
login). An image without them is refused (exit 1), naming its digest and
what it lacks. A dev target is not checked (its images are local).

A target never released (its image keys still hold the committed
placeholder digest) is refused: there would be nothing to roll back to.
Make the first release by hand (docs/DELIVERY.md), then promote.

Exit status: 0 promoted (dry run: previewed; also --help), 1 refused
(nothing changed), 2 usage error, 3 rolled back, 4 error, manual action
needed.

Flags:
`

// cmdline is what the command line says.
type cmdline struct {
	o                         promote.Options
	vo                        verify.Options
	regions, workDir, hookURL string
	jsonOut, yes              bool
	packs, configs            listFlag
	retries                   int
}

// newFlags defines every flag into c; getenv supplies the fallbacks.
func newFlags(c *cmdline, getenv func(string) string, stderr io.Writer) *flag.FlagSet {
	fs := cli.NewFlagSet("promote", usage, stderr)
	fs.StringVar(&c.o.From, "from", getenv(envFrom), "source `stack` whose backendImage output is promoted (required; env "+envFrom+"), e.g. staging")
	fs.StringVar(&c.o.To, "to", getenv(envTo), "target `stack` whose regions receive the image (required; env "+envTo+"), e.g. production")
	fs.StringVar(&c.o.Image, "image", "", "roll this digest-pinned `image` (repo@sha256:...) out instead of --from's: a rollback to a digest that served before, with the same gates, journal and exit codes; \"previous\" means --rollback")
	fs.BoolVar(&c.o.Rollback, "rollback", false, "roll each region back to the digest it ran before its current one, read from the target's update history (pulumi stack history); no --from")
	fs.BoolVar(&c.yes, "yes", false, "do not ask before changing production; without a terminal (CI, the promote workflow) nothing is asked anyway")
	fs.StringVar(&c.regions, "regions", "", "comma-separated target `regions` to roll (default all); they still roll in configured order")
	fs.BoolVar(&c.o.DryRun, "dry-run", false, "preview each wave and print the diffs; change no config and no state")
	fs.BoolVar(&c.o.Abort, "abort", false, "roll back the interrupted promotion recorded in the journal instead of promoting")
	fs.BoolVar(&c.jsonOut, "json", false, "print the per-region report as JSON on stdout (the table then goes to stderr)")
	fs.Var(&c.packs, "policy-pack", "policy pack `dir` applied to every update and preview (repeatable), e.g. ./policy")
	fs.Var(&c.configs, "policy-pack-config", "policy pack config `file`, one per --policy-pack in the same order (repeatable), e.g. policy/policy-config.example.json")
	fs.StringVar(&c.workDir, "work-dir", cmp.Or(getenv(envWorkDir), "."), "`dir` of the Pulumi project (Pulumi.yaml and the Pulumi.<stack>.yaml files; env "+envWorkDir+")")
	fs.StringVar(&c.o.Journal, "journal", "", "`path` of the promotion journal (default <work-dir>/.promotion/<to>.json)")
	fs.StringVar(&c.hookURL, "notify", "", "Slack-compatible `webhook` URL told the start, each region's result, a rollback and the outcome (default $"+notifyEnv+"); a failing webhook never fails the promotion")
	fs.IntVar(&c.retries, "retries", verify.DefaultRetries, "retries of each smoke-suite check (0: none); region readiness gates use the stack's healthCheck settings")
	fs.DurationVar(&c.vo.Timeout, "timeout", verify.DefaultTimeout, "time limit of one smoke-suite request")
	fs.IntVar(&c.vo.Requests, "requests", verify.DefaultRequests, "requests of the response-time (P95) measurement of each gate")
	fs.Float64Var(&c.vo.MinPassRate, "min-pass-rate", verify.DefaultMinPassRate, "share of smoke checks that must pass, in (0, 1]")
	fs.DurationVar(&c.o.CanaryPoll, "canary-poll", 0, "how often a canary's figures are read during its bake (default a tenth of the stack's backend.canary.bake, 5s to 30s)")
	return fs
}

// check validates the parsed command line and completes c.o from it; it
// returns every problem at once.
func (c *cmdline) check(fs *flag.FlagSet) []string {
	var errs []string
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	if c.o.Image == "previous" {
		c.o.Image, c.o.Rollback = "", true
	}
	if (c.o.From == "" && c.o.Image == "" && !c.o.Rollback && !c.o.Abort) || c.o.To == "" {
		errs = append(errs, "--from and --to are required (or --to with --image, --rollback or --abort)")
	}
	for _, r := range strings.Split(c.regions, ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.o.Regions = append(c.o.Regions, r)
		}
	}
	errs = append(errs, c.vo.ApplyFlags(c.retries)...)
	if c.o.CanaryPoll < 0 {
		errs = append(errs, fmt.Sprintf("--canary-poll is %s: must be positive, or 0 for the default", c.o.CanaryPoll))
	}
	if len(c.configs) > 0 && len(c.configs) != len(c.packs) {
		errs = append(errs, fmt.Sprintf("%d --policy-pack-config for %d --policy-pack: give one per pack, in the same order", len(c.configs), len(c.packs)))
	}
	return errs
}

// options completes the engine's options: journal path, absolute policy
// paths, gates, log, confirmation and webhook.
func (c *cmdline) options(getenv func(string) string, stderr io.Writer, term terminal) promote.Options {
	o := c.o
	if o.Journal == "" {
		o.Journal = filepath.Join(c.workDir, ".promotion", o.To+".json")
	}
	for _, l := range []listFlag{c.packs, c.configs} {
		for i, p := range l {
			if abs, err := filepath.Abs(p); err == nil {
				l[i] = abs
			}
		}
	}
	o.Policy = operation.Policy{Packs: c.packs, Configs: c.configs}
	o.Gates = operation.VerifyGates{Verify: c.vo}
	o.Attestations = attest.Default()
	o.Judge = promote.PrometheusJudge{}
	o.Log = stderr
	o.Confirm = term.confirm(o, c.yes)
	if hook := cmp.Or(c.hookURL, getenv(notifyEnv)); hook != "" {
		o.Notify = &notify.Webhook{URL: hook, Log: stderr}
	}
	return o
}

// run is main without the process: it parses args, promotes, prints the
// report and returns the exit status. getenv, open and term are
// injectable for tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer,
	open func(context.Context, string) (promote.Stacks, error), term terminal,
) int {
	var c cmdline
	fs := newFlags(&c, getenv, stderr)
	if code, done := cli.Parse(fs, args); done {
		return code
	}
	if errs := c.check(fs); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, "promote:", e)
		}
		fmt.Fprintln(stderr, "run with --help for usage")
		return int(promote.Usage)
	}
	o := c.options(getenv, stderr, term)
	if err := o.Validate(); err != nil {
		fmt.Fprintln(stderr, "promote:", strings.ReplaceAll(err.Error(), "\n", "\npromote: "))
		fmt.Fprintln(stderr, "run with --help for usage")
		return int(promote.Usage)
	}
	st, err := open(ctx, c.workDir)
	if err != nil {
		fmt.Fprintln(stderr, "promote:", err)
		return int(promote.Refused)
	}
	start := time.Now()
	rep := promote.Run(ctx, st, o)
	writeReport(rep, c.jsonOut, stdout, stderr)
	fmt.Fprintf(stderr, "promote: done in %s\n", time.Since(start).Round(time.Millisecond))
	return int(rep.Outcome)
}

// writeReport prints the table on stdout, or with --json the JSON on
// stdout and the table on stderr for the humans reading a CI run.
func writeReport(rep *promote.Report, jsonOut bool, stdout, stderr io.Writer) {
	text := stdout
	if jsonOut {
		text = stderr
	}
	if err := rep.WriteText(text); err != nil {
		fmt.Fprintln(stderr, "promote: write report:", err)
	}
	if !jsonOut {
		return
	}
	if err := rep.WriteJSON(stdout); err != nil {
		fmt.Fprintln(stderr, "promote: write report:", err)
	}
}
