package testkit

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { _, _ = b.Write([]byte("x")) })
	}
	wg.Wait()
	if b.String() != "xxxxxxxx" {
		t.Errorf("got %q", b.String())
	}
}

func TestReceiver(t *testing.T) {
	for _, tc := range []struct {
		name                string
		fail, status        int
		posts               []string // bodies posted as JSON; "!" posts text/plain
		want                []int    // status of each post
		accepted, delivered int
	}{
		{"accepts", 0, 0, []string{`{"a":1}`, `{"a":2}`}, []int{200, 200}, 2, 2},
		{"fails the first", 1, 0, []string{`{"a":1}`, `{"a":2}`}, []int{503, 200}, 2, 1},
		{"always fails", -1, http.StatusInternalServerError, []string{`{"a":1}`}, []int{500}, 1, 0},
		{"not JSON", 0, 0, []string{"!"}, []int{400}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReceiver(t, tc.fail, tc.status)
			if !strings.HasSuffix(r.URL, "/"+HookSecret) {
				t.Errorf("URL %s", r.URL)
			}
			for i, p := range tc.posts {
				ct := "application/json"
				if p == "!" {
					ct, p = "text/plain", "hello"
				}
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, r.URL, bytes.NewBufferString(p))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", ct)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != tc.want[i] {
					t.Errorf("post %d: %d, want %d", i, resp.StatusCode, tc.want[i])
				}
			}
			if r.Posts() != tc.accepted || len(r.Bodies()) != tc.delivered || len(Decode[map[string]any](t, r)) != tc.delivered {
				t.Errorf("%d posts, %d bodies; want %d, %d", r.Posts(), len(r.Bodies()), tc.accepted, tc.delivered)
			}
		})
	}
}

// recorder is a testing.TB whose Fatal and Skip only record.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()        {}
func (r *recorder) Fatal(a ...any) { r.fatal = fmt.Sprint(a...) }
func (r *recorder) Skip(a ...any)  { r.skip = fmt.Sprint(a...) }

// TestRequireTool: a missing program fails the test under CI and skips it
// elsewhere, saying how to install it; a present one is returned.
func TestRequireTool(t *testing.T) {
	for _, tc := range []struct {
		name, ci, tool  string
		fatal, skip, ok bool
	}{
		{"missing under CI", "1", "no-such-tool-xyz", true, false, false},
		{"missing locally", "", "no-such-tool-xyz", false, true, false},
		{"present", "1", "go", false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			p := RequireTool(r, tc.tool, "apt-get install xyz")
			if (r.fatal != "") != tc.fatal || (r.skip != "") != tc.skip || (p != "") != tc.ok {
				t.Errorf("fatal %q, skip %q, path %q", r.fatal, r.skip, p)
			}
			if msg := r.fatal + r.skip; !tc.ok && !strings.Contains(msg, "apt-get install xyz") {
				t.Errorf("message %q does not say how to install it", msg)
			}
			if tc.skip && !strings.Contains(r.skip, "set CI=1 to make this a failure") {
				t.Errorf("skip %q does not say how to make it a failure", r.skip)
			}
		})
	}
}
