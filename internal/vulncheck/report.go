package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// The parts of govulncheck's -format json stream (a sequence of JSON
// objects, golang.org/x/vuln/internal/govulncheck) that the report needs.
type message struct {
	Config  *scanConfig `json:"config"`
	OSV     *entry      `json:"osv"`
	Finding *finding    `json:"finding"`
}

type scanConfig struct {
	ScannerVersion string `json:"scanner_version"`
	DB             string `json:"db"`
	GoVersion      string `json:"go_version"`
	ScanLevel      string `json:"scan_level"`
}

// entry is an OSV record of the database.
type entry struct {
	ID      string   `json:"id"`
	Summary string   `json:"summary"`
	Aliases []string `json:"aliases"`
}

// finding says a vulnerability applies at some level: the module is
// required (trace[0] names only a module), a vulnerable package is imported
// (trace[0] names a package) or a vulnerable symbol is called (trace[0]
// names a function). trace[0] is the vulnerable end, the last frame the
// caller in our code.
type finding struct {
	OSV          string   `json:"osv"`
	FixedVersion string   `json:"fixed_version"`
	Trace        []*frame `json:"trace"`
}

type frame struct {
	Module   string    `json:"module"`
	Version  string    `json:"version"`
	Package  string    `json:"package"`
	Function string    `json:"function"`
	Receiver string    `json:"receiver"`
	Position *position `json:"position"`
}

type position struct {
	Filename string `json:"filename"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
}

// Vuln is one vulnerability the scan found, with what it touches.
type Vuln struct {
	ID, Summary string
	Aliases     []string
	// Module and Version are where the vulnerable code is ("stdlib" and
	// the Go version for the standard library); Fixed the first version
	// without it ("" when none is fixed yet).
	Module, Version, Fixed string
	// Called reports that our code calls a vulnerable symbol; Example is
	// one such call (caller position and the vulnerable function).
	Called  bool
	Example string
}

// Scan is the result of govulncheck over one module.
type Scan struct {
	Module    string
	GoVersion string
	DB        string
	Vulns     []Vuln
}

// Called returns the vulnerabilities our code reaches: the ones that fail
// the build.
func (s Scan) Called() []Vuln {
	var out []Vuln
	for _, v := range s.Vulns {
		if v.Called {
			out = append(out, v)
		}
	}
	return out
}

// parseScan reads govulncheck's JSON stream for module.
func parseScan(module string, r io.Reader) (Scan, error) {
	s := Scan{Module: module}
	dec := json.NewDecoder(r)
	entries := map[string]entry{}
	byID := map[string]*Vuln{}
	var order []string
	for {
		var m message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s, fmt.Errorf("read govulncheck output of %s: %w", module, err)
		}
		switch {
		case m.Config != nil:
			if m.Config.ScanLevel != "" && m.Config.ScanLevel != "symbol" {
				return s, fmt.Errorf("govulncheck scanned %s at level %q; only a symbol scan tells what our code calls", module, m.Config.ScanLevel)
			}
			s.GoVersion, s.DB = m.Config.GoVersion, m.Config.DB
		case m.OSV != nil:
			entries[m.OSV.ID] = *m.OSV
		case m.Finding != nil:
			f := m.Finding
			if f.OSV == "" || len(f.Trace) == 0 {
				return s, fmt.Errorf("govulncheck output of %s: a finding without a vulnerability or trace", module)
			}
			v := byID[f.OSV]
			if v == nil {
				v = &Vuln{ID: f.OSV, Module: f.Trace[0].Module, Version: f.Trace[0].Version, Fixed: f.FixedVersion}
				byID[f.OSV] = v
				order = append(order, f.OSV)
			}
			if f.Trace[0].Function != "" && !v.Called {
				v.Called, v.Example = true, example(f.Trace)
			}
		}
	}
	for _, id := range order {
		v := byID[id]
		if e, ok := entries[id]; ok {
			v.Summary, v.Aliases = e.Summary, e.Aliases
		}
		s.Vulns = append(s.Vulns, *v)
	}
	slices.SortStableFunc(s.Vulns, func(a, b Vuln) int { return strings.Compare(a.ID, b.ID) })
	return s, nil
}

// example renders a call trace as "caller (file:line) -> ... -> symbol".
func example(trace []*frame) string {
	vulnerable := symbol(trace[0])
	caller := trace[len(trace)-1]
	where := ""
	if p := caller.Position; p != nil && p.Filename != "" {
		where = fmt.Sprintf(" at %s:%d", p.Filename, p.Line)
	}
	if len(trace) == 1 {
		return vulnerable + where
	}
	return fmt.Sprintf("%s%s calls %s", symbol(caller), where, vulnerable)
}

func symbol(f *frame) string {
	name := f.Function
	if f.Receiver != "" {
		name = strings.TrimPrefix(f.Receiver, "*") + "." + name
	}
	if f.Package != "" {
		name = f.Package[strings.LastIndex(f.Package, "/")+1:] + "." + name
	}
	return name
}

// where names the vulnerable module at its version.
func (v Vuln) where() string {
	if v.Module == "stdlib" || v.Module == "toolchain" {
		return "Go standard library " + v.Version
	}
	return v.Module + "@" + v.Version
}

func (v Vuln) fix() string {
	if v.Fixed == "" {
		return "no fixed version yet"
	}
	if v.Module == "stdlib" || v.Module == "toolchain" {
		return "fixed in Go " + strings.TrimPrefix(v.Fixed, "v")
	}
	return "fixed in " + v.Fixed
}

// writeText prints what a terminal reader needs: each module's verdict and
// every vulnerability our code reaches.
func writeText(w io.Writer, scans []Scan) {
	for _, s := range scans {
		called := s.Called()
		fmt.Fprintf(w, "%s (%s): ", s.Module, s.GoVersion)
		if len(called) == 0 {
			fmt.Fprintf(w, "no reachable vulnerability (%d in required code that ours does not call)\n", len(s.Vulns))
			continue
		}
		fmt.Fprintf(w, "%d reachable vulnerabilities\n", len(called))
		for _, v := range called {
			fmt.Fprintf(w, "  %s %s\n      in %s, %s\n      %s\n      https://pkg.go.dev/vuln/%s\n",
				v.ID, v.Summary, v.where(), v.fix(), v.Example, v.ID)
		}
	}
}

// writeMarkdown renders the job summary: a table per module of what our code
// reaches, and the count of what it does not.
func writeMarkdown(w io.Writer, scans []Scan) {
	fmt.Fprintln(w, "### govulncheck")
	fmt.Fprintln(w)
	for _, s := range scans {
		called := s.Called()
		if len(called) == 0 {
			fmt.Fprintf(w, "- `%s` (%s): no reachable vulnerability; %d in required modules or packages that our code does not call\n",
				s.Module, s.GoVersion, len(s.Vulns))
		}
	}
	for _, s := range scans {
		called := s.Called()
		if len(called) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n**`%s` (%s): %d reachable vulnerabilities**\n\n", s.Module, s.GoVersion, len(called))
		fmt.Fprintln(w, "| id | summary | found in | fix | example call |")
		fmt.Fprintln(w, "|---|---|---|---|---|")
		for _, v := range called {
			fmt.Fprintf(w, "| [%s](https://pkg.go.dev/vuln/%s) | %s | %s | %s | `%s` |\n",
				v.ID, v.ID, cell(v.Summary), cell(v.where()), cell(v.fix()), strings.ReplaceAll(v.Example, "|", `\|`))
		}
	}
	if len(scans) > 0 {
		fmt.Fprintf(w, "\ndatabase: `%s`\n", scans[0].DB)
	}
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }
