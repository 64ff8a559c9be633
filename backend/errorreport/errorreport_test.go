package errorreport

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getsentry/sentry-go"
)

func TestNewHubDisabledWithoutDSN(t *testing.T) {
	hub, err := NewHub(Options{})
	if hub != nil || err != nil {
		t.Fatalf("hub=%v err=%v, want nil, nil", hub, err)
	}
}

func TestNewHubBadDSNHidden(t *testing.T) {
	_, err := NewHub(Options{DSN: "nonsense-key123"})
	if err == nil || strings.Contains(err.Error(), "key123") {
		t.Fatalf("err = %v", err)
	}
}

// An event captured during a request carrying every kind of personal data
// and secret must reach the transport without any of them.
func TestEventsCarryNoPII(t *testing.T) {
	tr := &sentry.MockTransport{}
	hub, err := NewHub(Options{
		DSN: "https://public@127.0.0.1/1", Environment: "staging", Release: "1.2.3",
		TracesSampleRate: 0.1, Transport: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequestWithContext(context.Background(), "GET", "http://user:pw-in-url@api.example.com/api/v1/courses?token=tok-123&limit=5", nil)
	r.RemoteAddr = "203.0.113.7:5555"
	r.Header.Set("Authorization", "Bearer bearer-secret")
	r.Header.Set("Cookie", "session=cookie-secret")
	r.Header.Set("X-Forwarded-For", "198.51.100.23")
	r.Header.Set("X-Api-Key", "apikey-secret")
	r.Header.Set("User-Agent", "probe/1")
	hub.Scope().SetRequest(r)
	hub.Scope().SetUser(sentry.User{IPAddress: "203.0.113.7", Email: "a@b.c"})
	hub.CaptureException(errors.New("connect postgres://app:db-secret@db:5432/x failed"))

	events := tr.Events()
	if len(events) != 1 {
		t.Fatalf("events = %d", len(events))
	}
	e := events[0]
	if e.Environment != "staging" || e.Release != "1.2.3" {
		t.Errorf("environment/release = %q/%q", e.Environment, e.Release)
	}
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"203.0.113.7", "198.51.100.23", "bearer-secret", "cookie-secret",
		"apikey-secret", "tok-123", "db-secret", "pw-in-url", "a@b.c"} {
		if strings.Contains(string(raw), s) {
			t.Errorf("event leaks %q: %s", s, raw)
		}
	}
	if e.Request == nil || e.Request.Headers["User-Agent"] != "probe/1" || !strings.Contains(e.Request.URL, "/api/v1/courses") {
		t.Errorf("request context lost: %+v", e.Request)
	}
}

func TestClientOptions(t *testing.T) {
	o := ClientOptions(Options{DSN: "https://k@127.0.0.1/1", TracesSampleRate: 0.1})
	if !o.EnableTracing || o.TracesSampleRate != 0.1 || o.BeforeSend == nil || o.BeforeSendTransaction == nil {
		t.Errorf("options: %+v", o)
	}
	dc := o.DataCollection
	if dc == nil || !dc.UserInfo.IsSet || dc.UserInfo.Value || dc.Cookies.Mode != sentry.CollectionOff ||
		len(dc.HTTPBodies) != 0 || dc.HTTPBodies == nil {
		t.Errorf("data collection: %+v", dc)
	}
	if ClientOptions(Options{}).EnableTracing {
		t.Error("tracing enabled at rate 0")
	}
	if Scrub(nil) != nil {
		t.Error("Scrub(nil) != nil")
	}
}
