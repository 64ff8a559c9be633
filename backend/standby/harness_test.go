package standby_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/internal/archivetest"
	"github.com/helloagents/infra/backend/internal/s3test"
	"github.com/helloagents/infra/backend/pgtest"
	"github.com/helloagents/infra/backend/pitr"
	"github.com/helloagents/infra/backend/standby"
	"github.com/helloagents/infra/backend/store"
)

// testArchiveTimeout keeps the suite fast; production defaults to 60 s.
const testArchiveTimeout = 10 * time.Second

// world is one stack: a TLS S3 server (region auto, as R2) holding ONE
// encrypted pgBackRest repository that every node shares, as the contract
// with the infrastructure side says.
type world struct {
	dirs archivetest.Dirs
	bin  string
	repo pitr.Repo
}

func newWorld(t *testing.T) *world {
	t.Helper()
	archivetest.RequirePGBackRest(t)
	w := &world{bin: pgtest.Require(t)}
	w.dirs = archivetest.NewDirs(t, archivetest.PostgresCred(t))
	s3 := s3test.StartTLS(t, "auto")
	w.repo = pitr.Repo{Type: pitr.RepoS3, Path: "/test/stack", Endpoint: fmt.Sprintf("%s:%d", s3.Host, s3.Port),
		Bucket: s3.CreateBucket(t, "standby-test"), Region: "auto", CAFile: s3.CAFile,
		AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey,
		CipherPass: "pass-" + archivetest.RandomHex(t, 16), RetentionFull: 2}
	return w
}

// node is one region's database: its data directory, spool and port, and
// the repository settings as its container's PGBACKREST_* environment.
type node struct {
	name   string
	cfg    pitr.Config
	runner pitr.Runner
	pg     *archivetest.Cluster
}

func (w *world) node(t *testing.T, name string) *node {
	t.Helper()
	w.dirs.Mkdir(t, name)
	// The empty data directory is a fresh volume: the postgres user's.
	n := &node{name: name, cfg: pitr.Config{Stanza: "main", DataDir: w.dirs.Mkdir(t, filepath.Join(name, "data")),
		SocketDir: w.dirs.Base, Port: pgtest.FreePort(t), User: "postgres",
		SpoolPath: w.dirs.Mkdir(t, name+"-spool"), LockPath: w.dirs.Mkdir(t, name+"-lock"), ProcessMax: 2, Repo: w.repo}}
	if err := n.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n.runner = pitr.Runner{Config: n.cfg, Credential: w.dirs.Cred}
	// As in the container: the server inherits the repository settings,
	// so archive_command and restore_command need no config file.
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PGBACKREST_") {
			env = append(env, kv)
		}
	}
	env = append(append(env, n.cfg.Env()...), n.cfg.SecretEnv()...)
	r := archivetest.Runner{Dir: w.dirs.Base, Env: env, Cred: w.dirs.Cred}
	n.pg = archivetest.NewCluster(r, w.bin, n.cfg.DataDir, w.dirs.Base, n.cfg.Port, "")
	return n
}

// serverSettings are the entrypoint's settings for both roles.
func serverSettings() map[string]string {
	s := pitr.PostgresSettings("main", "", testArchiveTimeout)
	s["track_commit_timestamp"] = "on"
	s["hot_standby"] = "on"
	return s
}

// primary initialises a node as the stack's primary: stanza created and
// checked, the schema migrated (it holds the heartbeat table) and a full
// backup for standbys to restore.
func (w *world) primary(t *testing.T, name string) *node {
	t.Helper()
	n := w.node(t, name)
	n.pg.Init(t, serverSettings())
	n.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := n.runner.StanzaCreate(ctx); err != nil {
		t.Fatalf("stanza-create + check: %v", err)
	}
	st, err := store.Open(ctx, n.pg.URL("postgres"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	execSQL(t, n, "CREATE TABLE drill (id bigint PRIMARY KEY, committed_at timestamptz NOT NULL DEFAULT clock_timestamp())")
	if _, err := n.runner.Backup(ctx, pitr.Full); err != nil {
		t.Fatalf("full backup: %v", err)
	}
	return n
}

// seedStandby seeds a node from the repository through Prepare, the
// entrypoint's code path, and starts it.
func (w *world) seedStandby(t *testing.T, name string) *node {
	t.Helper()
	n := w.node(t, name)
	n.prepare(t, standby.Standby)
	n.start(t)
	return n
}

// prepare runs Prepare for role and fails the test on an error.
func (n *node) prepare(t *testing.T, role standby.Role) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log strings.Builder
	if _, err := standby.Prepare(ctx, standby.PrepareOptions{Role: role, DataDir: n.cfg.DataDir, Restore: n.runner, Log: &log, MinWait: time.Second}); err != nil {
		t.Fatalf("prepare %s as %s: %v\n%s", n.name, role, err, log.String())
	}
	t.Logf("prepare %s as %s:\n%s", n.name, role, log.String())
}

func (n *node) start(t *testing.T) {
	t.Helper()
	n.pg.Start(t)
	// The archiver's first sleep ignores archive_timeout (pitr.WakeArchiver).
	if err := pitr.WakeArchiver(context.Background(), n.pg.URL("postgres")); err != nil {
		t.Fatal(err)
	}
}

func (n *node) status(t *testing.T) standby.Status {
	t.Helper()
	c := archivetest.Connect(t, n.pg.URL("postgres"))
	st, err := standby.ReadStatus(context.Background(), c, n.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func execSQL(t *testing.T, n *node, sql string) {
	t.Helper()
	c := archivetest.Connect(t, n.pg.URL("postgres"))
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s on %s: %v", sql, n.name, err)
	}
}

// ids returns the drill rows' ids on n.
func ids(t *testing.T, n *node) map[int64]bool {
	t.Helper()
	c := archivetest.Connect(t, n.pg.URL("postgres"))
	rows, err := c.Query(context.Background(), "SELECT id FROM drill")
	if err != nil {
		t.Fatalf("read drill rows on %s: %v", n.name, err)
	}
	defer rows.Close()
	got := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// waitFor polls until n holds row id, bounded by within; it returns how
// long that took.
func waitFor(t *testing.T, n *node, id int64, within time.Duration) time.Duration {
	t.Helper()
	c := archivetest.Connect(t, n.pg.URL("postgres"))
	start := time.Now()
	for {
		var found bool
		if err := c.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM drill WHERE id = $1)", id).Scan(&found); err != nil {
			t.Fatalf("poll %s: %v", n.name, err)
		}
		if found {
			return time.Since(start)
		}
		if time.Since(start) > within {
			logs, _ := os.ReadFile(n.pg.LogFile)
			t.Fatalf("%s did not replay row %d within %s\n%s", n.name, id, within, tail(string(logs), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
