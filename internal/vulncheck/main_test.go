package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const vulndbVersion = "v0.0.0-20261105234957-e22db6528018"

// fakeGo stands in for the go command, govulncheck and indexdb: it answers
// `go mod download` with a vulndb module directory, makes `go install`
// drop an empty binary into GOBIN, makes indexdb write an index, and gives
// govulncheck's JSON from scans (by module directory).
type fakeGo struct {
	t       *testing.T
	offline bool              // the module proxy cannot be reached
	scans   map[string]string // govulncheck output by module dir
	calls   []string
}

func (f *fakeGo) Output(_ context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	call := filepath.Base(name) + " " + strings.Join(args, " ")
	f.calls = append(f.calls, call)
	switch {
	case name == "go" && args[0] == "mod":
		if f.offline {
			return nil, errors.New("go mod download: dial tcp: lookup proxy.golang.org: no such host")
		}
		return json.Marshal(map[string]string{"Path": vulndbModule, "Version": vulndbVersion, "Dir": "/mod/vulndb"})
	case name == "go" && args[0] == "install":
		if f.offline {
			return nil, errors.New("go install: module lookup disabled")
		}
		gobin := strings.TrimPrefix(env[0], "GOBIN=")
		pkg := strings.SplitN(args[1], "@", 2)[0]
		return nil, os.WriteFile(filepath.Join(gobin, filepath.Base(pkg)), nil, 0o755)
	case strings.HasPrefix(filepath.Base(name), "indexdb@"):
		if args[1] != "/mod/vulndb/data/osv" {
			f.t.Errorf("indexdb reads %s, want the module's data/osv", args[1])
		}
		out := filepath.Join(args[3], "index")
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, err
		}
		return nil, os.WriteFile(filepath.Join(out, "db.json"), []byte(`{"modified":"2026-11-05T00:00:00Z"}`), 0o644)
	case strings.HasPrefix(filepath.Base(name), "govulncheck@"):
		if !slices.Contains(env, "GOTOOLCHAIN=auto") {
			f.t.Errorf("govulncheck runs without GOTOOLCHAIN=auto: %v", env)
		}
		out, ok := f.scans[dir]
		if !ok {
			return nil, errors.New("govulncheck: no such module " + dir)
		}
		return []byte(out), nil
	}
	f.t.Fatalf("unexpected command %s", call)
	return nil, nil
}

func (f *fakeGo) ran(prefix string) int {
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func TestRun(t *testing.T) {
	called, clean := fixture(t, "called.json"), fixture(t, "clean.json")
	tests := []struct {
		name     string
		args     []string
		ci       bool
		offline  bool
		scans    map[string]string
		code     int
		stdout   string
		summary  string // "" when no summary is expected
		builtDB  bool   // the local database is built (indexdb runs)
		download bool   // vulndb is resolved through the proxy
	}{
		{name: "clean modules pass", args: []string{".", "backend"}, scans: map[string]string{".": clean, "backend": clean},
			code: exitOK, stdout: "backend (go1.26.11): no reachable vulnerability", summary: "no reachable vulnerability", builtDB: true, download: true},
		{name: "a reachable vulnerability fails", args: []string{".", "backend"}, scans: map[string]string{".": clean, "backend": called},
			code: exitVulnFound, stdout: "GO-2026-6809", summary: "| [GO-2026-6809]", builtDB: true, download: true},
		{name: "public database: nothing built", args: []string{"--db", "https://vuln.go.dev", "backend"}, scans: map[string]string{"backend": clean},
			code: exitOK, stdout: "no reachable vulnerability", summary: "https://vuln.go.dev"},
		{name: "no proxy outside CI skips loudly", args: []string{"backend"}, offline: true,
			code: exitOK, stdout: "SKIP vuln: no vulnerability database"},
		{name: "no proxy under CI fails", args: []string{"backend"}, offline: true, ci: true, code: exitError},
		{name: "govulncheck error fails", args: []string{"nosuch"}, scans: map[string]string{}, code: exitError, builtDB: true, download: true},
		{name: "version required", args: []string{"--govulncheck", "", "."}, code: exitUsage},
		{name: "bad db", args: []string{"--db", "vuln.go.dev", "."}, code: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			summary := filepath.Join(dir, "summary.md")
			f := &fakeGo{t: t, offline: tt.offline, scans: tt.scans}
			env := map[string]string{"GITHUB_STEP_SUMMARY": summary}
			if tt.ci {
				env["CI"] = "true"
			}
			args := append([]string{"--govulncheck", "v1.9.0", "--cache", filepath.Join(dir, "cache")}, tt.args...)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), args, func(k string) string { return env[k] }, f, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, &stdout, &stderr)
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, &stdout)
			}
			md, _ := os.ReadFile(summary)
			if tt.summary != "" && !strings.Contains(string(md), tt.summary) {
				t.Errorf("summary lacks %q:\n%s", tt.summary, md)
			}
			if tt.summary == "" && len(md) > 0 {
				t.Errorf("summary written by a run that scanned nothing:\n%s", md)
			}
			if got := f.ran("indexdb@") == 1; got != tt.builtDB {
				t.Errorf("database built: %v, want %v (calls %q)", got, tt.builtDB, f.calls)
			}
			if got := f.ran("go mod download") > 0; got != tt.download {
				t.Errorf("vulndb resolved: %v, want %v (calls %q)", got, tt.download, f.calls)
			}
		})
	}
}

// TestLocalDatabaseIsKept: the second run reuses the database and the
// tools of the first; a new vulndb version replaces the old database.
func TestLocalDatabaseIsKept(t *testing.T) {
	cache := t.TempDir()
	f := &fakeGo{t: t, scans: map[string]string{".": fixture(t, "clean.json")}}
	tl := tools{run: f, cache: cache, log: &bytes.Buffer{}}
	first, err := tl.localDB(t.Context(), "latest")
	if err != nil {
		t.Fatal(err)
	}
	second, err := tl.localDB(t.Context(), "latest")
	if err != nil {
		t.Fatal(err)
	}
	if first != second || first != "file://"+filepath.Join(cache, "db", vulndbVersion) {
		t.Errorf("databases %q then %q", first, second)
	}
	if n := f.ran("indexdb@"); n != 1 {
		t.Errorf("indexdb ran %d times for one vulndb version", n)
	}
	if n := f.ran("go install"); n != 1 {
		t.Errorf("indexdb installed %d times", n)
	}
	stale := filepath.Join(cache, "db", "v0.0.0-20250101000000-000000000000")
	if err := os.MkdirAll(filepath.Join(stale, "index"), 0o755); err != nil {
		t.Fatal(err)
	}
	tl.prune(filepath.Join(cache, "db"), vulndbVersion)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the database of an older vulndb is kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cache, "db", vulndbVersion, "index", "db.json")); err != nil {
		t.Errorf("the current database was pruned: %v", err)
	}
}
