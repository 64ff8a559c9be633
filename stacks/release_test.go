package stacks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
	"github.com/helloagents/infra/stacks/config"
)

// byName indexes a render by type and logical name (unique per type).
func byName(m *mocktest.Monitor) map[string]mocktest.Resource {
	out := map[string]mocktest.Resource{}
	for _, r := range m.Resources() {
		out[r.Type+"::"+r.Name] = r
	}
	return out
}

// TestReleaseChangesOnlyBackendReplicas renders production twice, differing
// only in what a release changes (every region's backend image), and checks
// the resource sets: the same logical resources, identical inputs for
// everything but the backend replicas and their pulled image, and new Docker
// names for the replicas (so the new ones run beside the old ones). Postgres,
// its volume, the backup job, the networks, the proxy and the tunnel are
// untouched. A change of a backend variable behaves the same.
func TestReleaseChangesOnlyBackendReplicas(t *testing.T) {
	base, err := config.Parse("production", stackRaw(t, "production"))
	if err != nil {
		t.Fatal(err)
	}
	newImage := base
	newImage.Regions = append([]config.Region(nil), base.Regions...)
	for i := range newImage.Regions {
		newImage.Regions[i].Image = fmt.Sprintf("ghcr.io/helloagents/backend@sha256:%s", strings.Repeat(fmt.Sprint(i+5), 64))
	}
	newEnv := base
	newEnv.Backend.AppVersion = "2.0.0"
	before := byName(runConfig(t, base))
	for name, release := range map[string]config.Config{"image": newImage, "variable": newEnv} {
		t.Run(name, func(t *testing.T) {
			after := byName(runConfig(t, release))
			if len(after) != len(before) {
				t.Fatalf("%d resources before, %d after: a release adds or removes logical resources", len(before), len(after))
			}
			replicas := 0
			for key, old := range before {
				cur, ok := after[key]
				if !ok {
					t.Errorf("%s vanished", key)
					continue
				}
				backend := role(old) == "backend" || (old.Type == restype.DockerRemoteImage && strings.HasPrefix(old.Name, "backend-"))
				same := old.Inputs.DeepEquals(cur.Inputs)
				switch {
				case !backend && !same:
					t.Errorf("%s changed in a release: %v", key, old.Inputs.Diff(cur.Inputs))
				case backend && old.Type == restype.DockerContainer:
					replicas++
					if str(old.Inputs["name"]) == str(cur.Inputs["name"]) {
						t.Errorf("%s keeps its Docker name %q: the new replica could not run beside the old", key, str(old.Inputs["name"]))
					}
				}
			}
			if want := 2 * len(base.Regions); replicas != want {
				t.Errorf("%d backend replicas compared, want %d", replicas, want)
			}
		})
	}
}

func str(v resource.PropertyValue) string {
	v = mocktest.Unwrap(v)
	if !v.IsString() {
		return ""
	}
	return v.StringValue()
}
