package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

type prober struct {
	answers []error // nil: answer inRecovery
	in      bool
	calls   int
}

func (p *prober) InRecovery(context.Context) (bool, error) {
	p.calls++
	if len(p.answers) > 0 {
		err := p.answers[0]
		p.answers = p.answers[1:]
		if err != nil {
			return false, err
		}
	}
	return p.in, nil
}

// TestRoleCache: the role is probed at most once per ttl; a promotion is
// seen after ttl; an unreachable database keeps the last known role.
func TestRoleCache(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	p := &prober{in: true}
	c := newRoleCache(p, time.Second)
	c.now = func() time.Time { return now }
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		in      bool
		fail    bool
		want    bool
		calls   int
	}{
		{0, true, false, true, 1},
		{500 * time.Millisecond, false, false, true, 1}, // promoted, cache still fresh
		{500 * time.Millisecond, false, false, false, 2},
		{time.Second, true, true, false, 3}, // unreachable: last known role
		{0, true, false, true, 4},           // a failed probe is retried at once
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		p.in = s.in
		if s.fail {
			p.answers = []error{errors.New("connection refused")}
		}
		if got := c.ReadOnly(ctx); got != s.want || p.calls != s.calls {
			t.Errorf("step %d: ReadOnly = %t after %d probes, want %t after %d", i, got, p.calls, s.want, s.calls)
		}
	}
}
