// Package pgtest runs a private, throwaway PostgreSQL cluster for a test.
//
// It is exported (not internal) so that the infrastructure module's tests,
// which run the real backend against a real database, share this one harness.
//
// Each Server is a real postgres process from the Debian packages, listening on a
// free loopback port with trust authentication, its data in a temporary directory
// that is removed when the test ends. Tests can stop and restart it to exercise
// outage and recovery paths without touching any shared database.
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helloagents/infra/backend/testkit"
)

// DefaultBinDir is where Debian's postgresql-15 package installs its programs.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// Server is one running (or stopped) test cluster.
type Server struct {
	BinDir  string
	DataDir string
	Port    int

	cred *syscall.Credential
}

// BinDir returns the directory of the PostgreSQL programs: $PG_BIN, or DefaultBinDir.
func BinDir() string {
	if d := os.Getenv("PG_BIN"); d != "" {
		return d
	}
	return DefaultBinDir
}

// Require stops the test when the PostgreSQL programs are missing: a failure
// under CI (where .ci/run installs them), a skip on a developer's machine.
func Require(t testing.TB) string {
	t.Helper()
	dir := BinDir()
	if _, err := os.Stat(filepath.Join(dir, "initdb")); err != nil {
		testkit.Missing(t, fmt.Sprintf("PostgreSQL programs not found in %s (set PG_BIN): %v", dir, err))
	}
	return dir
}

// Start initialises a new cluster and starts it. The cluster is stopped and
// its files removed when the test finishes.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{BinDir: Require(t)}
	cred, err := runAs()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	s.cred = cred
	// Not t.TempDir: its parents are private to root, and postgres must not run as root.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatalf("pgtest: create data dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatalf("pgtest: chown data dir: %v", err)
		}
	}
	s.DataDir = dir
	if out, err := s.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	s.Port = FreePort(t)
	t.Cleanup(func() { _, _ = s.run("pg_ctl", "-D", s.data(), "stop", "-m", "immediate", "-w") })
	s.Restart(t)
	return s
}

// URL returns a connection string for database db as the superuser "postgres".
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// CreateDB creates database name and returns its URL.
func (s *Server) CreateDB(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %q: %v", name, err)
	}
	return s.URL(name)
}

// Stop shuts the server down (fast mode: connections are closed at once) and
// waits until it is gone. The data and the port are kept for Restart.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if out, err := s.run("pg_ctl", "-D", s.data(), "stop", "-m", "fast", "-w"); err != nil {
		t.Fatalf("pgtest: stop: %v\n%s", err, out)
	}
}

// Restart starts the server again on the same data directory and port, and
// waits until it accepts connections.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
		s.Port, s.DataDir)
	if out, err := s.run("pg_ctl", "-D", s.data(), "-o", opts, "-l", filepath.Join(s.DataDir, "postgres.log"),
		"-w", "-t", "60", "start"); err != nil {
		logs, _ := os.ReadFile(filepath.Join(s.DataDir, "postgres.log"))
		t.Fatalf("pgtest: start: %v\n%s\n%s", err, out, logs)
	}
}

func (s *Server) data() string { return filepath.Join(s.DataDir, "data") }

func (s *Server) run(prog string, args ...string) ([]byte, error) {
	// Bounded so a wedged pg_ctl fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.BinDir, prog), args...)
	cmd.Dir = s.DataDir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// runAs returns the credential of the "postgres" user when the test runs as
// root (PostgreSQL refuses to run as root), and nil otherwise.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a %q user to run the server: %w", "postgres", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse gid %q: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
