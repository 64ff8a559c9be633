package promote_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/helloagents/infra/stacks/promote"
)

var threeRegions = []string{"eu-west", "us-east", "ap-south"}

func journalExists(t *testing.T, o promote.Options) bool {
	t.Helper()
	_, err := os.Stat(o.Journal)
	return err == nil
}

func same(a, b []string) bool { return slices.Equal(a, b) }

func TestPromoteSucceedsRegionByRegion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, threeRegions...)
	o := e.options()
	var snapshots [][]string
	o.AfterWave = func(region string) {
		snapshots = append(snapshots, append([]string{region}, e.configImages(t)...))
	}
	rep := promote.Run(t.Context(), e.stacks, o)
	if rep.Outcome != promote.Promoted {
		t.Fatalf("outcome %s (%s), want promoted", rep.Outcome, rep.Reason)
	}
	// Each wave changed exactly its own region, in configured order.
	want := [][]string{
		{"eu-west", newImage, oldImage, oldImage},
		{"us-east", newImage, newImage, oldImage},
		{"ap-south", newImage, newImage, newImage},
	}
	if !slices.EqualFunc(snapshots, want, same) {
		t.Errorf("config after each wave:\n got %q\nwant %q", snapshots, want)
	}
	if got := e.deployedImages(t); !same(got, []string{newImage, newImage, newImage}) {
		t.Errorf("deployed images %q, want the new image everywhere", got)
	}
	if len(rep.Regions) != 4 {
		t.Fatalf("report has %d rows, want 3 regions and the backup job: %+v", len(rep.Regions), rep.Regions)
	}
	if b := rep.Regions[3]; b.Region != "(backup job)" || b.Update != promote.ResultSucceeded || b.Gate != promote.ResultPassed ||
		b.OldImage != fileBackup || b.NewImage != newBackup {
		t.Errorf("backup job row %+v", b)
	}
	if cfg, deployed := e.backupImages(t); cfg != newBackup || deployed != newBackup {
		t.Errorf("backup image: config %q, deployed %q; want %q", cfg, deployed, newBackup)
	}
	for i, r := range rep.Regions[:3] {
		if r.Region != threeRegions[i] || r.Update != promote.ResultSucceeded || r.Gate != promote.ResultPassed ||
			r.OldImage != oldImage || r.NewImage != newImage || r.RolledBack || r.Seconds <= 0 {
			t.Errorf("report row %d: %+v", i, r)
		}
	}
	e.staging.mu.Lock()
	e.regions[0].mu.Lock()
	if e.staging.app == 0 || e.regions[0].app == 0 {
		t.Errorf("frontend checks: %d on staging's frontend, %d on production's; the gates must check each stack's frontendUrl",
			e.staging.app, e.regions[0].app)
	}
	e.regions[0].mu.Unlock()
	e.staging.mu.Unlock()
	for _, f := range e.regions {
		if f.probes(tagOf(newImage)) == 0 {
			t.Errorf("region %s was never gated on the new image", f.name)
		}
	}
	if journalExists(t, o) {
		t.Error("journal left behind after a successful promotion")
	}
}

func TestPromoteRollsBackWhenRegionTwoFails(t *testing.T) {
	t.Parallel()
	for _, m := range []mode{down, slow, wrongBody} {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, threeRegions...)
			e.regions[1].set(tagOf(newImage), m)
			o := e.options()
			rep := promote.Run(t.Context(), e.stacks, o)
			if rep.Outcome != promote.RolledBack || rep.ExitCode != 3 {
				t.Fatalf("outcome %s (exit %d, %s), want rolled back (exit 3)", rep.Outcome, rep.ExitCode, rep.Reason)
			}
			if !strings.Contains(rep.Reason, "gate of region us-east failed") {
				t.Errorf("reason %q does not say region us-east failed its gate", rep.Reason)
			}
			old := []string{oldImage, oldImage, oldImage}
			if got := e.configImages(t); !same(got, old) {
				t.Errorf("config images after rollback %q, want the old ones", got)
			}
			if got := e.deployedImages(t); !same(got, old) {
				t.Errorf("deployed images after rollback %q, want the old ones", got)
			}
			if n := e.regions[2].probes(tagOf(newImage)); n != 0 {
				t.Errorf("region ap-south was probed %d times on the new image; it must stay untouched", n)
			}
			if len(rep.Regions) != 4 {
				t.Fatalf("report has %d rows, want 3 regions and the backup job: %+v", len(rep.Regions), rep.Regions)
			}
			if b := rep.Regions[3]; b.Update != promote.ResultSkipped || b.RolledBack {
				t.Errorf("backup job row %+v, want skipped and not rolled back", b)
			}
			if cfg, deployed := e.backupImages(t); cfg != fileBackup || deployed != fileBackup {
				t.Errorf("backup image: config %q, deployed %q; want it unchanged", cfg, deployed)
			}
			r1, r2, r3 := rep.Regions[0], rep.Regions[1], rep.Regions[2]
			if r1.Gate != promote.ResultPassed || !r1.RolledBack {
				t.Errorf("eu-west row %+v, want gate passed and rolled back", r1)
			}
			if r2.Gate != promote.ResultFailed || !r2.RolledBack || !strings.Contains(r2.Detail, "us-east") {
				t.Errorf("us-east row %+v, want gate failed, rolled back, detail naming it", r2)
			}
			if r3.Update != promote.ResultSkipped || r3.RolledBack {
				t.Errorf("ap-south row %+v, want skipped and not rolled back", r3)
			}
			if journalExists(t, o) {
				t.Error("journal left behind after a complete rollback")
			}
		})
	}
}

func TestPromoteRollsBackAFailedUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "eu-west", "us-east")
	bad := digest("badbadbadbad")
	e.setSource(t, bad, newBackup)
	rep := promote.Run(t.Context(), e.stacks, e.options())
	if rep.Outcome != promote.RolledBack {
		t.Fatalf("outcome %s (%s), want rolled back", rep.Outcome, rep.Reason)
	}
	if !strings.Contains(rep.Reason, "update of region eu-west failed") {
		t.Errorf("reason %q does not name the failed update", rep.Reason)
	}
	if got := e.configImages(t); !same(got, []string{oldImage, oldImage}) {
		t.Errorf("config images %q, want the old ones", got)
	}
}

func TestPromoteRollsBackAFailedBackupWave(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "eu-west", "us-east")
	e.setSource(t, newImage, "ghcr.io/helloagents/pgbackup@sha256:badbad"+strings.Repeat("0", 58))
	rep := promote.Run(t.Context(), e.stacks, e.options())
	if rep.Outcome != promote.RolledBack || !strings.Contains(rep.Reason, "update of the backup job image failed") {
		t.Fatalf("outcome %s (%s), want rolled back after the backup job update", rep.Outcome, rep.Reason)
	}
	old := []string{oldImage, oldImage}
	if got := e.configImages(t); !same(got, old) {
		t.Errorf("config images %q, want the old ones", got)
	}
	if got := e.deployedImages(t); !same(got, old) {
		t.Errorf("deployed images %q, want the old ones", got)
	}
	if cfg, deployed := e.backupImages(t); cfg != fileBackup || deployed != fileBackup {
		t.Errorf("backup image: config %q, deployed %q; want it restored", cfg, deployed)
	}
	for _, r := range rep.Regions {
		if !r.RolledBack {
			t.Errorf("row %s not marked rolled back: %+v", r.Region, r)
		}
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, threeRegions...)
	beforeCfg, beforeUpdates := e.configImages(t), e.updates(t)
	o := e.options()
	o.DryRun = true
	rep := promote.Run(t.Context(), e.stacks, o)
	var text strings.Builder
	_ = rep.WriteText(&text)
	t.Log("dry run report:\n" + text.String())
	if rep.Outcome != promote.Promoted {
		t.Fatalf("outcome %s (%s), want a successful dry run", rep.Outcome, rep.Reason)
	}
	if got := e.configImages(t); !same(got, beforeCfg) {
		t.Errorf("dry run changed the config: %q, was %q", got, beforeCfg)
	}
	if got := e.updates(t); got != beforeUpdates {
		t.Errorf("dry run changed the state: %d updates, was %d", got, beforeUpdates)
	}
	if got := e.deployedImages(t); !same(got, beforeCfg) {
		t.Errorf("dry run changed the deployed outputs: %q", got)
	}
	if len(rep.Regions) != 4 {
		t.Fatalf("dry run report has %d rows, want 3 regions and the backup job", len(rep.Regions))
	}
	if cfg, _ := e.backupImages(t); cfg != fileBackup {
		t.Errorf("dry run changed the backup image config to %q", cfg)
	}
	for _, r := range rep.Regions {
		if r.Update != promote.ResultPreviewed || !strings.Contains(r.Diff, r.NewImage) {
			t.Errorf("dry run row %s: update %q, diff %q; want previewed with a diff naming the new image", r.Region, r.Update, r.Diff)
		}
	}
	if journalExists(t, o) {
		t.Error("dry run wrote a journal")
	}
}

func TestUnpinnedSourceImageIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, threeRegions...)
	e.setSource(t, "ghcr.io/helloagents/backend:latest", newBackup)
	beforeUpdates := e.updates(t)
	o := e.options()
	rep := promote.Run(t.Context(), e.stacks, o)
	if rep.Outcome != promote.Refused || rep.ExitCode != 1 {
		t.Fatalf("outcome %s (exit %d), want refused (exit 1)", rep.Outcome, rep.ExitCode)
	}
	if !strings.Contains(rep.Reason, "not pinned by digest") {
		t.Errorf("reason %q does not say the image is not pinned", rep.Reason)
	}
	if got := e.configImages(t); !same(got, []string{oldImage, oldImage, oldImage}) {
		t.Errorf("config changed: %q", got)
	}
	if got := e.updates(t); got != beforeUpdates {
		t.Errorf("state changed: %d updates, was %d", got, beforeUpdates)
	}
	if journalExists(t, o) {
		t.Error("a refused promotion wrote a journal")
	}
}

// TestRollbackAfterPromotionUnderTheEngine: the previous digests come from
// the real backend's update history (pulumi stack history), and a
// --rollback after a finished promotion restores them in every region.
func TestRollbackAfterPromotionUnderTheEngine(t *testing.T) {
	t.Parallel()
	e := newEnv(t, threeRegions[:2]...)
	if rep := promote.Run(t.Context(), e.stacks, e.options()); rep.Outcome != promote.Promoted {
		t.Fatalf("promotion: %s (%s)", rep.Outcome, rep.Reason)
	}
	o := e.options()
	o.From, o.Rollback = "", true
	rep := promote.Run(t.Context(), e.stacks, o)
	if rep.Outcome != promote.Promoted {
		t.Fatalf("rollback: %s (%s)", rep.Outcome, rep.Reason)
	}
	old := []string{oldImage, oldImage}
	if got := e.configImages(t); !same(got, old) {
		t.Errorf("config images after the rollback %q, want %q", got, old)
	}
	if got := e.deployedImages(t); !same(got, old) {
		t.Errorf("deployed images after the rollback %q, want %q", got, old)
	}
	for _, r := range rep.Regions {
		if r.OldImage != newImage || r.NewImage != oldImage || r.Gate != promote.ResultPassed {
			t.Errorf("report row %+v, want %s -> %s, gate passed", r, newImage, oldImage)
		}
	}
	// The first release is the oldest digest: nothing before it.
	again := promote.Run(t.Context(), e.stacks, o)
	if again.Outcome != promote.Refused || !strings.Contains(again.Reason, "no previous digest") {
		t.Errorf("second rollback: %s (%s), want refused: no previous digest", again.Outcome, again.Reason)
	}
}
