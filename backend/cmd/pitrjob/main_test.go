package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/alert"
	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/testkit"
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

// TestUsage: --help is the whole usage and exits 0; a bad command line
// exits 2 with the synopsis before the configuration is read (the
// environment here is empty: reading it would fail with "DATABASE_URL").
func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"help", []string{"--help"}, 0, []string{"usage: pitrjob run\n       pitrjob backup full|diff\n",
			"backup diff  take one differential backup now", `PITR_FULL_SCHEDULE (cron, UTC; default "0 2 * * 0")`,
			`PITR_DIFF_SCHEDULE (default "0 2 * * 1-6")`, "ALERT_WEBHOOK_URL",
			"Exit status: 0 ok (also --help), 1 a backup or the start failed, 2 usage or\nconfiguration error.", "  -h, --help"}},
		{"-h", []string{"-h"}, 0, []string{"Exit status: 0 ok"}},
		{"help after the command", []string{"backup", "--help"}, 0, []string{"Exit status: 0 ok"}},
		{"no command", nil, 2, []string{"usage: pitrjob run", "pitrjob --help"}},
		{"unknown command", []string{"restore"}, 2, []string{`unexpected arguments ["restore"]`}},
		{"bad type", []string{"backup", "incr"}, 2, []string{`unexpected arguments ["backup" "incr"]`}},
		{"no type", []string{"backup"}, 2, []string{"usage: pitrjob run"}},
		{"extra", []string{"run", "now"}, 2, []string{"unexpected arguments"}},
		{"unknown flag", []string{"--now", "run"}, 2, []string{"flag provided but not defined: -now", "Exit status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, func(string) string { return "" }, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, &stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, &stderr)
				}
			}
			if strings.Contains(stderr.String(), "DATABASE_URL: required") {
				t.Error("the configuration was read before the command line was decided")
			}
		})
	}
}

// TestStartFailureAlerts: when the stanza check cannot run (here the
// database does not exist), the job exits 1 and the on-call webhook hears
// "WAL archive check failed" with the stack and region, and neither the
// payload nor the log shows the database password or the webhook URL.
func TestStartFailureAlerts(t *testing.T) {
	pg := pgtest.Start(t)
	hook := testkit.NewReceiver(t, 0, 0)
	env := map[string]string{
		"PGBACKREST_STANZA": "main", "PGBACKREST_PG1_PATH": "/var/lib/postgresql/data/pgdata",
		"PGBACKREST_SPOOL_PATH": "/var/spool/pgbackrest", "PGBACKREST_REPO1_TYPE": "posix",
		"PGBACKREST_REPO1_PATH": t.TempDir(), "PGBACKREST_REPO1_RETENTION_FULL": "2",
		// A running server without that database: an answer, not a
		// Postgres still starting, so the start fails at once.
		"DATABASE_URL":       fmt.Sprintf("postgres://postgres:hunter2@127.0.0.1:%d/no_such_db?sslmode=disable", pg.Port),
		"ALERT_WEBHOOK_URL":  hook.URL,
		"ALERT_REGION":       "eu-west",
		"SENTRY_ENVIRONMENT": "staging",
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"run"}, func(k string) string { return env[k] }, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout.String(), stderr.String())
	}
	got := testkit.Decode[alert.Payload](t, hook)
	if len(got) != 1 || got[0].Event != "WAL archive check failed" || got[0].Stack != "staging" || got[0].Region != "eu-west" {
		t.Fatalf("alerts %+v, want one \"WAL archive check failed\" for staging/eu-west", got)
	}
	body, _ := json.Marshal(got)
	for _, leak := range []string{"hunter2", testkit.HookSecret} {
		if strings.Contains(string(body)+stdout.String()+stderr.String(), leak) {
			t.Errorf("%q appears in the alert or the log", leak)
		}
	}
}

// TestStopWhileWaitingForPostgres: the job starts beside a Postgres that
// does not accept connections yet (nothing listens on port 1); it waits,
// and a stop (SIGTERM: ctx ends) then is a clean exit 0 with no alert.
func TestStopWhileWaitingForPostgres(t *testing.T) {
	hook := testkit.NewReceiver(t, 0, 0)
	env := map[string]string{
		"PGBACKREST_STANZA": "main", "PGBACKREST_PG1_PATH": "/var/lib/postgresql/data/pgdata",
		"PGBACKREST_SPOOL_PATH": "/var/spool/pgbackrest", "PGBACKREST_REPO1_TYPE": "posix",
		"PGBACKREST_REPO1_PATH": t.TempDir(), "PGBACKREST_REPO1_RETENTION_FULL": "2",
		"DATABASE_URL":      "postgres://u:hunter2@127.0.0.1:1/x",
		"ALERT_WEBHOOK_URL": hook.URL,
	}
	var stdout, stderr testkit.SyncBuffer
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"run"}, func(k string) string { return env[k] }, &stdout, &stderr) }()
	for !strings.Contains(stdout.String(), "waiting for Postgres to accept connections") {
		select {
		case code := <-done:
			t.Fatalf("exit %d while Postgres was down; want the job to wait\n%s%s", code, stdout.String(), stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d after the stop, want 0\n%s%s", code, stdout.String(), stderr.String())
	}
	if got := testkit.Decode[alert.Payload](t, hook); len(got) != 0 {
		t.Errorf("alerts %+v: a stop during the start paged the on-call", got)
	}
	if strings.Contains(stdout.String()+stderr.String(), "hunter2") {
		t.Error("the database password appears in the log")
	}
}
