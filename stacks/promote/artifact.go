package promote

import (
	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/stacks/config"
)

// artifact describes one kind of image a promotion moves, after Kargo's
// Freight: which source output carries it, which config path of the
// target holds it and whether each region has its own (the backend) or the
// whole stack shares one (the backup job, the region proxy, Postgres). The
// waves, the journal, the dry run and the rollback work from this
// description, so a further image is one more entry, not a code path.
type artifact struct {
	// kind names the artifact in the journal.
	kind string
	// output is the source stack's output that carries the new image.
	output string
	// key is the config path of a stack-wide artifact; a per-region one
	// (key empty) lives at helloagents:regions[i].image.
	key string
	// row names a stack-wide artifact's wave in reports, plans and logs.
	row string
	// what names it in error messages.
	what string
	// current reads the target's image from its parsed config.
	current func(config.Config) string
}

// kindBackend is the per-region artifact: the backend image.
const kindBackend = "backend"

// backupName is the report row of the backup-image wave.
const backupName = "(backup job)"

// stackArtifacts are the stack-wide images, in the order their waves run
// after every region passed. Each goes with a promotion of every region
// only: every region runs it, so a partial rollout must not change it.
func stackArtifacts() []artifact {
	return []artifact{
		{kind: "backup", output: contract.OutputBackupImage, key: contract.KeyBackupImage,
			row: backupName, what: "the backup job image", current: func(c config.Config) string { return c.Backup.Image }},
		{kind: "proxy", output: contract.OutputProxyImage, key: contract.KeyProxyImage,
			row: "(region proxy)", what: "the region proxy image", current: func(c config.Config) string { return c.Backend.ProxyImage }},
		{kind: "postgres", output: contract.OutputPostgresImage, key: contract.KeyDatabaseImage,
			row: "(postgres)", what: "the Postgres image", current: func(c config.Config) string { return c.Database.Image }},
		{kind: "prometheus", output: contract.OutputPrometheusImage, key: contract.KeyPrometheusImage,
			row: "(prometheus)", what: "the Prometheus image", current: func(c config.Config) string { return c.Monitoring.PrometheusImage }},
		{kind: "alertmanager", output: contract.OutputAlertmanagerImage, key: contract.KeyAlertmanagerImage,
			row: "(alertmanager)", what: "the Alertmanager image", current: func(c config.Config) string { return c.Monitoring.AlertmanagerImage }},
		{kind: "pgexporter", output: contract.OutputPGExporterImage, key: contract.KeyPGExporterImage,
			row: "(postgres exporter)", what: "the Postgres exporter image", current: func(c config.Config) string { return c.Monitoring.PGExporterImage }},
	}
}

// stackArtifact returns the stack-wide artifact of a journal kind.
func stackArtifact(kind string) (artifact, bool) {
	for _, a := range stackArtifacts() {
		if a.kind == kind {
			return a, true
		}
	}
	return artifact{}, false
}
