// Package journal keeps the on-disk record of a long-running operator
// command (a promotion, a failover): a JSON file written atomically, so a
// crash leaves the old or the new record and never half of one, and a lock
// held for the life of a run, so a record is known to be interrupted rather
// than in progress.
package journal

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Write encodes v as indented JSON into path atomically: a temporary file in
// the same directory, fsync, rename, then fsync of the directory.
func Write(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode journal %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("journal directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".journal-*")
	if err != nil {
		return fmt.Errorf("write journal %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write journal %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: the rename is already durable on most filesystems
		d.Close()
	}
	return nil
}
