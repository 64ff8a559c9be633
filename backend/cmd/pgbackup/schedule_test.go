package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/internal/dbfixture"
	"github.com/helloagents/infra/backend/pgtest"
)

// logLine is one JSON log line of `pgbackup run`.
type logLine struct {
	Msg    string `json:"msg"`
	Level  string `json:"level"`
	Status string `json:"status"`
	Key    string `json:"key"`
	Error  string `json:"error"`
	raw    string
}

// scheduler is a running `pgbackup run` whose stdout lines arrive on lines.
type scheduler struct {
	cmd    *exec.Cmd
	lines  chan logLine
	done   chan error
	stderr *strings.Builder
}

func startScheduler(t *testing.T, env map[string]string) *scheduler {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	s := &scheduler{cmd: command(ctx, env, "run"), lines: make(chan logLine, 100),
		done: make(chan error, 1), stderr: &strings.Builder{}}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var l logLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				l.Msg = "NOT JSON"
			}
			l.raw = sc.Text()
			s.lines <- l
		}
		close(s.lines)
		s.done <- s.cmd.Wait()
	}()
	return s
}

// next returns the next log line satisfying ok, failing the test if the
// program exits or the bounded wait ends first.
func (s *scheduler) next(t *testing.T, what string, ok func(logLine) bool) logLine {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case l, open := <-s.lines:
			if !open {
				t.Fatalf("pgbackup run exited while waiting for %s; stderr:\n%s", what, s.stderr)
			}
			if l.Msg == "NOT JSON" {
				t.Errorf("stdout line is not JSON: %q", l.raw)
			}
			if ok(l) {
				return l
			}
		case <-timeout:
			t.Fatalf("no %s within 2 minutes", what)
		}
	}
}

// stop sends SIGTERM and returns the exit status.
func (s *scheduler) stop(t *testing.T) error {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	for range s.lines { //nolint:revive // drain until the program closes stdout
	}
	select {
	case err := <-s.done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("pgbackup run did not exit within a minute of SIGTERM")
		return nil
	}
}

// TestSchedulerRunsAndStops: on a one-second schedule the scheduler takes
// backups, logs one JSON line per run, and exits 0 on SIGTERM.
func TestSchedulerRunsAndStops(t *testing.T) {
	pg := pgtest.Start(t)
	src := pg.CreateDB(t, "app")
	dbfixture.Seed(t, src, 100)
	env := map[string]string{"DATABASE_URL": src, "BACKUP_DESTINATION": "file://" + t.TempDir(),
		"BACKUP_SCHEDULE": "@every 1s", "BACKUP_KEEP_LAST": "2"}

	s := startScheduler(t, env)
	s.next(t, "start line", func(l logLine) bool { return l.Msg == "scheduler started" })
	seen := map[string]bool{}
	for len(seen) < 2 {
		l := s.next(t, "a backup run line", func(l logLine) bool { return l.Msg == "backup run" })
		if l.Status != "ok" || l.Key == "" {
			t.Fatalf("run failed: %s\nstderr: %s", l.raw, s.stderr)
		}
		seen[l.Key] = true
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v (want 0); stderr:\n%s", err, s.stderr)
	}
	if keys := listed(t, env); len(keys) < 2 {
		t.Errorf("list after the scheduler = %v, want at least 2 backups", keys)
	}
}

// TestSchedulerReportsFailures: a failing run logs status "failed" and sends
// an event to Sentry (a local stand-in for its ingest endpoint) that names the
// cause and carries no credential.
func TestSchedulerReportsFailures(t *testing.T) {
	pg := pgtest.Start(t)
	const dbPass = "db-pass-Sn77"
	var (
		mu     sync.Mutex
		bodies []string
	)
	got := make(chan struct{}, 10)
	sentry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.URL.Path+"\n"+string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
		got <- struct{}{}
	}))
	defer sentry.Close()
	dsn := strings.Replace(sentry.URL, "http://", "http://publickey123@", 1) + "/42"
	env := map[string]string{
		"DATABASE_URL":       withPassword(pg.URL("no_such_db"), dbPass),
		"BACKUP_DESTINATION": "file://" + t.TempDir(), "BACKUP_SCHEDULE": "@every 1s",
		"SENTRY_DSN": dsn, "SENTRY_ENVIRONMENT": "test",
	}
	s := startScheduler(t, env)
	l := s.next(t, "a backup run line", func(l logLine) bool { return l.Msg == "backup run" })
	if l.Status != "failed" || l.Level != "ERROR" || !strings.Contains(l.Error, "no_such_db") {
		t.Errorf("failed run logged as %s", l.raw)
	}
	if strings.Contains(l.raw, dbPass) {
		t.Errorf("log line contains the database password: %s", l.raw)
	}
	select {
	case <-got:
	case <-time.After(time.Minute):
		t.Fatal("no event reached the Sentry endpoint within a minute")
	}
	if err := s.stop(t); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 0 {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	event := bodies[0]
	if !strings.Contains(event, "/api/42/envelope/") || !strings.Contains(event, "no_such_db") {
		t.Errorf("Sentry request does not carry the failure:\n%.2000s", event)
	}
	if strings.Contains(event, dbPass) {
		t.Errorf("Sentry event contains the database password")
	}
}

// TestSchedulerSIGTERMDuringBackup: SIGTERM in the middle of a backup cancels
// it (logged as cancelled), exits 0, and leaves no backup and no temporary file.
func TestSchedulerSIGTERMDuringBackup(t *testing.T) {
	pg := pgtest.Start(t)
	src := pg.CreateDB(t, "app")
	dbfixture.Blobs(t, src, 8)
	dir := t.TempDir()
	env := map[string]string{"DATABASE_URL": src, "BACKUP_DESTINATION": "file://" + dir,
		"BACKUP_SCHEDULE": "@every 1s", "PG_BIN": stallingPGBin(t)}
	s := startScheduler(t, env)
	s.next(t, "start line", func(l logLine) bool { return l.Msg == "scheduler started" })
	deadline := time.Now().Add(2 * time.Minute)
	for {
		parts, _ := filepath.Glob(filepath.Join(dir, "app", ".*.partial-*"))
		if len(parts) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("backup never started")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	l := s.next(t, "the cancelled run's line", func(l logLine) bool { return l.Msg == "backup run" })
	if l.Status != "cancelled" {
		t.Errorf("run during SIGTERM logged as %s", l.raw)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v (want 0); stderr:\n%s", err, s.stderr)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "app", "*"))
	hidden, _ := filepath.Glob(filepath.Join(dir, "app", ".*"))
	if len(left)+len(hidden) != 0 {
		t.Errorf("files left after a cancelled backup: %v %v", left, hidden)
	}
}
