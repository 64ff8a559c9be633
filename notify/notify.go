// Package notify posts delivery events to a Slack-compatible webhook: one
// JSON object with a human `text` (what Slack shows) and the same facts as
// structured fields for any other receiver. Delivery is best effort: a
// bounded number of attempts, each with its own timeout, and a failure is
// logged, never returned to the deployment it reports on.
//
// Nothing secret leaves: the webhook URL (its own credential) is never
// logged, and every string of a payload passes through backend/redact's
// Text (masks read [REDACTED]) and is cut to 1000 bytes. Posting, retries
// and their bounds are backend/webhook's, shared with the backup jobs'
// alerts.
package notify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/helloagents/infra/backend/redact"
	"github.com/helloagents/infra/backend/webhook"
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

// Defaults of a Webhook: backend/webhook's.
const (
	DefaultAttempts = webhook.DefaultAttempts
	DefaultBackoff  = webhook.DefaultBackoff
	DefaultTimeout  = webhook.DefaultTimeout
)

// Webhook posts events to URL through backend/webhook, the repository's one
// webhook client: retries after network errors, 429 and 5xx, none after
// another 4xx, a 30 s total bound (webhook.DefaultTotal), and the caller's
// context ends it.
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
	c := &webhook.Client{URL: w.URL, Attempts: w.Attempts, Backoff: w.Backoff, Timeout: w.Timeout, HTTP: w.Client}
	if w.Log != nil {
		c.OnRetry = func(err error) { fmt.Fprintf(w.Log, "notify: %s event: %v; retrying\n", e.Event, err) }
	}
	// Post's errors already say which attempt failed and how; Notify and
	// the callers add the event.
	return c.Post(ctx, clean(c, e))
}

// clean replaces the webhook URL in every field, redacts it with
// backend/redact and bounds its length.
func clean(c *webhook.Client, e Event) Event {
	for _, f := range []*string{&e.Text, &e.Event, &e.Stack, &e.Region, &e.Image, &e.Outcome, &e.Detail} {
		*f = field(c.Scrub(*f))
	}
	return e
}

// limit bounds one field: a payload is a notification, not a log, and Slack
// truncates long messages anyway.
const limit = 1000

// field redacts s and cuts it to limit bytes at a rune boundary.
func field(s string) string {
	s = redact.Text(s)
	if len(s) > limit {
		n := limit
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "..."
	}
	return s
}
