package rules

import (
	"os"
	"path/filepath"
	"testing"
)

// TestBackendDockerfilesNonRoot runs the Dockerfile rule's own logic over
// every Dockerfile the backend module ships, with their default build args:
// each must end as a non-root USER, as the policy pack will demand when the
// program builds them.
func TestBackendDockerfilesNonRoot(t *testing.T) {
	paths, err := filepath.Glob("../../backend/*Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 3 {
		t.Fatalf("found %v, want backend/Dockerfile, pgbackup.Dockerfile and proxy.Dockerfile", paths)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			u, err := EffectiveUser(b, nil, "")
			if err != nil {
				t.Fatal(err)
			}
			if !u.Set || IsRootUser(u.User) {
				t.Errorf("stage %s ends as USER %q (set: %v), want a non-root user", u.Stage, u.User, u.Set)
			}
		})
	}
}
