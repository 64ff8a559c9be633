package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// runner runs a command in dir with extra environment variables and
// returns its standard output; an error carries the command's stderr.
type runner interface {
	Output(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error)
}

// execRunner runs real commands.
type execRunner struct{}

func (execRunner) Output(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// errUnavailable marks what cannot be had without the Go module proxy (or
// the public database): the scan skips outside CI and fails under CI.
var errUnavailable = errors.New("unavailable")

const (
	vulndbModule = "golang.org/x/vulndb"
	vulnModule   = "golang.org/x/vuln"
)

// tools builds and caches the binaries the check runs, each under its
// module version: govulncheck, and indexdb (golang.org/x/vulndb/cmd/indexdb,
// which turns the database's OSV source files into the v1 database layout
// govulncheck reads with -db file://).
type tools struct {
	run   runner
	cache string
	log   io.Writer
}

// binary returns the path of cmd (a package path) at module version v,
// installing it on first use.
func (t tools) binary(ctx context.Context, pkg, version string) (string, error) {
	bin := filepath.Join(t.cache, "bin", filepath.Base(pkg)+"@"+version)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp, err := os.MkdirTemp(t.cache, "gobin-")
	if err != nil {
		return "", fmt.Errorf("install %s@%s: %w", pkg, version, err)
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(t.log, "vulncheck: installing %s@%s\n", pkg, version)
	if _, err := t.run.Output(ctx, t.cache, []string{"GOBIN=" + tmp}, "go", "install", pkg+"@"+version); err != nil {
		return "", fmt.Errorf("%w: install %s@%s: %w", errUnavailable, pkg, version, err)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(tmp, filepath.Base(pkg)), bin); err != nil {
		return "", fmt.Errorf("install %s@%s: %w", pkg, version, err)
	}
	return bin, nil
}

// localDB returns the file:// URL of a database built from
// golang.org/x/vulndb at the version query (a version, or "latest": the
// newest snapshot the module proxy serves). A database is built once per
// vulndb version and kept; older ones are removed.
func (t tools) localDB(ctx context.Context, query string) (string, error) {
	if err := os.MkdirAll(t.cache, 0o755); err != nil {
		return "", fmt.Errorf("cache %s: %w", t.cache, err)
	}
	out, err := t.run.Output(ctx, t.cache, nil, "go", "mod", "download", "-json", vulndbModule+"@"+query)
	if err != nil {
		return "", fmt.Errorf("%w: fetch %s@%s through the Go module proxy: %w", errUnavailable, vulndbModule, query, err)
	}
	var mod struct{ Version, Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", vulndbModule, query, err)
	}
	if mod.Error != "" || mod.Dir == "" {
		return "", fmt.Errorf("%w: fetch %s@%s: %s", errUnavailable, vulndbModule, query, cmp.Or(mod.Error, "no module directory"))
	}
	dbs := filepath.Join(t.cache, "db")
	dir := filepath.Join(dbs, mod.Version)
	if _, err := os.Stat(filepath.Join(dir, "index", "db.json")); err == nil {
		fmt.Fprintf(t.log, "vulncheck: database of %s@%s (cached)\n", vulndbModule, mod.Version)
		return fileURL(dir), nil
	}
	indexdb, err := t.binary(ctx, vulndbModule+"/cmd/indexdb", mod.Version)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dbs, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dbs, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(t.log, "vulncheck: building the database of %s@%s\n", vulndbModule, mod.Version)
	out, err = t.run.Output(ctx, t.cache, nil, indexdb, "-vulns", filepath.Join(mod.Dir, "data", "osv"), "-out", filepath.Join(tmp, "db"))
	if err != nil {
		return "", fmt.Errorf("build the vulnerability database from %s@%s: %w (%s)", vulndbModule, mod.Version, err, out)
	}
	if _, err := os.Stat(filepath.Join(tmp, "db", "index", "db.json")); err != nil {
		return "", fmt.Errorf("indexdb wrote no database from %s@%s: %w", vulndbModule, mod.Version, err)
	}
	if err := os.Rename(filepath.Join(tmp, "db"), dir); err != nil {
		return "", fmt.Errorf("keep the database: %w", err)
	}
	t.prune(dbs, mod.Version)
	return fileURL(dir), nil
}

// prune removes the databases and indexdb binaries of other vulndb versions.
func (t tools) prune(dbs, keep string) {
	olds, _ := filepath.Glob(filepath.Join(dbs, "v*"))
	bins, _ := filepath.Glob(filepath.Join(t.cache, "bin", "indexdb@*"))
	for _, p := range append(olds, bins...) {
		if !strings.HasSuffix(p, keep) {
			_ = os.RemoveAll(p)
		}
	}
}

func fileURL(dir string) string { return "file://" + filepath.ToSlash(dir) }
