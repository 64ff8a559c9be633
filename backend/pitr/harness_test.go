package pitr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/internal/archivetest"
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

// newEnv starts versitygw over TLS (region auto, as R2) and a PostgreSQL 15
// primary archiving into an encrypted repository in it, with the stanza
// created and checked.
func newEnv(t *testing.T) *env {
	t.Helper()
	archivetest.RequirePGBackRest(t)
	e := &env{t: t, bin: pgtest.Require(t), cred: archivetest.PostgresCred(t)}
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
			CipherPass: "pass-" + archivetest.RandomHex(t, 16), RetentionFull: 2,
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
	if name == "" {
		return archivetest.NewDirs(t, e.cred).Base
	}
	return archivetest.Dirs{Base: e.base, Cred: e.cred}.Mkdir(t, name)
}

// cluster is a PostgreSQL server on a data directory.
type cluster struct {
	*archivetest.Cluster
}

// initCluster runs initdb and starts a server with the given settings in
// postgresql.conf. The server inherits the secrets through its environment
// (archive_command runs pgBackRest).
func (e *env) initCluster(t *testing.T, data string, port int, settings map[string]string) *cluster {
	t.Helper()
	c := &cluster{archivetest.NewCluster(e.pgRunner(), e.bin, data, e.base, port, "")}
	c.Init(t, settings)
	c.start(t)
	return c
}

// startOn starts a server on an existing data directory; extra are more
// postgres options ("-c archive_mode=off" for a recovered copy).
func (e *env) startOn(t *testing.T, data string, port int, extra string) *cluster {
	t.Helper()
	c := &cluster{archivetest.NewCluster(e.pgRunner(), e.bin, data, e.base, port, extra)}
	c.start(t)
	return c
}

func (c *cluster) start(t *testing.T) {
	t.Helper()
	c.Start(t)
	// PostgreSQL 15's checkpointer computes its first sleep during startup,
	// without archive_timeout, and sleeps up to checkpoint_timeout; a reload
	// wakes it (the backup job does the same in production: pitr.WakeArchiver).
	if err := WakeArchiver(context.Background(), c.URL("postgres")); err != nil {
		t.Fatal(err)
	}
}

// pgRunner runs programs as the postgres user with the repository secrets
// in their environment (as the container gives them to the server).
func (e *env) pgRunner() archivetest.Runner {
	return archivetest.Runner{Dir: e.base, Env: e.runner.env(), Cred: e.cred}
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
