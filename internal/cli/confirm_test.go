package cli

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestConfirm(t *testing.T) {
	const plan = "eu-west: sha256:aaa -> sha256:bbb"
	tests := []struct {
		name      string
		input     string
		terminal  bool
		yes       bool
		wantErr   bool
		wantAsked bool
	}{
		{"yes flag skips the question", "n\n", true, true, false, false},
		{"no terminal skips the question", "n\n", false, false, false, false},
		{"y accepts", "y\n", true, false, false, true},
		{"YES accepts", "YES\n", true, false, false, true},
		{"yes without newline accepts", " yes ", true, false, false, true},
		{"n declines", "n\n", true, false, true, true},
		{"empty line declines", "\n", true, false, true, true},
		{"end of input declines", "", true, false, true, true},
		{"other word declines", "sure\n", true, false, true, true},
		{"only the first line counts", "no\ny\n", true, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Confirm(strings.NewReader(tt.input), &out, tt.terminal, tt.yes, plan)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Confirm() error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "declined") {
				t.Errorf("error %q does not say it was declined", err)
			}
			asked := strings.Contains(out.String(), "Proceed? [y/N] ")
			if asked != tt.wantAsked {
				t.Errorf("asked = %v, want %v; output %q", asked, tt.wantAsked, out.String())
			}
			if tt.wantAsked && !strings.HasPrefix(out.String(), plan+"\n") {
				t.Errorf("output %q does not start with the plan", out.String())
			}
		})
	}
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("broken") }

func TestConfirmReadError(t *testing.T) {
	err := Confirm(failReader{}, &bytes.Buffer{}, true, false, "plan")
	if err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("Confirm() error = %v, want the read error", err)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "notty")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is reported as a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if IsTerminal(r) {
		t.Error("a pipe is reported as a terminal")
	}
	if tty, err := os.Open("/dev/tty"); err == nil {
		defer tty.Close()
		if !IsTerminal(tty) {
			t.Error("/dev/tty is not reported as a terminal")
		}
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if IsTerminal(null) {
		t.Error("the null device is reported as a terminal: `promote </dev/null` would ask")
	}
}
