package config

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/helloagents/infra/contract"
)

// Canary configures canary releases (helloagents:backend.canary): a
// region may run one replica of a candidate image (regions[i].canaryImage,
// written by infra/promote) beside its stable replicas; the region proxy
// sends it Weight percent of the region's requests, and the promotion
// engine judges it over the bake against absolute limits and against the
// stable replicas. Unset (nil): no canary can run, and the proxy sends
// every request to the stable replicas.
type Canary struct {
	// Weight is the percent of the region's requests the canary serves,
	// 1..50.
	Weight int `json:"weight"`
	// Bake is how long the canary serves before it is judged, 30s..2h.
	Bake time.Duration `json:"bake"`
	// MaxBake is how long the bake may be extended while the canary has
	// served fewer than MinRequests requests: Bake..6h, default 3×Bake.
	MaxBake time.Duration `json:"maxBake"`
	// MinRequests is how many requests the canary must serve in the bake
	// to be judged, ≥ 1.
	MinRequests int `json:"minRequests"`
	// ErrorRatio is the canary's absolute limit on 5xx / all (default:
	// slo.errorRatio).
	ErrorRatio float64 `json:"errorRatio"`
	// LatencyP95 is the canary's absolute P95 limit, a latency histogram
	// bucket (default: slo.latencyP95).
	LatencyP95 time.Duration `json:"latencyP95"`
	// ErrorRatioOverStable is how far the canary's error ratio may exceed
	// the stable replicas' (absolute, 0.005 is half a percentage point).
	ErrorRatioOverStable float64 `json:"errorRatioOverStable"`
	// LatencyP95OverStable is how many times the stable replicas' P95 the
	// canary's may be, ≥ 1.
	LatencyP95OverStable float64 `json:"latencyP95OverStable"`
}

// KeyCanary is the canary object's field in helloagents:backend.
const KeyCanary = "canary"

// Bounds of helloagents:backend.canary.
const (
	MinCanaryWeight  = 1
	MaxCanaryWeight  = 50
	MinCanaryBake    = 30 * time.Second
	MaxCanaryBake    = 2 * time.Hour
	MaxCanaryMaxBake = 6 * time.Hour
)

// defaultCanary is the canary with every default that needs no other
// section: maxBake, errorRatio and latencyP95 are derived by
// deriveCanary when the stack file leaves them unset.
func defaultCanary() Canary {
	return Canary{
		Weight:               10,
		Bake:                 10 * time.Minute,
		MinRequests:          200,
		ErrorRatioOverStable: 0.005,
		LatencyP95OverStable: 1.5,
	}
}

func (c *Canary) setDefaults() { *c = defaultCanary() }

// canaryKey is the canary object's full key.
func canaryKey() string { return full(KeyBackend) + "." + KeyCanary }

// deriveCanary fills the canary's defaults that follow other values when
// the stack file leaves them unset: maxBake (3×bake), errorRatio and
// latencyP95 (the SLO's). A default taken from an invalid SLO value is
// marked broken: the SLO's error says it once.
func (d *decoder) deriveCanary(c *Config) {
	cn := c.Backend.Canary
	if cn == nil {
		return
	}
	k := canaryKey()
	if !d.isSet(k + ".maxBake") {
		cn.MaxBake = 3 * cn.Bake
		if d.isBroken(k + ".bake") {
			d.broken = append(d.broken, k+".maxBake")
		}
	}
	if !d.isSet(k + ".errorRatio") {
		cn.ErrorRatio = c.SLO.ErrorRatio
		d.broken = append(d.broken, k+".errorRatio") // reported as slo.errorRatio if invalid
	}
	if !d.isSet(k + ".latencyP95") {
		p95, err := time.ParseDuration(c.SLO.LatencyP95)
		cn.LatencyP95 = p95
		if err != nil || !slices.Contains(latencyBuckets(), p95) {
			d.broken = append(d.broken, k+".latencyP95")
		}
	}
}

func (d *decoder) isBroken(path string) bool { return slices.Contains(d.broken, path) }

// RunningCanary is the canary region r runs, as the stack output
// canaries lists it; false when r runs none.
func (c Config) RunningCanary(r Region) (contract.Canary, bool) {
	cn := c.Backend.Canary
	if r.CanaryImage == "" || cn == nil {
		return contract.Canary{}, false
	}
	return contract.Canary{Image: r.CanaryImage, Weight: cn.Weight, Bake: cn.Bake, MaxBake: cn.MaxBake}, true
}

// validateCanary checks helloagents:backend.canary and the regions'
// canary images.
func (c Config) validateCanary(p *problems) {
	if cn := c.Backend.Canary; cn != nil {
		c.validateCanaryFields(p, *cn)
	}
	for i, r := range c.Regions {
		if r.CanaryImage == "" {
			continue
		}
		k := fmt.Sprintf("%s[%d].canaryImage", full(KeyRegions), i)
		switch {
		case !pinnedImage.MatchString(r.CanaryImage):
			p.bad(k, r.CanaryImage, "a digest-pinned image reference repo@sha256:<64 hex> (written by infra/promote, never by hand)")
		case IsPlaceholder(r.CanaryImage):
			p.bad(k, r.CanaryImage, "a released digest, not the committed placeholder (infra/promote writes it)")
		}
		if c.Backend.Canary == nil {
			p.bad(k, r.CanaryImage, "unset while "+canaryKey()+" is not configured (a canary needs its weight and bake); configure it or delete the canary image")
		}
		if c.Environment.PinsImages() && r.Image == "" {
			p.missing(fmt.Sprintf("%s[%d].image", full(KeyRegions), i), "a region running a canary (canaryImage) needs its stable image beside it")
		}
	}
}

// validateCanaryFields checks each field of the canary object.
func (c Config) validateCanaryFields(p *problems, cn Canary) {
	k := canaryKey()
	if cn.Weight < MinCanaryWeight || cn.Weight > MaxCanaryWeight {
		p.bad(k+".weight", cn.Weight, fmt.Sprintf("%d..%d (percent of the region's requests the canary serves)", MinCanaryWeight, MaxCanaryWeight))
	}
	if cn.Bake < MinCanaryBake || cn.Bake > MaxCanaryBake {
		p.bad(k+".bake", contract.FormatDuration(cn.Bake), fmt.Sprintf(`a duration between "%s" and "%s" (how long the canary serves before it is judged)`,
			contract.FormatDuration(MinCanaryBake), contract.FormatDuration(MaxCanaryBake)))
	}
	if cn.MaxBake < cn.Bake || cn.MaxBake > MaxCanaryMaxBake {
		p.bad(k+".maxBake", contract.FormatDuration(cn.MaxBake), fmt.Sprintf(`a duration between bake (%s) and "%s" (how long the bake may be extended while the canary has too little traffic to judge)`,
			contract.FormatDuration(cn.Bake), contract.FormatDuration(MaxCanaryMaxBake)))
	}
	if cn.MinRequests < 1 {
		p.bad(k+".minRequests", cn.MinRequests, "≥ 1 (requests the canary must serve in the bake to be judged)")
	}
	if !(cn.ErrorRatio > 0 && cn.ErrorRatio < 1) {
		p.bad(k+".errorRatio", cn.ErrorRatio, "a fraction above 0 and below 1 (0.01 is 1 %; default: slo.errorRatio)")
	}
	if !slices.Contains(latencyBuckets(), cn.LatencyP95) {
		p.bad(k+".latencyP95", contract.FormatDuration(cn.LatencyP95), "one of the latency histogram's buckets: "+latencyBucketList()+" (default: slo.latencyP95)")
	}
	if !(cn.ErrorRatioOverStable >= 0 && cn.ErrorRatioOverStable < 1) {
		p.bad(k+".errorRatioOverStable", cn.ErrorRatioOverStable, "at least 0 and below 1 (how far the canary's error ratio may exceed the stable replicas'; 0.005 is half a percentage point)")
	}
	if !(cn.LatencyP95OverStable >= 1) || math.IsInf(cn.LatencyP95OverStable, 0) {
		p.bad(k+".latencyP95OverStable", cn.LatencyP95OverStable, "a finite number ≥ 1 (how many times the stable replicas' P95 the canary's may be)")
	}
}
