// Package cli holds what the operator commands (infra/verify, promote,
// failover, status, doctor) share about their command lines.
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Exit statuses every operator command gives its command line's outcome.
const (
	ExitOK    = 0 // --help
	ExitUsage = 2 // a usage error
)

// NewFlagSet is an operator command's flag set: its errors go to stderr,
// and --help prints usage, then the flags as PrintDefaults spells them.
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

// StackOutputs reads a stack's outputs with the Pulumi CLI on PATH, from the
// project in the current directory and the backend `pulumi login` (or
// PULUMI_BACKEND_URL) selects.
func StackOutputs(ctx context.Context, stack string) (map[string]any, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "pulumi", "stack", "output", "--json", "--stack", stack)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pulumi stack output --json --stack %s: %w: %s", stack, err, strings.TrimSpace(stderr.String()))
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("pulumi stack output --json --stack %s: not a JSON object: %w", stack, err)
	}
	return m, nil
}

// StackConfig reads a stack's config with the Pulumi CLI on PATH (project
// in the current directory): every value by full key, objects as JSON
// text. Secrets stay masked ("[secret]"): callers only read plain values.
func StackConfig(ctx context.Context, stack string) (map[string]string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "pulumi", "config", "--json", "--stack", stack)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pulumi config --json --stack %s: %w: %s", stack, err, strings.TrimSpace(stderr.String()))
	}
	var m map[string]struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("pulumi config --json --stack %s: not a JSON object: %w", stack, err)
	}
	cfg := make(map[string]string, len(m))
	for k, v := range m {
		cfg[k] = v.Value
	}
	return cfg, nil
}
