package rules

import (
	"fmt"
	"math"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/backend/drain"
	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/policy/restype"
)

// servingDrain is how long a serving container asks to drain, read from its
// variables by the image's own contract (package drain), and what sets it.
type servingDrain struct {
	kind string
	vars string
	read func(func(string) string) (time.Duration, error)
}

var servingDrains = map[labels.ContainerRole]servingDrain{
	labels.RoleBackend: {"backend", drain.EnvServerDelay + " + " + drain.EnvServerTimeout, drain.Server},
	labels.RoleProxy:   {"proxy", drain.EnvProxyHardStop, drain.Proxy},
	labels.RoleTunnel:  {"cloudflared", drain.EnvTunnelGrace, drain.Tunnel},
}

// ContainersDrainBeforeKill refuses a serving container (backend replica,
// proxy, cloudflared) whose grace period is shorter than its drain. The
// docker provider deletes a container, on every replacement and destroy,
// with `docker stop` and destroyGraceSeconds as the timeout, then a forced
// remove: unset, that is SIGKILL at once, and the requests in flight fail.
// The container's own stopTimeout is not used by the provider.
func ContainersDrainBeforeKill(r policyx.AnalyzerResource, _ Context) []string {
	if r.Type != restype.DockerContainer {
		return nil
	}
	sd, ok := servingDrainOf(r)
	if !ok {
		return nil
	}
	vars, known := plainVars(r)
	if !known {
		return nil
	}
	want, err := sd.read(func(k string) string { return vars[k] })
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", label(r), err)}
	}
	grace, st := numberAt(r.Properties, "destroyGraceSeconds")
	switch st {
	case unknown:
		return nil
	case absent:
		grace = 0
	}
	if time.Duration(grace*float64(time.Second)) >= want {
		return nil
	}
	return []string{fmt.Sprintf("%s: destroyGraceSeconds %v is shorter than the %s's drain of %s (%s); the docker provider stops the container with that timeout and then kills it, so requests in flight fail; set destroyGraceSeconds to at least %d (components.StopFor)",
		label(r), grace, sd.kind, drain.Format(want), sd.vars, int(math.Ceil(want.Seconds())))}
}

// servingDrainOf picks the drain of a serving container by its role label,
// or, unlabelled, by the backend's variables.
func servingDrainOf(r policyx.AnalyzerResource) (servingDrain, bool) {
	if role, labelled := containerRole(r); labelled {
		sd, ok := servingDrains[role]
		return sd, ok
	}
	if IsBackendContainer(r) {
		return servingDrains[labels.RoleBackend], true
	}
	return servingDrain{}, false
}

// plainVars are a container's known variables; known is false while any
// key is not known yet (the rule then waits for the update).
func plainVars(r policyx.AnalyzerResource) (map[string]string, bool) {
	vars := map[string]string{}
	for _, e := range containerEnv(r) {
		if !e.Known {
			if e.Key == "" {
				return nil, false
			}
			continue
		}
		vars[e.Key] = e.Value
	}
	return vars, true
}
