package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer lets the test read what the flusher goroutine wrote.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestInfoIsBatchedWarnIsImmediate(t *testing.T) {
	var out lockedBuffer
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
	var out lockedBuffer
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
	var out lockedBuffer
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
	var out lockedBuffer
	log, closeFn := New(&out, slog.LevelWarn)
	log.Info("hidden")
	log.Debug("hidden")
	_ = closeFn()
	if out.String() != "" {
		t.Errorf("below-level records written: %q", out.String())
	}
}
