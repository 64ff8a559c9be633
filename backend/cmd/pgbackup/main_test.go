package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/backup"
	"github.com/helloagents/infra/backend/internal/dbfixture"
	"github.com/helloagents/infra/backend/pgtest"
)

// binary is the pgbackup program built once for the tests, which run it as a
// subprocess: exit codes, output and signals are what they are in production.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pgbackup-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "pgbackup")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	out, err := exec.CommandContext(ctx, "go", "build", "-o", binary, ".").CombinedOutput()
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build pgbackup: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// result is one finished run of the program.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// command prepares the program with exactly env (plus PATH and TMPDIR).
func command(ctx context.Context, env map[string]string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + os.TempDir(), "PG_BIN=" + pgtest.BinDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := command(ctx, env, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("run pgbackup %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{stdout.String(), stderr.String(), code}
}

func mustRun(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	r := runCLI(t, env, args...)
	if r.code != 0 {
		t.Fatalf("pgbackup %v: %s", args, r)
	}
	return r
}

// listed returns the keys `pgbackup list --json` shows as good backups.
func listed(t *testing.T, env map[string]string, extra ...string) []string {
	t.Helper()
	r := mustRun(t, env, append([]string{"list", "--json"}, extra...)...)
	var keys []string
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for dec.More() {
		var m backup.Manifest
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("list --json: %v\n%s", err, r.stdout)
		}
		keys = append(keys, m.Key)
	}
	return keys
}

// withPassword adds a password to a trust-auth URL: the server ignores it,
// and the tests check that it never appears in any output.
func withPassword(url, pw string) string {
	return strings.Replace(url, "postgres://postgres@", "postgres://postgres:"+pw+"@", 1)
}

// TestFileBackupRestoreLatest: with a file:// destination, backup then
// restore --latest into an empty database reproduces the database, the
// round trip the backup job exists for.
func TestFileBackupRestoreLatest(t *testing.T) {
	pg := pgtest.Start(t)
	src := withPassword(pg.CreateDB(t, "app"), "db-pass-7Hq2")
	dbfixture.Seed(t, src, 2000)
	want := dbfixture.Fingerprint(t, src)
	empty := pg.CreateDB(t, "restored")
	env := map[string]string{"DATABASE_URL": src, "BACKUP_DESTINATION": "file://" + t.TempDir()}

	b := mustRun(t, env, "backup")
	var m backup.Manifest
	if err := json.Unmarshal([]byte(b.stdout), &m); err != nil || m.Size == 0 {
		t.Fatalf("backup output %q: %v", b.stdout, err)
	}
	if keys := listed(t, env); len(keys) != 1 || keys[0] != m.Key {
		t.Fatalf("list = %v, want [%s]", keys, m.Key)
	}
	if l := mustRun(t, env, "list"); !strings.Contains(l.stdout, "KEY") || !strings.Contains(l.stdout, m.Key) ||
		!strings.Contains(l.stdout, m.SHA256) {
		t.Errorf("list does not show the backup with its checksum:\n%s", l)
	}
	if p := mustRun(t, env, "prune", "--dry-run"); strings.Contains(p.stdout, "would delete") {
		t.Errorf("prune --dry-run of one fresh backup would delete something:\n%s", p)
	}
	r := mustRun(t, env, "restore", "--latest", "--target-url", empty)
	if !strings.Contains(r.stdout, m.Key) {
		t.Errorf("restore output does not name the key %s:\n%s", m.Key, r)
	}
	got := dbfixture.Fingerprint(t, empty)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: restored %q, original %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("restored %d objects, original %d", len(got), len(want))
	}
	assertNoSecret(t, "db-pass-7Hq2", b, r)

	// The target is no longer empty: a second restore is refused, exit 1.
	again := runCLI(t, env, "restore", "--latest", "--target-url", empty)
	if again.code != 1 || !strings.Contains(again.stderr, "not empty") {
		t.Errorf("restore into a non-empty target: %s", again)
	}
}

func assertNoSecret(t *testing.T, secret string, rs ...result) {
	t.Helper()
	for _, r := range rs {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("output contains a secret:\n%s", r)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	const secret = "very-secret-key-1234"
	r := runCLI(t, map[string]string{
		"DATABASE_URL": "postgres://u:" + secret + "@/", "BACKUP_DESTINATION": "s3://bkt/pg",
		"AWS_SECRET_ACCESS_KEY": secret, "BACKUP_S3_ENDPOINT": "ftp://example", "BACKUP_SCHEDULE": "sometimes",
		"BACKUP_RETENTION_DAYS": "-1", "BACKUP_KEEP_LAST": "many",
	}, "backup")
	if r.code != 2 {
		t.Fatalf("want exit 2 for invalid configuration: %s", r)
	}
	for _, name := range []string{"DATABASE_URL", "AWS_ACCESS_KEY_ID", "BACKUP_S3_ENDPOINT", "BACKUP_SCHEDULE",
		"BACKUP_RETENTION_DAYS", "BACKUP_KEEP_LAST"} {
		if !strings.Contains(r.stderr, name) {
			t.Errorf("error does not name %s:\n%s", name, r)
		}
	}
	assertNoSecret(t, secret, r)

	// Every form a credential takes in a variable stays out of the output.
	for _, env := range []map[string]string{
		{"DATABASE_URL": "host=db password=" + secret + " dbname=", "BACKUP_DESTINATION": "file:///tmp/x"},
		{"DATABASE_URL": "postgres://u@db/?password=" + secret, "BACKUP_DESTINATION": "file:///tmp/x"},
		{"BACKUP_DESTINATION": "s3://AKIAKEY:" + secret + "@bucket/prefix"},
		{"BACKUP_DESTINATION": "s3://bucket/prefix?token=" + secret},
	} {
		r := runCLI(t, env, "backup")
		if r.code != 2 {
			t.Errorf("want exit 2 for invalid configuration: %s", r)
		}
		assertNoSecret(t, secret, r)
	}

	if r := runCLI(t, map[string]string{"BACKUP_DESTINATION": "file:///tmp/x"}, "restore"); r.code != 2 {
		t.Errorf("restore without --latest or --key: %s", r)
	}
	if r := runCLI(t, nil, "frobnicate"); r.code != 2 {
		t.Errorf("unknown command: %s", r)
	}
}

// TestUsageBeforeStore: a bad command line exits 2 before the
// configuration is required or the store is opened: the file destination's
// directory is not created, and the usage error, not the missing
// configuration, is what the operator reads.
func TestUsageBeforeStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	env := map[string]string{"BACKUP_DESTINATION": "file://" + dir}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown flag", env, []string{"list", "--bogus"}, "flag provided but not defined: -bogus"},
		{"extra argument", env, []string{"prune", "now"}, `unexpected arguments ["now"]`},
		{"restore: two sources", env, []string{"restore", "--latest", "--key", "k"}, "give exactly one of --latest or --key KEY"},
		{"verify: no source", env, []string{"verify"}, "give exactly one of --latest, --key KEY or --all"},
		{"no configuration", nil, []string{"backup", "--bogus"}, "flag provided but not defined: -bogus"},
		{"backup: no database", env, []string{"backup"}, "DATABASE_URL: required to take backups"},
		{"run: no database", env, []string{"run"}, "DATABASE_URL: required to take backups"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.env, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("want exit 2 with %q: %s", tc.want, r)
			}
			if strings.Contains(r.stderr, "invalid configuration") {
				t.Errorf("the configuration was checked before the command line: %s", r)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the store was opened (%s exists) before the usage error", dir)
			}
		})
	}
}

// TestHelp proves --help answers with exit 0 before any configuration is
// required, lists the exit codes, and spells flags as the texts do.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"restore", "--help"}, {"list", "-h"}} {
		r := runCLI(t, nil, args...)
		if r.code != 0 {
			t.Errorf("%v: %s", args, r)
		}
		if !strings.Contains(r.stderr, "exit status: 0 done (also --help), 1 the operation failed, 2 bad arguments or configuration") {
			t.Errorf("%v: no exit codes:\n%s", args, r)
		}
	}
	r := runCLI(t, nil, "restore", "--help")
	if !strings.Contains(r.stderr, "  --target-url string") || strings.Contains(r.stderr, "  -target-url") {
		t.Errorf("restore --help does not spell --target-url:\n%s", r)
	}
}
