package monitoring

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/helloagents/infra/backend/testkit"
)

// TestDurationBucketsMatchBackend: DurationBuckets is the backend's list
// (backend/metrics DurationBuckets, another module's package, read from its
// source), so the latency objective the rules compare is a real bucket
// bound of the histogram the backend exports.
func TestDurationBucketsMatchBackend(t *testing.T) {
	dir := filepath.Join("..", "backend", "metrics")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		testkit.Missing(t, fmt.Sprintf("the backend's metrics package %s is missing: %v", dir, err))
	}
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var got []float64
	found := false
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "DurationBuckets" || fn.Recv != nil {
				continue
			}
			found = true
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && (lit.Kind == token.FLOAT || lit.Kind == token.INT) {
					v, err := strconv.ParseFloat(lit.Value, 64)
					if err != nil {
						t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
					}
					got = append(got, v)
				}
				return true
			})
		}
	}
	if !found {
		t.Fatalf("no func DurationBuckets in %s", dir)
	}
	if !slices.Equal(got, DurationBuckets()) {
		t.Errorf("backend/metrics DurationBuckets %v, monitoring.DurationBuckets %v: keep them equal", got, DurationBuckets())
	}
}
