package standby_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// commit is one write the primary acknowledged: its id, when the client saw
// the commit, and the WAL position after it (an upper bound of its commit
// record).
type commit struct {
	id  int64
	at  time.Time
	lsn uint64
}

// writer commits drill rows one by one on a primary, at most one per
// interval, until stopped or until the primary refuses (killed, fenced).
type writer struct {
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	commits []commit
	err     error
}

func startWriter(t *testing.T, n *node, firstID int64, interval time.Duration) *writer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, n.pg.URL("postgres"))
	if err != nil {
		t.Fatalf("writer: connect to %s: %v", n.name, err)
	}
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer c.Close(context.Background())
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for id := firstID; ; id++ {
			cm, err := write(c, id)
			w.mu.Lock()
			if err != nil {
				w.err = err
				w.mu.Unlock()
				return
			}
			w.commits = append(w.commits, cm)
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { _, _ = w.Stop() })
	return w
}

func write(c *pgx.Conn, id int64) (commit, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Exec(ctx, "INSERT INTO drill (id) VALUES ($1)", id); err != nil {
		return commit{}, fmt.Errorf("insert %d: %w", id, err)
	}
	at := time.Now()
	var lsn string
	if err := c.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn); err != nil {
		// Committed, position unknown: the largest one, so it is never
		// counted among the writes that must survive.
		return commit{id: id, at: at, lsn: ^uint64(0)}, nil //nolint:nilerr // the commit itself succeeded
	}
	l, err := parseLSN(lsn)
	if err != nil {
		return commit{}, err
	}
	return commit{id: id, at: at, lsn: l}, nil
}

// Stop ends the writer (if still running) and returns its commits and the
// error that ended it, if any.
func (w *writer) Stop() ([]commit, error) {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.commits, w.err
}

// Wait waits until the writer has stopped by itself (an error).
func (w *writer) Wait(t *testing.T, within time.Duration) ([]commit, error) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(within):
		t.Fatalf("the writer still writes %s after its primary should have stopped", within)
	}
	return w.Stop()
}

func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("LSN %q: want X/Y in hex", s)
	}
	return h<<32 | l, nil
}

// segmentEnd is the WAL position where segment name (16 MiB segments) ends.
func segmentEnd(name string) (uint64, error) {
	if len(name) < 24 {
		return 0, fmt.Errorf("WAL segment name %q: want 24 hex digits", name)
	}
	log, err1 := strconv.ParseUint(name[8:16], 16, 32)
	seg, err2 := strconv.ParseUint(name[16:24], 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("WAL segment name %q: want 24 hex digits", name)
	}
	return log<<32 | (seg+1)<<24, nil
}
