// Command pgbackup backs up a PostgreSQL database to a directory or an
// S3-compatible bucket (Cloudflare R2), lists, verifies and restores the
// backups, applies retention, and schedules all of it.
//
//	pgbackup backup                 dump DATABASE_URL to BACKUP_DESTINATION
//	pgbackup list [--json] [--all]  backups of the database, newest first
//	pgbackup restore --latest | --key KEY [--target-url URL] [--clean] [--database NAME]
//	pgbackup verify --latest | --key KEY | --all   check checksums without restoring
//	pgbackup prune [--dry-run]      delete backups past the retention, keeping the newest BACKUP_KEEP_LAST
//	pgbackup run                    backup then prune on BACKUP_SCHEDULE until SIGTERM
//
// Configuration is the environment (see backup.LoadConfig). No credential is
// ever written: every byte of output passes through a filter that replaces
// the configured secrets.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"github.com/helloagents/infra/backend/backup"
	"github.com/helloagents/infra/backend/backup/filestore"
	"github.com/helloagents/infra/backend/backup/s3store"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the operation failed
	exitUsage  = 2 // bad arguments or configuration
)

const usage = `usage: pgbackup <command> [flags]

commands:
  backup    dump DATABASE_URL (pg_dump -Fc) to BACKUP_DESTINATION, with its size and sha256
  list      list good backups, newest first (--json, --all for every database)
  restore   verify and restore a backup: --latest | --key KEY [--target-url URL] [--clean]
  verify    download and check backups against their manifests: --latest | --key KEY | --all
  prune     delete backups older than BACKUP_RETENTION_DAYS, keeping the newest BACKUP_KEEP_LAST
  run       backup then prune on BACKUP_SCHEDULE; logs one JSON line per run; stops on SIGTERM

environment: DATABASE_URL, BACKUP_DESTINATION (file:///dir or s3://bucket/prefix), BACKUP_S3_ENDPOINT,
  BACKUP_S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, BACKUP_SCHEDULE, BACKUP_RETENTION_DAYS,
  BACKUP_KEEP_LAST, BACKUP_S3_PART_SIZE_MB, SENTRY_DSN, SENTRY_ENVIRONMENT, PG_BIN,
  ALERT_WEBHOOK_URL (failed runs and a stale last backup are posted there), ALERT_REGION

pgbackup <command> --help lists the command's flags.

exit status: 0 done (also --help), 1 the operation failed, 2 bad arguments or configuration
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// app is one invocation: its configuration, destination and output.
type app struct {
	cfg    backup.Config
	store  backup.Store
	prefix string
	stdout io.Writer
	stderr io.Writer
	lookup func(string) (string, bool)
	// checkOnly makes a command stop after its command line is checked
	// (errChecked): the first of run's two passes.
	checkOnly bool
}

// run is the program: it checks the command, loads the configuration and
// runs the command, and returns the exit status.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmds := map[string]func(context.Context, *app, []string) error{
		"backup": cmdBackup, "list": cmdList, "restore": cmdRestore, "verify": cmdVerify, "prune": cmdPrune, "run": cmdRun,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "pgbackup: unknown command %q\n%s", args[0], usage)
		return exitUsage
	}

	if slices.ContainsFunc(args[1:], isHelp) {
		return commandHelp(ctx, cmd, &app{stdout: stdout, stderr: stderr, lookup: lookup})
	}
	a, cfgErr := newApp(args[1:], lookup, stdout, stderr)
	// The check pass: the command's flags and their checks, before the
	// configuration is required or the store opened (filestore creates
	// its directory).
	a.checkOnly = true
	if err := cmd(ctx, a, args[1:]); !errors.Is(err, errChecked) {
		return a.fail(args[0], err)
	}
	a.checkOnly = false
	if !a.configure(cfgErr) {
		return exitUsage
	}
	if err := cmd(ctx, a, args[1:]); err != nil {
		return a.fail(args[0], err)
	}
	return exitOK
}

// fail reports the command's error and returns its exit status.
func (a *app) fail(cmd string, err error) int {
	fmt.Fprintf(a.stderr, "pgbackup %s: %v\n", cmd, err)
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	return exitFailed
}

// commandHelp prints the command's flags, before any configuration is
// required, then the general usage.
func commandHelp(ctx context.Context, cmd func(context.Context, *app, []string) error, a *app) int {
	err := cmd(ctx, a, []string{"--help"})
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(a.stderr, "\n%s", usage)
		return exitOK
	}
	return exitUsage
}

// newApp loads the configuration (the environment only: nothing is opened)
// and returns the app with it, and the configuration's problems. Everything
// written through the app is filtered for the secrets, including any a flag
// such as --target-url in args adds.
func newApp(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) (*app, error) {
	cfg, cfgErr := backup.LoadConfig(lookup)
	secrets := newSecrets(cfg.Secrets()...)
	a := &app{cfg: cfg, lookup: lookup,
		stdout: &redactWriter{w: stdout, s: secrets}, stderr: &redactWriter{w: stderr, s: secrets}}
	for _, arg := range args {
		secrets.addFromURLArg(arg)
	}
	return a, cfgErr
}

// configure reports the configuration's problems (cfgErr) or opens the
// store. A problem is reported on the app's stderr and configure returns
// false.
func (a *app) configure(cfgErr error) bool {
	if cfgErr != nil {
		fmt.Fprintf(a.stderr, "pgbackup: invalid configuration:\n  %s\n",
			strings.ReplaceAll(cfgErr.Error(), "\n", "\n  "))
		return false
	}
	limitMemory(a.cfg, a.lookup)
	store, prefix, err := openStore(a.cfg)
	if err != nil {
		fmt.Fprintf(a.stderr, "pgbackup: %v\n", err)
		return false
	}
	a.store, a.prefix = store, prefix
	return true
}

// limitMemory keeps the job's memory near its live size: one upload part.
// Each part leaves about 1 MiB of garbage (requests, signing buffers); with
// the default GOGC=100 the heap would grow to twice the part buffer before a
// collection, so GC runs at 20 % growth instead, and a soft limit of one part
// plus 24 MiB backs that up. GOGC or GOMEMLIMIT in the environment win.
func limitMemory(cfg backup.Config, lookup func(string) (string, bool)) {
	if _, set := lookup("GOGC"); !set {
		debug.SetGCPercent(20)
	}
	if _, set := lookup("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(int64(cfg.PartSizeMiB)<<20 + 24<<20)
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "--help" || arg == "-help" }

// usageError marks a bad invocation (exit 2) rather than a failed operation.
type usageError struct{ error }

func openStore(cfg backup.Config) (backup.Store, string, error) {
	d := cfg.Destination
	switch d.Scheme {
	case "file":
		s, err := filestore.New(d.Path)
		return s, "", err
	case "s3":
		s, err := s3store.New(s3store.Config{
			Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, Bucket: d.Bucket,
			AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey,
			PartSize: uint64(cfg.PartSizeMiB) << 20,
		})
		return s, d.Prefix, err
	}
	return nil, "", fmt.Errorf("destination %q not supported", d.String())
}

// databaseName is the name of the configured database, "" without DATABASE_URL.
func (a *app) databaseName() string {
	if a.cfg.DatabaseURL == "" {
		return ""
	}
	db, _ := backup.DatabaseName(a.cfg.DatabaseURL)
	return db
}

func (a *app) where(key string) string {
	d := a.cfg.Destination
	if d.Scheme == "file" {
		return "file://" + path.Join(d.Path, key)
	}
	return "s3://" + path.Join(d.Bucket, key)
}
