// Package env defines the platform's deployment environments once, for the
// program (stacks), its validation and the policy pack: the names, how a stack
// name selects one, and what each environment does. Rules ask a predicate
// ("does this environment pin images?") instead of comparing names, so a rule
// and the composition it guards cannot disagree on which environments it
// covers.
//
// It lives in the policy module because the pack is built on its own and
// cannot import the program's module, while the program's module already
// requires this one.
package env

import "strings"

// Environment names the kind of stack; it selects defaults and rules.
type Environment string

// The three environments. Dev runs on the local Docker engine with no
// Cloudflare; staging builds and pushes the images behind Cloudflare with one
// region or more; production deploys the images staging pushed, pinned by
// digest, in at least two regions.
const (
	Dev        Environment = "dev"
	Staging    Environment = "staging"
	Production Environment = "production"
)

// All is every environment, in promotion order.
func All() []Environment { return []Environment{Dev, Staging, Production} }

// Allowed is the list of names for error messages: "dev, staging, production".
func Allowed() string { return "dev, staging, production" }

// Parse returns the environment named exactly s.
func Parse(s string) (Environment, bool) {
	switch e := Environment(s); e {
	case Dev, Staging, Production:
		return e, true
	}
	return "", false
}

// Named returns the environment a stack name names: its last segment
// ("acme/prod" -> "prod") when that is dev, staging, production or prod.
// Any other name names none.
func Named(stack string) (Environment, bool) {
	switch name := stack[strings.LastIndex(stack, "/")+1:]; name {
	case "prod":
		return Production, true
	default:
		return Parse(name)
	}
}

// Local reports whether the stack runs on the local Docker engine, reached on
// loopback: no Cloudflare, no registry, no off-host backups, and the
// leniencies that go with it (loopback HTTP, a unix Docker socket).
func (e Environment) Local() bool { return e == Dev }

// BehindCloudflare reports whether the stack is served through Cloudflare
// (tunnels, DNS, Pages, R2 backups, alerts): every environment but dev.
func (e Environment) BehindCloudflare() bool { return !e.Local() }

// PushesImages reports whether the stack builds its images and pushes them
// to a registry, where promotion picks them up: staging.
func (e Environment) PushesImages() bool { return e == Staging }

// PinsImages reports whether the stack builds nothing and deploys only
// digest-pinned images that promotion wrote into its config: production.
func (e Environment) PinsImages() bool { return e == Production }

// ProtectsData reports whether stateful resources (database volumes, the
// backup bucket) are protected from deletion: production.
func (e Environment) ProtectsData() bool { return e == Production }

// Redundant reports whether the stack must survive a lost region or
// container: at least two regions, two replicas per region by default.
func (e Environment) Redundant() bool { return e == Production }
