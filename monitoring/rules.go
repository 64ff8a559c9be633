package monitoring

import "time"

// RuleArgs are the inputs of the rule file.
type RuleArgs struct {
	SLO SLO
	// ScrapeInterval is Prometheus's scrape interval: every rate window must
	// hold several samples.
	ScrapeInterval time.Duration
	// WALArchiveMaxAge is the age of the last archived WAL segment above
	// which HelloAgentsWALArchiveStale fires.
	WALArchiveMaxAge time.Duration
	// StandbyMaxLag is the standby replay lag above which
	// HelloAgentsStandbyLagHigh fires.
	StandbyMaxLag time.Duration
	// BackupMaxAge is how long the backend's backups component may stay
	// degraded before HelloAgentsBackupStale fires.
	BackupMaxAge time.Duration
}

// Rules renders one Prometheus rule file (YAML).
func Rules(a RuleArgs) ([]byte, error) {
	return nil, nil
}

// AlertNames lists every alert the rules define, sorted; the docs test
// checks docs/MONITORING.md against it.
func AlertNames(a RuleArgs) []string {
	return nil
}
