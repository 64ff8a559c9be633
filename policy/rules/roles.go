package rules

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

// LabelRole is the label the platform's program stamps on every container
// (components.Identity): backend, postgres, backup, proxy or tunnel.
const LabelRole = "helloagents.role"

// containerRole returns a container's helloagents.role label. ok is false
// when the container carries none (one made outside the platform's
// components); the rules then judge it by its variables and image.
func containerRole(r policyx.AnalyzerResource) (role string, ok bool) {
	labels, st := arrayAt(r.Properties, "labels")
	if st != known {
		return "", false
	}
	for _, l := range labels {
		if !l.IsMap() {
			continue
		}
		if key, _ := stringAt(l.AsMap(), "label"); key == LabelRole {
			v, st := stringAt(l.AsMap(), "value")
			return v, st == known
		}
	}
	return "", false
}
