package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/helloagents/infra/backend/internal/dbfixture"
	"github.com/helloagents/infra/backend/internal/s3test"
	"github.com/helloagents/infra/backend/pgtest"
)

func s3Env(srv *s3test.Server, bucket, dbURL string) map[string]string {
	return map[string]string{
		"DATABASE_URL":           dbURL,
		"BACKUP_DESTINATION":     "s3://" + bucket + "/pg",
		"BACKUP_S3_ENDPOINT":     srv.Endpoint,
		"AWS_ACCESS_KEY_ID":      srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY":  srv.SecretKey,
		"BACKUP_S3_PART_SIZE_MB": "5",
	}
}

func with(env map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestS3RestoreFailures: a corrupt object, a truncated object, a missing key,
// wrong credentials and an unreachable endpoint each give a clear error and a
// non-zero exit, leave the target exactly as it was (the restores run with
// --clean, so a restore that went ahead would have replaced it), and print no
// credential.
func TestS3RestoreFailures(t *testing.T) {
	pg := pgtest.Start(t)
	srv := s3test.Start(t)
	bucket := srv.CreateBucket(t, "backups")
	const dbPass = "db-pass-Xr81"
	src := withPassword(pg.CreateDB(t, "app"), dbPass)
	dbfixture.Seed(t, src, 500)
	target := withPassword(pg.CreateDB(t, "target"), dbPass)
	dbfixture.Exec(t, target, "CREATE TABLE canary (note text); INSERT INTO canary VALUES ('still here')")
	before := dbfixture.Fingerprint(t, target)
	env := s3Env(srv, bucket, src)

	corrupt := backupKey(t, env)
	truncated := backupKey(t, env)
	good := backupKey(t, env)
	client := srv.Client(t)
	damage(t, client, bucket, corrupt, func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b })
	damage(t, client, bucket, truncated, func(b []byte) []byte { return b[:len(b)/2] })

	keys := listed(t, env)
	if len(keys) != 2 || keys[0] != good || keys[1] != corrupt {
		t.Errorf("list = %v, want [%s %s]: newest first, the truncated one not trusted", keys, good, corrupt)
	}

	// verify checks without restoring: the corrupt one fails, the good one passes.
	v := runCLI(t, env, "verify", "--all")
	if v.code != 1 || !strings.Contains(v.stdout, "CORRUPT "+corrupt) || !strings.Contains(v.stdout, "ok "+good) {
		t.Errorf("verify --all: want exit 1, %s corrupt and %s ok: %s", corrupt, good, v)
	}
	if v := runCLI(t, env, "verify", "--key", truncated); v.code != 1 || !strings.Contains(v.stderr, "is corrupt") {
		t.Errorf("verify --key <truncated>: %s", v)
	}
	if v := runCLI(t, env, "verify", "--latest"); v.code != 0 || !strings.Contains(v.stdout, "ok "+good) {
		t.Errorf("verify --latest: %s", v)
	}

	closed := closedPort(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"corrupt", env, []string{"--key", corrupt}, "is corrupt: sha256"},
		{"truncated", env, []string{"--key", truncated}, "is corrupt:"},
		{"missing key", env, []string{"--key", "pg/app/20200101T000000.000Z.dump"}, "not found"},
		{"wrong credentials", with(env, "AWS_SECRET_ACCESS_KEY", "wrong-secret-Zk93"), []string{"--latest"}, "access denied"},
		{"wrong access key", with(env, "AWS_ACCESS_KEY_ID", "AKWRONG77"), []string{"--latest"}, "access denied"},
		{"unreachable endpoint", with(env, "BACKUP_S3_ENDPOINT", "http://"+closed), []string{"--latest"}, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.env, append([]string{"restore", "--clean", "--target-url", target}, tt.args...)...)
			if r.code == 0 {
				t.Fatalf("want a non-zero exit: %s", r)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("error does not say %q: %s", tt.want, r)
			}
			for _, secret := range []string{srv.SecretKey, srv.AccessKey, dbPass, "wrong-secret-Zk93", "AKWRONG77"} {
				assertNoSecret(t, secret, r)
			}
			if tt.args[0] == "--latest" { // the destination itself fails: so do backup and list
				for _, cmd := range []string{"backup", "list"} {
					r := runCLI(t, tt.env, cmd)
					if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
						t.Errorf("pgbackup %s: want a non-zero exit saying %q: %s", cmd, tt.want, r)
					}
					for _, secret := range []string{srv.SecretKey, srv.AccessKey, dbPass, "wrong-secret-Zk93", "AKWRONG77"} {
						assertNoSecret(t, secret, r)
					}
				}
			}
			t.Logf("%s: %s", tt.name, strings.TrimSpace(r.stderr))
			after := dbfixture.Fingerprint(t, target)
			if fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("target changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}

	// The good backup still restores over the canary with --clean.
	r := mustRun(t, env, "restore", "--clean", "--target-url", target, "--key", good)
	assertNoSecret(t, srv.SecretKey, r)
	if got := dbfixture.Fingerprint(t, target); got["public.courses"] == "" {
		t.Errorf("restore of the good backup: %v", got)
	}
}

func backupKey(t *testing.T, env map[string]string) string {
	t.Helper()
	r := mustRun(t, env, "backup")
	i := strings.Index(r.stdout, `"key":"`)
	if i < 0 {
		t.Fatalf("backup output has no key: %s", r)
	}
	rest := r.stdout[i+len(`"key":"`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// damage rewrites an object through the S3 API, leaving its manifest as is.
func damage(t *testing.T, c *minio.Client, bucket, key string, f func([]byte) []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(obj)
	_ = obj.Close()
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	data = f(data)
	if _, err := c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("rewrite %s: %v", key, err)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// stallingPGBin returns a PG_BIN whose pg_dump passes on the first 6 MB of
// the real dump and then stalls: a backup caught halfway, deterministically.
func stallingPGBin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	script := fmt.Sprintf(`#!/bin/sh
if [ "$1" = "--version" ]; then exec %[1]s/pg_dump --version; fi
# Stall until pgbackup ($PPID) is gone, so nothing outlives the test.
%[1]s/pg_dump "$@" | { head -c 6000000; while kill -0 $PPID 2>/dev/null; do sleep 0.2; done; }
`, pgtest.BinDir())
	if err := os.WriteFile(filepath.Join(dir, "pg_dump"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestKilledUpload: a backup killed (SIGKILL) halfway through its upload
// leaves nothing that list shows, and restore --latest finds nothing to use.
func TestKilledUpload(t *testing.T) {
	pg := pgtest.Start(t)
	src := pg.CreateDB(t, "app")
	dbfixture.Seed(t, src, 100)
	dbfixture.Blobs(t, src, 8) // a dump of about 10 MB
	stall := stallingPGBin(t)

	t.Run("s3", func(t *testing.T) {
		srv := s3test.Start(t)
		bucket := srv.CreateBucket(t, "backups")
		env := s3Env(srv, bucket, src)
		client := srv.Client(t)
		killHalfway(t, with(env, "PG_BIN", stall), func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for u := range client.ListIncompleteUploads(ctx, bucket, "pg/", true) {
				if u.Err == nil {
					return true
				}
			}
			return false
		})
		assertNothingGood(t, env, pg)
	})
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		env := map[string]string{"DATABASE_URL": src, "BACKUP_DESTINATION": "file://" + dir}
		killHalfway(t, with(env, "PG_BIN", stall), func() bool {
			parts, _ := filepath.Glob(filepath.Join(dir, "app", ".*.partial-*"))
			for _, p := range parts {
				if fi, err := os.Stat(p); err == nil && fi.Size() >= 5_000_000 {
					return true
				}
			}
			return false
		})
		assertNothingGood(t, env, pg)
	})
}

// killHalfway starts a backup, waits (bounded) until inProgress reports its
// upload under way, and kills it.
func killHalfway(t *testing.T, env map[string]string, inProgress func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := command(ctx, env, "backup")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for !inProgress() {
		if ctx.Err() != nil {
			t.Fatalf("upload never seen in progress:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatalf("backup finished before it was killed:\n%s", out.String())
	}
}

func assertNothingGood(t *testing.T, env map[string]string, pg *pgtest.Server) {
	t.Helper()
	if keys := listed(t, env); len(keys) != 0 {
		t.Errorf("list after a killed upload = %v, want nothing", keys)
	}
	empty := pg.CreateDB(t, fmt.Sprintf("empty_%d", time.Now().UnixNano()))
	r := runCLI(t, env, "restore", "--latest", "--target-url", empty)
	if r.code == 0 || !strings.Contains(r.stderr, "no good backup") {
		t.Errorf("restore --latest after a killed upload: %s", r)
	}
}
