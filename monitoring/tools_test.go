package monitoring

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/helloagents/infra/backend/testkit"
)

// need returns the path of tool, or skips the test when it is missing (fails
// it under CI, where .ci/run installs the Debian packages prometheus and
// prometheus-alertmanager).
func need(t *testing.T, tool string) string {
	t.Helper()
	p := testkit.RequireTool(t, tool, "apt-get install prometheus prometheus-alertmanager")
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
