package promote

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Region states recorded in the journal, in the order a wave goes through
// them.
const (
	statePending    = "pending"    // not touched yet
	stateConfigured = "configured" // the new digest is in the target's config
	stateDeployed   = "deployed"   // up succeeded with the new digest
	stateGated      = "gated"      // health gate and smoke suite passed
)

// Journal is the durable record of one promotion. It is written, and
// synced to disk, before the first change to the target stack, so a run
// that dies at any point leaves behind what it needs to resume (same
// source image) or to roll back (--abort): the digest every selected
// region ran before.
type Journal struct {
	Version int    `json:"version"`
	From    string `json:"from"`
	To      string `json:"to"`
	// Image is the digest rolled out; for a --rollback whose regions go
	// back to different digests it is empty and each region names its own.
	Image   string    `json:"image"`
	Started time.Time `json:"started"`
	// Rollback marks a --rollback run: its digests came from the history,
	// which its own updates change, so a resumed run takes them from here.
	Rollback bool `json:"rollback,omitempty"`
	// Regions are the selected regions in rollout order.
	Regions []JournalRegion `json:"regions"`
	// Backup is the final wave that promotes the backup job's image
	// (helloagents:backup.image, run by every region); nil when the
	// promotion does not include it.
	Backup *JournalBackup `json:"backup,omitempty"`
}

// JournalBackup is the backup-image wave's entry in the journal.
type JournalBackup struct {
	Image    string `json:"image"`
	Previous string `json:"previous"`
	State    string `json:"state"`
}

// JournalRegion is one region's entry in the journal.
type JournalRegion struct {
	Name string `json:"name"`
	// Index is the region's position in the target's helloagents:regions.
	Index int `json:"index"`
	// Previous is the digest the region ran before the promotion: what a
	// rollback restores.
	Previous string `json:"previous"`
	// Image is the digest this region receives when it differs from the
	// journal's Image (a --rollback); empty means the journal's Image.
	Image string `json:"image,omitempty"`
	State string `json:"state"`
}

// target returns the digest the region receives in the journaled run.
func (jr JournalRegion) target(j *Journal) string {
	if jr.Image != "" {
		return jr.Image
	}
	return j.Image
}

// loadJournal reads the journal at path; a missing file is (nil, nil).
func loadJournal(path string) (*Journal, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read promotion journal: %w", err)
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("promotion journal %s is corrupt (%w); inspect it, restore the digests it lists by hand, then delete it", path, err)
	}
	if j.Version != 1 {
		return nil, fmt.Errorf("promotion journal %s has version %d; this tool reads version 1", path, j.Version)
	}
	return &j, nil
}

// save writes the journal atomically (temporary file, fsync, rename, fsync
// of the directory), so a crash leaves either the old or the new record,
// never half of one.
func (j *Journal) save(path string) error {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("encode promotion journal: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("promotion journal directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".journal-*")
	if err != nil {
		return fmt.Errorf("write promotion journal: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write promotion journal: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync promotion journal: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write promotion journal: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write promotion journal: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// setState records a region's progress and saves the journal.
func (j *Journal) setState(path, region, state string) error {
	for i := range j.Regions {
		if j.Regions[i].Name == region {
			j.Regions[i].State = state
		}
	}
	return j.save(path)
}

// removeJournal deletes the journal once the target is consistent again.
func removeJournal(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove promotion journal: %w", err)
	}
	return nil
}
