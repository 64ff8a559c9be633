// Package components holds the platform's typed Pulumi ComponentResources
// that share one healthcheck.Settings value (package healthcheck).
//
// Each component has an XArgs struct, exported outputs, a constructor
// NewX(ctx, name, args, opts...), the type token helloagents:<module>:<Type>,
// parents every child to itself and ends with RegisterResourceOutputs.
// Cloudflare resources go through the explicit Cloudflare provider the
// component is given. A component that runs containers is a child of its
// Region: it is created with the region's Child option, its Docker
// resources inherit the region's provider (they name no provider), and its
// constructor refuses to run without one (requireDocker), so nothing lands
// on the default, local engine.
//
//	Secrets         helloagents:secrets:Secrets          generated and configured secrets, as secret outputs
//	Region          helloagents:region:Host               a region: docker provider, private and egress networks; parent of its Database, BackendService, Proxy, Tunnel, Monitoring
//	Image           helloagents:backend:Image             docker.Image built from backend/ (pushed in staging)
//	BackendService  helloagents:backend:BackendService    the API replicas of a region (new ones healthy before old ones go)
//	Proxy           helloagents:backend:Proxy             the region's HAProxy: ready replicas only, retries
//	Database        helloagents:database:Database         Postgres (pgBackRest WAL archive) on a volume: a primary with pgbackup and pitrjob, or a hot standby
//	BackupBucket    helloagents:database:BackupBucket     the R2 bucket of the dumps
//	Tunnel          helloagents:edge:Tunnel               Cloudflare Tunnel plus its cloudflared container
//	Edge            helloagents:edge:Edge                 zone settings, DNS, health check or load balancer
//	Alerts          helloagents:edge:Alerts               notification policies per pool, health check, tunnel; zone SSL
//	Monitoring      helloagents:monitoring:Monitoring     a region's Prometheus, Alertmanager and Postgres exporter
//	MonitoringAccess helloagents:edge:MonitoringAccess    Cloudflare Access applications, policies, service token and DNS of the monitoring hostnames
//	Frontend        helloagents:frontend:Frontend         Cloudflare Pages project, domain, DNS
//
// Every container goes through harden (container.go): numeric non-root
// user, read-only root filesystem, all capabilities dropped,
// no-new-privileges, memory and CPU limits (no swap), restart on failure
// with a bounded retry count, and the labels helloagents.stack, .region and
// .role. Every input is written in the form the docker provider reads back
// (canonical.DockerCPUs, DockerDuration), so an `up` with no change changes nothing.
//
// A new per-region component (say Redis: a container with a volume, a
// generated password, its URL in the backend's environment) touches these
// files, each the one home of what it adds:
//
//  1. components/redis.go: RedisArgs (Host *Region for the networks and
//     the labels, the image, limits, the password as a pulumi.StringInput)
//     and NewRedis, which registers helloagents:redis:Redis, calls
//     requireDocker, creates the volume and the container with
//     pulumi.Parent only, passes the container through harden with
//     Host.Identity(labels.RoleRedis), and exports the URL as a secret
//     output;
//  2. components/redis_test.go: table-driven, under internal/mocktest,
//     created with host.Child();
//  3. backend/labels/labels.go: RoleRedis, which the policy pack sees too;
//  4. backend/server/env.go: EnvRedisURL, the name the backend reads and
//     the program writes;
//  5. stacks/region.go: components.NewRedis(ctx, "redis-"+r.Name, ...,
//     p.inRegion(host)) and the URL into the backend's SecretEnv under
//     server.EnvRedisURL. A new component needs no alias: Child's alias
//     only matches resources that existed at the root before, and a new
//     one has none;
//  6. stacks/config/redis.go: the section's type, key, default and
//     validation;
//  7. stacks/config/config.go: its field in Config and its row in
//     sections, from which the known keys, the defaults, decoding and
//     validation follow;
//  8. README.md: the section in the reference table, which reference_test
//     holds to the defaults;
//  9. components/secrets.go: the generated password, a secret output.
//
// Nine files, each the one home of what it adds (ten before the stack
// config had its sections table). Were the password
// set by the operator instead, it would be one row in each half of the
// secret table (stacks/config/secrets.go: key, field, when required;
// stacks/secrets.go: the SecretsArgs field and the variable RoleRedis
// reads it from) in place of 9; parsing, validation, the container's
// variable and the README check follow.
package components
