package main

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// connStates follows the server's connections (http.Server.ConnState) to
// tell when none is opening or serving a request.
//
// It exists because of one rule of net/http: once Server.Shutdown has begun,
// a request read from any connection is dropped without an answer (the
// connection just closes). So the server closes its listener itself first,
// waits until every connection it accepted has sent its request and been
// answered (each answer carries Connection: close by then), and only then
// calls Shutdown, which is left with idle connections to close.
type connStates struct {
	mu   sync.Mutex
	busy map[net.Conn]struct{} // StateNew or StateActive
}

func newConnStates() *connStates { return &connStates{busy: make(map[net.Conn]struct{})} }

// track is the http.Server.ConnState hook.
func (s *connStates) track(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case http.StateNew, http.StateActive:
		s.busy[c] = struct{}{}
	default: // idle, hijacked, closed
		delete(s.busy, c)
	}
}

func (s *connStates) busyCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.busy)
}

// waitIdle waits until no connection is opening or serving a request, or
// ctx ends; it returns how many still were.
func (s *connStates) waitIdle(ctx context.Context) int {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		n := s.busyCount()
		if n == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return n
		case <-tick.C:
		}
	}
}
