// Package labels names the Docker labels stamped on every platform
// container and the values of helloagents.role. It imports nothing, so the
// operator CLIs (infra/status) filter containers by label without linking
// the Pulumi SDKs that package components (which stamps them) needs.
package labels

// Label keys stamped on every container.
const (
	Stack  = "helloagents.stack"
	Region = "helloagents.region"
	Role   = "helloagents.role"
)

// The values of the Role label: what a container is for.
const (
	RoleBackend  = "backend"
	RolePostgres = "postgres"
	RoleBackup   = "backup"
	RolePITR     = "pgbackrest"
	RoleProxy    = "proxy"
	RoleTunnel   = "tunnel"
	// The region's monitoring.
	RolePrometheus   = "prometheus"
	RoleAlertmanager = "alertmanager"
	RolePGExporter   = "pgexporter"
)
