package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/pitr"
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
	if _, err := exec.LookPath("pgbackrest"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pgbackrest not found")
		}
		t.Skip("pgbackrest not found; skipping")
	}
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
