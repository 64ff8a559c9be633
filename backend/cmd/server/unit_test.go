package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/logging"
)

// TestDBErrorLimitsRepeats proves an outage's identical check failures are
// one WARN line, the next one carries the count, and no password shows.
func TestDBErrorLimitsRepeats(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1e9, 0)
	onErr := dbError(slog.New(slog.NewJSONHandler(&buf, nil)), logging.NewRepeats(10*time.Second, func() time.Time { return now }))
	err := errors.New("failed to connect to postgres://app:pw-SECRET@db/app: connection refused")
	for range 100 {
		onErr(err)
	}
	now = now.Add(11 * time.Second)
	onErr(err)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines; want 2:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[1], `"repeated":99`) {
		t.Errorf("summary lacks the count: %s", lines[1])
	}
	if strings.Contains(buf.String(), "pw-SECRET") {
		t.Errorf("log leaks the password:\n%s", buf.String())
	}
}

// TestHelp proves every spelling of help answers with the commands and the
// exit codes and exits 0, and an unknown command exits 2.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help", "-help"} {
		var out, errOut bytes.Buffer
		if code := run(t.Context(), []string{arg}, func(string) string { return "" }, &out, &errOut); code != 0 {
			t.Errorf("%s: exit %d", arg, code)
		}
		for _, want := range []string{"healthcheck", "exit status: 0", "2 unknown command", "DATABASE_URL", "METRICS_PORT", "IMAGE_FINGERPRINT"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: help lacks %q:\n%s", arg, want, &out)
			}
		}
	}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"frobnicate"}, func(string) string { return "" }, &out, &errOut); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
}

// TestServeRejectsArguments: "server serve --port 9000" exits 2 before the
// configuration is read (the empty environment would otherwise fail with
// "DATABASE_URL") or a port is opened.
func TestServeRejectsArguments(t *testing.T) {
	for _, args := range [][]string{{"serve", "--port", "9000"}, {"server", "extra"}} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), args, func(string) string { return "" }, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), "unexpected arguments") || strings.Contains(errOut.String()+out.String(), "DATABASE_URL:") {
			t.Errorf("%q: exit %d, want 2 with the usage\n%s%s", args, code, &out, &errOut)
		}
	}
}
