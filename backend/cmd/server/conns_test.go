package main

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestConnStates(t *testing.T) {
	a, b := &net.TCPConn{}, &net.UnixConn{}
	tests := []struct {
		name  string
		steps []http.ConnState // of connection a; b is another one, opening
		want  int
	}{
		{"opening", []http.ConnState{http.StateNew}, 1},
		{"serving", []http.ConnState{http.StateNew, http.StateActive}, 1},
		{"idle between requests", []http.ConnState{http.StateNew, http.StateActive, http.StateIdle}, 0},
		{"next request", []http.ConnState{http.StateNew, http.StateActive, http.StateIdle, http.StateActive}, 1},
		{"closed", []http.ConnState{http.StateNew, http.StateActive, http.StateClosed}, 0},
		{"closed unused", []http.ConnState{http.StateNew, http.StateClosed}, 0},
		{"hijacked", []http.ConnState{http.StateNew, http.StateActive, http.StateHijacked}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newConnStates()
			s.track(b, http.StateNew)
			for _, st := range tt.steps {
				s.track(a, st)
			}
			if got := s.busyCount(); got != tt.want+1 {
				t.Errorf("busy = %d, want %d", got, tt.want+1)
			}
			s.track(b, http.StateClosed)
			if got := s.busyCount(); got != tt.want {
				t.Errorf("busy after the other closed = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestConnStatesWaitIdle(t *testing.T) {
	s := newConnStates()
	c := &net.TCPConn{}
	s.track(c, http.StateActive)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n := s.waitIdle(ctx); n != 1 {
		t.Errorf("waitIdle with an active connection and an ended context = %d, want 1", n)
	}
	done := make(chan int, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		done <- s.waitIdle(ctx)
	}()
	s.track(c, http.StateIdle)
	if n := <-done; n != 0 {
		t.Errorf("waitIdle after the request ended = %d, want 0", n)
	}
}
