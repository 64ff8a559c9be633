package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ErrDeclined is Confirm's answer to anything but yes.
var ErrDeclined = errors.New("declined")

// Confirm asks the operator to approve plan before a production change made
// from a terminal. It returns nil at once when yes (--yes) is set or when
// the command does not run on a terminal (CI, a pipe: nobody could answer);
// otherwise it prints plan and "Proceed? [y/N] " to out and reads one line
// from in: "y" or "yes" (any case) approves, anything else, an empty line
// or the end of the input declines with an error wrapping ErrDeclined.
func Confirm(in io.Reader, out io.Writer, terminal, yes bool, plan string) error {
	if yes || !terminal {
		return nil
	}
	if _, err := fmt.Fprintf(out, "%s\nProceed? [y/N] ", strings.TrimRight(plan, "\n")); err != nil {
		return fmt.Errorf("confirm: %w", err)
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("confirm: read the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return fmt.Errorf("%w: nothing changed (answer y to proceed, or pass --yes)", ErrDeclined)
}

// IsTerminal reports whether f is a character device (a terminal), the
// test Confirm's terminal argument takes: no dependency beyond os.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
