package canary

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Bake judges a canary over its bake.
type Bake struct {
	Limits  Limits
	Bake    time.Duration // judged after this long
	MaxBake time.Duration // longest the bake extends while the canary has too little traffic
	Poll    time.Duration // how often the figures are read during the bake
	// Wait waits d or until ctx ends; nil: a real timer. Tests pass one that returns at once so the loop's logic does not depend on time.
	Wait func(ctx context.Context, d time.Duration) error
	// OnPoll, when set, is told every poll's verdict (logs, journal).
	OnPoll func(Verdict)
}

// Validate reports every invalid setting of the bake, its limits' too.
func (b Bake) Validate() error {
	var errs []error
	if err := b.Limits.Validate(); err != nil {
		errs = append(errs, err)
	}
	if b.Poll <= 0 {
		errs = append(errs, fmt.Errorf("canary bake: Poll is %s: must be positive", b.Poll))
	}
	if b.Bake < b.Poll {
		errs = append(errs, fmt.Errorf("canary bake: Bake is %s: must be at least Poll (%s)", b.Bake, b.Poll))
	}
	if b.MaxBake < b.Bake {
		errs = append(errs, fmt.Errorf("canary bake: MaxBake is %s: must be at least Bake (%s)", b.MaxBake, b.Bake))
	}
	return errors.Join(errs...)
}

// MaxSourceErrors is how many polls in a row may fail to read the figures
// before Judge gives up with the last error: one failed query (a scrape
// gap, a restarting Prometheus) does not decide a release.
const MaxSourceErrors = 3

// Judge polls src every Poll; window of poll n is n×Poll (deterministic, not
// wall-clock). It fails early when the canary breaks a limit at two
// consecutive polls with at least MinRequests requests; at Bake it decides;
// with too little traffic it keeps polling up to MaxBake, then returns
// Outcome TooLittleTraffic (not promoted). Returns ctx's error when
// interrupted (with the last verdict read), and the source's error after
// MaxSourceErrors failed polls in a row.
func Judge(ctx context.Context, src Source, b Bake, fingerprint string) (Verdict, error) {
	if err := b.Validate(); err != nil {
		return Verdict{}, err
	}
	wait := b.Wait
	if wait == nil {
		wait = sleep
	}
	var (
		last      Verdict
		bad       int // consecutive polls that broke a limit
		srcErrors int // consecutive polls that could not read the figures
	)
	for n := 1; ; n++ {
		if err := wait(ctx, b.Poll); err != nil {
			return last, err
		}
		if err := ctx.Err(); err != nil {
			return last, err
		}
		window := time.Duration(n) * b.Poll
		v, err := read(ctx, src, b.Limits, fingerprint, window)
		if err != nil {
			if ctx.Err() != nil {
				return last, ctx.Err()
			}
			if srcErrors++; srcErrors >= MaxSourceErrors {
				return last, fmt.Errorf("canary: %d polls in a row could not read the figures: %w", srcErrors, err)
			}
			continue
		}
		srcErrors = 0
		last = v
		if b.OnPoll != nil {
			b.OnPoll(v)
		}
		if v.Outcome == Failed {
			bad++
		} else {
			bad = 0
		}
		switch {
		case bad >= 2:
			return v, nil // failed early, or at the bake after a bad poll
		case window < b.Bake:
		case v.Outcome != TooLittleTraffic:
			return v, nil // the bake is over: passed, or failed at its end
		case window >= b.MaxBake:
			return v, nil // too little traffic to the end of the extension
		}
	}
}

func read(ctx context.Context, src Source, l Limits, fingerprint string, window time.Duration) (Verdict, error) {
	c, err := src.Figures(ctx, fingerprint, true, window)
	if err != nil {
		return Verdict{}, err
	}
	s, err := src.Figures(ctx, fingerprint, false, window)
	if err != nil {
		return Verdict{}, err
	}
	return DecideOver(l, c, s, window), nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
