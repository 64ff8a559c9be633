// Package pgharness starts a private, throwaway PostgreSQL server for a test
// of the root module: initdb into a temporary directory, pg_ctl start on a
// free loopback port with trust authentication, pg_ctl stop at cleanup.
//
// The backend module has the same thing as backend/internal/pgtest, but an
// internal package of another module cannot be imported; this copy keeps to
// the few lines the root module's tests need (no client library: the code
// under test connects itself).
package pgharness

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
)

// DefaultBinDir is where Debian's postgresql-15 package installs its programs.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// Server is one running test cluster.
type Server struct {
	BinDir string
	Dir    string
	Port   int
	cred   *syscall.Credential
}

// BinDir returns $PG_BIN, or DefaultBinDir.
func BinDir() string {
	if d := os.Getenv("PG_BIN"); d != "" {
		return d
	}
	return DefaultBinDir
}

// Start initialises and starts a cluster, stopped and removed when the test
// ends. Missing PostgreSQL programs fail the test under CI (env CI set) and
// skip it elsewhere.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{BinDir: BinDir()}
	if _, err := os.Stat(filepath.Join(s.BinDir, "initdb")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("pgharness: PostgreSQL programs not found in %s (set PG_BIN): %v", s.BinDir, err)
		}
		t.Skipf("pgharness: PostgreSQL programs not found in %s (set PG_BIN); skipping", s.BinDir)
	}
	cred, err := runAs()
	if err != nil {
		t.Fatalf("pgharness: %v", err)
	}
	s.cred = cred
	// Not t.TempDir: its parents are private to root, and postgres runs as
	// another user when the test runs as root.
	dir, err := os.MkdirTemp("", "pgharness-")
	if err != nil {
		t.Fatalf("pgharness: data dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatalf("pgharness: chown data dir: %v", err)
		}
	}
	s.Dir = dir
	data := filepath.Join(dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
		"--no-sync", "--locale=C"); err != nil {
		t.Fatalf("pgharness: initdb: %v\n%s", err, out)
	}
	s.Port = freePort(t)
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", s.Port, dir)
	t.Cleanup(func() { _, _ = s.run("pg_ctl", "-D", data, "stop", "-m", "immediate", "-w") })
	if out, err := s.run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "postgres.log"),
		"-w", "-t", "60", "start"); err != nil {
		logs, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		t.Fatalf("pgharness: start: %v\n%s\n%s", err, out, logs)
	}
	return s
}

// Stop shuts the server down (fast mode: connections are closed at once) and
// waits until it is gone, so a test can watch the code under test lose its
// database.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if out, err := s.run("pg_ctl", "-D", filepath.Join(s.Dir, "data"), "stop", "-m", "fast", "-w"); err != nil {
		t.Fatalf("pgharness: stop: %v\n%s", err, out)
	}
}

// URL is the connection string of database db as the superuser "postgres".
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// run runs one PostgreSQL program, bounded so a wedged server cannot hang
// the test run (pg_ctl itself waits at most 60 s).
func (s *Server) run(prog string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.BinDir, prog), args...)
	cmd.Dir = s.Dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// runAs returns the credential of user "postgres" when running as root
// (PostgreSQL refuses to run as root), nil otherwise.
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
		return nil, fmt.Errorf("uid %q of postgres: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("gid %q of postgres: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int { return freePort(t) }

func freePort(t testing.TB) int {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgharness: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
