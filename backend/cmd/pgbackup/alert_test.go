package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/helloagents/infra/backend/backup"
	"github.com/helloagents/infra/backend/backup/filestore"
	"github.com/helloagents/infra/backend/testkit"
)

const (
	testAccessKey = "AKIA-SECRET-ID"
	testSecretKey = "s3-SECRET-key"
	testDBPass    = "db-SECRET-pw"
)

// alertApp is a pgbackup app on a file store whose alerts go to a local
// webhook; log collects the job's log.
func alertApp(t *testing.T, fail int) (*app, *alerter, *testkit.Receiver, *bytes.Buffer) {
	t.Helper()
	h := testkit.NewReceiver(t, fail, http.StatusServiceUnavailable)
	hook := h.URL
	env := map[string]string{
		"DATABASE_URL":          "postgres://app:" + testDBPass + "@db:5432/app",
		"BACKUP_DESTINATION":    "file://" + t.TempDir(),
		"BACKUP_SCHEDULE":       "@hourly",
		"AWS_ACCESS_KEY_ID":     testAccessKey,
		"AWS_SECRET_ACCESS_KEY": testSecretKey,
		"SENTRY_ENVIRONMENT":    "production",
		"ALERT_REGION":          "eu-west",
		"ALERT_WEBHOOK_URL":     hook,
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := backup.LoadConfig(lookup)
	if err != nil {
		t.Fatal(err)
	}
	store, err := filestore.New(cfg.Destination.Path)
	if err != nil {
		t.Fatal(err)
	}
	a := &app{cfg: cfg, store: store, lookup: lookup}
	var log bytes.Buffer
	al := a.newAlerter(slog.New(slog.NewJSONHandler(&log, nil)), newSecrets(cfg.Secrets()...))
	al.Backoff = time.Millisecond
	return a, al, h, &log
}

func TestAlertPayloadNamesStackRegionAndFailureWithoutSecrets(t *testing.T) {
	_, al, h, _ := alertApp(t, 0)
	al.send(t.Context(), alertFailed, "upload: access key "+testAccessKey+" denied; secret="+testSecretKey+
		"; dial postgres://app:"+testDBPass+"@db:5432/app")
	if len(h.Bodies()) != 1 {
		t.Fatalf("%d alerts delivered", len(h.Bodies()))
	}
	var p map[string]string
	if err := json.Unmarshal([]byte(h.Bodies()[0]), &p); err != nil {
		t.Fatal(err)
	}
	if p["stack"] != "production" || p["region"] != "eu-west" || p["event"] != alertFailed || p["outcome"] != "failed" ||
		!strings.Contains(p["text"], "production/eu-west") || !strings.Contains(p["text"], "upload") {
		t.Errorf("payload %v", p)
	}
	for _, s := range []string{testAccessKey, testSecretKey, testDBPass, testkit.HookSecret} {
		if strings.Contains(h.Bodies()[0], s) {
			t.Errorf("payload carries %q: %s", s, h.Bodies()[0])
		}
	}
}

func TestAlertRetriesAreBounded(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      int
		posts     int
		delivered int
	}{
		{"fails twice then succeeds", 2, 3, 1},
		{"always fails", -1, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, al, h, log := alertApp(t, tc.fail)
			al.send(t.Context(), alertFailed, "pg_dump exited 1")
			if h.Posts() != tc.posts || len(h.Bodies()) != tc.delivered {
				t.Errorf("%d posts, %d delivered; want %d, %d", h.Posts(), len(h.Bodies()), tc.posts, tc.delivered)
			}
			if tc.delivered == 0 && !strings.Contains(log.String(), "alert not delivered") {
				t.Errorf("undelivered alert not logged:\n%s", log)
			}
			if strings.Contains(log.String(), testkit.HookSecret) {
				t.Errorf("log reveals the webhook URL:\n%s", log)
			}
		})
	}
}

func TestFreshnessAlert(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 30, 0, 0, time.UTC)
	put := func(t *testing.T, a *app, created time.Time) {
		t.Helper()
		key := backup.DumpKey(a.prefix, a.databaseName(), created)
		dump := []byte("dump")
		if _, err := a.store.Put(t.Context(), key, bytes.NewReader(dump)); err != nil {
			t.Fatal(err)
		}
		m, _ := json.Marshal(backup.Manifest{Version: 1, Key: key, Database: a.databaseName(), Size: int64(len(dump)),
			SHA256: strings.Repeat("a", 64), Created: created})
		if _, err := a.store.Put(t.Context(), key+backup.ManifestSuffix, bytes.NewReader(m)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		age   time.Duration // of the newest backup; 0: none
		alert string
	}{
		{"no backup at all", 0, "no good backup"},
		{"three hours old on an hourly schedule", 3 * time.Hour, "is 3h0m0s old; the schedule"},
		{"fresh", 30 * time.Minute, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, al, h, _ := alertApp(t, 0)
			if tc.age > 0 {
				put(t, a, now.Add(-tc.age))
			}
			a.checkFreshness(t.Context(), al, now)
			if tc.alert == "" {
				if len(h.Bodies()) != 0 {
					t.Errorf("alerts for a fresh backup: %v", h.Bodies())
				}
				return
			}
			if len(h.Bodies()) != 1 || !strings.Contains(h.Bodies()[0], alertStale) || !strings.Contains(h.Bodies()[0], tc.alert) {
				t.Errorf("alerts %v, want one %q mentioning %q", h.Bodies(), alertStale, tc.alert)
			}
		})
	}
}

func TestNoAlerterWithoutWebhook(t *testing.T) {
	a := &app{lookup: func(string) (string, bool) { return "", false }}
	al := a.newAlerter(slog.New(slog.NewTextHandler(io.Discard, nil)), newSecrets())
	if al != nil {
		t.Fatal("alerter without ALERT_WEBHOOK_URL")
	}
	al.send(context.Background(), alertFailed, "x") // nil-safe
	a.checkFreshness(context.Background(), al, time.Now())
}

func TestPeriod(t *testing.T) {
	spec, _ := cron.ParseStandard("0 3 * * *")
	if p := period(spec, time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)); p != 24*time.Hour {
		t.Errorf("daily period %s", p)
	}
}
