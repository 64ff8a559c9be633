package promote

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/helloagents/infra/canary"
	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/stacks/operation"
)

// Artifact states recorded in the journal, in the order a wave goes
// through them.
const (
	statePending = "pending" // not touched yet
	// The canary steps of a region on a target with backend.canary.
	stateCanaryConfigured = "canary configured" // the new image is the region's canaryImage
	stateCanaryDeployed   = "canary deployed"   // up succeeded: the canary serves its share
	stateCanaryPassed     = "canary passed"     // the bake's verdict was passed
	stateConfigured       = "configured"        // the new image is in the target's config
	stateDeployed         = "deployed"          // up succeeded with the new image
	stateGated            = "gated"             // health gates and smoke suite passed
)

// journalVersion is the journal format this tool writes. Version 1 (a
// list of regions plus an optional backup entry) is still read, so a run
// interrupted before an upgrade resumes or aborts after it.
const journalVersion = 2

// Journal is the durable record of one promotion. It is written, and
// synced to disk, before the first change to the target stack, so a run
// that dies at any point leaves behind what it needs to resume (same
// source image) or to roll back (--abort): the image every changed config
// path held before.
type Journal struct {
	Version int    `json:"version"`
	From    string `json:"from"`
	To      string `json:"to"`
	// Image is the backend digest rolled out; for a --rollback whose
	// regions go back to different digests it is empty.
	Image   string    `json:"image"`
	Started time.Time `json:"started"`
	// Rollback marks a --rollback run: its digests came from the history,
	// which its own updates change, so a resumed run takes them from here.
	Rollback bool `json:"rollback,omitempty"`
	// Artifacts are the changes in wave order: each selected region's
	// backend image in rollout order, then the stack-wide images.
	Artifacts []JournalArtifact `json:"artifacts"`
}

// JournalArtifact is one image the promotion changes: one wave.
type JournalArtifact struct {
	// Kind is the artifact's kind: backend, backup, proxy, postgres.
	Kind string `json:"kind"`
	// Region names the region of a per-region image; empty for a
	// stack-wide one, after whose update every region is gated.
	Region string `json:"region,omitempty"`
	// Key is the config path that holds the image.
	Key string `json:"key"`
	// Old is the image before the promotion: what a rollback restores.
	Old   string `json:"old"`
	New   string `json:"new"`
	State string `json:"state"`
	// Canary is the verdict of the region's canary once it passed.
	Canary *canary.Verdict `json:"canary,omitempty"`
}

// row names the artifact's wave in reports, plans and logs.
func (a JournalArtifact) row() string {
	if a.Region != "" {
		return a.Region
	}
	if s, ok := stackArtifact(a.Kind); ok {
		return s.row
	}
	return a.Kind
}

// what names the artifact in error messages.
func (a JournalArtifact) what() string {
	if a.Region != "" {
		return "region " + a.Region
	}
	if s, ok := stackArtifact(a.Kind); ok {
		return s.what
	}
	return a.Key
}

// regions returns the names of the journal's regions in rollout order.
func (j *Journal) regions() []string {
	var names []string
	for _, a := range j.Artifacts {
		if a.Region != "" {
			names = append(names, a.Region)
		}
	}
	return names
}

// journalV1 is the part of a version 1 journal that differs from version 2.
type journalV1 struct {
	Regions []struct {
		Name     string `json:"name"`
		Index    int    `json:"index"`
		Previous string `json:"previous"`
		Image    string `json:"image"`
		State    string `json:"state"`
	} `json:"regions"`
	Backup *struct {
		Image    string `json:"image"`
		Previous string `json:"previous"`
		State    string `json:"state"`
	} `json:"backup"`
}

// upgrade turns a version 1 journal's regions and backup entry into
// artifacts.
func (v journalV1) upgrade(j *Journal) {
	for _, r := range v.Regions {
		j.Artifacts = append(j.Artifacts, JournalArtifact{Kind: kindBackend, Region: r.Name,
			Key: contract.RegionImageKey(r.Index), Old: r.Previous, New: cmp.Or(r.Image, j.Image), State: r.State})
	}
	if b := v.Backup; b != nil {
		j.Artifacts = append(j.Artifacts, JournalArtifact{Kind: "backup", Key: contract.KeyBackupImage,
			Old: b.Previous, New: b.Image, State: b.State})
	}
	j.Version = journalVersion
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
	switch j.Version {
	case journalVersion:
	case 1:
		var v journalV1
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("promotion journal %s (version 1) is corrupt (%w); inspect it, restore the digests it lists by hand, then delete it", path, err)
		}
		v.upgrade(&j)
	default:
		return nil, fmt.Errorf("promotion journal %s has version %d; this tool reads versions 1 and %d: "+
			"resume or --abort it with the tool that wrote it", path, j.Version, journalVersion)
	}
	if len(j.Artifacts) == 0 {
		return nil, fmt.Errorf("promotion journal %s records no change; inspect it, then delete it", path)
	}
	return &j, nil
}

// save writes the journal atomically (temporary file, fsync, rename, fsync
// of the directory), so a crash leaves either the old or the new record,
// never half of one.
func (j *Journal) save(r operation.Runner) error {
	return r.SaveJournal(j)
}

// setState records the progress of artifact i and saves the journal.
func (j *Journal) setState(r operation.Runner, i int, state string) error {
	j.Artifacts[i].State = state
	return j.save(r)
}
