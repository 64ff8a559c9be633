package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// withCanary sets helloagents:backend.canary of raw to canary (nil:
// deletes it).
func withCanary(t *testing.T, raw map[string]string, canary any) map[string]string {
	t.Helper()
	return withFields(t, raw, KeyBackend, map[string]any{KeyCanary: canary})
}

// withRegionFields lays fields over regions[i] of raw, a nil deleting one.
func withRegionFields(t *testing.T, raw map[string]string, i int, fields map[string]any) map[string]string {
	t.Helper()
	var regions []map[string]any
	if err := json.Unmarshal([]byte(raw[FullKey(KeyRegions)]), &regions); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		if v == nil {
			delete(regions[i], k)
		} else {
			regions[i][k] = v
		}
	}
	text, _ := json.Marshal(regions)
	raw[FullKey(KeyRegions)] = string(text)
	return raw
}

// withCanaryImages sets regions[i].canaryImage of raw to images[i].
func withCanaryImages(t *testing.T, raw map[string]string, images map[int]string) map[string]string {
	t.Helper()
	for i, img := range images {
		raw = withRegionFields(t, raw, i, map[string]any{"canaryImage": img})
	}
	return raw
}

// rawWithRegions is dev's stack file with its one region written out, so
// canaryImage can be laid over it.
func rawWithRegions(t *testing.T, stack string) map[string]string {
	raw := stackRaw(t, stack)
	if _, ok := raw[FullKey(KeyRegions)]; !ok {
		raw[FullKey(KeyRegions)] = `[{"name":"local","dockerHost":"unix:///var/run/docker.sock","replicas":1}]`
	}
	return raw
}

// TestCanaryParse: the committed files' canaries, the defaults of an empty
// object (maxBake from bake, errorRatio and latencyP95 from the SLO) and
// values the stack file sets.
func TestCanaryParse(t *testing.T) {
	digest := "ghcr.io/helloagents/backend@sha256:" + strings.Repeat("c", 64)
	rows := []struct {
		name   string
		stack  string
		canary map[string]any // nil: the committed file's
		slo    map[string]any
		images map[int]string
		want   *Canary
	}{
		{name: "production's", stack: "production", want: &Canary{Weight: 10, Bake: 10 * time.Minute, MaxBake: 30 * time.Minute,
			MinRequests: 200, ErrorRatio: 0.01, LatencyP95: 500 * time.Millisecond, ErrorRatioOverStable: 0.005, LatencyP95OverStable: 1.5}},
		{name: "staging has none", stack: "staging"},
		{name: "dev has none", stack: "dev"},
		{name: "empty object: defaults", stack: "dev", canary: map[string]any{},
			want: &Canary{Weight: 10, Bake: 10 * time.Minute, MaxBake: 30 * time.Minute, MinRequests: 200,
				ErrorRatio: 0.01, LatencyP95: 500 * time.Millisecond, ErrorRatioOverStable: 0.005, LatencyP95OverStable: 1.5}},
		{name: "limits follow the SLO", stack: "staging", canary: map[string]any{"bake": "20m"},
			slo: map[string]any{"errorRatio": 0.02, "latencyP95": "1s"},
			want: &Canary{Weight: 10, Bake: 20 * time.Minute, MaxBake: time.Hour, MinRequests: 200,
				ErrorRatio: 0.02, LatencyP95: time.Second, ErrorRatioOverStable: 0.005, LatencyP95OverStable: 1.5}},
		{name: "every field set", stack: "production", canary: map[string]any{"weight": 50, "bake": "30s", "maxBake": "30s",
			"minRequests": 1, "errorRatio": 0.05, "latencyP95": "250ms", "errorRatioOverStable": 0, "latencyP95OverStable": 1},
			images: map[int]string{1: digest},
			want: &Canary{Weight: 50, Bake: 30 * time.Second, MaxBake: 30 * time.Second, MinRequests: 1,
				ErrorRatio: 0.05, LatencyP95: 250 * time.Millisecond, ErrorRatioOverStable: 0, LatencyP95OverStable: 1}},
		{name: "longest bakes", stack: "dev", canary: map[string]any{"bake": "2h", "maxBake": "6h"}, images: map[int]string{0: digest},
			want: &Canary{Weight: 10, Bake: 2 * time.Hour, MaxBake: 6 * time.Hour, MinRequests: 200,
				ErrorRatio: 0.01, LatencyP95: 500 * time.Millisecond, ErrorRatioOverStable: 0.005, LatencyP95OverStable: 1.5}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			raw := withCanaryImages(t, rawWithRegions(t, r.stack), r.images)
			if r.canary != nil || r.want == nil {
				raw = withCanary(t, raw, r.canary)
			}
			if r.slo != nil {
				raw = withFields(t, raw, KeySLO, r.slo)
			}
			c, err := Parse(r.stack, raw)
			if err != nil {
				t.Fatal(err)
			}
			got := c.Backend.Canary
			switch {
			case r.want == nil && got != nil:
				t.Errorf("canary %+v, want none", *got)
			case r.want != nil && got == nil:
				t.Errorf("no canary, want %+v", *r.want)
			case r.want != nil && *got != *r.want:
				t.Errorf("canary %+v, want %+v", *got, *r.want)
			}
			for i, img := range r.images {
				if c.Regions[i].CanaryImage != img {
					t.Errorf("regions[%d].canaryImage %q, want %q", i, c.Regions[i].CanaryImage, img)
				}
			}
		})
	}
}

// TestCommittedCanaries: production's stack file runs canaries, the others
// do not.
func TestCommittedCanaries(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "production"} {
		c, err := Parse(stack, stackRaw(t, stack))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.Backend.Canary != nil, stack == "production"; got != want {
			t.Errorf("%s: canary configured %v, want %v", stack, got, want)
		}
		for _, r := range c.Regions {
			if r.CanaryImage != "" {
				t.Errorf("%s: region %s commits a canary image %q (infra/promote writes it)", stack, r.Name, r.CanaryImage)
			}
		}
	}
}

// TestCanaryValidation has one row per error of helloagents:backend.canary
// and regions[i].canaryImage: each names the field path, the value and
// what is allowed.
func TestCanaryValidation(t *testing.T) {
	digest := "ghcr.io/helloagents/backend@sha256:" + strings.Repeat("c", 64)
	k := "helloagents:backend.canary"
	rows := []struct {
		name      string
		stack     string
		canary    any // nil: no canary object
		slo       map[string]any
		images    map[int]string
		dropImage bool
		want      []string
		not       []string // errors that must not appear (follow-ons)
	}{
		{name: "weight too high", stack: "production", canary: map[string]any{"weight": 80},
			want: []string{k + ".weight: invalid value 80; allowed: 1..50 (percent of the region's requests the canary serves)"}},
		{name: "weight zero", stack: "dev", canary: map[string]any{"weight": 0},
			want: []string{k + ".weight: invalid value 0; allowed: 1..50"}},
		{name: "weight not a number", stack: "dev", canary: map[string]any{"weight": "ten"},
			want: []string{k + `.weight: invalid value "ten"; allowed: a whole number`}},
		{name: "bake too short", stack: "production", canary: map[string]any{"bake": "10s", "maxBake": "1m"},
			want: []string{k + `.bake: invalid value "10s"; allowed: a duration between "30s" and "2h" (how long the canary serves before it is judged)`}},
		{name: "bake too long", stack: "staging", canary: map[string]any{"bake": "3h", "maxBake": "4h"},
			want: []string{k + `.bake: invalid value "3h"; allowed: a duration between "30s" and "2h"`}},
		{name: "bake not a duration", stack: "dev", canary: map[string]any{"bake": "ten minutes"},
			want: []string{k + `.bake: invalid value "ten minutes"; allowed: a duration such as "30s", "10m" or "1h30m"`},
			not:  []string{k + ".maxBake"}},
		{name: "bake a number", stack: "dev", canary: map[string]any{"bake": 600},
			want: []string{k + `.bake: invalid value 600; allowed: a duration such as "30s"`}},
		{name: "maxBake shorter than bake", stack: "production", canary: map[string]any{"bake": "20m", "maxBake": "10m"},
			want: []string{k + `.maxBake: invalid value "10m"; allowed: a duration between bake (20m) and "6h" (how long the bake may be extended while the canary has too little traffic to judge)`}},
		{name: "maxBake too long", stack: "production", canary: map[string]any{"maxBake": "7h"},
			want: []string{k + `.maxBake: invalid value "7h"; allowed: a duration between bake (10m) and "6h"`}},
		{name: "default maxBake over 6h", stack: "dev", canary: map[string]any{"bake": "2h30m"},
			want: []string{k + `.maxBake: invalid value "7h30m"`}},
		{name: "minRequests zero", stack: "production", canary: map[string]any{"minRequests": 0},
			want: []string{k + ".minRequests: invalid value 0; allowed: ≥ 1 (requests the canary must serve in the bake to be judged)"}},
		{name: "errorRatio zero", stack: "production", canary: map[string]any{"errorRatio": 0},
			want: []string{k + ".errorRatio: invalid value 0; allowed: a fraction above 0 and below 1 (0.01 is 1 %; default: slo.errorRatio)"}},
		{name: "errorRatio one", stack: "dev", canary: map[string]any{"errorRatio": 1},
			want: []string{k + ".errorRatio: invalid value 1; allowed: a fraction above 0 and below 1"}},
		{name: "latencyP95 not a bucket", stack: "production", canary: map[string]any{"latencyP95": "300ms"},
			want: []string{k + `.latencyP95: invalid value "300ms"; allowed: one of the latency histogram's buckets: 5ms, 10ms, 25ms, 50ms, 100ms, 250ms, 500ms, 1s, 2.5s, 5s (default: slo.latencyP95)`}},
		{name: "an invalid SLO is reported once", stack: "dev", canary: map[string]any{}, slo: map[string]any{"latencyP95": "300ms", "errorRatio": 2},
			want: []string{`helloagents:slo.latencyP95: invalid value "300ms"`, "helloagents:slo.errorRatio: invalid value 2"},
			not:  []string{k + ".latencyP95", k + ".errorRatio"}},
		{name: "errorRatioOverStable negative", stack: "production", canary: map[string]any{"errorRatioOverStable": -0.1},
			want: []string{k + ".errorRatioOverStable: invalid value -0.1; allowed: at least 0 and below 1"}},
		{name: "errorRatioOverStable one", stack: "production", canary: map[string]any{"errorRatioOverStable": 1},
			want: []string{k + ".errorRatioOverStable: invalid value 1; allowed: at least 0 and below 1"}},
		{name: "latencyP95OverStable below one", stack: "production", canary: map[string]any{"latencyP95OverStable": 0.9},
			want: []string{k + ".latencyP95OverStable: invalid value 0.9; allowed: a finite number ≥ 1 (how many times the stable replicas' P95 the canary's may be)"}},
		{name: "unknown field", stack: "production", canary: map[string]any{"wieght": 10},
			want: []string{k + ".wieght: unknown field (did you mean `weight`?); allowed: weight, bake, maxBake, minRequests, errorRatio, latencyP95, errorRatioOverStable, latencyP95OverStable"}},
		{name: "not an object", stack: "production", canary: "10",
			want: []string{k + `: invalid value "\"10\""; allowed: an object with the fields weight, bake`}},
		{name: "canary image without canary config", stack: "staging", images: map[int]string{0: digest},
			want: []string{"helloagents:regions[0].canaryImage: invalid value \"" + digest[:80] + "...\"; allowed: unset while helloagents:backend.canary is not configured (a canary needs its weight and bake); configure it or delete the canary image"}},
		{name: "canary image not pinned", stack: "production", canary: map[string]any{}, images: map[int]string{1: "ghcr.io/helloagents/backend:v2"},
			want: []string{`helloagents:regions[1].canaryImage: invalid value "ghcr.io/helloagents/backend:v2"; allowed: a digest-pinned image reference repo@sha256:<64 hex> (written by infra/promote, never by hand)`}},
		{name: "canary image placeholder", stack: "production", canary: map[string]any{}, images: map[int]string{0: "ghcr.io/helloagents/backend" + placeholderDigest},
			want: []string{"helloagents:regions[0].canaryImage: invalid value", "allowed: a released digest, not the committed placeholder"}},
		{name: "canary image without stable image", stack: "production", canary: map[string]any{}, images: map[int]string{0: digest}, dropImage: true,
			want: []string{"helloagents:regions[0].image: missing; a region running a canary (canaryImage) needs its stable image beside it"}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			raw := withCanaryImages(t, withCanary(t, rawWithRegions(t, r.stack), r.canary), r.images)
			if r.slo != nil {
				raw = withFields(t, raw, KeySLO, r.slo)
			}
			if r.dropImage {
				raw = withRegionFields(t, raw, 0, map[string]any{"image": nil})
			}
			_, err := Parse(r.stack, raw)
			if err == nil {
				t.Fatalf("accepted; want %q", r.want)
			}
			for _, w := range r.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, n := range r.not {
				if strings.Contains(err.Error(), n+":") {
					t.Errorf("follow-on error on %s:\n%v", n, err)
				}
			}
		})
	}
}
