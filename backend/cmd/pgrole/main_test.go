package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/standby"
)

func TestUsage(t *testing.T) {
	env := map[string]string{"PGDATA": "/nonexistent/pgdata", "PGROLE_URL": "postgres://127.0.0.1:1/postgres?connect_timeout=1"}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		out  string
	}{
		{"help", []string{"--help"}, env, exitOK, "Exit status: 0 ok, 1 failure, 2 usage, 3 refused"},
		{"command help", []string{"promote", "-h"}, env, exitOK, "usage: pgrole"},
		{"no command", nil, env, exitUsage, "usage: pgrole"},
		{"unknown", []string{"failover"}, env, exitUsage, `unknown command "failover"`},
		{"bad flag", []string{"promote", "--max-lag", "soon"}, env, exitUsage, "invalid value"},
		{"negative max lag", []string{"promote", "--max-lag", "-1s"}, env, exitUsage, "--max-lag -1s: want a positive duration"},
		{"extra", []string{"status", "now"}, env, exitUsage, "unexpected arguments"},
		{"no PGDATA", []string{"status"}, map[string]string{}, exitUsage, "PGDATA is required"},
		{"bad role", []string{"prepare"}, map[string]string{"PGDATA": t.TempDir(), "PG_ROLE": "leader"}, exitUsage, `PG_ROLE "leader"`},
		{"server down", []string{"status"}, env, exitFailed, "connect to the local server"},
		{"standby without a repository", []string{"prepare"}, map[string]string{"PGDATA": t.TempDir(), "PG_ROLE": "standby"},
			exitUsage, "PG_ROLE=standby needs the pgBackRest repository"},
		{"standby with a bad repository", []string{"prepare"}, map[string]string{"PGDATA": t.TempDir(), "PG_ROLE": "standby",
			"PGBACKREST_REPO1_TYPE": "s3", "PGBACKREST_SPOOL_PATH": "/var/spool/pgbackrest", "PGBACKREST_REPO1_RETENTION_FULL": "2"},
			exitUsage, "s3 bucket: required"},
		{"primary ignores the repository settings", []string{"prepare"}, map[string]string{"PGDATA": t.TempDir(),
			"PGBACKREST_REPO1_TYPE": "s3"}, exitOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.out) {
				t.Fatalf("exit %d, want %d; output does not say %q:\n%s%s", code, tc.code, tc.out, stdout.String(), stderr.String())
			}
		})
	}
}

// TestAgainstPrimary runs pgrole as infra/failover does, against a real
// primary: status --json has the contract's shape, promote refuses (exit
// 3), prepare as a primary passes, fence stops the server, and a second
// fence and a prepare as primary after it behave as documented. (This
// server does not archive, so fence has no WAL to wait for; the standby
// package's tests fence archiving primaries.)
func TestAgainstPrimary(t *testing.T) {
	pg := pgtest.Start(t)
	data := filepath.Join(pg.DataDir, "data")
	env := map[string]string{"PGDATA": data, "PG_BIN": pg.BinDir, "PGROLE_URL": pg.URL("postgres")}
	pgrole := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	code, out, errOut := pgrole("status", "--json")
	if code != exitOK {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	want := map[string]any{"role": "primary", "timeline": 1.0, "inRecovery": false, "lastReplayAt": nil,
		"replayLagSeconds": nil, "replayLsn": "", "fenced": false}
	if len(raw) != len(want) {
		t.Errorf("status keys = %v, want %v", raw, want)
	}
	for k, v := range want {
		if raw[k] != v {
			t.Errorf("status %s = %v, want %v", k, raw[k], v)
		}
	}
	if code, _, errOut := pgrole("promote"); code != exitRefused || !strings.Contains(errOut, "not a standby") {
		t.Errorf("promote a primary: exit %d, %s; want 3 and a refusal", code, errOut)
	}
	if code, _, errOut := pgrole("prepare"); code != exitOK {
		t.Errorf("prepare a primary: exit %d, %s", code, errOut)
	}
	for range 2 { // idempotent
		if code, out, errOut := pgrole("fence", "--reason", "test", "--archive-wait", "1s"); code != exitOK {
			t.Fatalf("fence: exit %d\n%s%s", code, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(data, standby.FenceFile)); err != nil {
		t.Errorf("no fence marker: %v", err)
	}
	if code, _, _ := pgrole("status"); code != exitFailed {
		t.Errorf("status after fence: exit %d, want 1 (the server is stopped)", code)
	}
	if code, _, errOut := pgrole("prepare"); code != exitRefused || !strings.Contains(errOut, "PG_ROLE=standby") {
		t.Errorf("prepare a fenced primary: exit %d, %s; want 3", code, errOut)
	}
}
