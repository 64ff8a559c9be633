package alert

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/testkit"
)

// TestSend checks the payload, the retry rules of backend/webhook as the
// jobs see them, and that neither payload nor log carries a secret.
func TestSend(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      int
		status    int
		cancelled bool
		posts     int
		logged    bool
	}{
		{"delivered", 0, 0, false, 1, false},
		{"5xx retried", 2, http.StatusBadGateway, false, 3, false},
		{"404 not retried", -1, http.StatusNotFound, false, 1, true},
		{"cancelled job context: still sent", 0, 0, true, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testkit.NewReceiver(t, tc.fail, tc.status)
			var log bytes.Buffer
			env := map[string]string{EnvURL: r.URL, EnvRegion: "eu-west", envStack: "production"}
			w := FromEnv(func(k string) string { return env[k] }, "pgbackup",
				func(s string) string { return strings.ReplaceAll(s, "conf-SECRET", "[REDACTED]") },
				slog.New(slog.NewTextHandler(&log, nil)))
			w.Backoff = time.Millisecond
			ctx, cancel := context.WithCancel(t.Context())
			if tc.cancelled {
				cancel()
			}
			defer cancel()
			w.Send(ctx, "backup failed", "dial postgres://app:pw-SECRET@db/app; key conf-SECRET; to "+r.URL)
			if r.Posts() != tc.posts {
				t.Errorf("%d posts, want %d", r.Posts(), tc.posts)
			}
			if logged := strings.Contains(log.String(), "alert not delivered"); logged != tc.logged {
				t.Errorf("logged %v, want %v:\n%s", logged, tc.logged, log.String())
			}
			for _, p := range testkit.Decode[Payload](t, r) {
				if p.Text != "pgbackup production/eu-west: backup failed: "+p.Detail || p.Stack != "production" ||
					p.Region != "eu-west" || p.Outcome != "failed" || !strings.Contains(p.Detail, "db/app") {
					t.Errorf("payload %+v", p)
				}
			}
			all := strings.Join(r.Bodies(), "\n") + log.String()
			for _, s := range []string{"pw-SECRET", "conf-SECRET", testkit.HookSecret} {
				if strings.Contains(all, s) {
					t.Errorf("%q reached the payload or the log:\n%s", s, all)
				}
			}
		})
	}
}

func TestNilWebhookSendsNothing(t *testing.T) {
	if w := FromEnv(func(string) string { return "" }, "pitrjob", nil, nil); w != nil {
		t.Fatalf("FromEnv without %s = %+v", EnvURL, w)
	}
	var w *Webhook
	w.Send(t.Context(), "backup failed", "x") // must not panic
}
