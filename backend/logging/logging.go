// Package logging builds the backend's JSON logger.
//
// Every request writes a log line, so one write system call per line would
// be a large part of the cost of a cheap request such as a liveness probe
// (and, under Docker, each write crosses a pipe to the log driver). Lines are
// therefore batched in a buffer that is flushed every interval, when full,
// at shutdown, and at once after any record at Warn level or above, so that
// problems are never held back.
package logging

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Default batching settings.
const (
	DefaultBufferSize    = 64 << 10
	DefaultFlushInterval = 100 * time.Millisecond
)

// Buffered is an io.Writer that batches writes for the underlying writer.
// It is safe for concurrent use.
type Buffered struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewBuffered starts the periodic flusher; Close stops it.
func NewBuffered(w io.Writer, size int, every time.Duration) *Buffered {
	b := &Buffered{w: bufio.NewWriterSize(w, size), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = b.Flush()
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

// Write buffers p; bufio writes through when the buffer fills.
func (b *Buffered) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes out everything buffered.
func (b *Buffered) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Close stops the flusher and flushes what is left.
func (b *Buffered) Close() error {
	b.once.Do(func() { close(b.stop); <-b.done })
	return b.Flush()
}

// New returns a JSON logger at level writing to w through a Buffered
// writer, and the function that flushes and stops it (call it before exit).
func New(w io.Writer, level slog.Level) (*slog.Logger, func() error) {
	buf := NewBuffered(w, DefaultBufferSize, DefaultFlushInterval)
	h := slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: level})
	return slog.New(urgent{Handler: h, buf: buf}), buf.Close
}

// urgent flushes after every record at Warn level or above.
type urgent struct {
	slog.Handler
	buf *Buffered
}

func (u urgent) Handle(ctx context.Context, r slog.Record) error {
	err := u.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := u.buf.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (u urgent) WithAttrs(attrs []slog.Attr) slog.Handler {
	return urgent{Handler: u.Handler.WithAttrs(attrs), buf: u.buf}
}

func (u urgent) WithGroup(name string) slog.Handler {
	return urgent{Handler: u.Handler.WithGroup(name), buf: u.buf}
}
