//go:build unix

package promote

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockRun takes an exclusive, non-blocking flock on the journal's directory
// for the life of a run. The journal alone cannot tell a running promotion
// from an interrupted one; the kernel drops a flock when its process dies
// (even from SIGKILL), so a held lock always means a live promotion.
// Locking the directory leaves no lock file behind.
func lockRun(journal string) (unlock func(), err error) {
	path := filepath.Dir(journal)
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("promotion lock: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("promotion lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another promotion is running (it holds the lock on %s)", path)
		}
		return nil, fmt.Errorf("promotion lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
