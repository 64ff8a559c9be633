// Package webhook posts JSON to a webhook (Slack-compatible or generic): the
// one client behind the delivery notifications (root module, package
// notify) and the backup jobs' alerts (backend/alert), so both retry, give
// up and keep the URL secret the same way.
//
// A post is retried after a network error, a 429 or a 5xx, with a doubling
// backoff; any other answer outside 2xx ends it at once (another attempt
// would get the same answer). Each attempt has its own timeout, the whole
// post a total bound, and the caller's context ends it early. The URL is
// the webhook's credential: no error of this package contains it, and
// redirects are not followed (they would carry the payload elsewhere).
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of a Client: three attempts, 1 s then 2 s apart, 5 s each, and
// never more than 30 s in all.
const (
	DefaultAttempts = 3
	DefaultBackoff  = time.Second
	DefaultTimeout  = 5 * time.Second
	DefaultTotal    = 30 * time.Second
)

// Placeholder replaces the webhook URL wherever Scrub finds it.
const Placeholder = "[webhook]"

// Client posts to URL. The zero value of every other field means its
// default.
type Client struct {
	URL string
	// Attempts bounds the posts of one payload.
	Attempts int
	// Backoff is the wait before the second attempt, doubled for each
	// further one.
	Backoff time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Total bounds the whole post, waits included.
	Total time.Duration
	// HTTP sends the requests; nil uses a client that does not follow
	// redirects.
	HTTP *http.Client
	// OnRetry, when set, hears each failed attempt that will be retried;
	// err never contains the URL.
	OnRetry func(err error)
}

// Post sends payload as JSON, retrying as the package says, and returns
// the last attempt's error ("attempt i/n: ..."), joined with the context's
// error when the caller's context or the total bound ended the post.
func (c *Client) Post(ctx context.Context, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode the webhook payload: %w", err)
	}
	attempts, backoff, timeout, total := c.limits()
	ctx, cancel := context.WithTimeout(ctx, total)
	defer cancel()
	client := c.httpClient()
	var last error
	for i := 1; i <= attempts; i++ {
		retry, err := c.post(ctx, client, body, timeout)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("attempt %d/%d: %w", i, attempts, err)
		if ctx.Err() != nil {
			return fmt.Errorf("%w; %w", last, context.Cause(ctx))
		}
		if !retry || i == attempts {
			break
		}
		if c.OnRetry != nil {
			c.OnRetry(last)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w; %w", last, context.Cause(ctx))
		case <-t.C:
		}
		backoff *= 2
	}
	return last
}

// Scrub replaces the webhook URL in s, for payload fields built from errors
// that may quote it.
func (c *Client) Scrub(s string) string {
	if c.URL == "" {
		return s
	}
	return strings.ReplaceAll(s, c.URL, Placeholder)
}

// limits returns the attempts, first backoff, per-attempt timeout and total
// bound of c, each its default when not set.
func (c *Client) limits() (attempts int, backoff, timeout, total time.Duration) {
	attempts, backoff, timeout, total = c.Attempts, c.Backoff, c.Timeout, c.Total
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if total <= 0 {
		total = DefaultTotal
	}
	return attempts, backoff, timeout, total
}

// httpClient returns c.HTTP, else a client that does not follow redirects.
func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// post makes one attempt; retry says whether another may succeed.
func (c *Client) post(ctx context.Context, client *http.Client, body []byte, timeout time.Duration) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		// The parse error quotes the URL.
		return false, errors.New("invalid webhook URL (value not shown)")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error quotes the URL, the webhook's credential: keep only
		// the cause, and scrub it too in case it repeats the URL.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if c.URL != "" && strings.Contains(err.Error(), c.URL) {
			err = errors.New(c.Scrub(err.Error()))
		}
		return true, fmt.Errorf("post to the webhook: %w", err)
	}
	defer resp.Body.Close()
	// Drain a bounded amount so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	retry = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	return retry, fmt.Errorf("webhook answered %s", resp.Status)
}
