package imagetest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestImportTree imports a small tree and reads a file back from the image:
// the tar | docker import pipe with its concurrent output copying (run with
// -race).
func TestImportTree(t *testing.T) {
	dk := RequireDocker(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello"), []byte("imported\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := Tag("imagetest", "import")
	t.Cleanup(func() { dk.Cleanup("rmi", "-f", tag) })
	dk.importTree(t, tag, []string{"-C", dir, "."}, "-c", "LABEL helloagents.test=imagetest")
	if !dk.Exists(tag) {
		t.Fatalf("image %s missing after import", tag)
	}
	if label := dk.Run(t, time.Minute, "image", "inspect", "-f", `{{index .Config.Labels "helloagents.test"}}`, tag); label != "imagetest" {
		t.Errorf("label = %q, want imagetest (the --change did not apply)", label)
	}
	// The image has no shell: read the file through docker cp of a created container.
	id := dk.Run(t, time.Minute, "create", tag, "/hello")
	t.Cleanup(func() { dk.Cleanup("rm", "-f", id) })
	out := t.TempDir()
	dk.Run(t, time.Minute, "cp", id+":/hello", out)
	if b, err := os.ReadFile(filepath.Join(out, "hello")); err != nil || string(b) != "imported\n" {
		t.Errorf("file from the image = %q, %v", b, err)
	}
}

// TestOnceAcrossProcesses has several callers, each with its own lock file
// descriptor as separate processes would have, ask for the same missing
// thing at once: exactly one makes it, the others find it made.
func TestOnceAcrossProcesses(t *testing.T) {
	key := fmt.Sprintf("imagetest-once-%d", time.Now().UnixNano())
	t.Cleanup(func() { _ = os.Remove(filepath.Join(os.TempDir(), "helloagents-imagetest-"+key+".lock")) })
	var made atomic.Bool
	var builds atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			errs <- onceAcrossProcesses(key, made.Load, func() error {
				if builds.Add(1) > 1 {
					return errors.New("a second build ran while the first held the lock")
				}
				time.Sleep(50 * time.Millisecond) // others pile up on the lock meanwhile
				made.Store(true)
				return nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := builds.Load(); n != 1 {
		t.Errorf("made %d times, want once", n)
	}
}
