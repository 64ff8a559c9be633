package server

import (
	"strings"
	"testing"
)

func TestImageFingerprint(t *testing.T) {
	for ref, want := range map[string]string{
		"ghcr.io/helloagents/backend@sha256:" + strings.Repeat("a", 64): "sha256:" + strings.Repeat("a", 64),
		"sha256:" + strings.Repeat("b", 64):                             "sha256:" + strings.Repeat("b", 64), // a local image ID
		"helloagents-backend:dev":                                       "helloagents-backend:dev",
	} {
		if got := ImageFingerprint(ref); got != want {
			t.Errorf("ImageFingerprint(%q) = %q, want %q", ref, got, want)
		}
	}
}
