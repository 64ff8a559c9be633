// Package cli holds what the operator commands (infra/verify,
// infra/promote) share about their command lines.
package cli

import (
	"bytes"
	"flag"
	"strings"
)

// PrintDefaults writes fs's flags the way the help texts and the docs spell
// them, "--name VALUE": Go's flag package accepts -name and --name alike but
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
