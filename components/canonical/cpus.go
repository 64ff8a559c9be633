// Package canonical holds the forms the docker provider reads values back
// in. It imports no Pulumi SDK, so stack validation (stacks/config) can
// refuse a value the provider would misread without linking the providers.
package canonical

import (
	"math"
	"math/big"
	"strings"
)

// DockerCPUs renders a CPU limit the way the docker provider reads it back
// from the engine's NanoCPUs (terraform-provider-docker's
// nanoInt64ToDecimalString): a whole number keeps one fractional digit
// ("1.0", "2.0"), other values lose their trailing zeros ("0.5", "0.25").
// Any other spelling ("1", "0.50") is a diff on every preview, and since
// cpus forces a new container, a replacement.
func DockerCPUs(cpus float64) string {
	// Docker stores whole nanoCPUs (docker/cli opts.ParseCPUs).
	n := nanoCPUs(cpus)
	if n == 0 {
		return "0"
	}
	rat := new(big.Rat).SetFrac64(n, 1e9)
	s := rat.FloatString(9)
	// The provider's own test for "a round value": exactly nine zeros in the
	// string. Kept as it is, since its output is what the state holds.
	if strings.Count(s, "0") == 9 {
		return rat.FloatString(1)
	}
	return strings.TrimRight(s, "0")
}

// ExactCPUs reports whether the provider reads cpus back as the same
// number. Its "round value" test misfires on some values (0.01 reads back
// as "0.0", 0.05 as "0.1"), and such a limit would differ from its state
// on every preview; validation refuses them.
func ExactCPUs(cpus float64) bool {
	back, ok := new(big.Rat).SetString(DockerCPUs(cpus))
	n := nanoCPUs(cpus)
	return ok && n > 0 && back.Cmp(big.NewRat(n, 1e9)) == 0
}

// nanoCPUs is cpus in the engine's unit, rounded as the decimal the user
// wrote would be (0.1 is not exact in binary).
func nanoCPUs(cpus float64) int64 { return int64(math.Round(cpus * 1e9)) }
