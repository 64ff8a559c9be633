package promote_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/helloagents/infra/stacks/promote"
)

const (
	keyProxy    = "helloagents:backend.proxyImage"
	keyPostgres = "helloagents:database.image"
	oldProxy    = "ghcr.io/helloagents/proxy@sha256:" + "1111111111111111111111111111111111111111111111111111111111111111"
	newProxy    = "ghcr.io/helloagents/proxy@sha256:" + "2222222222222222222222222222222222222222222222222222222222222222"
	oldPostgres = "ghcr.io/helloagents/postgres@sha256:" + "3333333333333333333333333333333333333333333333333333333333333333"
	newPostgres = "ghcr.io/helloagents/postgres@sha256:" + "4444444444444444444444444444444444444444444444444444444444444444"
)

// memShared is a released two-region target whose source exports a new
// backend, backup, proxy and Postgres image.
func memShared() *memStacks {
	m := newMem("a", "b")
	m.backup = oldBackup
	m.shared = map[string]string{keyProxy: oldProxy, keyPostgres: oldPostgres}
	m.source["backupImage"] = newBackup
	m.source["proxyImage"] = newProxy
	m.source["postgresImage"] = newPostgres
	return m
}

// The proxy and Postgres images travel with a promotion of every region
// like the backup job's, one wave each after the regions; a partial
// rollout, a failing wave and an unpinned source image leave them alone.
func TestStackWideImagesTravel(t *testing.T) {
	tests := []struct {
		name    string
		regions []string
		upErr   func(n int) error
		mutate  func(*memStacks)
		want    promote.Outcome
		reason  string
		rows    []string
		images  []string // backup, proxy, postgres afterwards
	}{
		{name: "every region", want: promote.Promoted,
			rows:   []string{"a", "b", "(backup job)", "(region proxy)", "(postgres)"},
			images: []string{newBackup, newProxy, newPostgres}},
		{name: "partial rollout", regions: []string{"a"}, want: promote.Promoted,
			rows: []string{"a"}, images: []string{oldBackup, oldProxy, oldPostgres}},
		{name: "postgres wave fails", want: promote.RolledBack, reason: "update of the Postgres image failed",
			upErr: func(n int) error {
				if n == 5 {
					return errors.New("container did not start")
				}
				return nil
			},
			rows:   []string{"a", "b", "(backup job)", "(region proxy)", "(postgres)"},
			images: []string{oldBackup, oldProxy, oldPostgres}},
		{name: "unpinned proxy image", want: promote.Refused, reason: `output proxyImage`,
			mutate: func(m *memStacks) { m.source["proxyImage"] = "ghcr.io/helloagents/proxy:latest" },
			images: []string{oldBackup, oldProxy, oldPostgres}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := memShared()
			m.upErr = tt.upErr
			if tt.mutate != nil {
				tt.mutate(m)
			}
			o := memOptions(t)
			o.Regions = tt.regions
			rep := promote.Run(t.Context(), m, o)
			if rep.Outcome != tt.want || !strings.Contains(rep.Reason, tt.reason) {
				t.Fatalf("outcome %s (%s), want %s (%s)", rep.Outcome, rep.Reason, tt.want, tt.reason)
			}
			var rows []string
			for _, r := range rep.Regions {
				rows = append(rows, r.Region)
			}
			if fmt.Sprint(rows) != fmt.Sprint(tt.rows) {
				t.Errorf("report rows %v, want %v", rows, tt.rows)
			}
			got := []string{m.backup, m.shared[keyProxy], m.shared[keyPostgres]}
			if fmt.Sprint(got) != fmt.Sprint(tt.images) {
				t.Errorf("backup, proxy, postgres images %v, want %v", got, tt.images)
			}
			if journalExists(t, o) {
				t.Error("journal left behind")
			}
		})
	}
}

// v1Journal is a journal as the previous format wrote it: region a
// promoted and gated, region b and the backup job not reached.
func v1Journal(version int) string {
	return fmt.Sprintf(`{"version": %d, "from": "staging", "to": "production", "image": %q,
  "started": "2026-11-01T10:00:00Z",
  "regions": [{"name": "a", "index": 0, "previous": %q, "state": "gated"},
              {"name": "b", "index": 1, "previous": %q, "state": "pending"}],
  "backup": {"image": %q, "previous": %q, "state": "pending"}}`,
		version, newImage, oldImage, oldImage, newBackup, oldBackup)
}

// A journal written before the artifact list (version 1) by an interrupted
// run is still resumed or aborted; an unknown version is refused naming
// the file.
func TestJournalVersion1(t *testing.T) {
	tests := []struct {
		name     string
		version  int
		abort    bool
		want     promote.Outcome
		reason   string
		deployed []string
		backup   string
	}{
		{name: "resume", version: 1, want: promote.Promoted, deployed: []string{newImage, newImage}, backup: newBackup},
		{name: "abort", version: 1, abort: true, want: promote.RolledBack, deployed: []string{oldImage, oldImage}, backup: oldBackup},
		{name: "unknown version", version: 7, want: promote.ManualAction, reason: "has version 7",
			deployed: []string{newImage, oldImage}, backup: oldBackup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem("a", "b")
			m.backup = oldBackup
			m.source["backupImage"] = newBackup
			m.deploy(newImage, oldImage)
			o := memOptions(t)
			o.Abort = tt.abort
			if err := os.WriteFile(o.Journal, []byte(v1Journal(tt.version)), 0o600); err != nil {
				t.Fatal(err)
			}
			rep := promote.Run(t.Context(), m, o)
			if rep.Outcome != tt.want || !strings.Contains(rep.Reason, tt.reason) {
				t.Fatalf("outcome %s (%s), want %s (%s)", rep.Outcome, rep.Reason, tt.want, tt.reason)
			}
			if tt.reason != "" && !strings.Contains(rep.Reason, o.Journal) {
				t.Errorf("reason %q does not name the journal %s", rep.Reason, o.Journal)
			}
			if fmt.Sprint(m.deployed) != fmt.Sprint(tt.deployed) || m.backup != tt.backup {
				t.Errorf("deployed %v, backup %s; want %v, %s", m.deployed, m.backup, tt.deployed, tt.backup)
			}
			if tt.name == "resume" && (len(rep.Regions) != 3 || rep.Regions[0].Update != promote.ResultSkipped) {
				t.Errorf("resumed report %+v, want region a skipped, then b and the backup job", rep.Regions)
			}
		})
	}
}
