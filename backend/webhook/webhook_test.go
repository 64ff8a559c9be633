package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/testkit"
)

// fast is a Client for tests: short waits, default bounds otherwise.
func fast(url string) *Client {
	return &Client{URL: url, Backoff: time.Millisecond, Timeout: 2 * time.Second}
}

// noSecret fails the test when err reveals the receiver's URL or its token.
func noSecret(t *testing.T, err error, url string) {
	t.Helper()
	if err == nil {
		return
	}
	if strings.Contains(err.Error(), testkit.HookSecret) || strings.Contains(err.Error(), url) {
		t.Errorf("error reveals the webhook URL: %v", err)
	}
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      int // failing posts before success; -1: all
		status    int
		posts     int
		delivered int
		retried   int // OnRetry calls
	}{
		{"success at once", 0, 0, 1, 1, 0},
		{"5xx twice then success", 2, http.StatusBadGateway, 3, 1, 2},
		{"5xx up to the bound", -1, http.StatusInternalServerError, DefaultAttempts, 0, DefaultAttempts - 1},
		{"429 is retried", -1, http.StatusTooManyRequests, DefaultAttempts, 0, DefaultAttempts - 1},
		{"404 is not retried", -1, http.StatusNotFound, 1, 0, 0},
		{"400 is not retried", -1, http.StatusBadRequest, 1, 0, 0},
		{"403 is not retried", -1, http.StatusForbidden, 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testkit.NewReceiver(t, tc.fail, tc.status)
			c := fast(r.URL)
			retried := 0
			c.OnRetry = func(err error) {
				retried++
				noSecret(t, err, r.URL)
			}
			err := c.Post(t.Context(), map[string]string{"text": "hello"})
			if (err == nil) != (tc.delivered == 1) {
				t.Errorf("Post: %v; want delivered=%d", err, tc.delivered)
			}
			if r.Posts() != tc.posts || len(r.Bodies()) != tc.delivered || retried != tc.retried {
				t.Errorf("%d posts, %d delivered, %d retries; want %d, %d, %d",
					r.Posts(), len(r.Bodies()), retried, tc.posts, tc.delivered, tc.retried)
			}
			if tc.delivered == 1 && r.Bodies()[0] != `{"text":"hello"}` {
				t.Errorf("body %s", r.Bodies()[0])
			}
			if err != nil && !strings.Contains(err.Error(), "webhook answered") {
				t.Errorf("err = %v, want the status", err)
			}
			noSecret(t, err, r.URL)
		})
	}
}

func TestUnreachableIsRetriedWithoutSecret(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/services/T0/B0/" + testkit.HookSecret
	srv.Close() // nothing listens any more
	err := fast(url).Post(t.Context(), struct{}{})
	if err == nil || !strings.Contains(err.Error(), "attempt 3/3") {
		t.Fatalf("err = %v, want the third attempt's error", err)
	}
	noSecret(t, err, url)
}

func TestInvalidURLIsNotShown(t *testing.T) {
	url := "http://[::1/" + testkit.HookSecret
	err := fast(url).Post(t.Context(), struct{}{})
	if err == nil || !strings.Contains(err.Error(), "invalid webhook URL") {
		t.Fatalf("err = %v", err)
	}
	noSecret(t, err, url)
}

// TestContextEndsThePost: the caller's cancellation and the total bound
// stop the retries at once, and the error says why.
func TestContextEndsThePost(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(url string, cancel context.CancelFunc) *Client
		precut bool // cancel before Post
		posts  int
		want   error
	}{
		{"cancelled during the backoff", func(url string, cancel context.CancelFunc) *Client {
			c := fast(url)
			c.Backoff = time.Hour
			c.OnRetry = func(error) { cancel() }
			return c
		}, false, 1, context.Canceled},
		{"cancelled before the first attempt", func(url string, _ context.CancelFunc) *Client {
			return fast(url)
		}, true, 0, context.Canceled},
		{"total bound reached during the backoff", func(url string, _ context.CancelFunc) *Client {
			c := fast(url)
			c.Backoff, c.Total = time.Hour, 100*time.Millisecond
			return c
		}, false, 1, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testkit.NewReceiver(t, -1, http.StatusServiceUnavailable)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			c := tc.client(r.URL, cancel)
			if tc.precut {
				cancel()
			}
			start := time.Now()
			err := c.Post(ctx, struct{}{})
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Post took %s after the context ended", d)
			}
			if r.Posts() != tc.posts {
				t.Errorf("%d posts, want %d", r.Posts(), tc.posts)
			}
			noSecret(t, err, r.URL)
		})
	}
}

// TestRedirectIsNotFollowed: a redirect would carry the payload to another
// URL; it is an answer outside 2xx, not retried.
func TestRedirectIsNotFollowed(t *testing.T) {
	elsewhere := testkit.NewReceiver(t, 0, 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/services/T0/B0/" + testkit.HookSecret
	err := fast(url).Post(t.Context(), struct{}{})
	if err == nil || !strings.Contains(err.Error(), "307") {
		t.Errorf("err = %v, want the 307", err)
	}
	if elsewhere.Posts() != 0 {
		t.Errorf("the redirect was followed: %d posts elsewhere", elsewhere.Posts())
	}
	noSecret(t, err, url)
}

func TestScrub(t *testing.T) {
	c := &Client{URL: "https://hooks.example/T0/" + testkit.HookSecret}
	for _, tc := range []struct{ in, want string }{
		{"posted to " + c.URL + ": refused", "posted to " + Placeholder + ": refused"},
		{"nothing here", "nothing here"},
	} {
		if got := c.Scrub(tc.in); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := (&Client{}).Scrub("x"); got != "x" {
		t.Errorf("Scrub without URL = %q", got)
	}
}

func TestUnencodablePayload(t *testing.T) {
	r := testkit.NewReceiver(t, 0, 0)
	if err := fast(r.URL).Post(t.Context(), func() {}); err == nil || r.Posts() != 0 {
		t.Errorf("err = %v, %d posts; want an encode error and no post", err, r.Posts())
	}
}
