// Package notify posts delivery events to a Slack-compatible webhook: one
// JSON object with a human `text` (what Slack shows) and the same facts as
// structured fields for any other receiver. Delivery is best effort: a
// bounded number of attempts, each with its own timeout, and a failure is
// logged, never returned to the deployment it reports on.
//
// Nothing secret leaves: the webhook URL (its own credential) is never
// logged, and every string of a payload passes through Redact.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Event kinds of a promotion and a failover.
const (
	Start    = "start"
	Region   = "region"
	Step     = "step" // a failover step
	Rollback = "rollback"
	Finish   = "finish"
)

// Event is one payload. Every field is always present so receivers can rely
// on the shape; fields that do not apply are empty.
type Event struct {
	// Text is the one-line summary Slack displays.
	Text string `json:"text"`
	// Event is start, region, step, rollback or finish (or a job's own
	// kind).
	Event  string `json:"event"`
	Stack  string `json:"stack"`
	Region string `json:"region"`
	Image  string `json:"image"`
	// Outcome is the result: a region's "passed"/"failed", the promotion's
	// "promoted", "rolled back", ...
	Outcome string `json:"outcome"`
	// Detail says why, when something failed.
	Detail string `json:"detail"`
}

// Notifier receives events. Implementations must not block for long and
// must not fail the caller.
type Notifier interface {
	Notify(ctx context.Context, e Event)
}

// Defaults of a Webhook.
const (
	DefaultAttempts = 3
	DefaultBackoff  = time.Second
	DefaultTimeout  = 5 * time.Second
)

// Webhook posts events to URL.
type Webhook struct {
	URL string
	// Attempts bounds the posts of one event (DefaultAttempts when 0).
	Attempts int
	// Backoff is the wait before the second attempt, doubled for each
	// further one (DefaultBackoff when 0).
	Backoff time.Duration
	// Timeout bounds one attempt (DefaultTimeout when 0).
	Timeout time.Duration
	// Client sends the requests; nil uses a client without redirects.
	Client *http.Client
	// Log receives one line per failed attempt; nil discards them.
	Log io.Writer
}

// Notify sends e and logs a failure; it never fails the caller.
func (w *Webhook) Notify(ctx context.Context, e Event) {
	if err := w.Send(ctx, e); err != nil && w.Log != nil {
		fmt.Fprintf(w.Log, "notify: %s event not delivered: %v\n", e.Event, err)
	}
}

// Send posts e, retrying network errors, 429 and 5xx answers, and returns
// the last error. Errors never contain the webhook URL.
func (w *Webhook) Send(ctx context.Context, e Event) error {
	body, err := json.Marshal(w.clean(e))
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	attempts, backoff, timeout := w.limits()
	client := w.httpClient()
	var last error
	for i := 1; i <= attempts; i++ {
		retry, err := w.post(ctx, client, body, timeout)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("attempt %d/%d: %w", i, attempts, err)
		if w.Log != nil && i < attempts && retry {
			fmt.Fprintf(w.Log, "notify: %s event: %v; retrying\n", e.Event, last)
		}
		if !retry || i == attempts {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; %w", last, ctx.Err())
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	return last
}

// limits returns the attempts, first backoff and per-attempt timeout of w,
// each its default when not set.
func (w *Webhook) limits() (attempts int, backoff, timeout time.Duration) {
	attempts, backoff, timeout = w.Attempts, w.Backoff, w.Timeout
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return attempts, backoff, timeout
}

// httpClient returns w.Client, else a client that does not follow
// redirects: a redirect would carry the event to another URL.
func (w *Webhook) httpClient() *http.Client {
	if w.Client != nil {
		return w.Client
	}
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// post makes one attempt; retry says whether another may succeed.
func (w *Webhook) post(ctx context.Context, client *http.Client, body []byte, timeout time.Duration) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("invalid webhook URL (value not shown)")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error quotes the URL, the webhook's credential: keep only
		// the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return true, fmt.Errorf("post to the webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	retry = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	return retry, fmt.Errorf("webhook answered %s", resp.Status)
}

// clean redacts every field, and the webhook URL wherever it appears.
func (w *Webhook) clean(e Event) Event {
	for _, f := range []*string{&e.Text, &e.Event, &e.Stack, &e.Region, &e.Image, &e.Outcome, &e.Detail} {
		if w.URL != "" {
			*f = strings.ReplaceAll(*f, w.URL, "[webhook]")
		}
		*f = Redact(*f)
	}
	return e
}

var (
	// userinfo is the user:password@ of a URL.
	userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@`)
	// secretParam is a key=value or key: value whose key names a secret.
	secretParam = regexp.MustCompile(`(?i)([A-Za-z0-9_-]*(password|passwd|secret|token|api[_-]?key|access[_-]?key|dsn|authorization|credential)[A-Za-z0-9_-]*\s*[=:]\s*)("[^"]*"|[^\s&,;"]+)`)
	// bearer is an Authorization header value.
	bearer = regexp.MustCompile(`(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`)
	// hookPath is a Slack-style webhook path (its last segments are the token).
	hookPath = regexp.MustCompile(`(?i)(hooks\.[a-z0-9.-]+/)\S+`)
)

// limit bounds one field: a payload is a notification, not a log.
const limit = 1000

// Redact removes what looks like a credential from s: URL passwords,
// secret-named parameters, bearer tokens and webhook paths, and shortens it.
func Redact(s string) string {
	s = userinfo.ReplaceAllString(s, "${1}[redacted]@")
	s = bearer.ReplaceAllString(s, "${1} [redacted]")
	s = secretParam.ReplaceAllString(s, "${1}[redacted]")
	s = hookPath.ReplaceAllString(s, "${1}[redacted]")
	if len(s) > limit {
		n := limit
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "..."
	}
	return s
}
