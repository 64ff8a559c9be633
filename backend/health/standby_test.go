package health

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/replication"
)

type replicationSource struct {
	st  replication.Status
	err error
}

func (r replicationSource) Replication(context.Context) (replication.Status, error) {
	return r.st, r.err
}

func secs(s float64) *float64 { return &s }

// TestDatabaseRole: a primary is healthy; a standby is "standby" with its
// lag, "degraded" beyond the bound; neither is unhealthy, so readiness
// stays 200; an unreachable database is unhealthy without its cause.
func TestDatabaseRole(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		src    replicationSource
		status Status
		msg    string
		ready  bool
	}{
		{"primary", replicationSource{st: replication.Status{Role: replication.Primary, Timeline: 2}}, Healthy, "Database connection successful", true},
		{"standby", replicationSource{st: replication.Status{Role: replication.Standby, InRecovery: true, LastReplayAt: &at, ReplayLagSeconds: secs(2.14)}},
			Standby, "Read-only standby, replaying WAL, lag 2.1s", true},
		{"standby, nothing replayed yet", replicationSource{st: replication.Status{Role: replication.Standby, InRecovery: true}},
			Standby, "Read-only standby, replaying WAL, no transaction replayed yet", true},
		{"standby far behind", replicationSource{st: replication.Status{Role: replication.Standby, InRecovery: true, LastReplayAt: &at, ReplayLagSeconds: secs(303)}},
			Degraded, "Read-only standby, replaying WAL, lag 5m3s (more than 3m0s behind)", true},
		{"unreachable", replicationSource{err: errors.New("dial tcp 10.0.0.5:5432: password=x")}, Unhealthy, "Database connection failed", false},
		{"slow", replicationSource{err: context.DeadlineExceeded}, Unhealthy, "Database did not answer in time", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged error
			c := DatabaseRole(tc.src, 3*time.Minute, func(err error) { logged = err })
			rep := Runner{Version: "t"}.Run(context.Background(), []Check{c})
			got := rep.Components["database"]
			if got.Status != tc.status || got.Message != tc.msg {
				t.Errorf("database = %+v, want %s %q", got, tc.status, tc.msg)
			}
			if ready := rep.Status == Healthy; ready != tc.ready {
				t.Errorf("report status %s, want ready %t", rep.Status, tc.ready)
			}
			if (logged != nil) != (tc.src.err != nil) {
				t.Errorf("onError got %v for error %v", logged, tc.src.err)
			}
		})
	}
}
