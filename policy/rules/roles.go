package rules

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/backend/labels"
)

// containerRole returns a container's helloagents.role label. ok is false
// when the container carries none (one made outside the platform's
// components); the rules then judge it by its variables and image.
func containerRole(r policyx.AnalyzerResource) (role labels.ContainerRole, ok bool) {
	entries, st := arrayAt(r.Properties, "labels")
	if st != known {
		return "", false
	}
	for _, l := range entries {
		if !l.IsMap() {
			continue
		}
		if key, _ := stringAt(l.AsMap(), "label"); key == labels.Role {
			v, st := stringAt(l.AsMap(), "value")
			return labels.ContainerRole(v), st == known
		}
	}
	return "", false
}
