package promote

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/helloagents/infra/backend/server"
	"github.com/helloagents/infra/canary"
	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/stacks/config"
)

// Judge judges a region's canary and reads a region's SLO burn, each in
// the region's Prometheus that the target's update outputs name
// (Options.Judge). PrometheusJudge is the real one; the tests script it.
type Judge interface {
	// Canary bakes and judges the canary that runs the image fingerprint
	// in region against the region's stable replicas.
	Canary(ctx context.Context, out map[string]any, region, fingerprint string, b canary.Bake) (canary.Verdict, error)
	// Burn reads the region's SLO burn over the window ending now.
	Burn(ctx context.Context, out map[string]any, region string, window time.Duration) (canary.Burn, error)
}

// PrometheusJudge is Judge over the regions' Prometheus: the URL of the
// region in the prometheusUrls output, opened with the monitoring service
// token the stack exports (Cloudflare Access headers; dev has none).
type PrometheusJudge struct {
	// Client makes the queries; nil means canary's default.
	Client *http.Client
}

// Cloudflare Access's service-token headers.
const (
	headerAccessClientID     = "CF-Access-Client-Id"
	headerAccessClientSecret = "CF-Access-Client-Secret"
)

// Canary implements Judge.
func (p PrometheusJudge) Canary(ctx context.Context, out map[string]any, region, fingerprint string, b canary.Bake) (canary.Verdict, error) {
	src, err := p.prometheus(out, region)
	if err != nil {
		return canary.Verdict{}, err
	}
	return canary.Judge(ctx, src, b, fingerprint)
}

// Burn implements Judge.
func (p PrometheusJudge) Burn(ctx context.Context, out map[string]any, region string, window time.Duration) (canary.Burn, error) {
	src, err := p.prometheus(out, region)
	if err != nil {
		return canary.Burn{}, err
	}
	return src.Burn(ctx, window)
}

func (p PrometheusJudge) prometheus(out map[string]any, region string) (canary.Prometheus, error) {
	d, err := contract.DecodeOutputs(out)
	if err != nil {
		return canary.Prometheus{}, err
	}
	url := d.PrometheusURLs[region]
	if url == "" {
		return canary.Prometheus{}, fmt.Errorf("output %s has no entry for region %q: its Prometheus cannot be asked", contract.OutputPrometheusURLs, region)
	}
	h := http.Header{}
	if d.MonitoringClientID != "" {
		h.Set(headerAccessClientID, d.MonitoringClientID)
		h.Set(headerAccessClientSecret, d.MonitoringClientSecret)
	}
	return canary.Prometheus{URL: url, Header: h, Client: p.Client}, nil
}

// latencyFloorDivisor places the relative P95 limit's floor at a fifth of
// the absolute limit (100 ms for 500 ms): below it a canary's P95 is judged
// on the absolute limit only (canary.Limits.LatencyP95Floor).
const latencyFloorDivisor = 5

// bake is how the target's backend.canary judges a canary; poll, when not
// zero, replaces the default pace (a tenth of the bake, 5 s to 30 s).
func bake(c *config.Canary, poll time.Duration) canary.Bake {
	if poll <= 0 {
		poll = min(max(c.Bake/10, 5*time.Second), 30*time.Second)
	}
	return canary.Bake{
		Limits: canary.Limits{
			MinRequests: c.MinRequests, ErrorRatio: c.ErrorRatio, LatencyP95: c.LatencyP95,
			ErrorRatioOverStable: c.ErrorRatioOverStable, LatencyP95OverStable: c.LatencyP95OverStable,
			LatencyP95Floor: c.LatencyP95 / latencyFloorDivisor,
		},
		Bake: c.Bake, MaxBake: c.MaxBake, Poll: poll,
	}
}

// CanaryReport is a region's canary in the promotion report.
type CanaryReport struct {
	// Weight is the share of the region's requests the canary received,
	// in percent.
	Weight int `json:"weight"`
	// Verdict is the judge's last word, with the canary's and the stable
	// replicas' figures and every limit that broke.
	Verdict canary.Verdict `json:"verdict"`
	// Seconds is how long the bake took, extensions included.
	Seconds float64 `json:"bakeSeconds"`
}

// recovering reports whether the run goes back to a digest that served
// before (--rollback, --image): it runs no canary and its gates read no
// SLO burn, which the release it undoes is burning.
func (e *engine) recovering() bool {
	return e.o.Rollback || e.o.Image != ""
}

// canaried reports whether the wave runs a canary first: a region's
// backend image, on a target with backend.canary, in a run that is not
// recovering, unless a previous run of this promotion already passed the
// canary or released the region.
func (e *engine) canaried(w *wave) bool {
	a := w.artifact()
	if a.Region == "" || w.tgt.Canary == nil || e.recovering() {
		return false
	}
	switch a.State {
	case stateCanaryPassed, stateConfigured, stateDeployed, stateGated:
		return false
	}
	return true
}

// canary runs the wave's canary: the new image as the region's canary
// (regions[i].canaryImage), an update, then the bake and the verdict. A
// failed canary rolls the run back (the canary is removed, the stable
// replicas were never touched). False when the run ended.
func (e *engine) canary(ctx context.Context, w *wave) bool {
	a, c := w.artifact(), w.tgt.Canary
	key, ok := w.tgt.canaryKey(a.Region)
	if !ok {
		e.end(ManualAction, fmt.Errorf("the journal's region %s is no longer in the target config; journal kept at %s", a.Region, e.o.Journal))
		return false
	}
	e.logf("%s: canary %s at %d %% of the requests", a.what(), a.New, c.Weight)
	if err := e.st.SetConfigPath(ctx, e.o.To, key, a.New); err != nil {
		e.failWave(ctx, w, fmt.Errorf("%s: %w", a.what(), err))
		return false
	}
	if err := e.step(w, stateCanaryConfigured); err != nil {
		e.failWave(ctx, w, err)
		return false
	}
	out, ok := e.up(ctx, w, "canary")
	if !ok {
		return false
	}
	if err := e.step(w, stateCanaryDeployed); err != nil {
		e.failWave(ctx, w, err)
		return false
	}
	b := bake(c, e.o.CanaryPoll)
	e.logf("%s: baking the canary for %s (up to %s with too little traffic)", a.what(), b.Bake, b.MaxBake)
	b.OnPoll = func(v canary.Verdict) { e.logf("%s: canary after %s: %s", a.what(), v.Window, v) }
	started := time.Now()
	v, err := e.o.Judge.Canary(ctx, out, a.Region, server.ImageFingerprint(a.New), b)
	w.rr.Canary = &CanaryReport{Weight: c.Weight, Verdict: v, Seconds: time.Since(started).Seconds()}
	switch {
	case err != nil && ctx.Err() != nil:
		e.interrupted(ctx, a.row())
		return false
	case err != nil:
		w.rr.Gate = ResultFailed
		e.failWave(ctx, w, fmt.Errorf("the canary of %s could not be judged: %w", a.what(), err))
		return false
	case v.Outcome != canary.Passed:
		w.rr.Gate = ResultFailed
		e.failWave(ctx, w, fmt.Errorf("the canary of %s %s after %s: %s", a.what(), verb(v.Outcome), v.Window, v))
		return false
	}
	w.j.Artifacts[w.i].Canary = &v
	if err := e.step(w, stateCanaryPassed); err != nil {
		e.failWave(ctx, w, err)
		return false
	}
	e.logf("%s: canary passed: %s", a.what(), v)
	return true
}

// verb says how a canary that did not pass ended.
func verb(o canary.Outcome) string {
	if o == canary.TooLittleTraffic {
		return "was not judged (too little traffic)"
	}
	return "failed"
}

// burn is the gate's second half on a target that runs canaries: no SLO
// burn-rate alert may have fired in the region since its wave began
// (canary bake and full release). A Prometheus that cannot be asked fails
// the gate: the release cannot be shown good.
func (e *engine) burn(ctx context.Context, w *wave, out map[string]any, region string) error {
	if w.tgt.Canary == nil || e.recovering() {
		return nil
	}
	window := max(time.Since(w.start), w.tgt.Canary.Bake).Round(time.Second)
	b, err := e.o.Judge.Burn(ctx, out, region, window)
	if err != nil {
		return fmt.Errorf("SLO burn over the last %s: %w", window, err)
	}
	w.rr.Burn = &b
	if len(b.Firing) > 0 {
		return fmt.Errorf("SLO burn-rate alert %s fired in the last %s (error ratio %s)", strings.Join(b.Firing, ", "), window, ratio(b.ErrorRatio))
	}
	return nil
}

// ratio renders an error ratio in percent; "no requests" for nil.
func ratio(r *float64) string {
	if r == nil {
		return "no requests"
	}
	return fmt.Sprintf("%.2f %%", *r*100)
}

// removeCanaries takes the canary out of the named region's config, or out
// of every region's for "", wherever one is set (read afresh: a resumed
// run may find it set or already gone), and returns the regions it took
// it from.
func (e *engine) removeCanaries(ctx context.Context, name string) ([]string, error) {
	raw, err := e.st.Config(ctx, e.o.To)
	if err != nil {
		return nil, err
	}
	tgt, err := readTarget(e.o.To, raw)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, r := range tgt.Regions {
		if r.CanaryImage == "" || (name != "" && r.Name != name) {
			continue
		}
		e.logf("region %s: remove the canary %s", r.Name, r.CanaryImage)
		if err := e.st.RemoveConfigPath(ctx, e.o.To, contract.RegionCanaryImageKey(r.Index)); err != nil {
			return nil, err
		}
		removed = append(removed, r.Name)
	}
	return removed, nil
}
