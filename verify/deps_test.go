package verify_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helloagents/infra/backend/testkit"
)

// TestNoPulumiDependency: the operator tools read the health contract and
// settings from packages without Pulumi imports, so verify stays a small
// binary that builds without the SDKs; its tests' fake backend keeps Pulumi
// out too. The test lists the real dependency graph with the go command of
// the toolchain running it.
func TestNoPulumiDependency(t *testing.T) {
	gobin := goCommand(t)
	for _, pkg := range []string{".", "../infra/verify", "../internal/fakebackend"} {
		out, err := exec.CommandContext(t.Context(), gobin, "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) == 0 {
			t.Fatalf("go list -deps %s listed nothing", pkg)
		}
		for _, dep := range deps {
			if strings.HasPrefix(dep, "github.com/pulumi/") {
				t.Errorf("%s depends on %s: keep Pulumi out of the operator tools", pkg, dep)
			}
		}
	}
}

// goCommand is the go binary of the toolchain that `go env GOROOT` names.
// Without a go command the test is skipped, except in CI.
func goCommand(t *testing.T) string {
	t.Helper()
	path := testkit.RequireTool(t, "go", "the go command of the toolchain")
	root, err := exec.CommandContext(t.Context(), path, "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(root)), "bin", "go")
}
