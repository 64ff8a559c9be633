package delivery

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// Helpers that read actionlint's workflow AST for the structural tests.

// parse reads and parses one workflow of the repository.
func parse(t *testing.T, name string) *actionlint.Workflow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), ".github", "workflows", name))
	if err != nil {
		t.Fatal(err)
	}
	w, errs := actionlint.Parse(b)
	if len(errs) > 0 {
		t.Fatalf("%s: %v", name, errs[0])
	}
	return w
}

func str(s *actionlint.String) string {
	if s == nil {
		return ""
	}
	return s.Value
}

// uses returns the action a step uses ("" for a run step).
func uses(s *actionlint.Step) string {
	if a, ok := s.Exec.(*actionlint.ExecAction); ok {
		return str(a.Uses)
	}
	return ""
}

// input returns a step's `with:` input (names are case-insensitive).
func input(s *actionlint.Step, name string) string {
	a, ok := s.Exec.(*actionlint.ExecAction)
	if !ok {
		return ""
	}
	for _, in := range a.Inputs {
		if strings.EqualFold(str(in.Name), name) {
			return str(in.Value)
		}
	}
	return ""
}

// script returns a run step's script ("" for an action step).
func script(s *actionlint.Step) string {
	if r, ok := s.Exec.(*actionlint.ExecRun); ok {
		return str(r.Run)
	}
	return ""
}

func env(e *actionlint.Env, name string) string {
	if e == nil {
		return ""
	}
	for _, v := range e.Vars {
		if str(v.Name) == name {
			return str(v.Value)
		}
	}
	return ""
}

// index returns the position of the first step matching ok, or -1.
func index(steps []*actionlint.Step, ok func(*actionlint.Step) bool) int {
	return slices.IndexFunc(steps, ok)
}

func usesPrefix(p string) func(*actionlint.Step) bool {
	return func(s *actionlint.Step) bool { return strings.HasPrefix(uses(s), p) }
}

func hasEvent(w *actionlint.Workflow, name string) bool {
	return slices.ContainsFunc(w.On, func(e actionlint.Event) bool { return e.EventName() == name })
}

// matrixValues returns the values of one matrix row of a job.
func matrixValues(j *actionlint.Job, row string) []string {
	if j.Strategy == nil || j.Strategy.Matrix == nil || j.Strategy.Matrix.Rows[row] == nil {
		return nil
	}
	var out []string
	for _, v := range j.Strategy.Matrix.Rows[row].Values {
		if s, ok := v.(*actionlint.RawYAMLString); ok {
			out = append(out, s.Value)
		}
	}
	return out
}
