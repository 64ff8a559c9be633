package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxBody bounds what a check reads from a response: health bodies and the
// first page of courses are small, and a misbehaving server must not make the
// verifier buffer without limit.
const maxBody = 1 << 20

// response is what a check looks at.
type response struct {
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration
}

// runner carries the options (defaults applied) through the checks.
type runner struct {
	opts Options
}

// do makes one request bounded by the per-request timeout.
func (r runner) do(ctx context.Context, method, target string, header http.Header) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return response{}, fmt.Errorf("build %s request: %w", method, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	start := time.Now()
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return response{}, fmt.Errorf("no answer within %s", r.opts.Timeout)
		}
		return response{}, describe(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	elapsed := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return response{}, fmt.Errorf("body not complete within %s", r.opts.Timeout)
		}
		return response{}, fmt.Errorf("read body: %w", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body, elapsed: elapsed}, nil
}

// describe shortens a transport error: url.Error repeats the method and URL,
// which the check name already says (and which could carry credentials).
func describe(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// attempt runs fn until it succeeds or the retries are used up, waiting
// Backoff, then twice that, and so on between attempts. It returns the check
// with the detail of the last attempt.
func (r runner) attempt(ctx context.Context, c Check, fn func(context.Context) (string, error)) Check {
	start := time.Now()
	wait := r.opts.Backoff
	for i := 0; ; i++ {
		c.Attempts = i + 1
		detail, err := fn(ctx)
		if err == nil {
			c.Status, c.Detail = Pass, detail
			break
		}
		c.Status, c.Detail = Fail, err.Error()
		if i >= r.opts.Retries || ctx.Err() != nil {
			break
		}
		if r.opts.Progress != nil {
			fmt.Fprintf(r.opts.Progress, "waiting %s for %s (attempt %d of %d failed: %s)\n",
				wait, c.Name, i+1, r.opts.Retries+1, c.Detail)
		}
		if !sleep(ctx, wait) {
			break
		}
		wait *= 2
	}
	c.Duration = time.Since(start)
	return c
}

// sleep waits d or until ctx ends; it reports whether the full wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// excerpt renders the start of a body for an error message.
func excerpt(body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return "empty body"
	}
	const n = 120
	if len(s) > n {
		s = s[:n] + "..."
	}
	return fmt.Sprintf("body %q", s)
}
