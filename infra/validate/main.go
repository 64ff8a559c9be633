// Command validate parses and validates a stack file the way `pulumi up`
// does (config.Parse: defaults of the environment, every key checked, every
// error at once with the same messages), in a second and without the Pulumi
// CLI, a state backend or the provider SDKs: it links only stacks/config.
//
//	go run ./infra/validate --stack staging [--file Pulumi.staging.yaml]
//
// Encrypted values ({secure: ...}) are set but only Pulumi can decrypt
// them: they count as set, and their format (an https Sentry DSN or
// webhook) is checked by `pulumi up` alone.
//
// Exit status: 0 valid (also --help), 1 invalid (every problem printed), 2
// usage error (no --stack, no such file).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/helloagents/infra/backend/cli"
	"github.com/helloagents/infra/stacks/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses beyond cli's.
const exitInvalid = 1

// encryptedStandIn takes the place of an encrypted value: any validation
// that reads a secret's value wants an https URL at most, and no message
// quotes a secret.
const encryptedStandIn = "https://encrypted.invalid/"

// usage heads --help, above the flags.
const usage = `Usage: go run ./infra/validate --stack NAME [--file PATH]

Parses and validates the stack file of NAME (Pulumi.NAME.yaml, committed or
not) with the program's own rules: the environment's defaults, unknown keys
and fields, every value's range, every error at once, each naming the key,
the value and what is allowed, exactly as ` + "`pulumi up`" + ` reports them.
Encrypted values count as set; ` + "`pulumi up`" + ` alone can check their format.

Exit status: 0 valid (also --help), 1 invalid, 2 usage error.

Flags:
`

func run(args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("validate", usage, stderr)
	stack := fs.String("stack", "", "the `stack` whose configuration to check (dev, staging, production, org/production...); it names the environment as in `pulumi up`")
	file := fs.String("file", "", "the stack `file` (default: Pulumi.<stack>.yaml, with any org/ prefix dropped)")
	if code, done := cli.Parse(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "validate: unexpected arguments %q\n", fs.Args())
		return cli.ExitUsage
	}
	if *stack == "" {
		fmt.Fprintln(stderr, "validate: --stack is required (dev, staging, production, or the name of your stack)")
		return cli.ExitUsage
	}
	path := *file
	if path == "" {
		path = stackFile(*stack)
	}
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(stderr, "validate: no stack file for stack %s: %v\n", *stack, err)
		return cli.ExitUsage
	}
	raw, encrypted, err := config.ReadStackFileEncrypted(path)
	if err != nil {
		fmt.Fprintf(stdout, "%s: %v\n", path, err)
		return exitInvalid
	}
	for _, k := range encrypted {
		raw[k] = encryptedStandIn
	}
	cfg, err := config.Parse(*stack, raw)
	if err != nil {
		problems := split(err)
		fmt.Fprintf(stdout, "%s: %d problem(s) `pulumi up --stack %s` would report:\n", path, len(problems), *stack)
		for _, p := range problems {
			fmt.Fprintln(stdout, p)
		}
		return exitInvalid
	}
	fmt.Fprintf(stdout, "%s: valid for stack %s (environment %s, %d region(s))\n", path, *stack, cfg.Environment, len(cfg.Regions))
	if len(encrypted) > 0 {
		fmt.Fprintf(stdout, "encrypted, checked as set only: %s\n", strings.Join(encrypted, ", "))
	}
	return cli.ExitOK
}

// stackFile is the file Pulumi reads a stack's configuration from: the
// last segment of the name, so org/production reads Pulumi.production.yaml.
func stackFile(stack string) string {
	name := stack
	if i := strings.LastIndex(stack, "/"); i >= 0 {
		name = stack[i+1:]
	}
	return "Pulumi." + name + ".yaml"
}

// split returns the messages Parse joined, one per problem.
func split(err error) []string {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range joined.Unwrap() {
		out = append(out, e.Error())
	}
	return out
}
