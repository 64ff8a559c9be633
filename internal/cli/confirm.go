package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Confirm asks before a production change made from a laptop. It returns
// nil without asking when yes is set (--yes) or when the input is not a
// terminal (CI, pipes: nobody could answer); otherwise it prints plan and
// "Proceed? [y/N] ", reads one line and returns nil only for y or yes in
// any case. Anything else, including end of input, declines.
func Confirm(in io.Reader, out io.Writer, terminal, yes bool, plan string) error {
	if yes || !terminal {
		return nil
	}
	if plan != "" && !strings.HasSuffix(plan, "\n") {
		plan += "\n"
	}
	if _, err := fmt.Fprint(out, plan, "Proceed? [y/N] "); err != nil {
		return fmt.Errorf("confirmation: write the plan: %w", err)
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("confirmation: read the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return fmt.Errorf("confirmation declined (answer %q; allowed: y or yes to proceed, or --yes to skip the question): nothing changed", strings.TrimSpace(line))
}

// IsTerminal reports whether f is a character device (a TTY), the only
// input a person can answer a confirmation on. The null device is a
// character device too, but nobody answers on it (`cmd </dev/null`, some
// CI runners): it is not a terminal.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(st, null)
}
