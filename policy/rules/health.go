package rules

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/server"
	"github.com/helloagents/infra/policy/restype"
)

// IsBackendContainer reports whether a container runs the backend API: its
// helloagents.role label says so, or, unlabelled, it is given the backend's
// DATABASE_URL or PORT and is not the backup job or PostgreSQL.
func IsBackendContainer(r policyx.AnalyzerResource) bool {
	if r.Type != restype.DockerContainer {
		return false
	}
	if role, labelled := containerRole(r); labelled {
		return role == labels.RoleBackend
	}
	if IsBackupJob(r) || IsPostgres(r) {
		return false
	}
	_, db := envValue(r, server.EnvDatabaseURL)
	_, port := envValue(r, server.EnvPort)
	return db || port
}

// HealthChecksConfigured requires a Docker healthcheck on every backend
// container (so Docker restarts a wedged process and promotion can gate on
// it) and a monitor on every Cloudflare load balancer pool (so a dead region
// is taken out of rotation).
func HealthChecksConfigured(r policyx.AnalyzerResource, _ Context) []string {
	switch {
	case r.Type == restype.LoadBalancerPool:
		monitor, st := stringAt(r.Properties, "monitor")
		if st == absent || st == known && monitor == "" {
			return []string{fmt.Sprintf("%s: pool has no monitor, so a dead region stays in rotation; set `monitor` to a LoadBalancerMonitor id probing /health/ready over HTTPS", label(r))}
		}
	case IsBackendContainer(r):
		if _, st := at(r.Properties, "healthcheck"); st == unknown {
			return nil
		}
		tests, st := arrayAt(r.Properties, "healthcheck", "tests")
		if st == unknown {
			return nil
		}
		if len(tests) == 0 || tests[0].IsString() && strings.EqualFold(tests[0].AsString(), "NONE") {
			return []string{fmt.Sprintf("%s: backend container has no healthcheck; set `healthcheck` with tests [\"CMD\", \"/server\", \"healthcheck\"] and the interval/timeout/retries of the shared HealthCheck settings", label(r))}
		}
	}
	return nil
}
