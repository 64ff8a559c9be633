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
	// ConfigDir holds the configuration file. The infrastructure program
	// mounts a tmpfs of the image user here and passes the file in
	// EnvConfig, which the entrypoint writes into it.
	ConfigDir = "/etc/alertmanager"
	// EnvConfig, when set, is the content of ConfigPath, written at every
	// start by the entrypoint (readable by the image user only) and removed
	// from Alertmanager's environment; unset, the image's own file is used.
	EnvConfig = "ALERTMANAGER_CONFIG"
	// ConfigPath is the configuration file Alertmanager reads.
	ConfigPath = ConfigDir + "/alertmanager.yml"
	// DataDir holds the notification log and silences: mount a named
	// volume here.
	DataDir = "/alertmanager"
	// ReadyPath answers 200 once Alertmanager serves.
	ReadyPath = "/-/ready"
)
