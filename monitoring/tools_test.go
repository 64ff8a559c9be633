package monitoring

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// need returns the path of tool, or skips the test when it is missing (fails
// it under CI, where .ci/run installs the Debian packages prometheus and
// prometheus-alertmanager).
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found (apt-get install prometheus prometheus-alertmanager): %v", tool, err)
		}
		t.Skipf("%s not on PATH (apt-get install prometheus prometheus-alertmanager; set CI=1 to make this a failure)", tool)
	}
	return p
}

// run runs tool with args in dir and fails the test with its output when it
// exits non-zero.
func run(t *testing.T, dir, tool string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), need(t, tool), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
	return string(out)
}

// write writes data to name in dir and returns its path.
func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
