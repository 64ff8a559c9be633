// Package pgexporter describes the region's PostgreSQL exporter image
// (backend/pgexporter.Dockerfile with queries.yaml in this directory):
// Debian's prometheus-postgres-exporter 0.11, non-root, on a read-only root
// filesystem, with the platform's own series: the WAL archive's age on a
// primary and the replay lag of a standby.
//
// The Go side is only the contract: port, variables and series names, so
// that the infrastructure program and the alert rules (which import this
// module) and the tests use the same names.
package pgexporter

const (
	// Port is where the exporter serves MetricsPath.
	Port = 9187
	// MetricsPath is the exporter's metrics path.
	MetricsPath = "/metrics"
	// EnvDataSourceName is the libpq URL of the database the exporter reads
	// (the exporter's own variable). It holds a password: set it as a
	// secret; the exporter logs it with the password removed.
	EnvDataSourceName = "DATA_SOURCE_NAME"
	// EnvListenAddress is the exporter's own variable for its listen
	// address; the image sets DefaultListenAddress.
	EnvListenAddress = "PG_EXPORTER_WEB_LISTEN_ADDRESS"
	// DefaultListenAddress is the image's EnvListenAddress.
	DefaultListenAddress = ":9187"
	// QueriesPath is where the image puts queries.yaml
	// (--extend.query-path).
	QueriesPath = "/etc/prometheus-postgres-exporter/queries.yaml"

	// WALArchiveAge is seconds since the primary last archived a WAL
	// segment (or since it started, when it has archived none since);
	// only on a primary with archive_mode on.
	WALArchiveAge = "helloagents_pg_wal_archive_age_seconds"
	// StandbyReplayLag is seconds since the commit time of the last
	// transaction a standby replayed (or since it started, when it has
	// replayed none); 0 on a primary.
	StandbyReplayLag = "helloagents_pg_standby_replay_lag_seconds"
)
