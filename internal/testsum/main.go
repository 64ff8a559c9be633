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
	failed := false
	output := map[string][]string{} // package/test -> its output lines
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Fprintf(w, "%s\n", line) // build errors and the like arrive as plain text
			continue
		}
		key := e.Package + "\t" + e.Test
		switch e.Action {
		case "build-output": // compiler errors (go 1.24+)
			fmt.Fprint(w, e.Output)
		case "build-fail":
			failed = true
		case "output":
			if e.Test == "" {
				// Package lines: "ok  pkg 0.1s", "FAIL pkg", build output.
				if t := strings.TrimSpace(e.Output); t != "PASS" && !strings.HasPrefix(t, "=== ") && !strings.HasPrefix(t, "--- PASS") {
					fmt.Fprint(w, e.Output)
				}
				continue
			}
			output[key] = append(output[key], e.Output)
		case "fail":
			failed = true
			if e.Test != "" {
				for _, l := range output[key] {
					if !strings.HasPrefix(strings.TrimSpace(l), "=== ") {
						fmt.Fprint(w, l)
					}
				}
			}
			delete(output, key)
		case "skip":
			if e.Test != "" {
				fmt.Fprintf(skips, "%s\t%s\t%s\n", e.Package, e.Test, reason(output[key]))
			}
			delete(output, key)
		case "pass":
			delete(output, key)
		}
	}
	return failed, sc.Err()
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
	type group struct {
		tests []string
	}
	groups := map[string]*group{}
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
		g := groups[r]
		if g == nil {
			g = &group{}
			groups[r] = g
		}
		g.tests = append(g.tests, parts[0][strings.LastIndex(parts[0], "/")+1:]+"."+parts[1])
	}
	if len(groups) == 0 {
		fmt.Fprintln(w, "test summary: no test was skipped")
		return
	}
	reasons := make([]string, 0, len(groups))
	total := 0
	for r, g := range groups {
		reasons = append(reasons, r)
		total += len(g.tests)
	}
	sort.Strings(reasons)
	fmt.Fprintf(w, "test summary: %d test(s) SKIPPED (set CI=1 to make a missing tool fail instead; see README prerequisites):\n", total)
	for _, r := range reasons {
		tests := groups[r].tests
		sort.Strings(tests)
		shown := tests
		if len(shown) > 4 {
			shown = append(shown[:4:4], fmt.Sprintf("and %d more", len(tests)-4))
		}
		fmt.Fprintf(w, "  %3d  %s\n       %s\n", len(tests), r, strings.Join(shown, ", "))
	}
}
