package logging

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/testkit"
)

func TestInfoIsBatchedWarnIsImmediate(t *testing.T) {
	var out testkit.SyncBuffer
	// An interval far beyond the test: only explicit flushes write.
	buf := NewBuffered(&out, 1<<16, time.Hour)
	log := slog.New(urgent{Handler: slog.NewJSONHandler(buf, nil), buf: buf}).With("service", "t")
	log.Info("request", "status", 200)
	if out.String() != "" {
		t.Fatalf("info line written at once: %q", out.String())
	}
	log.Warn("database check failed")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("after a warning, want both lines in order, got %q", out.String())
	}
	for i, want := range []string{"request", "database check failed"} {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil || rec["msg"] != want || rec["service"] != "t" {
			t.Errorf("line %d = %q (%v)", i, lines[i], err)
		}
	}
}

func TestCloseFlushes(t *testing.T) {
	var out testkit.SyncBuffer
	log, closeFn := New(&out, slog.LevelInfo)
	log.Info("last words")
	if err := closeFn(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "last words") {
		t.Errorf("Close lost a line: %q", out.String())
	}
	if err := closeFn(); err != nil { // idempotent
		t.Fatal(err)
	}
}

func TestPeriodicFlush(t *testing.T) {
	var out testkit.SyncBuffer
	buf := NewBuffered(&out, 1<<16, 10*time.Millisecond)
	defer buf.Close()
	_, _ = buf.Write([]byte("line\n"))
	// Bounded wait for the flusher.
	for deadline := time.Now().Add(10 * time.Second); out.String() == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("buffer never flushed")
		}
	}
}

func TestLevelFilter(t *testing.T) {
	var out testkit.SyncBuffer
	log, closeFn := New(&out, slog.LevelWarn)
	log.Info("hidden")
	log.Debug("hidden")
	_ = closeFn()
	if out.String() != "" {
		t.Errorf("below-level records written: %q", out.String())
	}
}
