package promote

import (
	"strings"
	"testing"
)

func TestPinned(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		ref string
		ok  bool
	}{
		{"ghcr.io/helloagents/backend@sha256:" + hex, true},
		{"ghcr.io/helloagents/backend:v1.2@sha256:" + hex, true},
		{"backend@sha256:" + hex, true},
		{"ghcr.io/helloagents/backend:latest", false},
		{"ghcr.io/helloagents/backend", false},
		{"ghcr.io/helloagents/backend@sha256:abc", false},
		{"ghcr.io/helloagents/backend@sha256:" + strings.ToUpper(hex), false},
		{"", false},
		{"ghcr.io/Helloagents/backend@sha256:" + hex, false},
	}
	for _, tt := range tests {
		if err := pinned(tt.ref); (err == nil) != tt.ok {
			t.Errorf("pinned(%q) = %v, want ok=%v", tt.ref, err, tt.ok)
		}
	}
}

func TestReportText(t *testing.T) {
	r := &Report{From: "staging", To: "production", Outcome: RolledBack, Reason: "gate of region b failed",
		Regions: []RegionReport{{Region: "a", OldImage: "r@sha256:" + strings.Repeat("1", 64), NewImage: "r@sha256:" + strings.Repeat("2", 64),
			Update: ResultSucceeded, Gate: ResultPassed, RolledBack: true}}}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"REGION", "r@sha256:111111111111 ", "succeeded", "yes", "rolled back, exit code 3", "reason: gate of region b failed"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"outcome": "rolled back"`, `"exitCode": 3`, `"rolledBack": true`, `"oldImage": "r@sha256:1111`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("JSON report lacks %q:\n%s", want, b.String())
		}
	}
}
