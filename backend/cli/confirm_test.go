package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfirm(t *testing.T) {
	const plan = "fail over production to us-east"
	for _, tc := range []struct {
		name          string
		input         string
		terminal, yes bool
		wantErr       bool
		wantPrompt    bool
	}{
		{"--yes skips the question", "", true, true, false, false},
		{"no terminal: nobody to ask", "", false, false, false, false},
		{"y", "y\n", true, false, false, true},
		{"yes", "yes\n", true, false, false, true},
		{"YES with spaces", "  YES  \n", true, false, false, true},
		{"yes without newline", "yes", true, false, false, true},
		{"n", "n\n", true, false, true, true},
		{"empty line", "\n", true, false, true, true},
		{"end of input", "", true, false, true, true},
		{"something else", "sure\n", true, false, true, true},
		{"only the first line counts", "no\nyes\n", true, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			err := Confirm(strings.NewReader(tc.input), &out, tc.terminal, tc.yes, plan+"\n")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrDeclined) {
				t.Errorf("err %v does not wrap ErrDeclined", err)
			}
			if got := out.String(); tc.wantPrompt != (got == plan+"\nProceed? [y/N] ") {
				t.Errorf("output %q, want prompt %v", got, tc.wantPrompt)
			}
		})
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "plain"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if IsTerminal(r) {
		t.Error("a pipe is a terminal")
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	// /dev/null is a character device: IsTerminal's test (the same one
	// golang.org/x/term would refine with an ioctl) accepts it.
	if !IsTerminal(null) {
		t.Error("a character device is not reported as one")
	}
}
