package standby

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/helloagents/infra/backend/replication"
)

// ErrRefused marks a refusal: nothing was changed (pgrole exits 3).
var ErrRefused = errors.New("refused")

// refused wraps a refusal's reason.
func refused(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, a...))
}

// Server is one PostgreSQL data directory and the programs that run it.
type Server struct {
	DataDir string
	// BinDir holds pg_ctl.
	BinDir string
	// Credential runs pg_ctl as the cluster's owner when the caller is
	// root; nil runs it as the caller.
	Credential *syscall.Credential
}

// Fence makes sure the server never accepts a write again on its timeline.
// It writes FenceFile (time and reason; an existing marker is kept). When
// q reaches the running server and it is a primary (a planned switchover),
// it then makes new transactions read-only, switches to a new WAL segment
// and waits (up to archiveWait) until it is archived, so the standby about
// to be promoted can replay every committed write. Last it stops the
// server in fast mode, so the container exits 0 and its on-failure restart
// policy leaves it stopped. q may be nil (the server is unreachable); a
// server already stopped or fenced is not an error. It returns the last
// archived segment ("" when unknown).
func (s Server) Fence(ctx context.Context, q Conn, reason string, now time.Time, archiveWait time.Duration) (string, error) {
	if err := writeMarker(filepath.Join(s.DataDir, FenceFile), reason, now); err != nil {
		return "", err
	}
	var archived string
	var flushErr error
	if q != nil {
		archived, flushErr = flushPrimary(ctx, q, archiveWait)
	}
	if out, err := s.pgctl(ctx, "status", "-D", s.DataDir); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 { // 3: not running
			return archived, fmt.Errorf("fence: pg_ctl status: %w: %s", err, out)
		}
	} else if out, err := s.pgctl(ctx, "stop", "-D", s.DataDir, "-m", "fast", s.waitFlag(), "-t", "60"); err != nil {
		return archived, fmt.Errorf("fence: pg_ctl stop: %w: %s", err, out)
	}
	if flushErr != nil {
		return archived, fmt.Errorf("fenced and stopped, but: %w", flushErr)
	}
	return archived, nil
}

// waitFlag is pg_ctl's -w, or -W when the server is its container's PID 1:
// then the container ends with it, and so would a docker exec still
// waiting in it; the caller waits for the container instead (docker wait).
func (s Server) waitFlag() string {
	b, err := os.ReadFile(filepath.Join(s.DataDir, "postmaster.pid"))
	if first, _, _ := strings.Cut(string(b), "\n"); err == nil && strings.TrimSpace(first) == "1" {
		return "-W"
	}
	return "-w"
}

// Conn runs queries and statements: a connection or a pool.
type Conn interface {
	Querier
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func writeMarker(marker, reason string, now time.Time) error {
	f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, os.ErrExist):
		return nil
	case err != nil:
		return fmt.Errorf("fence: write %s: %w", marker, err)
	}
	_, werr := fmt.Fprintf(f, "fenced at %s: %s\nre-seed this data directory as a standby (PG_ROLE=standby)\n",
		now.UTC().Format(time.RFC3339), reason)
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("fence: write %s: %w", marker, err)
	}
	return nil
}

// flushPrimary, on a primary, makes new transactions read-only, ends the
// other sessions (their open transactions roll back, unacknowledged),
// switches the WAL segment and waits until it is archived: every
// acknowledged commit is then in the repository. On a standby, or when the
// server does not answer, it does nothing.
func flushPrimary(ctx context.Context, q Conn, wait time.Duration) (string, error) {
	st, err := ReadStatus(ctx, q, "")
	if err != nil || st.InRecovery {
		return "", nil //nolint:nilerr // unreachable or a standby: nothing to flush
	}
	for _, sql := range []string{
		"ALTER SYSTEM SET default_transaction_read_only = on",
		"SELECT pg_reload_conf()",
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
	} {
		if _, err := q.Exec(ctx, sql); err != nil {
			return "", fmt.Errorf("stop writes before the fence: %w", err)
		}
	}
	var archiving bool
	if err := q.QueryRow(ctx, "SELECT current_setting('archive_mode') <> 'off'").Scan(&archiving); err != nil {
		return "", fmt.Errorf("read archive_mode: %w", err)
	}
	if !archiving {
		return "", nil // no archive, so no standby follows it: nothing to wait for
	}
	var seg string
	if err := q.QueryRow(ctx, "SELECT pg_walfile_name(pg_switch_wal())").Scan(&seg); err != nil {
		return "", fmt.Errorf("switch WAL: %w", err)
	}
	return seg, waitArchived(ctx, q, seg, wait)
}

// waitArchived polls pg_stat_archiver until seg (or a later segment) is
// archived, or wait passes.
func waitArchived(ctx context.Context, q Querier, seg string, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		var last *string
		if err := q.QueryRow(ctx, "SELECT last_archived_wal FROM pg_stat_archiver").Scan(&last); err != nil {
			return fmt.Errorf("wait for segment %s to be archived: %w", seg, err)
		}
		if last != nil && len(*last) >= 24 && (*last)[:24] >= seg {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("segment %s (the last writes) not archived within %s: the standby may miss them", seg, wait)
		case <-tick.C:
		}
	}
}

func (s Server) pgctl(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.BinDir, "pg_ctl"), args...)
	if s.Credential != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.Credential}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	return bytes.TrimSpace(out.Bytes()), err
}

// PromoteOptions bound a promotion.
type PromoteOptions struct {
	// MaxLag refuses a standby whose replay lag is larger (or unknown).
	MaxLag time.Duration
	// AcceptDataLoss promotes whatever the lag.
	AcceptDataLoss bool
	// Wait bounds pg_promote's wait; zero means 60 s.
	Wait time.Duration
}

// Promote makes a standby the primary of a new timeline, after checking it
// is a standby and (unless AcceptDataLoss) that its lag is within MaxLag.
// It returns the status after the promotion.
func Promote(ctx context.Context, q Querier, dataDir string, o PromoteOptions) (Status, error) {
	st, err := ReadStatus(ctx, q, dataDir)
	if err != nil {
		return st, err
	}
	if err := promotable(st, o); err != nil {
		return st, err
	}
	wait := o.Wait
	if wait <= 0 {
		wait = time.Minute
	}
	var ok bool
	if err := q.QueryRow(ctx, "SELECT pg_promote(true, $1)", int(wait.Seconds())).Scan(&ok); err != nil {
		return st, fmt.Errorf("promote: %w", err)
	}
	if !ok {
		return st, fmt.Errorf("promote: the server did not leave recovery within %s", wait)
	}
	// PostgreSQL 15's checkpointer keeps the sleep it chose during
	// recovery (up to checkpoint_timeout) before archive_timeout applies:
	// a reload wakes it, so the new primary's first segments leave within
	// the archive timeout (as pitr.WakeArchiver does after a start).
	if err := q.QueryRow(ctx, "SELECT pg_reload_conf()").Scan(&ok); err != nil {
		return st, fmt.Errorf("promoted, but waking the archiver failed: %w", err)
	}
	return ReadStatus(ctx, q, dataDir)
}

// promotable says why st must not be promoted, or nil.
func promotable(st Status, o PromoteOptions) error {
	if !st.InRecovery {
		return refused("the server is not a standby (it is a primary on timeline %d): nothing to promote", st.Timeline)
	}
	if st.Fenced {
		return refused("the data directory is fenced (%s): re-seed it as a standby first", FenceFile)
	}
	if o.AcceptDataLoss {
		return nil
	}
	lag, ok := st.Lag()
	switch {
	case !ok:
		return refused("the standby has replayed no transaction yet, so its lag is unknown: " +
			"wait for it to catch up, or pass --accept-data-loss")
	case lag > o.MaxLag:
		return refused("the standby is %s behind (last replayed commit %s), more than --max-lag %s: "+
			"promoting would lose up to %s of committed writes; wait, or pass --accept-data-loss",
			replication.FormatLag(lag), st.LastReplayAt.UTC().Format(time.RFC3339), o.MaxLag, replication.FormatLag(lag))
	}
	return nil
}
