package pitr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/testkit"
)

func s3Config() Config {
	return Config{
		Stanza: "main", DataDir: "/var/lib/postgresql/data/pgdata", SocketDir: "/var/run/postgresql", Port: 5432,
		User: "helloagents", SpoolPath: "/var/spool/pgbackrest",
		Repo: Repo{Type: RepoS3, Path: "/production/eu-west", Endpoint: "acct.r2.cloudflarestorage.com",
			Bucket: "helloagents-backups-production", AccessKeyID: "AKIDSECRETVALUE", SecretAccessKey: "s3cr3t/value+x",
			CipherPass: "passphrase-value", RetentionFull: 2},
	}
}

func TestRenderS3(t *testing.T) {
	c := s3Config()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	conf := string(c.Render())
	for _, want := range []string{
		"[global]\n", "repo1-type=s3\n", "repo1-s3-uri-style=path\n", "repo1-s3-region=auto\n",
		"repo1-s3-endpoint=acct.r2.cloudflarestorage.com\n", "repo1-s3-bucket=helloagents-backups-production\n",
		"repo1-path=/production/eu-west\n", "repo1-cipher-type=aes-256-cbc\n", "repo1-retention-full=2\n",
		"archive-async=y\n", "spool-path=/var/spool/pgbackrest\n", "pg1-path=/var/lib/postgresql/data/pgdata\n",
		"pg1-user=helloagents\n", "process-max=2\n", "\n[main]\npg1-path=",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("pgbackrest.conf lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "stanza=") {
		t.Errorf("stanza in [global]:\n%s", conf)
	}
	plain := strings.Join(c.Env(), "\n")
	for _, s := range c.secrets() {
		if strings.Contains(conf, s) || strings.Contains(plain, s) {
			t.Errorf("a secret is in the rendered config or the plain environment")
		}
	}
	secret := strings.Join(c.SecretEnv(), "\n")
	for _, want := range []string{"PGBACKREST_REPO1_S3_KEY=AKIDSECRETVALUE", "PGBACKREST_REPO1_S3_KEY_SECRET=s3cr3t/value+x", "PGBACKREST_REPO1_CIPHER_PASS=passphrase-value"} {
		if !strings.Contains(secret, want) {
			t.Errorf("secret env lacks %s", strings.SplitN(want, "=", 2)[0])
		}
	}
	if !strings.Contains(plain, "PGBACKREST_STANZA=main") || !strings.Contains(plain, "PGBACKREST_REPO1_S3_URI_STYLE=path") {
		t.Errorf("plain env: %s", plain)
	}
}

func TestRenderPOSIXWithPort(t *testing.T) {
	c := s3Config()
	c.Repo = Repo{Type: RepoPOSIX, Path: "/var/lib/pgbackrest", RetentionFull: 1}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	conf := string(c.Render())
	if !strings.Contains(conf, "repo1-type=posix\n") || strings.Contains(conf, "s3") || strings.Contains(conf, "cipher") {
		t.Errorf("posix config:\n%s", conf)
	}
	if len(c.SecretEnv()) != 0 {
		t.Errorf("posix without passphrase has secrets: %d", len(c.SecretEnv()))
	}
	c = s3Config()
	c.Repo.Endpoint = "localhost:9443"
	o := c.Options()
	if o["repo1-s3-endpoint"] != "localhost" || o["repo1-storage-port"] != "9443" {
		t.Errorf("endpoint with port: %v", o)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"stanza", func(c *Config) { c.Stanza = "bad stanza" }, "stanza"},
		{"relative data", func(c *Config) { c.DataDir = "data" }, "data directory"},
		{"spool", func(c *Config) { c.SpoolPath = "" }, "spool path"},
		{"retention", func(c *Config) { c.Repo.RetentionFull = 0 }, "retention"},
		{"scheme", func(c *Config) { c.Repo.Endpoint = "https://x" }, "s3 endpoint"},
		{"bucket", func(c *Config) { c.Repo.Bucket = "" }, "bucket"},
		{"keys", func(c *Config) { c.Repo.SecretAccessKey = "" }, "credentials"},
		{"path", func(c *Config) { c.Repo.Path = "production" }, "repository path"},
		{"type", func(c *Config) { c.Repo.Type = "gcs" }, "repository type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3Config()
			tc.mut(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error about %s", err, tc.want)
			}
			for _, s := range s3Config().secrets() {
				if strings.Contains(err.Error(), s) {
					t.Error("error shows a secret")
				}
			}
		})
	}
}

func TestPostgresSettings(t *testing.T) {
	s := PostgresSettings("main", "", 60*time.Second)
	if s["archive_command"] != "pgbackrest --stanza=main archive-push %p" || s["archive_timeout"] != "60s" ||
		s["archive_mode"] != "on" || s["wal_level"] != "replica" {
		t.Errorf("settings: %v", s)
	}
	if got := PostgresSettings("main", "/etc/pgbackrest.conf", 10*time.Second)["archive_command"]; got != "pgbackrest --config=/etc/pgbackrest.conf --stanza=main archive-push %p" {
		t.Errorf("archive_command with config: %s", got)
	}
}

func TestTargetArgs(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 30, 0, 123456000, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		target Target
		want   string
		err    bool
	}{
		{Target{Type: Latest}, "--type=default", false},
		{Target{Type: Time, Time: at}, "--type=time --target=2026-11-27 09:30:00.123456+00", false},
		{Target{Type: Name, Name: "before-migration"}, "--type=name --target=before-migration", false},
		{Target{Type: Name, Name: "x'; drop"}, "", true},
		{Target{Type: Time}, "", true},
		{Target{Type: "lsn"}, "", true},
	} {
		args, err := tc.target.restoreArgs()
		if (err != nil) != tc.err || strings.Join(args, " ") != tc.want {
			t.Errorf("%+v: %v %v, want %q err=%v", tc.target, args, err, tc.want, tc.err)
		}
	}
}

func TestCheckTarget(t *testing.T) {
	dir := t.TempDir()
	nonEmpty := filepath.Join(dir, "full")
	running := filepath.Join(dir, "running")
	empty := filepath.Join(dir, "empty")
	for _, d := range []string{nonEmpty, running, empty} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(nonEmpty, "PG_VERSION"), []byte("15\n"), 0o600)
	_ = os.WriteFile(filepath.Join(running, "postmaster.pid"), []byte("1\n"), 0o600)
	for _, tc := range []struct {
		dir  string
		want error
	}{
		{empty, nil},
		{filepath.Join(dir, "missing"), nil},
		{nonEmpty, ErrTargetNotEmpty},
		{running, ErrTargetRunning},
	} {
		if err := checkTarget(tc.dir); !errors.Is(err, tc.want) {
			t.Errorf("checkTarget(%s) = %v, want %v", tc.dir, err, tc.want)
		}
	}
	if err := checkTarget("relative"); err == nil {
		t.Error("relative target accepted")
	}
	if err := checkTarget(filepath.Join(dir, "no", "parent")); err == nil {
		t.Error("target without a parent accepted")
	}
}

func TestLastByteSegment(t *testing.T) {
	for _, tc := range []struct {
		tli  int
		lsn  string
		want string
	}{
		{1, "0/5000000", "000000010000000000000004"},
		{1, "0/5000001", "000000010000000000000005"},
		{2, "1/A0000028", "0000000200000001000000A0"},
		{1, "0/FFFFFFFF", "0000000100000000000000FF"},
	} {
		got, err := lastByteSegment(tc.tli, tc.lsn)
		if err != nil || got != tc.want {
			t.Errorf("lastByteSegment(%d, %s) = %s %v, want %s", tc.tli, tc.lsn, got, err, tc.want)
		}
	}
	if _, err := lastByteSegment(1, "nonsense"); err == nil {
		t.Error("bad LSN accepted")
	}
}

func TestParseInfo(t *testing.T) {
	js := `[{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000009","min":"000000010000000000000003"}],
"backup":[{"archive":{"start":"000000010000000000000003","stop":"000000010000000000000003"},"info":{"repository":{"delta":1234,"size":1234},"size":30000000},
"label":"20261127-100000F","timestamp":{"start":1795000000,"stop":1795000010},"type":"full"},
{"archive":{"start":"000000010000000000000007","stop":"000000010000000000000007"},"info":{"repository":{"delta":10,"size":10},"size":30000000},
"label":"20261127-100000F_20261127-110000D","timestamp":{"start":1795003600,"stop":1795003605},"type":"diff"}],
"cipher":"aes-256-cbc","db":[{"id":1,"repo-key":1,"system-id":7000000000000000001,"version":"15"}],"name":"main",
"status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}]`
	info, err := parseInfo([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if info.ArchiveMax != "000000010000000000000009" || info.ArchiveMin != "000000010000000000000003" || info.Cipher != "aes-256-cbc" ||
		len(info.Backups) != 2 || info.Status != "ok" || info.PGVersion != "15" {
		t.Errorf("info: %+v", info)
	}
	full, ok := info.LastFull()
	if !ok || full.Label != "20261127-100000F" || full.Stop != time.Unix(1795000010, 0).UTC() || full.Size != 30000000 {
		t.Errorf("last full: %+v %v", full, ok)
	}
	// A wrong passphrase makes pgBackRest quote undecryptable bytes in its
	// status message: still parsed, reported by its first line.
	garbled := []byte(`[{"archive":[],"backup":[],"cipher":"aes-256-cbc","db":[],"name":"main","repo":[{"cipher":"aes-256-cbc","key":1,` +
		`"status":{"code":99,"message":"[FormatError] unable to load info file 'backup.info':\nFormatError: o` + "\x94\x01\x1a\xc0m" + `"}}],` +
		`"status":{"code":99,"lock":{"backup":{"held":false}},"message":"other"}}]` + "\n")
	bad, err := parseInfo(garbled)
	if err != nil || bad.StatusCode != 99 || bad.RepoError != "[FormatError] unable to load info file 'backup.info'" {
		t.Errorf("garbled info: %+v %v", bad, err)
	}
	if _, err := parseInfo([]byte("[]")); err == nil {
		t.Error("empty info accepted")
	}
}

// FromEnv reads back what Env and SecretEnv write: the operator command
// sees the server's repository.
func TestFromEnvRoundTrip(t *testing.T) {
	c := s3Config()
	c.Repo.Endpoint = "localhost:9443"
	c.Repo.Region = "auto"
	c.Repo.CAFile = "/etc/ssl/ca.pem"
	c.ProcessMax = 2
	env := map[string]string{}
	for _, kv := range append(c.Env(), c.SecretEnv()...) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	got := FromEnv(func(k string) string { return env[k] })
	if got != c {
		t.Errorf("FromEnv = %+v\nwant %+v", got, c)
	}
}

// The job starts beside its Postgres: while Postgres does not accept
// connections the start waits for it instead of failing (and paging); a
// database that answers with another error fails it at once.
func TestStartWaitsForPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.URL("postgres")
	pg.Stop(t)
	var logs testkit.SyncBuffer
	j := Job{DatabaseURL: url, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	done := make(chan error, 1)
	go func() { done <- j.wakeWhenUp(t.Context()) }()
	// Wait until the job has met the stopped server at least once.
	for !strings.Contains(logs.String(), "waiting for Postgres to accept connections") {
		select {
		case err := <-done:
			t.Fatalf("wakeWhenUp returned %v while Postgres was down; want it to wait", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	pg.Restart(t)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("wakeWhenUp after Postgres came up: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("wakeWhenUp did not return within a minute of Postgres accepting connections")
	}

	j.DatabaseURL = pg.URL("no_such_database")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := j.wakeWhenUp(ctx); err == nil || !strings.Contains(err.Error(), "no_such_database") || ctx.Err() != nil {
		t.Fatalf("wakeWhenUp on a missing database = %v (deadline hit: %v); want its error at once", err, ctx.Err())
	}

	// Down until the deadline: the error says so.
	pg.Stop(t)
	j.DatabaseURL = url
	ctx, cancel = context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := j.wakeWhenUp(ctx); err == nil || !strings.Contains(err.Error(), "stopped waiting for Postgres: context deadline exceeded") {
		t.Fatalf("wakeWhenUp with Postgres down to the deadline = %v", err)
	}
}

// notUpYet: what a Postgres that is not up yet answers is retried, an
// answer from a running one is not.
func TestNotUpYet(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"name not resolving yet", fmt.Errorf("connect: %w", &net.DNSError{Err: "no such host", Name: "postgres", IsNotFound: true}), true},
		{"connection refused", fmt.Errorf("connect: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), true},
		{"starting up", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}), true},
		{"no such database", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "3D000", Message: `database "x" does not exist`}), false},
		{"password refused", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "28P01", Message: "password authentication failed"}), false},
		{"other", errors.New("boom"), false},
	} {
		if got := notUpYet(tc.err); got != tc.want {
			t.Errorf("%s: notUpYet = %v, want %v", tc.name, got, tc.want)
		}
	}
}
