package logging

import (
	"sync"
	"time"
)

// RepeatInterval is how often a repeated failure is summarized: during an
// outage every probe fails the same way, and one line per probe (two probes
// a second per replica and monitor) would bury everything else.
const RepeatInterval = 10 * time.Second

// maxRepeatKeys bounds the keys Repeats tracks; a key beyond it is always
// allowed (logged), so a flood of distinct keys costs no memory.
const maxRepeatKeys = 256

// Repeats rate-limits identical log lines: the first occurrence of a key is
// logged, later ones within the interval are counted, and the first one
// after the interval is logged with that count. The zero value is not
// usable; use NewRepeats.
type Repeats struct {
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	keys map[string]*repeat
}

type repeat struct {
	logged     time.Time
	suppressed int
}

// NewRepeats returns a limiter that logs each key at most once per
// interval. now is the clock (time.Now outside tests).
func NewRepeats(interval time.Duration, now func() time.Time) *Repeats {
	return &Repeats{interval: interval, now: now, keys: map[string]*repeat{}}
}

// Allow reports whether the line for key is to be written, and how many
// identical lines were suppressed since the last one written.
func (r *Repeats) Allow(key string) (ok bool, suppressed int) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	e, seen := r.keys[key]
	if !seen {
		if len(r.keys) >= maxRepeatKeys {
			r.forget(now)
			if len(r.keys) >= maxRepeatKeys {
				return true, 0
			}
		}
		r.keys[key] = &repeat{logged: now}
		return true, 0
	}
	if now.Sub(e.logged) < r.interval {
		e.suppressed++
		return false, 0
	}
	n := e.suppressed
	e.logged, e.suppressed = now, 0
	return true, n
}

// Reset forgets key: the next failure after a success is news again.
func (r *Repeats) Reset(key string) {
	r.mu.Lock()
	delete(r.keys, key)
	r.mu.Unlock()
}

// forget drops the keys not logged within the interval.
func (r *Repeats) forget(now time.Time) {
	for k, e := range r.keys {
		if now.Sub(e.logged) >= r.interval {
			delete(r.keys, k)
		}
	}
}
