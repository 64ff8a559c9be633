package notify

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/redact"
	"github.com/helloagents/infra/backend/testkit"
)

// start runs a local webhook that fails the first fail posts with status.
func start(t *testing.T, fail, status int) (*testkit.Receiver, string) {
	t.Helper()
	r := testkit.NewReceiver(t, fail, status)
	return r, r.URL
}

func hook(url string, log io.Writer) *Webhook {
	return &Webhook{URL: url, Backoff: time.Millisecond, Timeout: 2 * time.Second, Log: log}
}

func TestPayloadShape(t *testing.T) {
	r, url := start(t, 0, 0)
	e := Event{Text: "promotion started", Event: Start, Stack: "production", Image: "ghcr.io/x/backend@sha256:abc"}
	if err := hook(url, nil).Send(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	payloads := testkit.Decode[map[string]any](t, r)
	if len(payloads) != 1 {
		t.Fatalf("%d payloads", len(payloads))
	}
	p := payloads[0]
	for _, k := range []string{"text", "event", "stack", "region", "image", "outcome", "detail"} {
		if _, ok := p[k]; !ok {
			t.Errorf("payload lacks %q: %v", k, p)
		}
	}
	if p["text"] != "promotion started" || p["event"] != "start" || p["stack"] != "production" || p["image"] != e.Image {
		t.Errorf("payload %v", p)
	}
}

func TestRetriesThenSucceeds(t *testing.T) {
	r, url := start(t, 2, http.StatusBadGateway)
	var log bytes.Buffer
	if err := hook(url, &log).Send(t.Context(), Event{Text: "x", Event: Finish}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r.Posts() != 3 || len(r.Bodies()) != 1 {
		t.Errorf("%d posts, %d accepted; want 3 posts, the third accepted", r.Posts(), len(r.Bodies()))
	}
	if strings.Count(log.String(), "retrying") != 2 {
		t.Errorf("log:\n%s", log.String())
	}
}

func TestBoundedAttemptsAndNeverFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		posts  int
	}{
		{"server error is retried up to the bound", http.StatusInternalServerError, 3},
		{"rate limit is retried", http.StatusTooManyRequests, 3},
		{"client error is not retried", http.StatusNotFound, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, url := start(t, -1, tc.status)
			var log bytes.Buffer
			w := hook(url, &log)
			if err := w.Send(t.Context(), Event{Event: Start}); err == nil {
				t.Fatal("Send succeeded against a failing webhook")
			}
			if r.Posts() != tc.posts {
				t.Errorf("%d posts, want %d", r.Posts(), tc.posts)
			}
			w.Notify(t.Context(), Event{Event: Finish}) // must return, not panic or fail
			if !strings.Contains(log.String(), "finish event not delivered") {
				t.Errorf("failure not logged:\n%s", log.String())
			}
			if strings.Contains(log.String(), "hook-token-SECRET") || strings.Contains(log.String(), "127.0.0.1") {
				t.Errorf("log reveals the webhook URL:\n%s", log.String())
			}
		})
	}
}

func TestUnreachableWebhookIsBoundedAndQuiet(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/services/hook-token-SECRET"
	srv.Close() // nothing listens any more
	var log bytes.Buffer
	err := hook(url, &log).Send(t.Context(), Event{Event: Start})
	if err == nil || !strings.Contains(err.Error(), "attempt 3/3") {
		t.Fatalf("err = %v, want the third attempt's error", err)
	}
	if strings.Contains(err.Error()+log.String(), "hook-token-SECRET") {
		t.Errorf("the webhook URL leaked: %v\n%s", err, log.String())
	}
}

func TestNoSecretInAnyPayload(t *testing.T) {
	r, url := start(t, 0, 0)
	secrets := []string{"hunter2", "sk-live-123", "hook-token-SECRET", "abc.def.ghi", "s3cr3t"}
	e := Event{
		Text:    "gate of region eu failed: Get \"https://deploy:hunter2@api-eu.example.dev/health/ready\": 503",
		Event:   Region,
		Stack:   "production",
		Region:  "eu",
		Outcome: "failed",
		Detail: "AI_API_KEY=sk-live-123 Authorization: Bearer abc.def.ghi posted to " + url +
			` password="s3cr3t" https://hooks.slack.com/services/T0/B0/hook-token-SECRET`,
	}
	if err := hook(url, nil).Send(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(r.Bodies()[0], s) {
			t.Errorf("payload contains %q:\n%s", s, r.Bodies()[0])
		}
	}
	if !strings.Contains(r.Bodies()[0], "api-eu.example.dev/health/ready") {
		t.Errorf("redaction removed what is not secret:\n%s", r.Bodies()[0])
	}
}

// TestField: every field is redacted by backend/redact (one mask,
// [REDACTED]) and cut to limit bytes at a rune boundary.
func TestField(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://app:pw@db:5432/app", "postgres://" + redact.Mask + "@db:5432/app"},
		{"token=abc&x=1", "token=" + redact.Mask + "&x=1"},
		{"SENTRY_DSN: https://k@o1.sentry.io", "SENTRY_DSN: " + redact.Mask},
		{"region eu passed", "region eu passed"},
		{"Bearer xyz", "Bearer [REDACTED]"},
		{strings.Repeat("é", 601), strings.Repeat("é", 500) + "..."},
		{strings.Repeat("a", limit), strings.Repeat("a", limit)},
	} {
		if got := field(tc.in); got != tc.want {
			t.Errorf("field(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
