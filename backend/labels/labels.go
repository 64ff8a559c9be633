// Package labels holds the names the platform stamps on its resources and
// matches them by: the container label keys, the container roles (the
// values of the helloagents.role label) and the Cloudflare notification
// alert types. The infrastructure program writes them (components) and the
// policy pack checks them (policy/rules); one definition keeps the two from
// drifting apart. It imports nothing, so both modules can use it without
// pulling in pgx or the Pulumi SDK.
package labels

// Label keys stamped on every container of the platform.
const (
	// Stack is the Pulumi stack a container belongs to.
	Stack = "helloagents.stack"
	// Region is the region a container runs in.
	Region = "helloagents.region"
	// Role says what a container is for (a Role): operators filter with
	// `docker ps --filter label=helloagents.role=backend`, the policy pack
	// judges a container by it rather than by guessing from its variables.
	Role = "helloagents.role"
	// Replica is a backend replica's index within its region.
	Replica = "helloagents.replica"
	// Canary ("true") marks a region's canary replica: a backend replica of
	// a candidate image beside the stable ones, answering to the alias
	// backend-canary (`docker ps --filter label=helloagents.canary=true`).
	Canary = "helloagents.canary"
	// Config carries a digest of the files a monitoring container is
	// given, so a diff shows that (and which) configuration changed.
	Config = "helloagents.config"
)

// ContainerRole is the value of the Role label.
type ContainerRole string

// The roles of the platform's containers.
const (
	RoleBackend  ContainerRole = "backend"
	RolePostgres ContainerRole = "postgres"
	RoleBackup   ContainerRole = "backup"
	RolePITR     ContainerRole = "pgbackrest"
	RoleProxy    ContainerRole = "proxy"
	RoleTunnel   ContainerRole = "tunnel"
	// The region's monitoring.
	RolePrometheus   ContainerRole = "prometheus"
	RoleAlertmanager ContainerRole = "alertmanager"
	RolePGExporter   ContainerRole = "pgexporter"
)

// Cloudflare notification alert types the platform declares and the policy
// pack counts (the API's snake_case names; the SDK docs print them
// camelCased).
const (
	AlertLoadBalancingHealth = "load_balancing_health_alert"
	AlertHealthCheckStatus   = "health_check_status_notification"
	AlertTunnelHealth        = "tunnel_health_event"
	AlertUniversalSSL        = "universal_ssl_event_type"
)
