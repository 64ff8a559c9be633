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
