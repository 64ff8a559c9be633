package contract

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// OutputCanaries maps the name of each region running a canary to its
// Canary ({"image", "weight", "bake", "maxBake"}); an empty object when
// none runs. infra/status and the promotion engine read it.
const OutputCanaries = "canaries"

// Config paths of the canaries.
const (
	// KeyCanary is the canary settings object (helloagents:backend.canary).
	KeyCanary = Namespace + ":backend.canary"
)

// RegionCanaryImageKey is the config path of the canary image region i
// runs beside its stable one (infra/promote sets and removes it).
func RegionCanaryImageKey(i int) string { return fmt.Sprintf("%s[%d].canaryImage", KeyRegions, i) }

// Canary is one region's running canary as the stack exports it.
type Canary struct {
	// Image is the canary's digest-pinned image (regions[i].canaryImage).
	Image string
	// Weight is the percent of the region's requests it serves.
	Weight int
	// Bake and MaxBake are backend.canary's bake and maxBake.
	Bake    time.Duration
	MaxBake time.Duration
}

// Output is c as the program exports it: durations as Go duration
// strings ("10m").
func (c Canary) Output() map[string]any {
	return map[string]any{"image": c.Image, "weight": c.Weight, "bake": FormatDuration(c.Bake), "maxBake": FormatDuration(c.MaxBake)}
}

// FormatDuration writes d as a stack file would: "720h", "10m", "1h30m",
// "500ms" (Go's form without its trailing zero units).
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// canaries types the canaries output (null is no canary); an error starts
// with the entry it is about, to follow the output's name.
func canaries(v any) (map[string]Canary, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf(": got %s, want an object of region name to canary", kind(v))
	}
	out := make(map[string]Canary, len(m))
	for _, region := range slices.Sorted(maps.Keys(m)) {
		c, err := canary(m[region])
		if err != nil {
			return nil, fmt.Errorf("[%q]%w", region, err)
		}
		out[region] = c
	}
	return out, nil
}

// canary types one entry of the canaries output.
func canary(v any) (Canary, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return Canary{}, fmt.Errorf(": got %s, want an object {image, weight, bake, maxBake}", kind(v))
	}
	var c Canary
	var bad []string
	if c.Image, ok = obj["image"].(string); !ok || c.Image == "" {
		bad = append(bad, fmt.Sprintf(".image: got %s, want an image reference", kind(obj["image"])))
	}
	switch w := obj["weight"].(type) {
	case float64:
		c.Weight = int(w)
		if float64(c.Weight) != w {
			bad = append(bad, ".weight: got a fraction, want a whole percent")
		}
	case int:
		c.Weight = w
	default:
		bad = append(bad, fmt.Sprintf(".weight: got %s, want a whole percent", kind(w)))
	}
	for _, f := range []struct {
		name string
		into *time.Duration
	}{{"bake", &c.Bake}, {"maxBake", &c.MaxBake}} {
		s, ok := obj[f.name].(string)
		d, err := time.ParseDuration(s)
		if !ok || err != nil {
			bad = append(bad, fmt.Sprintf(".%s: got %s, want a duration such as \"10m\"", f.name, kind(obj[f.name])))
			continue
		}
		*f.into = d
	}
	if len(bad) > 0 {
		return Canary{}, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return c, nil
}
