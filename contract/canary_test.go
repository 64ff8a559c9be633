package contract

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestCanariesOutput: the program's form of a canary decodes back to it,
// no canary is an empty object, and each mistyped field is named.
func TestCanariesOutput(t *testing.T) {
	c := Canary{Image: "ghcr.io/h/backend@sha256:abc", Weight: 10, Bake: 10 * time.Minute, MaxBake: 90 * time.Minute}
	if got, want := c.Output(), map[string]any{"image": c.Image, "weight": 10, "bake": "10m", "maxBake": "1h30m"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Output() = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		name string
		out  any
		want map[string]Canary
		errs []string
	}{
		{name: "round trip", out: map[string]any{"eu": c.Output()}, want: map[string]Canary{"eu": c}},
		{name: "as JSON decodes it", out: map[string]any{"us": map[string]any{"image": "i@sha256:1", "weight": 25.0, "bake": "30s", "maxBake": "1m30s"}},
			want: map[string]Canary{"us": {Image: "i@sha256:1", Weight: 25, Bake: 30 * time.Second, MaxBake: 90 * time.Second}}},
		{name: "none running", out: map[string]any{}, want: map[string]Canary{}},
		{name: "null", out: nil},
		{name: "not an object", out: []any{}, errs: []string{"output canaries: got a list, want an object of region name to canary"}},
		{name: "entry not an object", out: map[string]any{"eu": "i@sha256:1"},
			errs: []string{`output canaries["eu"]: got a string, want an object {image, weight, bake, maxBake}`}},
		{name: "mistyped fields", out: map[string]any{"eu": map[string]any{"weight": 10.5, "bake": "ten", "maxBake": 3.0}},
			errs: []string{`output canaries["eu"].image: got null, want an image reference`, ".weight: got a fraction, want a whole percent",
				`.bake: got a string, want a duration such as "10m"`, `.maxBake: got a number, want a duration`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := DecodeOutputs(map[string]any{OutputCanaries: tc.out})
			for _, want := range tc.errs {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want it to contain %q", err, want)
				}
			}
			if len(tc.errs) > 0 {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Canaries, tc.want) {
				t.Errorf("Canaries = %+v, want %+v", d.Canaries, tc.want)
			}
			if !d.Has(OutputCanaries) {
				t.Error("Has(canaries) = false")
			}
			if err := d.Require(OutputCanaries); err != nil {
				t.Errorf("Require(canaries) = %v: {} (none running) is a value", err)
			}
		})
	}
}
