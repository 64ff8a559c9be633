// Package components holds the platform's typed Pulumi ComponentResources
// that share one healthcheck.Settings value (package healthcheck).
//
// Each component has an XArgs struct, exported outputs, a constructor
// NewX(ctx, name, args, opts...), the type token helloagents:<module>:<Type>,
// parents every child to itself, creates Docker resources only through the
// explicit provider of its region (RegionHost.Provider) and Cloudflare
// resources through the explicit Cloudflare provider it is given, and ends
// with RegisterResourceOutputs.
//
//	Secrets         helloagents:secrets:Secrets          generated and configured secrets, as secret outputs
//	RegionHost      helloagents:region:Host               a region's docker provider, private and egress networks
//	Image           helloagents:backend:Image             docker.Image built from backend/ (pushed in staging)
//	BackendService  helloagents:backend:BackendService    the API replicas of a region (new ones healthy before old ones go)
//	Proxy           helloagents:backend:Proxy             the region's HAProxy: ready replicas only, retries
//	Database        helloagents:database:Database         Postgres (pgBackRest WAL archive) on a volume: a primary with pgbackup and pitrjob, or a hot standby
//	BackupBucket    helloagents:database:BackupBucket     the R2 bucket of the dumps
//	Tunnel          helloagents:edge:Tunnel               Cloudflare Tunnel plus its cloudflared container
//	Edge            helloagents:edge:Edge                 zone settings, DNS, health check or load balancer
//	Alerts          helloagents:edge:Alerts               notification policies per pool, health check, tunnel; zone SSL
//	Frontend        helloagents:frontend:Frontend         Cloudflare Pages project, domain, DNS
//
// Every container goes through harden (container.go): numeric non-root
// user, read-only root filesystem, all capabilities dropped,
// no-new-privileges, memory and CPU limits (no swap), restart on failure
// with a bounded retry count, and the labels helloagents.stack, .region and
// .role. Every input is written in the form the docker provider reads back
// (DockerCPUs, DockerDuration), so an `up` with no change changes nothing.
package components
