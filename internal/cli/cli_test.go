package cli

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

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
