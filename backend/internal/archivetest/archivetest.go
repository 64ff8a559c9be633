// Package archivetest runs throwaway PostgreSQL 15 clusters that archive WAL
// through pgBackRest, for the tests of pitr and standby: directories the
// postgres user owns, servers started and stopped as that user with the
// repository's PGBACKREST_* environment (archive_command and
// restore_command run pgBackRest), and waits on the archiver.
//
// It does not import pitr, so pitr's own tests can use it.
package archivetest

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

	"github.com/helloagents/infra/backend/testkit"
)

// RequirePGBackRest stops the test when pgbackrest is not on PATH: a
// failure under CI, a skip on a developer's machine.
func RequirePGBackRest(t testing.TB) {
	t.Helper()
	testkit.RequireTool(t, "pgbackrest", "apt-get install pgbackrest")
}

// PostgresCred is the postgres user's credential when the test runs as
// root (PostgreSQL refuses root), nil otherwise.
func PostgresCred(t testing.TB) *syscall.Credential {
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

// Dirs makes directories the postgres user owns.
type Dirs struct {
	// Base is a fresh directory, removed when the test ends.
	Base string
	Cred *syscall.Credential
}

// NewDirs makes Base. Not t.TempDir: its parents are private to root.
func NewDirs(t testing.TB, cred *syscall.Credential) Dirs {
	t.Helper()
	d, err := os.MkdirTemp("", "archivetest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	dirs := Dirs{Base: d, Cred: cred}
	dirs.own(t, d)
	return dirs
}

// Mkdir creates Base/name (0700), owned by postgres.
func (d Dirs) Mkdir(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(d.Base, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	d.own(t, dir)
	return dir
}

func (d Dirs) own(t testing.TB, dir string) {
	t.Helper()
	if d.Cred != nil {
		if err := os.Chown(dir, int(d.Cred.Uid), int(d.Cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
}

// Runner runs programs as postgres in Dir with Env (nil: the caller's).
type Runner struct {
	Dir  string
	Env  []string
	Cred *syscall.Credential
}

// Exec runs prog (bounded by 3 minutes) and returns its combined output.
func (r Runner) Exec(prog string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = r.Dir
	cmd.Env = r.Env
	if r.Cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.Cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// Run is Exec that fails the test on an error.
func (r Runner) Run(t testing.TB, prog string, args ...string) string {
	t.Helper()
	out, err := r.Exec(prog, args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(prog), err, out)
	}
	return string(out)
}

// Cluster is a PostgreSQL server on a data directory.
type Cluster struct {
	Runner
	BinDir  string
	DataDir string
	Port    int
	// Opts are pg_ctl's -o options; LogFile the server's log.
	Opts    string
	LogFile string
}

// NewCluster describes a server on dataDir listening on port (loopback
// and a socket in socketDir); extra are more postgres options.
func NewCluster(r Runner, binDir, dataDir, socketDir string, port int, extra string) *Cluster {
	return &Cluster{Runner: r, BinDir: binDir, DataDir: dataDir, Port: port,
		LogFile: filepath.Join(socketDir, fmt.Sprintf("pg-%d.log", port)),
		Opts:    fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off %s", port, socketDir, extra)}
}

// URL is a connection string for database db as postgres.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// Init runs initdb and appends settings to postgresql.conf.
func (c *Cluster) Init(t testing.TB, settings map[string]string) {
	t.Helper()
	c.Run(t, filepath.Join(c.BinDir, "initdb"), "-D", c.DataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C")
	var conf strings.Builder
	for k, v := range settings {
		fmt.Fprintf(&conf, "%s = '%s'\n", k, strings.ReplaceAll(v, "'", "''"))
	}
	f, err := os.OpenFile(filepath.Join(c.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(conf.String()); err != nil {
		t.Fatal(err)
	}
}

// Start starts the server and waits until it accepts connections (a
// standby: until it is consistent); the test's end stops it.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	t.Cleanup(func() {
		_, _ = c.Exec(filepath.Join(c.BinDir, "pg_ctl"), "-D", c.DataDir, "stop", "-m", "immediate", "-w")
	})
	if out, err := c.Exec(filepath.Join(c.BinDir, "pg_ctl"), "-D", c.DataDir, "-o", c.Opts, "-l", c.LogFile, "-w", "-t", "120", "start"); err != nil {
		logs, _ := os.ReadFile(c.LogFile)
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, logs)
	}
}

// Stop stops the server in mode (fast, immediate).
func (c *Cluster) Stop(t testing.TB, mode string) {
	t.Helper()
	if out, err := c.Exec(filepath.Join(c.BinDir, "pg_ctl"), "-D", c.DataDir, "stop", "-m", mode, "-w"); err != nil {
		t.Fatalf("pg_ctl stop -m %s: %v\n%s", mode, err, out)
	}
}

// RandomHex returns 2n random hex digits.
func RandomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Connect opens a connection for the test's duration.
func Connect(t testing.TB, url string) *pgx.Conn {
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

// SwitchAndWait closes the current WAL segment and waits (bounded) until
// PostgreSQL reports it archived; it returns the segment's name.
func SwitchAndWait(t testing.TB, url string, within time.Duration) string {
	t.Helper()
	c := Connect(t, url)
	var seg string
	// pg_switch_wal returns the end of the switched segment's last record.
	if err := c.QueryRow(context.Background(), "SELECT pg_walfile_name(pg_switch_wal())").Scan(&seg); err != nil {
		t.Fatalf("pg_switch_wal: %v", err)
	}
	WaitArchived(t, c, seg, within)
	return seg
}

// WaitArchived waits (bounded) until segment seg or a later one is archived.
func WaitArchived(t testing.TB, c *pgx.Conn, seg string, within time.Duration) {
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
