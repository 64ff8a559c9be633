// Package alertmanager describes the region's Alertmanager image
// (backend/alertmanager.Dockerfile with the default configuration in this
// directory): Debian's prometheus-alertmanager 0.25, one per region (no
// cluster), non-root, on a read-only root filesystem, its notification log
// and silences on a volume.
//
// The Go side is only the contract: port and paths, so that the
// infrastructure program (which imports this module) and the tests use the
// same names.
package alertmanager

const (
	// Port is where Alertmanager serves its UI and API.
	Port = 9093
	// ConfigDir holds the configuration file; the infrastructure program
	// mounts a volume here and uploads its file into it (top level only).
	ConfigDir = "/etc/alertmanager"
	// ConfigPath is the configuration file Alertmanager reads.
	ConfigPath = ConfigDir + "/alertmanager.yml"
	// DataDir holds the notification log and silences: mount a named
	// volume here.
	DataDir = "/alertmanager"
	// ReadyPath answers 200 once Alertmanager serves.
	ReadyPath = "/-/ready"
)
