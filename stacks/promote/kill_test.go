package promote_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

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
