package testkit

import (
	"bytes"
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
