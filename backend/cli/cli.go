// Package cli is what every command of the platform shares about its
// command line: the exit statuses, one spelling of flags ("--name VALUE"),
// one meaning of --help, and the confirmation asked before a production
// change. It lives in the backend module so that the backend's commands
// (pitrjob, pgrecover, pgbackup) and the root module's operator commands
// (infra/*) use the same code.
package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit statuses of a command line's outcome.
const (
	ExitOK    = 0 // --help
	ExitUsage = 2 // a usage error
)

// NewFlagSet is a command's flag set: its errors go to stderr, and --help
// prints usage, then the flags as PrintDefaults spells them.
func NewFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		PrintDefaults(fs)
	}
	return fs
}

// Parse parses args into fs. done is true when the run ends here with
// code: ExitOK after --help, ExitUsage after a usage error fs has already
// reported on its output.
func Parse(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK, true
		}
		return ExitUsage, true
	}
	return ExitOK, false
}

// PrintDefaults writes fs's flags as the synopses and the docs spell them,
// "--name VALUE": Go's flag package accepts -name and --name alike but
// prints -name, and a help page that shows one spelling above and another
// below reads as two different syntaxes.
func PrintDefaults(fs *flag.FlagSet) {
	var buf bytes.Buffer
	out := fs.Output()
	fs.SetOutput(&buf)
	fs.PrintDefaults()
	fs.SetOutput(out)
	lines := strings.SplitAfter(buf.String(), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "  -") {
			lines[i] = "  --" + l[len("  -"):]
		}
	}
	_, _ = out.Write([]byte(strings.Join(lines, "")))
}
