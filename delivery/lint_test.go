package delivery

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// repoRoot is the repository's top directory (this package sits one below it).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// workflowFiles lists .github/workflows/*.yml and *.yaml.
func workflowFiles(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), ".github", "workflows")
	var files []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	slices.Sort(files)
	if len(files) == 0 {
		t.Fatalf("no workflow files in %s", dir)
	}
	return files
}

// optionalTool returns the path of an external checker actionlint can use,
// or "" to leave that integration off: they are not part of the module, and
// actionlint's own checks run either way.
func optionalTool(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}

// TestActionlint lints every workflow (and, through them, the local composite
// actions they use) with actionlint as a library, and fails on any finding.
func TestActionlint(t *testing.T) {
	root := repoRoot(t)
	shellcheck, pyflakes := optionalTool("shellcheck"), optionalTool("pyflakes")
	t.Logf("shellcheck %q, pyflakes %q (empty: not installed, integration off)", shellcheck, pyflakes)
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{
		Shellcheck: shellcheck,
		Pyflakes:   pyflakes,
		WorkingDir: root,
		Oneline:    true,
	})
	if err != nil {
		t.Fatalf("actionlint: %v", err)
	}
	proj, err := actionlint.NewProject(root)
	if err != nil {
		t.Fatalf("actionlint project %s: %v", root, err)
	}
	files := workflowFiles(t)
	errs, err := l.LintFiles(files, proj)
	if err != nil {
		t.Fatalf("actionlint: %v", err)
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", relPath(root, e.Filepath), e.Line, e.Column, e.Message, e.Kind)
	}
	if t.Failed() {
		t.Logf("actionlint output:\n%s", &out)
	}
	for _, want := range []string{"ci.yml", "preview.yml", "deploy.yml", "promote.yml", "drift.yml"} {
		if !slices.ContainsFunc(files, func(f string) bool { return filepath.Base(f) == want }) {
			t.Errorf("workflow %s missing", want)
		}
	}
}

func relPath(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// TestActionlintCatchesErrors proves the harness above fails on a broken
// workflow, so a green TestActionlint means something.
func TestActionlintCatchesErrors(t *testing.T) {
	l, err := actionlint.NewLinter(&bytes.Buffer{}, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte(`on: push
jobs:
  x:
    runs-on: ubuntu-24.04
    steps:
      - uses: pulumi/actions@v6
        with:
          comment-on-pull-request: true
      - run: echo ${{ github.event.nope.nope }}
`)
	errs, err := l.Lint("bad.yml", bad, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) == 0 {
		t.Fatal("actionlint found nothing wrong in a workflow with an unknown action input")
	}
}
