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
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/helloagents/infra/backend/pitr"
)

// Exit codes, as infra/promote's.
const (
	exitOK      = 0
	exitRefused = 1
	exitUsage   = 2
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
	fs := flag.NewFlagSet("pgrecover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		dataDir = fs.String("data-dir", "", "the new cluster's data directory: missing, or an empty directory (a fresh volume)")
		latest  = fs.Bool("latest", false, "replay every archived WAL segment")
		at      = fs.String("time", "", "stop after the last transaction committed at or before this RFC 3339 time (with a zone)")
		name    = fs.String("name", "", "stop at this restore point (SELECT pg_create_restore_point('name'))")
		set     = fs.String("set", "", "restore this backup (label from pgbackrest info) instead of the newest suitable one")
		dryRun  = fs.Bool("dry-run", false, "check the guard rails and show the plan; change nothing")
		pgBin   = fs.String("pg-bin", envOr(getenv, "PG_BIN", "/usr/lib/postgresql/15/bin"), "PostgreSQL programs")
		timeout = fs.Duration("timeout", time.Hour, "bound on the WAL replay")
	)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: pgrecover --data-dir DIR (--latest | --time T | --name LABEL) [--set BACKUP] [--dry-run]

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
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	target, err := parseTarget(*latest, *at, *name)
	if err == nil && *dataDir == "" {
		err = errors.New("--data-dir is required")
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	cfg := pitr.FromEnv(getenv)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "pgrecover: %v\n", err)
		return exitUsage
	}
	cred, err := pitr.PostgresCredential()
	if err != nil {
		fmt.Fprintf(stderr, "pgrecover: %v\n", err)
		return exitUsage
	}
	r := pitr.Runner{Config: cfg, Credential: cred}
	opts := pitr.RecoverOptions{Target: target, DataDir: *dataDir, BinDir: *pgBin, Set: *set, Timeout: *timeout,
		Progress: func(s string) { fmt.Fprintf(stdout, "pgrecover: %s\n", s) }}

	plan, err := r.Plan(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "pgrecover: refused, nothing changed: %v\n", err)
		return exitRefused
	}
	fmt.Fprintf(stdout, `pgrecover: plan
  from:    %s, stanza %s (archive up to %s)
  backup:  %s (%s, ended %s, %d MB)
  target:  %s
  into:    %s
`, plan.Repository, plan.Stanza, orNone(plan.ArchiveMax), plan.Backup.Label, plan.Backup.Type,
		plan.Backup.Stop.Format(time.RFC3339), plan.Backup.Size>>20, plan.Target, plan.DataDir)
	if *dryRun {
		fmt.Fprintln(stdout, "pgrecover: dry run: nothing changed")
		return exitOK
	}
	res, err := r.Recover(ctx, opts)
	switch {
	case errors.Is(err, pitr.ErrMove):
		fmt.Fprintf(stderr, "pgrecover: %v\nthe target may hold part of the files: inspect it, empty it and run again\n", err)
		return exitManual
	case err != nil:
		fmt.Fprintf(stderr, "pgrecover: recovery failed, %s left as it was: %v\n", *dataDir, err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "pgrecover: done in %s (restore %s, replay %s): %s holds the cluster at %s, timeline %d\n",
		(res.Restore + res.Replay).Round(time.Second), res.Restore.Round(time.Second), res.Replay.Round(time.Second),
		*dataDir, res.EndLSN, res.Timeline)
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
