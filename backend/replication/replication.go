// Package replication is the replication state a region's Postgres reports,
// the JSON of `pgrole status --json`: written by backend/standby inside the
// Postgres container and read across `docker exec` by the failover engine
// (stacks/failover), so both sides decode one type. It imports nothing but
// the standard library: the Pulumi program's module uses it.
package replication

import (
	"strconv"
	"time"
)

// Role is what a server is now.
type Role string

// The roles; the same words as the PG_ROLE the Postgres image starts as.
const (
	Primary Role = "primary"
	Standby Role = "standby"
)

// Status is a server's replication state.
type Status struct {
	Role       Role `json:"role"`
	Timeline   int  `json:"timeline"`
	InRecovery bool `json:"inRecovery"`
	// LastReplayAt is the commit time of the last transaction a standby
	// replayed; nil on a primary or before the first replayed commit.
	LastReplayAt *time.Time `json:"lastReplayAt"`
	// ReplayLagSeconds is the age of LastReplayAt by the standby's clock:
	// how much committed work a promotion now would leave behind, at most.
	// The primary commits a heartbeat every few seconds, so an idle primary
	// does not look like lag. nil when LastReplayAt is.
	ReplayLagSeconds *float64 `json:"replayLagSeconds"`
	// ReplayLSN is the last replayed WAL position; "" on a primary.
	ReplayLSN string `json:"replayLsn"`
	// Fenced is true when the data directory holds the fence marker of a
	// failover: the server never starts as a primary again.
	Fenced bool `json:"fenced"`
}

// Lag returns ReplayLagSeconds as a duration; ok is false when unknown.
func (s Status) Lag() (time.Duration, bool) {
	if s.ReplayLagSeconds == nil {
		return 0, false
	}
	return time.Duration(*s.ReplayLagSeconds * float64(time.Second)), true
}

// Replaying reports whether the server follows a primary: a standby in
// recovery, not fenced.
func (s Status) Replaying() bool { return s.Role == Standby && s.InRecovery && !s.Fenced }

// FormatLag renders a lag for people and health messages ("2.1s", "5m3s").
// It lives beside Status so that readers of a lag (backend/health, the
// failover tools) need not import backend/standby and, with it, pgx.
func FormatLag(d time.Duration) string {
	if d < time.Minute {
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
	return d.Round(time.Second).String()
}
