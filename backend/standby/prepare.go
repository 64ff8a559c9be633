package standby

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Restorer runs a pgBackRest command (pitr.Runner does).
type Restorer interface {
	Run(ctx context.Context, command string, args ...string) ([]byte, error)
}

// PrepareOptions say what the container was told to run.
type PrepareOptions struct {
	// Role is PG_ROLE: Primary or Standby.
	Role    Role
	DataDir string
	// Restore runs pgBackRest; nil when no repository is configured.
	Restore Restorer
	// Log receives one line per decision and per wait.
	Log io.Writer
	// MinWait and MaxWait bound the backoff between restore attempts
	// (defaults 5 s and 1 min).
	MinWait, MaxWait time.Duration
}

// Prepare readies DataDir for the role the container runs and returns the
// role to start as (the entrypoint adds nothing for either: hot_standby is
// on and recovery_target_timeline is latest by default, and the restore
// writes restore_command and standby.signal). The decisions:
//
//   - primary, no cluster: Primary (the entrypoint runs initdb);
//   - primary, fenced: refused, the directory must be re-seeded as a standby;
//   - primary, a standby (standby.signal): Standby, never a silent
//     promotion (pgrole promote is the operator's action);
//   - standby, no cluster: restore the newest backup as a standby, retrying
//     with backoff until the repository holds one;
//   - standby, a cluster that is not a standby or is fenced (an old
//     primary): delta restore as a standby of the latest timeline, then
//     remove the fence marker;
//   - otherwise: start as it is.
func Prepare(ctx context.Context, o PrepareOptions) (Role, error) {
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "pgrole: "+format+"\n", a...)
		}
	}
	cluster := exists(filepath.Join(o.DataDir, "PG_VERSION"))
	signal := exists(filepath.Join(o.DataDir, "standby.signal"))
	fenced, err := IsFenced(o.DataDir)
	if err != nil {
		return "", err
	}
	switch o.Role {
	case Primary:
		return preparePrimary(cluster, signal, fenced, o.DataDir, logf)
	case Standby:
	default:
		return "", fmt.Errorf("PG_ROLE %q: want primary or standby", o.Role)
	}
	if o.Restore == nil {
		return "", errors.New("PG_ROLE=standby needs the pgBackRest repository the primary archives to " +
			"(PGBACKREST_REPO1_TYPE and the other PGBACKREST_* settings)")
	}
	switch {
	case cluster && signal && !fenced:
		logf("%s is a standby: starting it, it replays WAL from the repository", o.DataDir)
		return Standby, nil
	case cluster:
		logf("%s is not a standby (an old primary%s): re-seeding it as a standby of the latest timeline (delta restore)",
			o.DataDir, map[bool]string{true: ", fenced by a failover", false: ""}[fenced])
		if err := clearStalePID(o.DataDir); err != nil {
			return "", err
		}
		return Standby, reseed(ctx, o, logf)
	}
	logf("%s holds no cluster: restoring the newest backup as a standby", o.DataDir)
	return Standby, seed(ctx, o, logf)
}

func preparePrimary(cluster, signal, fenced bool, dataDir string, logf func(string, ...any)) (Role, error) {
	switch {
	case cluster && fenced:
		return "", refused("%s was fenced by a failover (%s): another region is the primary now; it must not start "+
			"as a primary again. Re-seed it as a standby (PG_ROLE=standby), or fail back with infra/failover",
			dataDir, FenceFile)
	case cluster && signal:
		logf("WARNING: PG_ROLE=primary but %s is a standby (standby.signal): starting it as a STANDBY. "+
			"Promotion is an explicit operator action: pgrole promote, through infra/failover", dataDir)
		return Standby, nil
	}
	return Primary, nil
}

// seed restores the newest backup into an empty (or half-restored)
// directory, retrying until the repository holds a backup.
func seed(ctx context.Context, o PrepareOptions, logf func(string, ...any)) error {
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", o.DataDir, err)
	}
	args := []string{"--type=standby"}
	if !emptyDir(o.DataDir) {
		args = append(args, "--delta") // a restore that stopped half-way
	}
	return retry(ctx, o, logf, args)
}

func reseed(ctx context.Context, o PrepareOptions, logf func(string, ...any)) error {
	if err := retry(ctx, o, logf, []string{"--delta", "--type=standby", "--target-timeline=latest"}); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(o.DataDir, FenceFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the fence marker: %w", err)
	}
	logf("re-seeded %s as a standby; the fence marker is removed", o.DataDir)
	return nil
}

// retry runs the restore until it succeeds or ctx ends, logging why it waits.
func retry(ctx context.Context, o PrepareOptions, logf func(string, ...any), args []string) error {
	wait, maxWait := o.MinWait, o.MaxWait
	if wait <= 0 {
		wait = 5 * time.Second
	}
	if maxWait <= 0 {
		maxWait = time.Minute
	}
	for {
		_, err := o.Restore.Run(ctx, "restore", args...)
		if err == nil {
			logf("restored %s (%s)", o.DataDir, strings.Join(args, " "))
			return nil
		}
		logf("waiting %s before the next restore attempt: %s", wait, firstError(err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("restore as a standby: %w (last error: %w)", ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, maxWait)
	}
}

// clearStalePID removes the postmaster.pid a crashed server left behind
// (pgBackRest refuses to restore over it). In a fresh container the pid it
// names is ours, our parent's or gone; a live other process means a server
// still runs on the directory.
func clearStalePID(dataDir string) error {
	pidFile := filepath.Join(dataDir, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", pidFile, err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err == nil && pid > 1 && pid != os.Getpid() && pid != os.Getppid() {
		if kerr := syscall.Kill(pid, 0); kerr == nil || errors.Is(kerr, syscall.EPERM) {
			return refused("a server (pid %d) still runs on %s: stop it (pgrole fence) before re-seeding", pid, dataDir)
		}
	}
	if err := os.Remove(pidFile); err != nil {
		return fmt.Errorf("remove the stale %s: %w", pidFile, err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func emptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}

// firstError is the line of a pgBackRest failure that says what went wrong
// ("ERROR: [075]: no backup set found to restore"), or the whole error.
func firstError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "ERROR:"); i >= 0 {
		line, _, _ := strings.Cut(msg[i:], "\n")
		return line
	}
	return msg
}
