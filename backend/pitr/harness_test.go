package pitr

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helloagents/infra/backend/internal/s3test"
	"github.com/helloagents/infra/backend/pgtest"
)

// testArchiveTimeout keeps the suite fast; production defaults to 60 s.
const testArchiveTimeout = 10 * time.Second

// env is one test's world: a TLS S3 server, a primary that archives into
// it through pgBackRest, and the Runner that drives pgBackRest.
type env struct {
	t      *testing.T
	s3     *s3test.TLSServer
	base   string // a directory the postgres user owns
	cred   *syscall.Credential
	bin    string
	cfg    Config
	runner Runner
	pg     *cluster
}

func requirePGBackRest(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("pgbackrest"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("pgbackrest not found on PATH: %v", err)
		}
		t.Skip("pgbackrest not found on PATH (apt-get install pgbackrest); skipping")
	}
}

// newEnv starts versitygw over TLS (region auto, as R2) and a PostgreSQL 15
// primary archiving into an encrypted repository in it, with the stanza
// created and checked.
func newEnv(t *testing.T) *env {
	t.Helper()
	requirePGBackRest(t)
	e := &env{t: t, bin: pgtest.Require(t), cred: postgresCred(t)}
	e.s3 = s3test.StartTLS(t, "auto")
	bucket := e.s3.CreateBucket(t, "pitr-test")
	e.base = e.mkdir(t, "")
	e.cfg = Config{
		Stanza:     "main",
		DataDir:    filepath.Join(e.base, "data"),
		SocketDir:  e.base,
		Port:       pgtest.FreePort(t),
		User:       "postgres",
		SpoolPath:  e.mkdir(t, "spool"),
		LockPath:   e.mkdir(t, "lock"),
		ProcessMax: 2,
		Repo: Repo{
			Type: RepoS3, Path: "/test/local", Endpoint: fmt.Sprintf("%s:%d", e.s3.Host, e.s3.Port),
			Bucket: bucket, Region: "auto", CAFile: e.s3.CAFile,
			AccessKeyID: e.s3.AccessKey, SecretAccessKey: e.s3.SecretKey,
			CipherPass: "pass-" + randomHex(t, 16), RetentionFull: 2,
		},
	}
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(e.base, "pgbackrest.conf")
	if err := os.WriteFile(confFile, e.cfg.Render(), 0o644); err != nil {
		t.Fatal(err)
	}
	e.runner = Runner{Config: e.cfg, ConfigFile: confFile, Credential: e.cred}
	settings := PostgresSettings(e.cfg.Stanza, confFile, testArchiveTimeout)
	e.pg = e.initCluster(t, e.cfg.DataDir, e.cfg.Port, settings)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.runner.StanzaCreate(ctx); err != nil {
		t.Fatalf("stanza-create + check: %v", err)
	}
	return e
}

// mkdir creates a directory under base (or base itself) owned by postgres.
func (e *env) mkdir(t *testing.T, name string) string {
	t.Helper()
	var dir string
	if name == "" {
		// Not t.TempDir: its parents are private to root.
		d, err := os.MkdirTemp("", "pitr-test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(d) })
		dir = d
	} else {
		dir = filepath.Join(e.base, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if e.cred != nil {
		if err := os.Chown(dir, int(e.cred.Uid), int(e.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// cluster is a PostgreSQL server on a data directory.
type cluster struct {
	e       *env
	data    string
	port    int
	opts    string
	logFile string
}

func (c *cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// initCluster runs initdb and starts a server with the given settings in
// postgresql.conf. The server inherits the secrets through its environment
// (archive_command runs pgBackRest).
func (e *env) initCluster(t *testing.T, data string, port int, settings map[string]string) *cluster {
	t.Helper()
	e.run(t, filepath.Join(e.bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C")
	var conf strings.Builder
	for k, v := range settings {
		fmt.Fprintf(&conf, "%s = '%s'\n", k, strings.ReplaceAll(v, "'", "''"))
	}
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf.String()); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return e.startOn(t, data, port, "")
}

// startOn starts a server on an existing data directory; extra are more
// postgres options ("-c archive_mode=off" for a recovered copy).
func (e *env) startOn(t *testing.T, data string, port int, extra string) *cluster {
	t.Helper()
	c := &cluster{e: e, data: data, port: port, logFile: filepath.Join(e.base, fmt.Sprintf("pg-%d.log", port))}
	c.opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off %s", port, e.base, extra)
	t.Cleanup(func() {
		_, _ = e.exec(filepath.Join(e.bin, "pg_ctl"), "-D", data, "stop", "-m", "immediate", "-w")
	})
	c.start(t)
	return c
}

func (c *cluster) start(t *testing.T) {
	t.Helper()
	if out, err := c.e.exec(filepath.Join(c.e.bin, "pg_ctl"), "-D", c.data, "-o", c.opts, "-l", c.logFile, "-w", "-t", "120", "start"); err != nil {
		logs, _ := os.ReadFile(c.logFile)
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, logs)
	}
	// PostgreSQL 15's checkpointer computes its first sleep during startup,
	// without archive_timeout, and sleeps up to checkpoint_timeout; a reload
	// wakes it (the backup job does the same in production: pitr.WakeArchiver).
	if err := WakeArchiver(context.Background(), c.url("postgres")); err != nil {
		t.Fatal(err)
	}
}

func (e *env) run(t *testing.T, prog string, args ...string) string {
	t.Helper()
	out, err := e.exec(prog, args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(prog), err, out)
	}
	return string(out)
}

// exec runs a program as the postgres user with the repository secrets in
// its environment (as the container gives them to the server).
func (e *env) exec(prog string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = e.base
	cmd.Env = e.runner.env()
	if e.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// postgresCred is the postgres user's credential when the test runs as root.
func postgresCred(t testing.TB) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("running as root needs a postgres user: %v", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// connect opens a connection for the test's duration.
func connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// switchAndWait closes the current WAL segment and waits (bounded) until
// PostgreSQL reports it archived; it returns the segment's name.
func switchAndWait(t testing.TB, url string, within time.Duration) string {
	t.Helper()
	c := connect(t, url)
	ctx := context.Background()
	var seg string
	// pg_switch_wal returns the end of the switched segment's last record.
	if err := c.QueryRow(ctx, "SELECT pg_walfile_name(pg_switch_wal())").Scan(&seg); err != nil {
		t.Fatalf("pg_switch_wal: %v", err)
	}
	waitArchived(t, c, seg, within)
	return seg
}

func waitArchived(t testing.TB, c *pgx.Conn, seg string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var last *string
		if err := c.QueryRow(context.Background(), "SELECT last_archived_wal FROM pg_stat_archiver").Scan(&last); err != nil {
			t.Fatalf("pg_stat_archiver: %v", err)
		}
		if last != nil && len(*last) >= 24 && (*last)[:24] >= seg {
			return
		}
		if time.Now().After(deadline) {
			got := "<none>"
			if last != nil {
				got = *last
			}
			t.Fatalf("segment %s not archived within %s (last archived %s)", seg, within, got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// noSecrets fails when s shows any of the environment's secrets.
func (e *env) noSecrets(t testing.TB, what, s string) {
	t.Helper()
	for _, secret := range e.cfg.secrets() {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows a secret", what)
		}
	}
}
