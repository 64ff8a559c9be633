//go:build unix

package failover

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockRun takes an exclusive, non-blocking flock on the journal's directory
// for the life of a run: the journal alone cannot tell a running failover
// from an interrupted one, and the kernel drops the lock when the process
// dies, so a held lock always means a live run.
func lockRun(journal string) (unlock func(), err error) {
	path := filepath.Dir(journal)
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("failover lock: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("failover lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another failover is running (it holds the lock on %s)", path)
		}
		return nil, fmt.Errorf("failover lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
