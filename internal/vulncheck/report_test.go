package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fixtures are govulncheck v1.9.0's own JSON output over the backend
// module, trimmed to a few vulnerabilities: called.json scanned with Go
// 1.26.8 (standard-library vulnerabilities its code calls), clean.json with
// Go 1.26.11 (only modules it requires but does not call).
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseScan(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		wantVulns   int
		wantCalled  []string
		wantExample string
		wantErr     string
	}{
		{name: "calls a vulnerable symbol", in: fixture(t, "called.json"), wantVulns: 3, wantCalled: []string{"GO-2026-6809"},
			wantExample: "bare.main at bench/bare/main.go:33 calls x509.Certificate.Verify"},
		{name: "requires but does not call", in: fixture(t, "clean.json"), wantVulns: 2},
		{name: "nothing found", in: `{"config":{"scan_level":"symbol","go_version":"go1.26.11"}}`},
		{name: "package scan cannot tell calls", in: `{"config":{"scan_level":"package"}}`, wantErr: `level "package"`},
		{name: "truncated output", in: `{"config":{"scan_level":"symbol"}}{"finding":`, wantErr: "read govulncheck output"},
		{name: "finding without trace", in: `{"finding":{"osv":"GO-1"}}`, wantErr: "without a vulnerability or trace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseScan("backend", strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Vulns) != tt.wantVulns {
				t.Errorf("%d vulnerabilities, want %d: %+v", len(s.Vulns), tt.wantVulns, s.Vulns)
			}
			var called []string
			for _, v := range s.Called() {
				called = append(called, v.ID)
				if v.Example != tt.wantExample {
					t.Errorf("example %q, want %q", v.Example, tt.wantExample)
				}
			}
			if strings.Join(called, ",") != strings.Join(tt.wantCalled, ",") {
				t.Errorf("called %v, want %v", called, tt.wantCalled)
			}
		})
	}
}

func TestReportsNameTheFix(t *testing.T) {
	s, err := parseScan("backend", strings.NewReader(fixture(t, "called.json")))
	if err != nil {
		t.Fatal(err)
	}
	var text, md bytes.Buffer
	writeText(&text, []Scan{s})
	writeMarkdown(&md, []Scan{s})
	for name, out := range map[string]string{"text": text.String(), "markdown": md.String()} {
		for _, want := range []string{"GO-2026-6809", "Go standard library v1.26.8", "fixed in Go 1.26.10", "bench/bare/main.go:33", "1 reachable"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s report lacks %q:\n%s", name, want, out)
			}
		}
		// Only what our code reaches is listed in detail.
		if strings.Contains(out, "GO-2026-5932") {
			t.Errorf("%s report lists a vulnerability our code does not call:\n%s", name, out)
		}
	}
}
