package rules

import (
	"os"
	"testing"
)

// The Postgres image of point-in-time recovery (backend/postgres.Dockerfile)
// passes the pack's Dockerfile rule: its effective USER is the numeric
// non-root postgres uid, with the default build args and with a substituted base.
func TestPostgresDockerfileRunsAsNonRoot(t *testing.T) {
	df, err := os.ReadFile("../../backend/postgres.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range []map[string]string{nil, {"RUNTIME_IMAGE": "local/debian:bookworm", "GO_IMAGE": "local/go"}} {
		u, err := EffectiveUser(df, args, "")
		if err != nil {
			t.Fatal(err)
		}
		if !u.Set || IsRootUser(u.User) || u.User != "999:999" {
			t.Errorf("build args %v: effective user %+v, want 999:999", args, u)
		}
	}
}
