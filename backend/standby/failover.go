package standby

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
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

// Fence makes sure the server never accepts a write again on its timeline:
// it writes FenceFile (time and reason; an existing marker is kept) and
// stops the server in fast mode, so the container exits 0 and its
// on-failure restart policy leaves it stopped. A server already stopped or
// fenced is not an error.
func (s Server) Fence(ctx context.Context, reason string, now time.Time) error {
	marker := filepath.Join(s.DataDir, FenceFile)
	f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, os.ErrExist):
	case err != nil:
		return fmt.Errorf("fence: write %s: %w", marker, err)
	default:
		_, werr := fmt.Fprintf(f, "fenced at %s: %s\nre-seed this data directory as a standby (PG_ROLE=standby)\n",
			now.UTC().Format(time.RFC3339), reason)
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			return fmt.Errorf("fence: write %s: %w", marker, err)
		}
	}
	if out, err := s.pgctl(ctx, "status", "-D", s.DataDir); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 { // not running
			return nil
		}
		return fmt.Errorf("fence: pg_ctl status: %w: %s", err, out)
	}
	if out, err := s.pgctl(ctx, "stop", "-D", s.DataDir, "-m", "fast", "-w", "-t", "60"); err != nil {
		return fmt.Errorf("fence: pg_ctl stop: %w: %s", err, out)
	}
	return nil
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
			FormatLag(lag), st.LastReplayAt.UTC().Format(time.RFC3339), o.MaxLag, FormatLag(lag))
	}
	return nil
}
