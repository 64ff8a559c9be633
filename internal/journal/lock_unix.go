//go:build unix

package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Lock takes an exclusive, non-blocking flock on the journal's directory
// for the life of a run. The journal alone cannot tell a running command
// from an interrupted one; the kernel drops a flock when its process dies
// (even from SIGKILL), so a held lock always means a live run. Locking the
// directory leaves no lock file behind. what names the command in errors
// ("promotion", "failover").
func Lock(journal, what string) (unlock func(), err error) {
	path := filepath.Dir(journal)
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("%s lock: %w", what, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s lock: %w", what, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another %s is running (it holds the lock on %s)", what, path)
		}
		return nil, fmt.Errorf("%s lock %s: %w", what, path, err)
	}
	// Unlock explicitly before closing: a child that another goroutine is
	// forking (pulumi, docker) shares the open file until it execs, and a
	// bare Close would leave the lock held by that copy for a moment, so an
	// immediate next run would be refused as if one were still running.
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
