package cli

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

// The flags every command prints, in the spelling the synopses and docs use.
func TestPrintDefaults(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.String("api", "", "base `URL` of the API")
	fs.Bool("json", false, "print JSON")
	PrintDefaults(fs)
	got := out.String()
	for _, want := range []string{"  --api URL\n", "  --json\n", "base URL of the API"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "\n  -a") || strings.HasPrefix(got, "  -a") {
		t.Errorf("single-dash spelling printed:\n%s", got)
	}
	if fs.Output() != &out {
		t.Error("output not restored")
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		done    bool
		output  []string // substrings of what the flag set wrote
		verbose bool
	}{
		{"flags", []string{"--verbose"}, ExitOK, false, nil, true},
		{"help", []string{"--help"}, ExitOK, true, []string{"Usage: tool [flags]\n", "  --verbose"}, false},
		{"unknown flag", []string{"--nope"}, ExitUsage, true, []string{"flag provided but not defined: -nope", "Usage: tool"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			fs := NewFlagSet("tool", "Usage: tool [flags]\n", &out)
			verbose := fs.Bool("verbose", false, "say more")
			code, done := Parse(fs, tc.args)
			if code != tc.code || done != tc.done || *verbose != tc.verbose {
				t.Errorf("Parse(%q) = %d, %v (verbose %v); want %d, %v (verbose %v)", tc.args, code, done, *verbose, tc.code, tc.done, tc.verbose)
			}
			for _, want := range tc.output {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output %q lacks %q", out.String(), want)
				}
			}
			if tc.output == nil && out.Len() > 0 {
				t.Errorf("output %q, want none", out.String())
			}
		})
	}
}
