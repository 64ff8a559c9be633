package promote_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/stacks/operation"
	"github.com/helloagents/infra/stacks/promote"
)

// childSpec is what the killed child process needs to rebuild the parent's
// Pulumi world: the directory of backend and workspace, and the servers.
type childSpec struct {
	Dir   string            `json:"dir"`
	URLs  map[string]string `json:"urls"`
	Image string            `json:"image"`
}

// TestKilledRunResumes runs a promotion in a separate process, kills it
// with SIGKILL right after the first wave passed its gate (no deferred
// cleanup, no signal handler runs), and re-runs the promotion, which must
// find the journal and complete the remaining waves.
func TestKilledRunResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, threeRegions...)
	spec, err := json.Marshal(childSpec{Dir: e.dir, URLs: e.urls, Image: newImage})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestPromoteChild$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), "PROMOTE_CHILD="+string(spec))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	waved := false
	for !waved && sc.Scan() {
		waved = strings.HasPrefix(sc.Text(), "wave done eu-west")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if !waved {
		t.Fatal("the child promotion ended before finishing its first wave")
	}

	o := e.options()
	if !journalExists(t, o) {
		t.Fatal("the killed run left no journal")
	}
	if got := e.configImages(t); !same(got, []string{newImage, oldImage, oldImage}) {
		t.Fatalf("after the kill config is %q, want only eu-west promoted", got)
	}
	rep := promote.Run(t.Context(), e.stacks, o)
	if rep.Outcome != promote.Promoted || !rep.Resumed {
		t.Fatalf("re-run: outcome %s (resumed %v, %s), want a resumed promotion", rep.Outcome, rep.Resumed, rep.Reason)
	}
	if got := e.deployedImages(t); !same(got, []string{newImage, newImage, newImage}) {
		t.Errorf("deployed images %q, want the new image everywhere", got)
	}
	if journalExists(t, o) {
		t.Error("journal left behind")
	}
}

// TestPromoteChild is the child process of TestKilledRunResumes, not a test
// of its own: without PROMOTE_CHILD it skips.
func TestPromoteChild(t *testing.T) {
	raw := os.Getenv("PROMOTE_CHILD")
	if raw == "" {
		t.Skip("the child process of TestKilledRunResumes")
	}
	var c childSpec
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: c.Dir, urls: c.URLs, sourceImage: c.Image, sourceBkp: newBackup}
	e.open(t, pulumiCommand(t))
	o := e.options()
	o.AfterWave = func(region string) {
		fmt.Printf("wave done %s\n", region)
		time.Sleep(5 * time.Minute) // until the parent kills this process
	}
	rep := promote.Run(t.Context(), e.stacks, o)
	t.Fatalf("the child promotion ended (%s: %s) instead of being killed after a wave", rep.Outcome, rep.Reason)
}

func TestInterruptedRunResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, threeRegions...)
	o := e.options()
	ctx, cancel := context.WithCancel(t.Context())
	o.AfterWave = func(string) { cancel() } // the process "dies" after wave 1
	rep := promote.Run(ctx, e.stacks, o)
	if rep.Outcome != promote.ManualAction || !strings.Contains(rep.Reason, "interrupted") {
		t.Fatalf("interrupted run: outcome %s (%s), want manual action, interrupted", rep.Outcome, rep.Reason)
	}
	if got := e.configImages(t); !same(got, []string{newImage, oldImage, oldImage}) {
		t.Fatalf("after the interruption config is %q, want only eu-west promoted", got)
	}
	if !journalExists(t, o) {
		t.Fatal("the interrupted run left no journal")
	}
	o.AfterWave = nil
	rep = promote.Run(t.Context(), e.stacks, o)
	if rep.Outcome != promote.Promoted || !rep.Resumed {
		t.Fatalf("re-run: outcome %s (resumed %v, %s), want a resumed promotion", rep.Outcome, rep.Resumed, rep.Reason)
	}
	if rep.Regions[0].Update != promote.ResultSkipped || rep.Regions[1].Update != promote.ResultSucceeded {
		t.Errorf("re-run report %+v, want eu-west skipped, the rest updated", rep.Regions)
	}
	all := []string{newImage, newImage, newImage}
	if got := e.deployedImages(t); !same(got, all) {
		t.Errorf("deployed images %q, want the new image everywhere", got)
	}
	if journalExists(t, o) {
		t.Error("journal left behind")
	}
}

func TestInterruptedRunRollsBackOnAbort(t *testing.T) {
	t.Parallel()
	e := newEnv(t, threeRegions...)
	o := e.options()
	ctx, cancel := context.WithCancel(t.Context())
	o.AfterWave = func(string) { cancel() }
	if rep := promote.Run(ctx, e.stacks, o); rep.Outcome != promote.ManualAction {
		t.Fatalf("interrupted run: outcome %s (%s)", rep.Outcome, rep.Reason)
	}
	// A new image reached staging meanwhile: the old promotion cannot be
	// resumed, and a plain re-run refuses rather than guess.
	e.setSource(t, digest("c0ffeec0ffee"), newBackup)
	o.AfterWave = nil
	if rep := promote.Run(t.Context(), e.stacks, o); rep.Outcome != promote.Refused || !strings.Contains(rep.Reason, "--abort") {
		t.Fatalf("re-run with another image: outcome %s (%s), want refused pointing at --abort", rep.Outcome, rep.Reason)
	}
	o.Abort = true
	rep := promote.Run(t.Context(), e.stacks, o)
	if rep.Outcome != promote.RolledBack {
		t.Fatalf("--abort: outcome %s (%s), want rolled back", rep.Outcome, rep.Reason)
	}
	old := []string{oldImage, oldImage, oldImage}
	if got := e.deployedImages(t); !same(got, old) {
		t.Errorf("deployed images after --abort %q, want the old ones", got)
	}
	if got := e.configImages(t); !same(got, old) {
		t.Errorf("config images after --abort %q, want the old ones", got)
	}
}

func TestLockedTargetIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, threeRegions...)
	beforeUpdates := e.updates(t)
	// Another update holds production: its program is still running.
	e.mu.Lock()
	e.hold, e.holding = make(chan struct{}), make(chan struct{})
	hold, holding := e.hold, e.holding
	e.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, err := e.stacks.Up(context.WithoutCancel(t.Context()), "production", operation.Policy{})
		done <- err
	}()
	<-holding
	o := e.options()
	rep := promote.Run(t.Context(), e.stacks, o)
	e.mu.Lock()
	e.hold = nil
	e.mu.Unlock()
	close(hold)
	if err := <-done; err != nil {
		t.Fatalf("the concurrent update failed: %v", err)
	}
	t.Logf("refused: %s", rep.Reason)
	if rep.Outcome != promote.Refused || !strings.Contains(rep.Reason, "another update holds the stack: lock file") {
		t.Fatalf("outcome %s (%s), want refused because the stack is locked", rep.Outcome, rep.Reason)
	}
	if got := e.configImages(t); !same(got, []string{oldImage, oldImage, oldImage}) {
		t.Errorf("config changed: %q", got)
	}
	if got := e.updates(t); got != beforeUpdates+1 {
		t.Errorf("%d updates, want %d (only the concurrent one)", got, beforeUpdates+1)
	}
	if journalExists(t, o) {
		t.Error("a refused promotion wrote a journal")
	}
}
