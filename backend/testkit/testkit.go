// Package testkit holds the small fixtures tests across the repository
// repeated: a buffer a process writes while the test reads, the "skip
// locally, fail under CI" check of a prerequisite, and a webhook receiver.
// It lives in the backend module, outside internal/, because the root and
// policy modules import the backend and the backend cannot import them: one
// copy serves all three modules.
package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// SyncBuffer is a bytes.Buffer safe for a writer goroutine (a child
// process's output, a flusher) and the reading test.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Missing ends a test whose prerequisite is absent: a failure when CI is
// set (.ci/run installs every prerequisite, and CI must never pass by
// skipping), a skip on a developer's machine. what says what is missing
// and how to get it.
func Missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(what)
		return // for a testing.TB whose Fatal returns
	}
	t.Skip(what + "; set CI=1 to make this a failure")
}

// RequireTool returns the path of the program name on PATH, or ends the
// test as Missing; install says how to get it ("apt-get install haproxy").
func RequireTool(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, fmt.Sprintf("%s not found (%s): %v", name, install, err))
	}
	return p
}

// HookSecret is the part of a Receiver's URL that stands for a Slack
// webhook's secret: tests check it never reaches a log or a payload.
const HookSecret = "hook-token-SECRET"

// Receiver is a local webhook. It answers the first fail posts (every post
// when fail < 0) with its failure status, as a webhook that is down, and
// records the JSON body of every other post. A post that is not a JSON
// POST is answered 400 and not recorded.
type Receiver struct {
	// URL is where to post: the server's address with a Slack-like path
	// ending in HookSecret.
	URL string

	mu     sync.Mutex
	fail   int
	status int
	posts  int
	bodies []string
}

// NewReceiver starts a Receiver until the test ends; status answers the
// failing posts (503 when 0).
func NewReceiver(t testing.TB, fail, status int) *Receiver {
	t.Helper()
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	r := &Receiver{fail: fail, status: status}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/services/T0/B0/" + HookSecret
	return r
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts++
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || !json.Valid(body) {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if r.fail < 0 || r.posts <= r.fail {
		w.WriteHeader(r.status)
		return
	}
	r.bodies = append(r.bodies, string(body))
	_, _ = io.WriteString(w, "ok")
}

// Posts is how many posts arrived, failed ones included.
func (r *Receiver) Posts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts
}

// Bodies are the accepted posts' bodies, in order.
func (r *Receiver) Bodies() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

// Decode unmarshals every accepted body into a new T.
func Decode[T any](t testing.TB, r *Receiver) []T {
	t.Helper()
	var out []T
	for _, b := range r.Bodies() {
		var v T
		if err := json.Unmarshal([]byte(b), &v); err != nil {
			t.Fatalf("webhook body %s: %v", b, err)
		}
		out = append(out, v)
	}
	return out
}
