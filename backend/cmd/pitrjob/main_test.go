package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestConfiguration(t *testing.T) {
	good := map[string]string{
		"PGBACKREST_STANZA": "main", "PGBACKREST_PG1_PATH": "/var/lib/postgresql/data/pgdata",
		"PGBACKREST_SPOOL_PATH": "/var/spool/pgbackrest", "PGBACKREST_REPO1_TYPE": "posix",
		"PGBACKREST_REPO1_PATH": "/var/lib/pgbackrest", "PGBACKREST_REPO1_RETENTION_FULL": "2",
		"DATABASE_URL": "postgres://u:hunter2@db/x",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no command", nil, good, "usage"},
		{"bad type", []string{"backup", "incr"}, good, "usage"},
		{"no database", []string{"run"}, with("DATABASE_URL", ""), "DATABASE_URL: required"},
		{"bad schedule", []string{"run"}, with("PITR_FULL_SCHEDULE", "weekly"), "PITR_FULL_SCHEDULE"},
		{"no repository", []string{"run"}, with("PGBACKREST_REPO1_PATH", ""), "posix repository path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, want 2 with %q: %s", code, tc.want, stderr.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), "hunter2") {
				t.Error("output shows the database password")
			}
		})
	}
}
