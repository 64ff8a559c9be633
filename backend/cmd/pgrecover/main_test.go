package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/pitr"
	"github.com/helloagents/infra/backend/testkit"
)

func posixEnv(t *testing.T) map[string]string {
	t.Helper()
	// Not t.TempDir: pgBackRest runs as postgres when the test runs as root.
	dir, err := os.MkdirTemp("", "pgrecover-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	c := pitr.Config{Stanza: "main", DataDir: "/var/lib/postgresql/data/pgdata", SpoolPath: filepath.Join(dir, "spool"),
		LockPath: filepath.Join(dir, "lock"),
		Repo:     pitr.Repo{Type: pitr.RepoPOSIX, Path: filepath.Join(dir, "repo"), RetentionFull: 2, CipherPass: "secret-pass-123"}}
	env := map[string]string{}
	for _, kv := range append(c.Env(), c.SecretEnv()...) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

func TestUsage(t *testing.T) {
	env := posixEnv(t)
	target := filepath.Join(t.TempDir(), "new")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		out  string
	}{
		{"help", []string{"--help"}, env, exitOK, "Exit status: 0 recovered"},
		{"-h", []string{"-h"}, env, exitOK, "  --data-dir DIR\n"},
		{"unknown flag", []string{"--data-dir", target, "--latest", "--bogus"}, env, exitUsage, "flag provided but not defined: -bogus"},
		{"no target", []string{"--data-dir", target}, env, exitUsage, "exactly one of"},
		{"two targets", []string{"--data-dir", target, "--latest", "--name", "x"}, env, exitUsage, "exactly one of"},
		{"no dir", []string{"--latest"}, env, exitUsage, "--data-dir is required"},
		{"zoneless time", []string{"--data-dir", target, "--time", "2026-11-27 10:00:00"}, env, exitUsage, "RFC 3339"},
		{"future", []string{"--data-dir", target, "--time", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, env, exitUsage, "future"},
		{"no repository", []string{"--data-dir", target, "--latest"}, map[string]string{}, exitUsage, "spool path"},
		{"extra", []string{"--data-dir", target, "--latest", "now"}, env, exitUsage, "unexpected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.out) {
				t.Errorf("exit %d, want %d with %q:\n%s%s", code, tc.code, tc.out, stdout.String(), stderr.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), "secret-pass-123") {
				t.Error("output shows the passphrase")
			}
		})
	}
}

// Guard rails refuse before anything changes: a non-empty target, a
// running server's directory, an empty repository.
func TestRefused(t *testing.T) {
	testkit.RequireTool(t, "pgbackrest", "apt-get install pgbackrest")
	env := posixEnv(t)
	getenv := func(k string) string { return env[k] }
	base := t.TempDir()
	full := filepath.Join(base, "full")
	running := filepath.Join(base, "running")
	_ = os.Mkdir(full, 0o700)
	_ = os.Mkdir(running, 0o700)
	_ = os.WriteFile(filepath.Join(full, "PG_VERSION"), []byte("15\n"), 0o600)
	_ = os.WriteFile(filepath.Join(running, "postmaster.pid"), []byte("42\n"), 0o600)
	for _, tc := range []struct {
		dir, want string
	}{
		{full, "not empty"},
		{running, "running or crashed server"},
		{filepath.Join(base, "fresh"), "no backup"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"--data-dir", tc.dir, "--latest", "--dry-run"}, getenv, &stdout, &stderr)
		if code != exitRefused || !strings.Contains(stderr.String(), tc.want) || !strings.Contains(stderr.String(), "nothing changed") {
			t.Errorf("%s: exit %d, want %d with %q:\n%s%s", tc.dir, code, exitRefused, tc.want, stdout.String(), stderr.String())
		}
	}
	if entries, _ := os.ReadDir(full); len(entries) != 1 {
		t.Errorf("the refused target changed: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(base, "fresh")); !os.IsNotExist(err) {
		t.Errorf("a refused recovery created the target: %v", err)
	}
}

// TestHelpSpellsFlagsAsTheSynopsis: every flag --help lists is spelled
// --name VALUE as in the synopsis line, with the synopsis's value names,
// and the synopsis names every flag.
func TestHelpSpellsFlagsAsTheSynopsis(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &stdout, &stderr); code != exitOK {
		t.Fatalf("--help: exit %d", code)
	}
	help := stderr.String()
	synopsis, _, _ := strings.Cut(help, "\n")
	for _, flag := range []string{"--data-dir DIR", "--latest", "--time T", "--name LABEL", "--set BACKUP", "--dry-run", "--pg-bin DIR", "--timeout 1h"} {
		if !strings.Contains(synopsis, flag) {
			t.Errorf("synopsis lacks %q: %s", flag, synopsis)
		}
		name, _, _ := strings.Cut(flag, " ")
		if !strings.Contains(help, "\n  "+name+" ") && !strings.Contains(help, "\n  "+name+"\n") {
			t.Errorf("the flag list lacks %s:\n%s", name, help)
		}
	}
	for _, v := range []string{"--data-dir DIR\n", "--time T\n", "--name LABEL\n", "--set BACKUP\n", "--pg-bin DIR\n"} {
		if !strings.Contains(help, "  "+v) {
			t.Errorf("the flag list does not spell %q:\n%s", strings.TrimSpace(v), help)
		}
	}
	if strings.Contains(help, "\n  -d") || strings.Contains(help, "\n  -l") {
		t.Errorf("the flag list spells a flag -name:\n%s", help)
	}
}

// TestRunbookQuotesTheCode: docs/DEPLOYMENT.md's point-in-time recovery
// runbook quotes pgrecover's exit statuses and flags; someone reading it in
// an incident acts on them, so they are the code's. The runbook is in the
// root module's docs: this module is only ever tested from the repository.
func TestRunbookQuotesTheCode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "DEPLOYMENT.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(b)), " ") // the runbook wraps lines anywhere
	for _, tc := range []struct {
		re   string
		code int
	}{
		{`Exit status: (\d) recovered \(dry run: plan shown\)`, exitOK},
		{`(\d) refused and nothing changed`, exitRefused},
		{`(\d) usage error, \d recovery failed`, exitUsage},
		{`(\d) recovery failed and the target is left as it was`, exitFailed},
		{`(\d) the recovered files could not be moved into place`, exitManual},
	} {
		m := regexp.MustCompile(tc.re).FindStringSubmatch(doc)
		if m == nil {
			t.Errorf("DEPLOYMENT.md no longer quotes %s", tc.re)
		} else if m[1] != strconv.Itoa(tc.code) {
			t.Errorf("DEPLOYMENT.md quotes %q; the code's status is %d", m[0], tc.code)
		}
	}
	var stdout, stderr bytes.Buffer
	run(context.Background(), []string{"--help"}, func(string) string { return "" }, &stdout, &stderr)
	var quoted []string
	for _, m := range regexp.MustCompile("- `(--[a-z-]+)").FindAllStringSubmatch(string(b), -1) {
		quoted = append(quoted, m[1])
	}
	cmd := regexp.MustCompile(`--entrypoint pgrecover <postgres image> \\\n\s*(.*)`).FindStringSubmatch(string(b))
	if cmd == nil || len(quoted) == 0 {
		t.Fatal("DEPLOYMENT.md no longer shows the pgrecover command line and its targets")
	}
	quoted = append(quoted, regexp.MustCompile(`--[a-z-]+`).FindAllString(cmd[1], -1)...)
	for _, f := range quoted {
		if !strings.Contains(stderr.String(), "\n  "+f+" ") && !strings.Contains(stderr.String(), "\n  "+f+"\n") {
			t.Errorf("DEPLOYMENT.md tells the operator to pass %s; pgrecover has no such flag", f)
		}
	}
}
