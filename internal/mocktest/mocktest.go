// Package mocktest runs Pulumi programs under pulumi.RunWithMocks and records
// every resource they register, so tests (the platform's own and the policy
// pack's real-graph tests) can assert on the exact inputs a program would send
// to its providers, secrets included.
//
// Typical use:
//
//	m := mocktest.New()
//	err := pulumi.RunErr(func(ctx *pulumi.Context) error { ... },
//		pulumi.WithMocks("helloagents", "dev", m))
//	for _, c := range m.ByType(restype.DockerContainer) { ... c.Inputs["user"] ... }
//
// Inputs are kept as resource.PropertyMap exactly as the engine would receive
// them: a value set from a secret output is a secret PropertyValue
// (IsSecret() reports true), so tests can prove no secret leaks in plain text.
package mocktest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/helloagents/infra/policy/restype"
)

// Unwrap strips the secret markers around v, to read the value inside.
func Unwrap(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

// Strings reads a list of strings, secret markers stripped at every level.
func Strings(v resource.PropertyValue) []string {
	var out []string
	for _, e := range Unwrap(v).ArrayValue() {
		out = append(out, Unwrap(e).StringValue())
	}
	return out
}

// Resource is one registered resource as the engine would have seen it.
type Resource struct {
	// Type is the type token, e.g. restype.DockerContainer or a
	// component's "helloagents:backend:BackendService".
	Type string
	// Name is the logical (Pulumi) name.
	Name string
	// Custom is false for component resources.
	Custom bool
	// Inputs are the resource's inputs with secrets preserved.
	Inputs resource.PropertyMap
	// Parent is the URN of the parent ("" for children of the stack).
	Parent string
	// Provider is the provider reference ("urn::id"), "" for the default provider.
	Provider string
	// DeleteBeforeReplace is the resource option as the program set it: nil
	// when unset (the provider decides), else the program's choice.
	DeleteBeforeReplace *bool
	// Aliases are the resource's former names (alias specs) or URNs.
	Aliases []string
}

// Monitor implements pulumi.MockResourceMonitor and records every resource.
// It answers each registration with the inputs as outputs plus plausible
// values for the computed outputs the platform reads (image digests, tunnel
// tokens, Pages subdomains), so a program composes exactly as it would in a
// real deployment. The zero value is not usable; call New.
type Monitor struct {
	mu        sync.Mutex
	resources []Resource
}

// New returns an empty Monitor.
func New() *Monitor { return &Monitor{} }

// NewResource records the registration and returns its mocked state.
func (m *Monitor) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r := Resource{
		Type:     args.TypeToken,
		Name:     args.Name,
		Custom:   args.Custom,
		Inputs:   args.Inputs.Copy(),
		Provider: args.Provider,
	}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Parent = rpc.GetParent()
		if rpc.GetDeleteBeforeReplaceDefined() {
			dbr := rpc.GetDeleteBeforeReplace()
			r.DeleteBeforeReplace = &dbr
		}
		for _, a := range rpc.GetAliases() {
			if spec := a.GetSpec(); spec != nil {
				r.Aliases = append(r.Aliases, spec.GetName())
			} else {
				r.Aliases = append(r.Aliases, a.GetUrn())
			}
		}
	}
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()

	id := args.Name + "-id"
	if args.ID != "" {
		id = args.ID
	}
	return id, computed(args.TypeToken, args.Name, id, args.Inputs.Copy()), nil
}

// Call answers provider functions (invokes) with their arguments; the
// platform calls none, so this only keeps unexpected invokes from failing.
func (m *Monitor) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}

// Resources returns every recorded resource in registration order.
func (m *Monitor) Resources() []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Resource(nil), m.resources...)
}

// ByType returns the recorded resources with the given type token.
func (m *Monitor) ByType(token string) []Resource {
	var out []Resource
	for _, r := range m.Resources() {
		if r.Type == token {
			out = append(out, r)
		}
	}
	return out
}

// Count returns how many resources of the given type were registered.
func (m *Monitor) Count(token string) int { return len(m.ByType(token)) }

// Named returns the resource with the given type and logical name.
func (m *Monitor) Named(token, name string) (Resource, bool) {
	for _, r := range m.ByType(token) {
		if r.Name == name {
			return r, true
		}
	}
	return Resource{}, false
}

// Await resolves an output inside a mocked program. It reports the value,
// whether it is a secret, and whether it is known.
func Await(o pulumi.Output) (value any, secret, known bool, err error) {
	res, err := internals.UnsafeAwaitOutput(context.Background(), o)
	return res.Value, res.Secret, res.Known, err
}

// computed fills in the outputs a real provider would compute.
func computed(token, name, id string, state resource.PropertyMap) resource.PropertyMap {
	str := func(k string) string { return stateString(state, k) }
	set := func(k, v string) { setString(state, k, v) }
	switch token {
	case restype.DockerImage:
		builtImageDigest(state)
	case restype.DockerRemoteImage:
		remoteImageDigests(state)
	case restype.Tunnel:
		set("cname", id+".cfargotunnel.com")
		state["tunnelToken"] = resource.MakeSecret(resource.NewProperty("token-" + fakeDigest(name)))
	case restype.AccessServiceToken:
		set("clientId", fakeDigest(name)[:32]+".access")
		state["clientSecret"] = resource.MakeSecret(resource.NewProperty("token-" + fakeDigest(name)))
	case restype.PagesProject:
		set("subdomain", str("name")+".pages.dev")
	case restype.DockerNetwork, restype.DockerVolume, restype.DockerContainer:
		if str("name") == "" {
			set("name", name)
		}
	case restype.RandomID:
		set("b64Std", "cmFuZG9tLWlk"+fakeDigest(name)[:8]+"=")
		set("hex", fakeDigest(name)[:32])
	case restype.RandomPassword:
		state["result"] = resource.MakeSecret(resource.NewProperty("pw-" + fakeDigest(name)[:24]))
	}
	return state
}

// builtImageDigest sets the repoDigest of a built image like pulumi-docker
// v4: the pushed manifest digest, or the local image ID for an image that is
// not pushed.
func builtImageDigest(state resource.PropertyMap) {
	img := stateString(state, "imageName")
	if v, ok := state["skipPush"]; ok && v.IsBool() && v.BoolValue() {
		setString(state, "repoDigest", "sha256:"+fakeDigest(img))
	} else {
		setString(state, "repoDigest", repoOf(img)+"@sha256:"+fakeDigest(img))
	}
}

// remoteImageDigests sets the imageId and repoDigest of a pulled image; a
// reference pinned by digest is its own repoDigest.
func remoteImageDigests(state resource.PropertyMap) {
	img := stateString(state, "name")
	setString(state, "imageId", "sha256:"+fakeDigest(img))
	if strings.Contains(img, "@sha256:") {
		setString(state, "repoDigest", img)
	} else {
		setString(state, "repoDigest", repoOf(img)+"@sha256:"+fakeDigest(img))
	}
}

// setString sets the string output k.
func setString(state resource.PropertyMap, k, v string) {
	state[resource.PropertyKey(k)] = resource.NewProperty(v)
}

// stateString returns the string at k, unwrapping a secret; "" when k is
// absent or not a string.
func stateString(state resource.PropertyMap, k string) string {
	v, ok := state[resource.PropertyKey(k)]
	if !ok {
		return ""
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

// repoOf strips a tag or digest from an image reference.
func repoOf(img string) string {
	if i := strings.Index(img, "@"); i >= 0 {
		img = img[:i]
	}
	if i := strings.LastIndex(img, ":"); i > strings.LastIndex(img, "/") {
		img = img[:i]
	}
	return img
}

func fakeDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// String renders a resource for test failure messages.
func (r Resource) String() string { return fmt.Sprintf("%s %q", r.Type, r.Name) }
