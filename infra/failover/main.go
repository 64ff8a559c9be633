// Command failover moves a stack's database primary to another region, or
// back (failback is the same command towards the other region).
//
//	go run ./infra/failover --stack production --to us-east [--dry-run] [--json] [--yes]
//
// It checks that the target's Postgres is a standby within --max-lag,
// fences the old primary when it is reachable, promotes the target, sets
// helloagents:database.primaryRegion, runs pulumi up with the policy pack,
// waits for the old primary to replay as a standby and gates on every
// region's readiness (docs/DEPLOYMENT.md, "Disaster recovery"). It drives
// the Pulumi project in --work-dir through the Automation API and reaches
// the databases with `docker --host <region dockerHost> exec`. Exit status:
// 0 failed over (or planned), 1 refused, 2 usage error, 3 target too far
// behind, 4 error, manual action needed (the journal resumes it).
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
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/helloagents/infra/backend/cli"
	"github.com/helloagents/infra/notify"
	"github.com/helloagents/infra/stacks/failover"
	"github.com/helloagents/infra/stacks/operation"
	"github.com/helloagents/infra/verify"
)

// Environment variables that stand in for flags not given (a flag wins).
const (
	envStack   = "FAILOVER_STACK"
	envTo      = "FAILOVER_TO"
	envWorkDir = "FAILOVER_WORK_DIR"
	// envNotify is --notify's fallback, the promotion's webhook secret.
	envNotify = "HELLOAGENTS_NOTIFY_WEBHOOK"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{
		getenv: os.Getenv, stdin: os.Stdin, terminal: cli.IsTerminal(os.Stdin),
		stdout: os.Stdout, stderr: os.Stderr, open: openProject,
		databases: func(stack string) failover.Databases { return failover.Docker{Stack: failover.StackLabel(stack)} },
	})
	stop()
	os.Exit(code)
}

// env is what run needs from the process; tests replace every part.
type env struct {
	getenv         func(string) string
	stdin          io.Reader
	terminal       bool
	stdout, stderr io.Writer
	open           func(context.Context, string) (failover.Stacks, error)
	databases      func(stack string) failover.Databases
}

// openProject opens the Pulumi project in dir.
func openProject(ctx context.Context, dir string) (failover.Stacks, error) {
	ws, err := auto.NewLocalWorkspace(ctx, auto.WorkDir(dir))
	if err != nil {
		return nil, fmt.Errorf("open the Pulumi project in %s: %w", dir, err)
	}
	return operation.Workspace{WS: ws}, nil
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint(*l) }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// flags are the parsed command line.
type flags struct {
	o              failover.Options
	vo             verify.Options
	workDir        string
	hookURL        string
	jsonOut, yes   bool
	packs, configs listFlag
	retries        int
}

const usage = `Usage: go run ./infra/failover --stack STACK --to REGION [flags]

Moves the database primary of STACK to REGION: checks that REGION's
Postgres is a standby no further behind than --max-lag (its last replayed
transaction and lag are shown), fences the old primary when it can be
reached, promotes REGION (a new timeline), sets
helloagents:database.primaryRegion in Pulumi.<stack>.yaml and runs pulumi up
with the policy packs, so the load balancer tries REGION first, the old
primary restarts as a standby and the backup jobs move. It then waits for
the old primary to replay as a standby and gates on every region's
readiness URL. Failback is the same command towards the other region.

A production stack run from a terminal shows the plan and asks before the
first change, unless --yes. Every step is journaled before it is taken;
run the same command again to resume an interrupted failover.

Exit status: 0 failed over (dry run: planned; also --help), 1 refused
(nothing changed), 2 usage error, 3 the target is too far behind (nothing
changed; --accept-data-loss overrides), 4 error after a change, manual
action needed (the journal is kept; run again to resume).

Flags:
`

// parse reads the command line; code is -1 to go on.
func parse(args []string, e env) (flags, int) {
	var f flags
	fs := f.flagSet(e)
	if code, done := cli.Parse(fs, args); done {
		return f, code
	}
	errs := f.problems(fs.Args())
	for _, msg := range errs {
		fmt.Fprintln(e.stderr, "failover:", msg)
	}
	if len(errs) > 0 {
		fmt.Fprintln(e.stderr, "run with --help for usage")
		return f, int(failover.Usage)
	}
	return f, -1
}

// flagSet defines the command line into f, with the defaults from e.
func (f *flags) flagSet(e env) *flag.FlagSet {
	fs := cli.NewFlagSet("failover", usage, e.stderr)
	fs.StringVar(&f.o.Stack, "stack", e.getenv(envStack), "`stack` whose database primary moves (required; env "+envStack+"), e.g. production")
	fs.StringVar(&f.o.To, "to", e.getenv(envTo), "`region` that becomes the primary (required; env "+envTo+"), e.g. us-east")
	fs.BoolVar(&f.o.DryRun, "dry-run", false, "check, print the plan and preview the update; change nothing")
	fs.BoolVar(&f.jsonOut, "json", false, "print the report as JSON on stdout (the text goes to stderr)")
	fs.BoolVar(&f.yes, "yes", false, "do not ask for confirmation on a terminal (production)")
	fs.BoolVar(&f.o.AcceptDataLoss, "accept-data-loss", false, "promote a target further behind than --max-lag, or whose lag is unknown, losing what it has not replayed")
	fs.DurationVar(&f.o.MaxLag, "max-lag", failover.DefaultMaxLag, "largest replay `lag` of the target that is promoted")
	fs.DurationVar(&f.o.ReseedTimeout, "reseed-timeout", failover.DefaultReseedTimeout, "how long to wait for the old primary to replay as a standby")
	fs.Var(&f.packs, "policy-pack", "policy pack `dir` applied to the update and the preview (repeatable), e.g. ./policy")
	fs.Var(&f.configs, "policy-pack-config", "policy pack config `file`, one per --policy-pack in the same order (repeatable)")
	fs.StringVar(&f.workDir, "work-dir", cmp.Or(e.getenv(envWorkDir), "."), "`dir` of the Pulumi project (env "+envWorkDir+")")
	fs.StringVar(&f.hookURL, "notify", "", "Slack-compatible `webhook` URL told the start, each step's result and the outcome (default $"+envNotify+"); a failing webhook never fails the failover")
	fs.StringVar(&f.o.Journal, "journal", "", "`path` of the failover journal (default <work-dir>/.failover/<stack>.json)")
	fs.IntVar(&f.retries, "retries", verify.DefaultRetries, "retries of each smoke-suite check of the gates")
	fs.DurationVar(&f.vo.Timeout, "timeout", verify.DefaultTimeout, "time limit of one smoke-suite request")
	fs.IntVar(&f.vo.Requests, "requests", verify.DefaultRequests, "requests of the response-time (P95) measurement of each gate")
	fs.Float64Var(&f.vo.MinPassRate, "min-pass-rate", verify.DefaultMinPassRate, "share of smoke checks that must pass, in (0, 1]")
	return fs
}

// problems lists every usage error of the parsed flags and the leftover
// arguments, so that one run reports them all.
func (f *flags) problems(extra []string) []string {
	var errs []string
	if len(extra) > 0 {
		errs = append(errs, fmt.Sprintf("unexpected arguments %q", extra))
	}
	if f.o.Stack == "" || f.o.To == "" {
		errs = append(errs, "--stack and --to are required")
	}
	if f.o.MaxLag <= 0 || f.o.ReseedTimeout <= 0 {
		errs = append(errs, fmt.Sprintf("--max-lag %s, --reseed-timeout %s: allowed: positive durations such as 60s", f.o.MaxLag, f.o.ReseedTimeout))
	}
	errs = append(errs, f.vo.ApplyFlags(f.retries)...)
	if len(f.configs) > 0 && len(f.configs) != len(f.packs) {
		errs = append(errs, fmt.Sprintf("%d --policy-pack-config for %d --policy-pack: give one per pack, in the same order", len(f.configs), len(f.packs)))
	}
	return errs
}

func run(ctx context.Context, args []string, e env) int {
	f, code := parse(args, e)
	if code >= 0 {
		return code
	}
	o := f.options(e)
	st, err := e.open(ctx, f.workDir)
	if err != nil {
		fmt.Fprintln(e.stderr, "failover:", err)
		return int(failover.Refused)
	}
	start := time.Now()
	rep := failover.Run(ctx, st, o)
	writeReport(e, rep, f.jsonOut)
	fmt.Fprintf(e.stderr, "failover: done in %s\n", time.Since(start).Round(time.Millisecond))
	return int(rep.Outcome)
}

// options completes the failover options from the flags: the default
// journal, absolute policy pack paths (the engine runs in another
// directory), the gates, the databases, the confirmation prompt and the
// webhook.
func (f *flags) options(e env) failover.Options {
	o := f.o
	if o.Journal == "" {
		o.Journal = filepath.Join(f.workDir, ".failover", filepath.Base(o.Stack)+".json")
	}
	for _, l := range []listFlag{f.packs, f.configs} {
		for i, p := range l {
			if abs, err := filepath.Abs(p); err == nil {
				l[i] = abs
			}
		}
	}
	o.Policy = operation.Policy{Packs: f.packs, Configs: f.configs}
	o.Gates = operation.VerifyGates{Verify: f.vo}
	o.Databases = e.databases(o.Stack)
	o.Log = e.stderr
	o.Confirm = func(plan string) error { return cli.Confirm(e.stdin, e.stderr, e.terminal, f.yes, plan) }
	if hook := cmp.Or(f.hookURL, e.getenv(envNotify)); hook != "" {
		o.Notify = &notify.Webhook{URL: hook, Log: e.stderr}
	}
	return o
}

// writeReport prints the report as text on stdout or, with --json, as JSON
// on stdout and the text on stderr.
func writeReport(e env, rep *failover.Report, jsonOut bool) {
	text, data := e.stdout, io.Writer(nil)
	if jsonOut {
		text, data = e.stderr, e.stdout
	}
	if err := rep.WriteText(text); err != nil {
		fmt.Fprintln(e.stderr, "failover: write report:", err)
	}
	if data != nil {
		if err := rep.WriteJSON(data); err != nil {
			fmt.Fprintln(e.stderr, "failover: write report:", err)
		}
	}
}
