// Package prometheus describes the region's Prometheus image
// (backend/prometheus.Dockerfile with the files in this directory):
// Debian's prometheus 2.42, non-root, on a read-only root filesystem, its
// data on a volume, the retention from the environment, no lifecycle or
// admin API.
//
// The Go side is only the contract: ports, paths and variables, so that the
// infrastructure program (which imports this module) and the tests use the
// same names.
package prometheus

const (
	// Port is where Prometheus serves its UI, API and /metrics.
	Port = 9090
	// ConfigDir holds the configuration files. The infrastructure program
	// mounts a tmpfs of the image user here and passes the files in
	// EnvConfig and EnvRules, which the entrypoint writes into it.
	ConfigDir = "/etc/prometheus"
	// EnvConfig and EnvRules, when set, are the contents of ConfigPath and
	// RulesPath, written at every start by the entrypoint (readable by the
	// image user only) and removed from Prometheus's environment; unset,
	// the image's own files are used.
	EnvConfig = "PROMETHEUS_CONFIG"
	EnvRules  = "PROMETHEUS_RULES"
	// ConfigPath is the configuration file Prometheus reads.
	ConfigPath = ConfigDir + "/prometheus.yml"
	// RulesPath is the rule file the default configuration names; the
	// program's configuration names it too.
	RulesPath = ConfigDir + "/rules.yml"
	// DataDir is the TSDB: mount a named volume here.
	DataDir = "/prometheus"
	// EnvRetention is how long samples are kept, in Prometheus's duration
	// syntax (15d, 720h); the image's default is DefaultRetention.
	EnvRetention = "PROMETHEUS_RETENTION"
	// DefaultRetention is the image's EnvRetention.
	DefaultRetention = "15d"
	// ReadyPath answers 200 once Prometheus serves queries.
	ReadyPath = "/-/ready"
)
