// Command testsum reads `go test -json` on stdin and prints what plain
// `go test` prints (one "ok"/"FAIL" line per package, the output of failed
// tests), and records every skipped test with its reason, so `make test`
// can end with a summary of what did not run and why. Without CI set, the
// suites that need PostgreSQL, Docker or bin/pulumi skip; that must show.
//
//	go test -json ./... | testsum --skips .test-skips     (exit 1 if a test failed)
//	testsum --report .test-skips                          (print the summary)
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

func main() {
	skips := flag.String("skips", "", "append skipped tests to this `file` (one tab-separated line each)")
	report := flag.String("report", "", "print the summary of the skips recorded in this `file` and exit")
	flag.Parse()
	if *report != "" {
		data, err := os.ReadFile(*report)
		if err != nil && !os.IsNotExist(err) {
			fmt.Fprintln(os.Stderr, "testsum:", err)
			os.Exit(2)
		}
		printReport(os.Stdout, string(data))
		return
	}
	out := io.Discard
	if *skips != "" {
		f, err := os.OpenFile(*skips, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsum:", err)
			os.Exit(2)
		}
		defer f.Close()
		out = f
	}
	failed, err := summarize(os.Stdin, os.Stdout, out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// summarize copies the plain go test output of the JSON stream in to w and
// writes one "package\ttest\treason" line per skipped test to skips. It
// reports whether anything failed.
func summarize(in io.Reader, w, skips io.Writer) (bool, error) {
	s := summary{w: w, skips: skips, output: map[string][]string{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Fprintf(w, "%s\n", line) // build errors and the like arrive as plain text
			continue
		}
		s.handle(e)
	}
	return s.failed, sc.Err()
}

// summary is what summarize keeps between events: a test's output is held
// until the test ends, and printed only if it failed.
type summary struct {
	w, skips io.Writer
	failed   bool
	output   map[string][]string // package/test -> its output lines
}

// handle acts on one event of the stream.
func (s *summary) handle(e event) {
	key := e.Package + "\t" + e.Test
	switch e.Action {
	case "build-output": // compiler errors (go 1.24+)
		fmt.Fprint(s.w, e.Output)
	case "build-fail":
		s.failed = true
	case "output":
		s.record(e, key)
	case "fail":
		s.failed = true
		if e.Test != "" {
			s.printOutput(key)
		}
		delete(s.output, key)
	case "skip":
		if e.Test != "" {
			fmt.Fprintf(s.skips, "%s\t%s\t%s\n", e.Package, e.Test, reason(s.output[key]))
		}
		delete(s.output, key)
	case "pass":
		delete(s.output, key)
	}
}

// record prints a package's own line as go test does, and holds a test's
// output line until the test ends.
func (s *summary) record(e event, key string) {
	if e.Test == "" {
		// Package lines: "ok  pkg 0.1s", "FAIL pkg", build output.
		if t := strings.TrimSpace(e.Output); t != "PASS" && !strings.HasPrefix(t, "=== ") && !strings.HasPrefix(t, "--- PASS") {
			fmt.Fprint(s.w, e.Output)
		}
		return
	}
	s.output[key] = append(s.output[key], e.Output)
}

// printOutput prints a failed test's output without go test's "=== " lines.
func (s *summary) printOutput(key string) {
	for _, l := range s.output[key] {
		if !strings.HasPrefix(strings.TrimSpace(l), "=== ") {
			fmt.Fprint(s.w, l)
		}
	}
}

// reason is the skip message: the test's last output line that is not go
// test's own bookkeeping.
func reason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		return l
	}
	return "(no reason given)"
}

// printReport groups the recorded skips by reason, so "needs PostgreSQL"
// appears once with its count, not once per test.
func printReport(w io.Writer, data string) {
	groups := skipsByReason(data)
	if len(groups) == 0 {
		fmt.Fprintln(w, "test summary: no test was skipped")
		return
	}
	reasons := make([]string, 0, len(groups))
	total := 0
	for r, tests := range groups {
		reasons = append(reasons, r)
		total += len(tests)
	}
	sort.Strings(reasons)
	fmt.Fprintf(w, "test summary: %d test(s) SKIPPED (set CI=1 to make a missing tool fail instead; see README prerequisites):\n", total)
	for _, r := range reasons {
		tests := groups[r]
		sort.Strings(tests)
		shown := tests
		if len(shown) > 4 {
			shown = append(shown[:4:4], fmt.Sprintf("and %d more", len(tests)-4))
		}
		fmt.Fprintf(w, "  %3d  %s\n       %s\n", len(tests), r, strings.Join(shown, ", "))
	}
}

// skipsByReason reads the recorded skip lines into the skipped top-level
// tests (pkg.Test) by reason; subtests follow their parent.
func skipsByReason(data string) map[string][]string {
	groups := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(data), "\n") {
		parts := strings.SplitN(l, "\t", 3)
		if len(parts) != 3 || strings.Contains(parts[1], "/") {
			continue // subtests follow their parent
		}
		// Drop the file:line prefix: the same reason from two files is one reason.
		r := parts[2]
		if _, after, ok := strings.Cut(r, ": "); ok && strings.Contains(r[:len(r)-len(after)], ".go:") {
			r = after
		}
		groups[r] = append(groups[r], parts[0][strings.LastIndex(parts[0], "/")+1:]+"."+parts[1])
	}
	return groups
}
