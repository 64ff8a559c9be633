// Package errorreport sends the backend's errors and traces to Sentry
// without personal data: no IP addresses, cookies, authentication headers,
// request bodies or secret query values ever leave the process.
//
// It builds its own Hub instead of calling sentry.Init, so nothing depends
// on the SDK's global hub and tests can capture events with a Transport.
package errorreport

import (
	"fmt"
	"net/url"

	"github.com/getsentry/sentry-go"

	"github.com/helloagents/infra/backend/redact"
)

// Options configure the Sentry client.
type Options struct {
	DSN              string
	Environment      string
	Release          string
	TracesSampleRate float64
	// Transport replaces the HTTP transport (tests).
	Transport sentry.Transport
}

// NewHub returns a hub that reports to Sentry, or nil when DSN is empty
// (error reporting disabled).
func NewHub(o Options) (*sentry.Hub, error) {
	if o.DSN == "" {
		return nil, nil
	}
	client, err := sentry.NewClient(ClientOptions(o))
	if err != nil {
		// The SDK's error may quote the DSN, which holds the project key.
		return nil, fmt.Errorf("errorreport: invalid SENTRY_DSN")
	}
	return sentry.NewHub(client, sentry.NewScope()), nil
}

// ClientOptions are the privacy-preserving client settings.
func ClientOptions(o Options) sentry.ClientOptions {
	off := &sentry.KeyValueCollectionBehavior{Mode: sentry.CollectionOff}
	deny := &sentry.KeyValueCollectionBehavior{Mode: sentry.CollectionDenyList}
	return sentry.ClientOptions{
		Dsn:              o.DSN,
		Environment:      o.Environment,
		Release:          o.Release,
		EnableTracing:    o.TracesSampleRate > 0,
		TracesSampleRate: o.TracesSampleRate,
		// SendDefaultPII stays false (its zero value); in this SDK version
		// DataCollection supersedes it, so say explicitly what is collected.
		// BeforeSend scrubs again regardless.
		DataCollection: &sentry.DataCollection{
			UserInfo:    sentry.Set(false),
			Cookies:     off,
			HTTPHeaders: &sentry.HeaderCollectionConfig{Request: deny, Response: deny},
			HTTPBodies:  []sentry.BodyType{},
			QueryParams: deny,
		},
		BeforeSend:            func(e *sentry.Event, _ *sentry.EventHint) *sentry.Event { return Scrub(e) },
		BeforeSendTransaction: func(e *sentry.Event, _ *sentry.EventHint) *sentry.Event { return Scrub(e) },
		Transport:             o.Transport,
	}
}

// Scrub removes personal data and secrets from e and returns it.
func Scrub(e *sentry.Event) *sentry.Event {
	if e == nil {
		return nil
	}
	// No user data at all: the API has no accounts, and the SDK would put the
	// client IP here.
	e.User = sentry.User{}
	if r := e.Request; r != nil {
		r.Cookies = ""
		r.Data = ""
		r.QueryString = redact.Query(r.QueryString)
		redact.HeaderMap(r.Headers)
		delete(r.Env, "REMOTE_ADDR")
		delete(r.Env, "REMOTE_PORT")
		if u, err := url.Parse(r.URL); err == nil {
			u.User = nil
			u.RawQuery = redact.Query(u.RawQuery)
			r.URL = u.String()
		} else {
			r.URL = ""
		}
	}
	e.Message = redact.Text(e.Message)
	for i := range e.Exception {
		e.Exception[i].Value = redact.Text(e.Exception[i].Value)
	}
	for _, b := range e.Breadcrumbs {
		b.Message = redact.Text(b.Message)
	}
	return e
}
