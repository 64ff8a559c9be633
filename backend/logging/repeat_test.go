package logging

import (
	"fmt"
	"testing"
	"time"
)

// clock is a manual clock for the limiter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestRepeats(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	r := NewRepeats(10*time.Second, c.now)
	type step struct {
		advance    time.Duration
		key        string
		ok         bool
		suppressed int
	}
	for i, s := range []step{
		{0, "db", true, 0},                // the first failure is logged
		{time.Second, "db", false, 0},     // repeats within the interval are counted
		{time.Second, "db", false, 0},     //
		{time.Second, "other", true, 0},   // another key is news
		{10 * time.Second, "db", true, 2}, // after the interval: one line with the count
		{time.Second, "db", false, 0},
	} {
		c.t = c.t.Add(s.advance)
		ok, n := r.Allow(s.key)
		if ok != s.ok || n != s.suppressed {
			t.Errorf("step %d (%s): Allow = %v, %d; want %v, %d", i, s.key, ok, n, s.ok, s.suppressed)
		}
	}
	r.Reset("db")
	if ok, _ := r.Allow("db"); !ok {
		t.Error("a failure after Reset is not logged")
	}
}

// TestRepeatsBounded proves distinct keys cannot grow the limiter: past the
// bound, old keys are forgotten or the line is simply allowed.
func TestRepeatsBounded(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	r := NewRepeats(10*time.Second, c.now)
	for i := range 10 * maxRepeatKeys {
		if ok, _ := r.Allow(fmt.Sprint(i)); !ok {
			t.Fatalf("new key %d suppressed", i)
		}
	}
	if n := len(r.keys); n > maxRepeatKeys {
		t.Errorf("%d keys tracked; bound is %d", n, maxRepeatKeys)
	}
	c.t = c.t.Add(time.Minute)
	r.Allow("fresh")
	if n := len(r.keys); n != 1 {
		t.Errorf("%d keys after the interval; want the stale ones forgotten", n)
	}
}
