package canonical_test

import (
	"math/big"
	"testing"

	"github.com/helloagents/infra/components/canonical"
)

// TestDockerCPUs pins the form the docker provider reads `cpus` back in. The
// first rows are terraform-provider-docker's own TestNanoInt64ToDecimalString
// cases (internal/provider/helpers_test.go), as NanoCPUs; the rest follow
// from the same function: whole numbers keep one fractional digit, others
// lose trailing zeros.
func TestDockerCPUs(t *testing.T) {
	for _, tc := range []struct {
		cpus float64
		want string
	}{
		{1, "1.0"}, {1.5, "1.5"}, {2, "2.0"}, {2.25, "2.25"},
		{0.5, "0.5"}, {0.25, "0.25"}, {0.1, "0.1"}, {0.125, "0.125"}, {3, "3.0"},
		// The provider's "round value" test counts zeros in the whole string,
		// so ten cores read back as "10." (which Docker parses as 10).
		{10, "10."}, {64, "64.0"},
	} {
		if got := canonical.DockerCPUs(tc.cpus); got != tc.want {
			t.Errorf("DockerCPUs(%v) = %q, want %q", tc.cpus, got, tc.want)
		}
	}
}

// TestExactCPUs: the values a user writes (tenths, quarters) read back as
// themselves; the ones the provider misreads are refused.
func TestExactCPUs(t *testing.T) {
	for n := int64(1); n <= 640; n++ {
		if c := float64(n) / 10; !canonical.ExactCPUs(c) {
			t.Errorf("ExactCPUs(%v) = false; DockerCPUs gives %q", c, canonical.DockerCPUs(c))
		}
	}
	for _, c := range []float64{0.25, 0.75, 1.25, 2.5, 10, 64} {
		if !canonical.ExactCPUs(c) {
			t.Errorf("ExactCPUs(%v) = false", c)
		}
	}
	for _, c := range []float64{0.01, 0.05, 0, -1} {
		if canonical.ExactCPUs(c) {
			t.Errorf("ExactCPUs(%v) = true; the provider reads it back as %q", c, canonical.DockerCPUs(c))
		}
	}
	// Whatever ExactCPUs accepts parses back to the configured value.
	for n := int64(1); n <= 6400; n++ {
		c := float64(n) / 100
		if !canonical.ExactCPUs(c) {
			continue
		}
		r, ok := new(big.Rat).SetString(canonical.DockerCPUs(c))
		if !ok || r.Cmp(big.NewRat(n, 100)) != 0 {
			t.Errorf("ExactCPUs(%v) but it reads back as %v", c, r)
		}
	}
}
