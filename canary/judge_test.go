package canary

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// script is a Source whose canary figures at poll n (window n×poll) are
// step[n-1] (the last one repeats); the stable replicas are always good.
type script struct {
	poll     time.Duration
	steps    []Figures
	errs     map[int]error // poll number → error of its canary read
	windows  []time.Duration
	cancel   func() // called at poll cancelAt
	cancelAt int
}

var goodStable = Figures{Requests: 10000, ErrorRatio: f(0.001), P95Seconds: f(0.1)}

func (s *script) Figures(ctx context.Context, fp string, canary bool, window time.Duration) (Figures, error) {
	if fp != "fp-new" {
		return Figures{}, errors.New("wrong fingerprint " + fp)
	}
	if !canary {
		return goodStable, nil
	}
	s.windows = append(s.windows, window)
	n := int(window / s.poll)
	if s.cancel != nil && n == s.cancelAt {
		s.cancel()
		return Figures{}, context.Canceled
	}
	if err := s.errs[n]; err != nil {
		return Figures{}, err
	}
	return s.steps[min(n, len(s.steps))-1], nil
}

var (
	good   = Figures{Requests: 500, ErrorRatio: f(0.001), P95Seconds: f(0.1)}
	bad    = Figures{Requests: 500, ErrorRatio: f(0.2), P95Seconds: f(0.1)}
	little = Figures{Requests: 10, ErrorRatio: f(0), P95Seconds: f(0.1)}
)

func noWait(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func TestJudge(t *testing.T) {
	const poll = 10 * time.Second
	tests := []struct {
		name    string
		steps   []Figures
		errs    map[int]error
		want    Outcome
		polls   int // polls read
		wantErr string
	}{
		{"passes at the bake", []Figures{good}, nil, Passed, 6, ""},
		{"fails early after two bad polls in a row", []Figures{good, bad, bad}, nil, Failed, 3, ""},
		{"one bad poll alone does not fail early", []Figures{good, bad, good, bad, good}, nil, Passed, 6, ""},
		{"a bad poll at the bake decides", []Figures{good, good, good, good, good, bad}, nil, Failed, 6, ""},
		{"bad polls without enough requests are not failures", []Figures{little, {Requests: 10, ErrorRatio: f(1)}, little, good}, nil, Passed, 6, ""},
		{"too little traffic to the end of the extension", []Figures{little}, nil, TooLittleTraffic, 12, ""},
		{"extension, then passes", []Figures{little, little, little, little, little, little, little, good}, nil, Passed, 8, ""},
		{"extension, then fails", []Figures{little, little, little, little, little, little, bad}, nil, Failed, 7, ""},
		{"a failed read is retried", []Figures{good}, map[int]error{2: errors.New("scrape gap"), 3: errors.New("scrape gap")}, Passed, 6, ""},
		{"too many failed reads in a row", []Figures{good}, map[int]error{2: errors.New("down"), 3: errors.New("down"), 4: errors.New("down")},
			Passed, 4, "3 polls in a row could not read the figures: down"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &script{poll: poll, steps: tc.steps, errs: tc.errs}
			var seen []Verdict
			b := Bake{Limits: limits, Bake: 6 * poll, MaxBake: 12 * poll, Poll: poll, Wait: noWait,
				OnPoll: func(v Verdict) { seen = append(seen, v) }}
			v, err := Judge(t.Context(), src, b, "fp-new")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Judge error = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if v.Outcome != tc.want {
				t.Errorf("Judge = %s, want %s", v, tc.want)
			}
			if len(src.windows) != tc.polls {
				t.Errorf("%d polls (%v), want %d", len(src.windows), src.windows, tc.polls)
			}
			for i, w := range src.windows {
				if w != time.Duration(i+1)*poll {
					t.Errorf("poll %d read a window of %s, want %s", i+1, w, time.Duration(i+1)*poll)
				}
			}
			if tc.wantErr == "" && (len(seen) == 0 || seen[len(seen)-1].String() != v.String()) {
				t.Errorf("OnPoll's last verdict %v is not Judge's %v", seen, v)
			}
			if tc.wantErr == "" && v.Window != src.windows[len(src.windows)-1] {
				t.Errorf("verdict window %s, want the last poll's", v.Window)
			}
		})
	}
}

func TestJudgeInterrupted(t *testing.T) {
	const poll = time.Second
	t.Run("during a read", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		src := &script{poll: poll, steps: []Figures{little}, cancel: cancel, cancelAt: 3}
		v, err := Judge(ctx, src, Bake{Limits: limits, Bake: 5 * poll, MaxBake: 10 * poll, Poll: poll, Wait: noWait}, "fp-new")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Judge = %v, %v; want context.Canceled", v, err)
		}
		if v.Window != 2*poll || v.Outcome != TooLittleTraffic {
			t.Errorf("last verdict = %v, want the second poll's", v)
		}
	})
	t.Run("while waiting, with a real timer", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := Judge(ctx, &script{poll: time.Hour, steps: []Figures{good}}, Bake{Limits: limits, Bake: time.Hour, MaxBake: time.Hour, Poll: time.Hour}, "fp-new")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Judge error = %v, want the context's", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Judge returned %s after the context ended", d)
		}
	})
}

func TestBakeValidate(t *testing.T) {
	err := (Bake{Limits: limits, Bake: time.Second, MaxBake: 500 * time.Millisecond}).Validate()
	for _, want := range []string{"Poll is 0s: must be positive", "MaxBake is 500ms: must be at least Bake (1s)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
	_, err = Judge(t.Context(), &script{}, Bake{Poll: time.Second, Bake: time.Second, MaxBake: time.Second}, "fp")
	if err == nil || !strings.Contains(err.Error(), "MinRequests") {
		t.Errorf("Judge with zero limits = %v, want the limits refused", err)
	}
}
