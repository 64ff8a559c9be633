package realprovider

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// suite is one copy of the repository and the environment its commands run in.
type suite struct {
	dir string   // the copy
	env []string // PATH with the plugins and the CLI, non-interactive Pulumi
}

// newSuite skips unless the plugins, the CLI and a Docker engine are here,
// then copies the repository.
func newSuite(t *testing.T) *suite {
	t.Helper()
	dir := os.Getenv("PULUMI_REAL_PLUGINS")
	if dir == "" {
		t.Skip("PULUMI_REAL_PLUGINS is not set: the real-provider suite needs the official plugins (build them with shared/tools/build-pulumi-plugins OUT REPOS)")
	}
	for _, p := range []string{"pulumi-resource-docker", "pulumi-resource-random", "pulumi-resource-cloudflare", "pulumi-language-go"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Skipf("PULUMI_REAL_PLUGINS=%s has no %s: %v", dir, p, err)
		}
	}
	root := repoRoot(t)
	path := dir + string(os.PathListSeparator) + filepath.Join(root, "bin") + string(os.PathListSeparator) + os.Getenv("PATH")
	s := &suite{env: append(os.Environ(), "PATH="+path, "PULUMI_SKIP_CONFIRMATIONS=true", "PULUMI_SKIP_UPDATE_CHECK=true")}
	if _, err := s.lookPath("pulumi"); err != nil {
		t.Skip("no pulumi CLI: run `make tools` (bin/pulumi) or install it")
	}
	if out, err := exec.CommandContext(t.Context(), "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine: %v: %s", err, out)
	}
	s.dir = copyRepo(t, root)
	return s
}

// lookPath finds a command on the suite's PATH.
func (s *suite) lookPath(name string) (string, error) {
	for _, kv := range s.env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, d := range filepath.SplitList(p) {
				if fi, err := os.Stat(filepath.Join(d, name)); err == nil && !fi.IsDir() {
					return filepath.Join(d, name), nil
				}
			}
		}
	}
	return "", exec.ErrNotFound
}

// run runs a command in the copy, bounded by timeout; it returns the
// combined output and how long it took, and fails the test on an error.
func (s *suite) run(t *testing.T, timeout time.Duration, name string, args ...string) (string, time.Duration) {
	t.Helper()
	out, took, err := s.try(timeout, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(out, 60))
	}
	return out, took
}

// try is run without failing the test.
func (s *suite) try(timeout time.Duration, name string, args ...string) (string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// exec resolves a bare name on the test's PATH; the suite's comes first.
	if p, err := s.lookPath(name); err == nil {
		name = p
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = s.dir, s.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	began := time.Now()
	err := cmd.Run()
	return out.String(), time.Since(began), err
}

// edit rewrites a file of the copy.
func (s *suite) edit(t *testing.T, rel string, change func(string) string) {
	t.Helper()
	p := filepath.Join(s.dir, rel)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	after := change(string(b))
	if after == string(b) {
		t.Fatalf("edit of %s changed nothing", rel)
	}
	if err := os.WriteFile(p, []byte(after), 0o644); err != nil {
		t.Fatal(err)
	}
}

// repoRoot is the repository this package is in.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// copyRepo copies the tracked and untracked, not ignored, files of root.
func copyRepo(t *testing.T, root string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or not a file
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// docker runs the docker CLI and returns its trimmed output.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// row is one line of the figures table.
type row struct{ what, figure string }

// table renders the figures as the Markdown table docs/PERFORMANCE.md shows.
func table(rows []row) string {
	var b strings.Builder
	b.WriteString("| step | figure |\n|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r.what, r.figure)
	}
	return b.String()
}
