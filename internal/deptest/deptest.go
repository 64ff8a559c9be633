// Package deptest keeps the operator commands and the stack configuration
// free of dependencies they must not link, in the manner of tailscale's
// tstest/deptest: a test lists a package's dependencies with `go list
// -deps` and fails naming every forbidden one. The SDKs are large (infra/status
// once linked 71 Pulumi packages for three label constants) and the README
// promises these commands build without them; a stray import would undo
// that silently.
package deptest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Rule forbids the dependencies whose import path starts with Prefix.
type Rule struct {
	Prefix string
	// Why is printed with each violation, so the failure says what to do.
	Why string
}

// The rules the guarded packages obey.
var (
	Pulumi = Rule{"github.com/pulumi/", "the Pulumi SDKs belong to the program (infra/, stacks, components), not to the tools that read its outputs or its stack files"}
	PGX    = Rule{"github.com/jackc/pgx", "the database driver belongs to the backend and its standby code; the tools only speak HTTP to /health"}
)

// Package is one line of `go list -deps`: an import path and its imports.
type Package struct {
	Path    string
	Imports []string
}

// Violation is what one rule finds in a dependency list.
type Violation struct {
	Rule Rule
	// Packages are the forbidden dependencies, sorted.
	Packages []string
	// Via are the allowed packages that import a forbidden one directly,
	// as "importer -> imported", sorted: where to cut.
	Via []string
}

func (v Violation) String() string {
	return fmt.Sprintf("%d package(s) under %s, imported via %s: %s\n\t%s",
		len(v.Packages), v.Rule.Prefix, strings.Join(v.Via, ", "), v.Rule.Why, strings.Join(v.Packages, "\n\t"))
}

// Violations returns, per rule that deps break, the forbidden packages and
// the allowed packages that pull them in. deps is `go list -deps` output.
func Violations(deps []Package, rules ...Rule) []Violation {
	var out []Violation
	for _, r := range rules {
		forbidden := func(path string) bool { return strings.HasPrefix(path, r.Prefix) }
		v := Violation{Rule: r}
		for _, d := range deps {
			if forbidden(d.Path) {
				v.Packages = append(v.Packages, d.Path)
				continue
			}
			for _, imp := range d.Imports {
				if forbidden(imp) {
					v.Via = append(v.Via, d.Path+" -> "+imp)
				}
			}
		}
		if len(v.Packages) > 0 {
			slices.Sort(v.Packages)
			slices.Sort(v.Via)
			out = append(out, v)
		}
	}
	return out
}

// Deps lists pkg's dependencies, itself included, the way the linker sees
// them (test files excluded), by running gobin's `go list -deps` in dir.
func Deps(ctx context.Context, gobin, dir, pkg string) ([]Package, error) {
	cmd := exec.CommandContext(ctx, gobin, "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, pkg)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps %s: %w: %s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	var deps []Package
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) > 0 {
			deps = append(deps, Package{Path: f[0], Imports: f[1:]})
		}
	}
	return deps, nil
}

// GoCommand is the go binary of the toolchain that `go env GOROOT` names,
// so the list matches the toolchain running the tests. Without a go
// command on PATH, ok is false (the caller skips, except in CI).
func GoCommand(ctx context.Context) (gobin string, ok bool, err error) {
	path, err := exec.LookPath("go")
	if err != nil {
		return "", false, nil
	}
	root, err := exec.CommandContext(ctx, path, "env", "GOROOT").Output()
	if err != nil {
		return "", false, fmt.Errorf("go env GOROOT: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(root)), "bin", "go"), true, nil
}
