package main

import (
	"fmt"
	"io"
	"time"

	"github.com/helloagents/infra/verify"
)

// ANSI styles, used only when stdout is a terminal.
const (
	green = "\033[32m"
	red   = "\033[31m"
	grey  = "\033[90m"
	bold  = "\033[1m"
	reset = "\033[0m"
)

// printText writes the human report: one line per check, then the verdict.
func printText(w io.Writer, rep verify.Report, colour bool) {
	paint := func(style, s string) string {
		if !colour {
			return s
		}
		return style + s + reset
	}
	fmt.Fprintf(w, "verify %s", rep.API)
	if rep.Frontend != "" {
		fmt.Fprintf(w, " (frontend %s)", rep.Frontend)
	}
	fmt.Fprintln(w)
	group := verify.Group("")
	for _, c := range rep.Checks {
		if c.Group != group {
			group = c.Group
			fmt.Fprintf(w, "%s\n", paint(bold, string(group)+":"))
		}
		label := map[verify.Status]string{
			verify.Pass: paint(green, "PASS"),
			verify.Fail: paint(red, "FAIL"),
			verify.Skip: paint(grey, "SKIP"),
		}[c.Status]
		extra := ""
		if c.Attempts > 1 && c.Name != "response time P95" {
			extra = fmt.Sprintf(" [%d attempts]", c.Attempts)
		}
		fmt.Fprintf(w, "  %s  %-46s %s%s\n", label, c.Name, c.Detail, paint(grey, extra))
	}
	fmt.Fprintf(w, "smoke pass rate %.0f%% (minimum %.0f%%), %s\n",
		100*rep.SmokePassRate(), 100*rep.MinPassRate, rep.Duration.Round(time.Millisecond))
	if rep.Passed() {
		fmt.Fprintln(w, paint(green+bold, "PASSED"))
	} else {
		fmt.Fprintf(w, "%s: %d check(s) failed\n", paint(red+bold, "FAILED"), len(rep.Failed()))
	}
}
