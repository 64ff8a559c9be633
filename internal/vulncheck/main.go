// Command vulncheck runs govulncheck (golang.org/x/vuln) over the
// repository's Go modules and fails when our code reaches a known
// vulnerability: `make vuln` locally, the vuln job of ci.yml on GitHub.
//
//	go run ./internal/vulncheck --govulncheck v1.9.0 . policy backend
//	go run ./internal/vulncheck --govulncheck v1.9.0 --db https://vuln.go.dev . policy backend
//
// With --db local (the default) the database is built from the Go
// vulnerability database's source, the module golang.org/x/vulndb served by
// the Go module proxy (its OSV files, turned into govulncheck's v1 layout by
// golang.org/x/vulndb/cmd/indexdb), so machines that reach only the proxy
// scan for real. When the proxy cannot be reached either, it prints SKIP with
// the reason and exits 0, unless CI is set: then it fails.
//
// Each module is scanned with the toolchain its go.mod names
// (GOTOOLCHAIN=auto unless the environment sets GOTOOLCHAIN), the one CI
// builds with: standard-library vulnerabilities are judged against it.
//
// Exit status: 0 nothing reachable (or skipped), 3 a reachable
// vulnerability, 1 error. The findings are printed, and appended as
// Markdown to --summary (default $GITHUB_STEP_SUMMARY).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
)

// Exit codes, govulncheck's where it has one.
const (
	exitOK        = 0
	exitError     = 1
	exitUsage     = 2
	exitVulnFound = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, execRunner{}, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type options struct {
	db, vulndb, govulncheck, cache, summary string
	modules                                 []string
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("vulncheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.db, "db", "local", `vulnerability database: "local" (built from golang.org/x/vulndb through the Go module proxy) or a URL such as https://vuln.go.dev`)
	fs.StringVar(&o.vulndb, "vulndb", "latest", "`version` of golang.org/x/vulndb a local database is built from")
	fs.StringVar(&o.govulncheck, "govulncheck", "", "`version` of golang.org/x/vuln whose govulncheck runs (required), e.g. v1.9.0")
	fs.StringVar(&o.cache, "cache", ".cache/vuln", "`dir` keeping the tools and the local database between runs")
	fs.StringVar(&o.summary, "summary", getenv("GITHUB_STEP_SUMMARY"), "append the Markdown report to this `file` (default $GITHUB_STEP_SUMMARY)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.modules = fs.Args()
	if len(o.modules) == 0 {
		o.modules = []string{"."}
	}
	if o.govulncheck == "" {
		return o, errors.New("--govulncheck VERSION is required (the Makefile's GOVULNCHECK_VERSION)")
	}
	if o.db != "local" && !strings.Contains(o.db, "://") {
		return o, fmt.Errorf("--db %q: want local or a URL (https://..., file:///...)", o.db)
	}
	abs, err := filepath.Abs(o.cache)
	if err != nil {
		return o, err
	}
	o.cache = abs
	return o, nil
}

// strict reports whether a missing database fails the run: under CI.
func strict(getenv func(string) string) bool {
	ci := getenv("CI")
	return ci != "" && ci != "false" && ci != "0"
}

func run(ctx context.Context, args []string, getenv func(string) string, r runner, stdout, stderr io.Writer) int {
	o, err := parse(args, getenv, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "vulncheck:", err)
		return exitUsage
	}
	t := tools{run: r, cache: o.cache, log: stderr}
	scans, err := scanAll(ctx, t, o, getenv)
	if errors.Is(err, errUnavailable) && !strict(getenv) {
		fmt.Fprintf(stdout, "SKIP vuln: no vulnerability database: %v\n", err)
		fmt.Fprintln(stdout, "SKIP vuln: nothing was scanned; run it where the Go module proxy (or https://vuln.go.dev) is reachable")
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "vulncheck:", err)
		return exitError
	}
	writeText(stdout, scans)
	if o.summary != "" {
		if err := appendSummary(o.summary, scans); err != nil {
			fmt.Fprintln(stderr, "vulncheck:", err)
			return exitError
		}
	}
	for _, s := range scans {
		if len(s.Called()) > 0 {
			fmt.Fprintln(stdout, "vulncheck: FAIL: our code reaches a known vulnerability; upgrade the module or the Go toolchain named above (docs/DELIVERY.md, \"Security findings\")")
			return exitVulnFound
		}
	}
	return exitOK
}

// scanAll prepares govulncheck and the database, then scans each module.
func scanAll(ctx context.Context, t tools, o options, getenv func(string) string) ([]Scan, error) {
	if err := os.MkdirAll(t.cache, 0o755); err != nil {
		return nil, fmt.Errorf("cache %s: %w", t.cache, err)
	}
	bin, err := t.binary(ctx, vulnModule+"/cmd/govulncheck", o.govulncheck)
	if err != nil {
		return nil, err
	}
	db := o.db
	if db == "local" {
		if db, err = t.localDB(ctx, o.vulndb); err != nil {
			return nil, err
		}
	}
	env := []string{"GOTOOLCHAIN=" + cmp.Or(getenv("GOTOOLCHAIN"), "auto")}
	var scans []Scan
	for _, m := range o.modules {
		fmt.Fprintf(t.log, "vulncheck: govulncheck %s ./... in %s\n", o.govulncheck, m)
		out, err := t.run.Output(ctx, m, env, bin, "-format", "json", "-db", db, "./...")
		if err != nil {
			return nil, fmt.Errorf("govulncheck in %s: %w", m, err)
		}
		s, err := parseScan(m, strings.NewReader(string(out)))
		if err != nil {
			return nil, err
		}
		s.DB = db
		scans = append(scans, s)
	}
	return scans, nil
}

func appendSummary(path string, scans []Scan) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	writeMarkdown(f, scans)
	if err := f.Close(); err != nil {
		return fmt.Errorf("summary %s: %w", path, err)
	}
	return nil
}
