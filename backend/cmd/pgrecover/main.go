// Command pgrecover recovers a PostgreSQL cluster from the pgBackRest
// repository to a point in time, a restore point or the latest archived WAL,
// into a fresh data directory, with guard rails:
//
//	pgrecover --data-dir DIR (--latest | --time 2026-11-27T10:30:00Z | --name LABEL) [--set BACKUP] [--dry-run]
//
// The repository comes from the PGBACKREST_* environment of the Postgres
// container (run it inside that image). It refuses a target directory that
// is not empty or belongs to a server, shows what it restores from and to,
// replays WAL in a private server (no TCP), and moves the files into the
// target only after the cluster has reached the target and stopped cleanly.
// Exit status: 0 recovered (dry run: plan shown), 1 refused (nothing
// changed), 2 usage error, 3 recovery failed (target left as it was),
// 4 error, manual action needed. See docs/DEPLOYMENT.md, "Point-in-time recovery".
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/helloagents/infra/backend/cli"
	"github.com/helloagents/infra/backend/pitr"
	"github.com/helloagents/infra/backend/postgres"
)

// Exit codes, as infra/promote's.
const (
	exitOK      = cli.ExitOK
	exitRefused = 1
	exitUsage   = cli.ExitUsage
	exitFailed  = 3
	exitManual  = 4
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	f, code, done := parseFlags(args, getenv, stderr)
	if done {
		return code
	}
	r, opts, err := f.setup(getenv, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "pgrecover: %v\n", err)
		return exitUsage
	}
	plan, err := r.Plan(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "pgrecover: refused, nothing changed: %v\n", err)
		return exitRefused
	}
	printPlan(stdout, plan)
	if f.dryRun {
		fmt.Fprintln(stdout, "pgrecover: dry run: nothing changed")
		return exitOK
	}
	return recoverInto(ctx, r, opts, stdout, stderr)
}

// usage heads --help, above the flags.
const usage = `usage: pgrecover --data-dir DIR (--latest | --time T | --name LABEL) [--set BACKUP] [--dry-run] [--pg-bin DIR] [--timeout 1h]

Recovers the cluster whose pgBackRest repository the PGBACKREST_* environment
names (the Postgres container's) into DIR: restore a backup into a staging
directory, replay WAL to the target in a private server without TCP, promote,
stop cleanly, then move the files into DIR. The running database is never
touched; make the result the region's database with the steps in
docs/DEPLOYMENT.md ("Point-in-time recovery").

Exit status: 0 recovered (dry run: plan shown), 1 refused (nothing changed:
DIR not empty or in use, no backup before the time, repository unreadable),
2 usage error, 3 recovery failed (DIR left as it was), 4 error, manual
action needed (the recovered files could not be moved into DIR).

Flags:
`

// flags are the command line of pgrecover.
type flags struct {
	dataDir, at, name, set, pgBin string
	latest, dryRun                bool
	timeout                       time.Duration
	extra                         []string // arguments after the flags (none allowed)
}

// parseFlags reads the command line. done is true when run must exit with
// code: after --help (0) or a flag error (2, reported on stderr).
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (f flags, code int, done bool) {
	fs := cli.NewFlagSet("pgrecover", usage, stderr)
	fs.StringVar(&f.dataDir, "data-dir", "", "`DIR`, the new cluster's data directory: missing, or an empty directory (a fresh volume)")
	fs.BoolVar(&f.latest, "latest", false, "replay every archived WAL segment")
	fs.StringVar(&f.at, "time", "", "stop after the last transaction committed at or before `T`, an RFC 3339 time with a zone (2026-11-27T10:30:00Z)")
	fs.StringVar(&f.name, "name", "", "stop at the restore point `LABEL` (SELECT pg_create_restore_point('LABEL'))")
	fs.StringVar(&f.set, "set", "", "restore the backup `BACKUP` (its label in pgbackrest info) instead of the newest suitable one")
	fs.BoolVar(&f.dryRun, "dry-run", false, "check the guard rails and show the plan; change nothing")
	fs.StringVar(&f.pgBin, "pg-bin", envOr(getenv, postgres.EnvPGBin, "/usr/lib/postgresql/15/bin"), "`DIR` of the PostgreSQL programs (env PG_BIN)")
	fs.DurationVar(&f.timeout, "timeout", time.Hour, "bound on the WAL replay")
	if code, done := cli.Parse(fs, args); done {
		return f, code, true
	}
	f.extra = fs.Args()
	return f, exitOK, false
}

// setup checks the flags and the PGBACKREST_* environment, then returns the
// runner and the recovery's options; the first problem found is the error.
func (f flags) setup(getenv func(string) string, stdout io.Writer) (pitr.Runner, pitr.RecoverOptions, error) {
	target, err := parseTarget(f.latest, f.at, f.name)
	if err == nil && f.dataDir == "" {
		err = errors.New("--data-dir is required")
	}
	if err == nil && len(f.extra) > 0 {
		err = fmt.Errorf("unexpected arguments: %v", f.extra)
	}
	cfg := pitr.FromEnv(getenv)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return pitr.Runner{}, pitr.RecoverOptions{}, err
	}
	cred, err := pitr.PostgresCredential()
	if err != nil {
		return pitr.Runner{}, pitr.RecoverOptions{}, err
	}
	opts := pitr.RecoverOptions{Target: target, DataDir: f.dataDir, BinDir: f.pgBin, Set: f.set, Timeout: f.timeout,
		Progress: func(s string) { fmt.Fprintf(stdout, "pgrecover: %s\n", s) }}
	return pitr.Runner{Config: cfg, Credential: cred}, opts, nil
}

// printPlan shows what is restored from where to where, before anything changes.
func printPlan(stdout io.Writer, plan pitr.Plan) {
	fmt.Fprintf(stdout, `pgrecover: plan
  from:    %s, stanza %s (archive up to %s)
  backup:  %s (%s, ended %s, %d MB)
  target:  %s
  into:    %s
`, plan.Repository, plan.Stanza, orNone(plan.ArchiveMax), plan.Backup.Label, plan.Backup.Type,
		plan.Backup.Stop.Format(time.RFC3339), plan.Backup.Size>>20, plan.Target, plan.DataDir)
}

// recoverInto runs the recovery and maps its failure to the exit status: a
// failed move into the target needs a person, any earlier failure left the
// target as it was.
func recoverInto(ctx context.Context, r pitr.Runner, opts pitr.RecoverOptions, stdout, stderr io.Writer) int {
	res, err := r.Recover(ctx, opts)
	switch {
	case errors.Is(err, pitr.ErrMove):
		fmt.Fprintf(stderr, "pgrecover: %v\nthe target may hold part of the files: inspect it, empty it and run again\n", err)
		return exitManual
	case err != nil:
		fmt.Fprintf(stderr, "pgrecover: recovery failed, %s left as it was: %v\n", opts.DataDir, err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "pgrecover: done in %s (restore %s, replay %s): %s holds the cluster at %s, timeline %d\n",
		(res.Restore + res.Replay).Round(time.Second), res.Restore.Round(time.Second), res.Replay.Round(time.Second),
		opts.DataDir, res.EndLSN, res.Timeline)
	fmt.Fprintln(stdout, "pgrecover: next: docs/DEPLOYMENT.md, \"Make the recovered cluster the region's database\"")
	return exitOK
}

// parseTarget accepts exactly one of --latest, --time and --name.
func parseTarget(latest bool, at, name string) (pitr.Target, error) {
	n := 0
	for _, set := range []bool{latest, at != "", name != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return pitr.Target{}, errors.New("give exactly one of --latest, --time and --name")
	}
	switch {
	case latest:
		return pitr.Target{Type: pitr.Latest}, nil
	case name != "":
		return pitr.Target{Type: pitr.Name, Name: name}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return pitr.Target{}, fmt.Errorf("--time %q: want RFC 3339 with a zone, e.g. 2026-11-27T10:30:00Z", at)
	}
	if t.After(time.Now()) {
		return pitr.Target{}, fmt.Errorf("--time %s is in the future: use --latest", at)
	}
	return pitr.Target{Type: pitr.Time, Time: t}, nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
