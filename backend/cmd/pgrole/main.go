// Command pgrole shows and changes the replication role of the PostgreSQL
// server it runs beside (inside the Postgres image: docker exec <container>
// pgrole ...). It connects through the local socket as the cluster's
// superuser; the data directory, the programs and the pgBackRest
// repository come from the container's environment (PGDATA, PG_BIN,
// PGBACKREST_*), as pgrecover's do.
//
//	pgrole status [--json]                           role, timeline, replay lag, fence
//	pgrole fence [--reason TEXT] [--archive-wait 2m]  mark the data directory fenced and stop the server
//	pgrole promote [--max-lag 60s] [--accept-data-loss]  make this standby the primary
//	pgrole prepare                                   (entrypoint) ready PGDATA for PG_ROLE
//
// Exit status: 0 ok, 1 failure, 2 usage, 3 refused (nothing changed).
// See backend/README.md, "Standby internals".
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helloagents/infra/backend/pitr"
	"github.com/helloagents/infra/backend/postgres"
	"github.com/helloagents/infra/backend/replication"
	"github.com/helloagents/infra/backend/standby"
)

// Exit codes: the image's interface (package postgres), which the failover
// engine matches.
const (
	exitOK      = postgres.ExitOK
	exitFailed  = postgres.ExitFailed
	exitUsage   = postgres.ExitUsage
	exitRefused = postgres.ExitRefused
)

const usage = `usage: pgrole status [--json] | fence [--reason TEXT] | promote [--max-lag 60s] [--accept-data-loss] | prepare

Shows and changes the replication role of the PostgreSQL server beside it
(run it inside the Postgres container: docker exec <container> pgrole ...).

  status    role, timeline, last replayed commit, replay lag, fence marker
  fence     write $PGDATA/helloagents.fenced (time, reason); on a running
            primary stop new writes and wait until its last WAL is archived
            (--archive-wait); then stop the server (pg_ctl stop -m fast; in
            its container pgrole returns once the stop is signalled and the
            container exits 0: docker wait it). Already stopped or fenced
            is fine
  promote   promote this standby (pg_promote) unless it is not a standby or
            its lag exceeds --max-lag (then only with --accept-data-loss);
            prints the status after (the new timeline)
  prepare   the entrypoint's step: ready $PGDATA for $PG_ROLE (seed or
            re-seed a standby from the repository, refuse a fenced primary)

Environment: PGDATA, PG_BIN, PG_ROLE, POSTGRES_USER, PGBACKREST_* (the
container's); PGROLE_URL overrides the connection (default: the local socket).

Exit status: 0 ok, 1 failure, 2 usage, 3 refused (nothing changed).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	cmd, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "pgrole: unknown command %q\n%s", args[0], usage)
		return exitUsage
	}
	exec, code, done := parseCommand(cmd, args, stderr)
	if done {
		return code
	}
	env := envOf(getenv)
	if env.dataDir == "" {
		fmt.Fprintln(stderr, "pgrole: PGDATA is required (the data directory)")
		return exitUsage
	}
	err := exec(ctx, env, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "pgrole %s: %v\n", args[0], err)
	}
	return exitStatus(err)
}

// parseCommand reads the flags of the command args[0] defines. done is true
// when run must exit with code: after --help (0) or a usage error (2).
func parseCommand(cmd func(fs *flag.FlagSet) command, args []string, stderr io.Writer) (exec command, code int, done bool) {
	fs := flag.NewFlagSet("pgrole "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	exec = cmd(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, exitOK, true
		}
		return nil, exitUsage, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pgrole %s: unexpected arguments %q\n", args[0], fs.Args())
		return nil, exitUsage, true
	}
	return exec, exitOK, false
}

// exitStatus maps a command's error to the documented exit status.
func exitStatus(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, standby.ErrRefused):
		return exitRefused
	}
	return exitFailed
}

// usageError is bad input that no command ran for.
type usageError struct{ error }

type command func(ctx context.Context, env environment, stdout, stderr io.Writer) error

// lookup returns the command name: a function that defines its flags on
// fs and returns what runs after parsing.
func lookup(name string) (func(fs *flag.FlagSet) command, bool) {
	switch name {
	case postgres.PGRoleStatus:
		return statusCmd, true
	case postgres.PGRoleFence:
		return fenceCmd, true
	case postgres.PGRolePromote:
		return promoteCmd, true
	case postgres.PGRolePrepare:
		return prepareCmd, true
	}
	return nil, false
}

// environment is what the container's variables say.
type environment struct {
	getenv  func(string) string
	dataDir string
	binDir  string
	url     string
}

func envOf(getenv func(string) string) environment {
	e := environment{getenv: getenv, dataDir: getenv(postgres.EnvPGData), binDir: getenv(postgres.EnvPGBin), url: getenv(postgres.EnvPGRoleURL)}
	if e.binDir == "" {
		e.binDir = "/usr/lib/postgresql/15/bin"
	}
	if e.url == "" {
		socket := orDefault(getenv(postgres.EnvPG1SocketPath), "/var/run/postgresql")
		q := url.Values{"host": {socket}, "user": {orDefault(getenv(postgres.EnvUser), "postgres")},
			"port": {orDefault(getenv(postgres.EnvPG1Port), "5432")}, "connect_timeout": {"10"}}
		e.url = "postgres:///postgres?" + q.Encode()
	}
	return e
}

func (e environment) connect(ctx context.Context) (*pgx.Conn, error) {
	c, err := pgx.Connect(ctx, e.url)
	if err != nil {
		return nil, fmt.Errorf("connect to the local server: %w", err)
	}
	return c, nil
}

func statusCmd(fs *flag.FlagSet) command {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, env environment, stdout, _ io.Writer) error {
		c, err := env.connect(ctx)
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		st, err := standby.ReadStatus(ctx, c, env.dataDir)
		if err != nil {
			return err
		}
		return printStatus(stdout, st, *asJSON)
	}
}

func printStatus(w io.Writer, st standby.Status, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(st)
	}
	lag, last := "unknown", "none"
	if l, ok := st.Lag(); ok {
		lag = replication.FormatLag(l)
	}
	if st.LastReplayAt != nil {
		last = st.LastReplayAt.UTC().Format(time.RFC3339Nano)
	}
	if st.Role == standby.Primary {
		lag, last = "n/a", "n/a"
	}
	_, err := fmt.Fprintf(w, "role %s, timeline %d, in recovery %t, last replayed commit %s, replay lag %s, fenced %t\n",
		st.Role, st.Timeline, st.InRecovery, last, lag, st.Fenced)
	return err
}

func fenceCmd(fs *flag.FlagSet) command {
	reason := fs.String("reason", "failover", "why (written into the marker)")
	wait := fs.Duration("archive-wait", 2*time.Minute, "on a running primary, how long to wait for its last WAL to be archived")
	return func(ctx context.Context, env environment, stdout, stderr io.Writer) error {
		cred, err := pitr.PostgresCredential()
		if err != nil {
			return err
		}
		srv := standby.Server{DataDir: env.dataDir, BinDir: env.binDir, Credential: cred}
		var conn standby.Conn
		if c, err := env.connect(ctx); err != nil {
			fmt.Fprintf(stderr, "pgrole: the server does not answer (%v): fencing the data directory only\n", err)
		} else {
			defer c.Close(context.Background())
			conn = c
		}
		seg, err := srv.Fence(ctx, conn, *reason, time.Now(), *wait)
		if err != nil {
			return err
		}
		if seg != "" {
			fmt.Fprintf(stdout, "pgrole: writes stopped; the last WAL segment %s is archived\n", seg)
		}
		_, err = fmt.Fprintf(stdout, "pgrole: %s is fenced and its server stopped: re-seed it as a standby (PG_ROLE=standby)\n", env.dataDir)
		return err
	}
}

func promoteCmd(fs *flag.FlagSet) command {
	maxLag := fs.Duration("max-lag", time.Minute, "refuse when the standby's replay lag is larger")
	accept := fs.Bool("accept-data-loss", false, "promote whatever the lag (committed writes not yet replayed are lost)")
	return func(ctx context.Context, env environment, stdout, _ io.Writer) error {
		if *maxLag <= 0 {
			return usageError{fmt.Errorf("--max-lag %s: want a positive duration such as 60s", *maxLag)}
		}
		c, err := env.connect(ctx)
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		st, err := standby.Promote(ctx, c, env.dataDir, standby.PromoteOptions{MaxLag: *maxLag, AcceptDataLoss: *accept})
		if err != nil {
			return err
		}
		return printStatus(stdout, st, true)
	}
}

func prepareCmd(*flag.FlagSet) command {
	return func(ctx context.Context, env environment, _, stderr io.Writer) error {
		role := standby.Role(orDefault(env.getenv(postgres.EnvRole), string(standby.Primary)))
		o := standby.PrepareOptions{Role: role, DataDir: env.dataDir, Log: stderr}
		// Only a standby restores: a primary starts whatever its repository
		// settings (the server reports archiving problems itself).
		if role == standby.Standby && env.getenv(pitr.EnvName("repo1-type")) != "" {
			cfg := pitr.FromEnv(env.getenv)
			cfg.DataDir = env.dataDir
			if err := cfg.Validate(); err != nil {
				return usageError{fmt.Errorf("pgBackRest settings: %w", err)}
			}
			cred, err := pitr.PostgresCredential()
			if err != nil {
				return err
			}
			o.Restore = pitr.Runner{Config: cfg, Credential: cred}
		}
		if role != standby.Primary && role != standby.Standby {
			return usageError{fmt.Errorf("PG_ROLE %q: want primary or standby", role)}
		}
		if role == standby.Standby && o.Restore == nil {
			return usageError{errors.New("PG_ROLE=standby needs the pgBackRest repository the primary archives to " +
				"(PGBACKREST_REPO1_TYPE and the other PGBACKREST_* settings)")}
		}
		_, err := standby.Prepare(ctx, o)
		return err
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
