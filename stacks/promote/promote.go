// Package promote moves a verified image from one stack to another, region
// by region, with health gates and automatic rollback: the promotion
// engine behind `infra/promote`.
//
// A promotion reads the digest-pinned image the source stack exports,
// verifies the source, then for each target region in configured order
// writes the digest into the target's config (helloagents:regions[i].image),
// runs `pulumi up` and gates on that region's readiness URL and the smoke
// suite. After every region, the stack-wide images the source exports (the
// backup job, the region proxy, Postgres) follow, one wave each, gated on
// every region; artifact.go describes what moves. Any failed update or gate
// restores the previous image of every config path it touched and deploys
// again. The previous images are written to a journal file before the
// first change, so an interrupted run resumes (same image) or rolls back
// (--abort) when run again. The waves are steps on operation.Runner, the
// runner a failover shares: lock, journal, confirmation, notifications.
package promote

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/notify"
	"github.com/helloagents/infra/stacks/operation"
)

// Stacks is the slice of Pulumi a promotion needs: every operation's,
// plus the update history where --rollback finds the previous digests.
// operation.Workspace implements it over the Automation API, the tests over
// an inline program or in memory.
type Stacks interface {
	operation.Stacks
	// History returns the stack's updates, newest first, each with the
	// config it ran with.
	History(ctx context.Context, stack string) ([]operation.Update, error)
	// RemoveConfigPath removes one path config value: a region's
	// canaryImage once its canary is released or rolled back.
	RemoveConfigPath(ctx context.Context, stack, path string) error
}

// Options describe one promotion.
type Options struct {
	// From is the source stack (the one that passed verification), To the
	// target stack.
	From, To string
	// Regions restricts the rollout to these target regions; they still
	// roll in configured order. Empty means all.
	Regions []string
	// DryRun previews each wave and restores the config; nothing is
	// deployed and no journal is written.
	DryRun bool
	// Abort rolls back the interrupted promotion recorded in the journal
	// instead of promoting.
	Abort bool
	// Policy is enforced on every update and preview.
	Policy operation.Policy
	// Journal is the path of the promotion journal; required.
	Journal string
	// Gates judge the source and each region; required (operation.VerifyGates in
	// production).
	Gates operation.Gates
	// Log receives one line per step; nil discards them.
	Log io.Writer
	// Notify, when set, is told the promotion's start, each wave's result,
	// a rollback and the final outcome (see notify.go); it never fails the
	// promotion.
	Notify notify.Notifier
	// Image, when set, is rolled out instead of the source's backendImage:
	// a rollback after a finished promotion to a digest that served before
	// (the report's oldImage, or the git history of the target's stack
	// file). The source is neither read nor gated, and the stack-wide
	// images (backup job, proxy, Postgres) are left alone; every region is
	// still journaled, gated and rolled back on failure like any promotion.
	Image string
	// Rollback rolls each selected region back to the digest it ran
	// before its current one, taken from the target's update history
	// (Stacks.History; see previousImages): the one-command rollback after
	// a finished promotion. Like Image, it reads and gates no source.
	Rollback bool
	// Confirm, when set, is shown the plan (each region's current and new
	// digest) before the first change of a new run into a production
	// target (its parsed environment, whatever the stack's name) and may
	// decline it: the run then ends Refused with nothing changed.
	Confirm func(plan string) error
	// Attestations checks, before anything changes, that every image the
	// run rolls out carries its SBOM and provenance attestations (see
	// attest.go); required unless the target is a dev stack.
	Attestations Attestations
	// Judge judges each region's canary and reads its SLO burn after the
	// release; required when the target runs canaries (backend.canary)
	// (PrometheusJudge in production).
	Judge Judge
	// CanaryPoll, when set, is how often a canary's figures are read
	// during its bake; zero means a tenth of the bake, 5 s to 30 s.
	CanaryPoll time.Duration
	// AfterWave, when set, is called after a region passed its gates and
	// before the next wave starts. Tests use it to interrupt a run between
	// waves.
	AfterWave func(region string)
	// AfterStep, when set, is called after each step of a wave is
	// journaled, with the wave's row and the state recorded. Tests use it
	// to interrupt a run at every step.
	AfterStep func(row, state string)
}

// Validate reports every usage error of o at once (Run ends Usage on
// them); a command calls it before it opens any stack, so a usage error
// is decided without a Pulumi project.
func (o Options) Validate() error {
	var errs []error
	switch {
	case o.To == "":
		errs = append(errs, errors.New("the target stack (--to) is required"))
	case o.From == "" && o.Image == "" && !o.Rollback && !o.Abort:
		errs = append(errs, errors.New("a source stack (--from) or an image (--image) is required, or --rollback"))
	case o.From != "" && o.Image != "":
		errs = append(errs, errors.New("--from and --image exclude each other: --image rolls out that digest, not the source's"))
	case o.From != "" && o.Rollback:
		errs = append(errs, errors.New("--from and --rollback exclude each other: --rollback rolls out each region's previous digest, not the source's"))
	case o.Image != "" && o.Rollback:
		errs = append(errs, errors.New("--image and --rollback exclude each other: --rollback takes each region's previous digest from the history"))
	}
	if o.Image != "" {
		if err := pinned(o.Image); err != nil {
			errs = append(errs, fmt.Errorf("--image: %w", err))
		}
	}
	if o.From != "" && o.From == o.To {
		errs = append(errs, fmt.Errorf("--from and --to are both %q; a promotion needs two stacks", o.From))
	}
	if o.Journal == "" {
		errs = append(errs, errors.New("a journal path is required"))
	}
	if o.Gates == nil {
		errs = append(errs, errors.New("gates are required"))
	}
	if o.Attestations == nil && o.To != "" && checksAttestations(o.To) {
		errs = append(errs, fmt.Errorf("an attestation check is required to roll images out to %q", o.To))
	}
	if o.Abort && o.DryRun {
		errs = append(errs, errors.New("--abort and --dry-run exclude each other"))
	}
	return errors.Join(errs...)
}

// engine is the state of one run.
type engine struct {
	st  Stacks
	o   Options
	r   operation.Runner
	rep *Report
	// passed is the report row of the last wave that passed.
	passed RegionReport
	// deployed is true once an update of this promotion succeeded, in this
	// run or an interrupted one: from then on a locked stack is no longer
	// "nothing changed".
	deployed bool
}

// Run performs the promotion described by o against st and returns its
// report; Report.Outcome says how it ended and is the exit code.
func Run(ctx context.Context, st Stacks, o Options) *Report {
	start := time.Now()
	if o.Log == nil {
		o.Log = io.Discard
	}
	r := operation.Runner{Kind: "promotion", Prefix: "promote", Stack: o.To, Journal: o.Journal,
		Confirm: o.Confirm, Notify: o.Notify, Log: o.Log}
	if o.DryRun {
		r.Notify = nil // a dry run changes nothing and tells no one
	}
	e := &engine{st: st, o: o, r: r, rep: &Report{From: o.From, To: o.To, DryRun: o.DryRun}}
	e.run(ctx)
	e.notifyFinish(ctx)
	e.rep.Journal = r.Kept()
	if e.rep.Regions == nil {
		e.rep.Regions = []RegionReport{} // "regions": [] for JSON readers
	}
	e.rep.Seconds = time.Since(start).Seconds()
	e.rep.ExitCode = int(e.rep.Outcome)
	return e.rep
}

func (e *engine) logf(format string, args ...any) { e.r.Logf(format, args...) }

// end records the outcome and its reason.
func (e *engine) end(o Outcome, reason error) {
	e.rep.Outcome = o
	if reason != nil {
		e.rep.Reason = reason.Error()
	}
}

func (e *engine) run(ctx context.Context) {
	o := e.o
	if err := o.Validate(); err != nil {
		e.end(Usage, err)
		return
	}
	unlock, err := e.r.Lock()
	if err != nil {
		e.end(Refused, err)
		return
	}
	defer unlock()
	if err := e.st.Busy(ctx, o.To); err != nil {
		if errors.Is(err, operation.ErrLocked) {
			err = fmt.Errorf("target not free, nothing changed: %w", err)
		}
		e.end(Refused, err)
		return
	}
	j, err := loadJournal(o.Journal)
	if err != nil {
		e.end(ManualAction, err)
		return
	}
	if o.Abort {
		err := e.r.Abort(ctx, j != nil, func(ctx context.Context) error {
			e.rep.Image = cmp.Or(j.Image, perRegion)
			e.rollback(ctx, j, nil, errors.New("interrupted promotion aborted with --abort"))
			return nil
		})
		if err != nil {
			e.end(Refused, err)
		}
		return
	}
	e.promote(ctx, j)
}

// promote rolls out what the run promotes, resuming the journal j of an
// interrupted run when there is one.
func (e *engine) promote(ctx context.Context, j *Journal) {
	o := e.o
	tgt, sel, ok := e.readTarget(ctx)
	if !ok {
		return
	}
	if tgt.Canary != nil && !e.recovering() && !o.DryRun {
		if o.Judge == nil {
			e.end(Refused, fmt.Errorf("stack %q runs canaries (%s) but the promotion has no judge; nothing changed", o.To, contract.KeyCanary))
			return
		}
		if err := bake(tgt.Canary, o.CanaryPoll).Validate(); err != nil {
			e.end(Usage, fmt.Errorf("the canary of stack %q cannot be judged (--canary-poll %s, %s): %w; nothing changed", o.To, o.CanaryPoll, contract.KeyCanary, err))
			return
		}
	}
	rel, ok := e.release(ctx, j, tgt, sel)
	if !ok || !e.resume(j, rel) || !e.attested(ctx, rel) || !e.gateSource(ctx, rel) {
		return
	}
	arts := changes(sel, rel, tgt)
	if o.DryRun {
		e.dryRun(ctx, arts)
		return
	}
	if j == nil && !e.preflight(ctx, tgt, arts) {
		return
	}
	if j == nil {
		j = newJournal(o, rel, arts)
		if err := j.save(e.r); err != nil {
			e.end(Refused, fmt.Errorf("nothing changed: %w", err))
			return
		}
	}
	e.notifyStart(ctx, j)
	e.rollout(ctx, tgt, j)
}

// perRegion stands in the report for the image of a --rollback whose
// regions go back to different digests.
const perRegion = "previous digest of each region"

// release is what a run rolls out.
type release struct {
	// image is the digest every region receives; empty for a --rollback
	// whose regions go back to different digests.
	image string
	// images is the digest of each selected region, by name.
	images map[string]string
	// shared is the new image of each stack-wide artifact that changes,
	// by kind.
	shared        map[string]string
	api, frontend string
}

// release decides what the run rolls out: the source's images, --image,
// or with --rollback each region's previous digest (from the journal of
// an interrupted rollback, else from the target's history). ok is false
// when the run ended.
func (e *engine) release(ctx context.Context, j *Journal, tgt target, sel []region) (release, bool) {
	o := e.o
	var rel release
	switch {
	case o.Rollback && j != nil && j.Rollback:
		rel.image, rel.images = j.Image, map[string]string{}
		for _, a := range j.Artifacts {
			if a.Region != "" {
				rel.images[a.Region] = a.New
			}
		}
	case o.Rollback && j != nil:
		// An interrupted promotion: resume refuses, saying what to do.
	case o.Rollback:
		prev, ok := e.readPrevious(ctx, sel)
		if !ok {
			return rel, false
		}
		rel.images = prev
		rel.image = common(prev)
	case o.Image != "":
		rel.image = o.Image
	default:
		src, ok := e.readSource(ctx)
		if !ok {
			return rel, false
		}
		rel.image, rel.api, rel.frontend = src.BackendImage, src.APIURL, src.FrontendURL
		rel.shared = sharedChanges(src, tgt, len(o.Regions) > 0)
	}
	if rel.images == nil {
		rel.images = map[string]string{}
		for _, r := range sel {
			rel.images[r.Name] = rel.image
		}
	}
	e.rep.Image = cmp.Or(rel.image, perRegion)
	return rel, true
}

// sharedChanges returns the stack-wide images the source exports and the
// target does not run yet, by kind. They go with a promotion of every
// region only: every region runs them, so a partial rollout (partial) must
// not change them.
func sharedChanges(src contract.Deployed, tgt target, partial bool) map[string]string {
	shared := map[string]string{}
	for _, a := range stackArtifacts() {
		if img := src.Value(a.output); !partial && src.Has(a.output) && img != tgt.Shared[a.key] {
			shared[a.kind] = img
		}
	}
	return shared
}

// common returns the digest every region shares, "" when they differ.
func common(images map[string]string) string {
	var c string
	for _, img := range images {
		if c != "" && img != c {
			return ""
		}
		c = img
	}
	return c
}

// resume checks an interrupted run's journal against this run; false when
// the run ended.
func (e *engine) resume(j *Journal, rel release) bool {
	o := e.o
	if j == nil {
		return true
	}
	if j.From != o.From || j.To != o.To || j.Image != rel.image || j.Rollback != o.Rollback {
		what := j.Image
		if j.Rollback {
			what = "--rollback"
		}
		e.end(Refused, fmt.Errorf("an interrupted promotion of %s from %q to %q is recorded at %s; "+
			"re-run it the same way to resume it (while %q exports that image), or run with --abort to roll it back",
			what, j.From, j.To, o.Journal, j.From))
		return false
	}
	if o.DryRun {
		e.end(Refused, fmt.Errorf("an interrupted promotion is recorded at %s; resume or --abort it before a dry run", o.Journal))
		return false
	}
	e.rep.Resumed = true
	if len(o.Regions) > 0 {
		e.logf("resuming: --regions is ignored, the journal's regions are rolled")
	}
	e.logf("resuming the promotion of %s recorded at %s", e.rep.Image, o.Journal)
	return true
}

// gateSource gates the source stack of a promotion; a rollout of a named
// or previous digest has no source. False when the run ended.
func (e *engine) gateSource(ctx context.Context, rel release) bool {
	o := e.o
	if o.Image != "" || o.Rollback {
		e.logf("rolling out %s to %q (no source stack)", e.rep.Image, o.To)
		return true
	}
	e.logf("gating source %q at %s", o.From, rel.api)
	if err := o.Gates.Source(ctx, rel.api, rel.frontend); err != nil {
		e.end(Refused, fmt.Errorf("source stack %q failed its gate, nothing changed: %w", o.From, err))
		return false
	}
	return true
}

// preflight runs before a new run's first change: the confirmation when
// the target is a production stack by its parsed environment (so "prod",
// "acme/production" or any stack whose config says production), then a
// preview under the policy packs. False when the run ended.
func (e *engine) preflight(ctx context.Context, tgt target, arts []JournalArtifact) bool {
	o := e.o
	if err := e.r.ConfirmProduction(tgt.Environment, plan(o.To, arts)); err != nil {
		e.end(Refused, err)
		return false
	}
	if len(o.Policy.Packs) > 0 {
		// A pack that cannot load, or a violation already deployed, would
		// fail the rollback as much as the rollout: find out first.
		e.logf("preflight: preview %q under the policy packs", o.To)
		if _, err := e.st.Preview(ctx, o.To, o.Policy); err != nil {
			e.end(Refused, fmt.Errorf("preflight preview of %q under the policy packs failed, nothing changed: %w", o.To, err))
			return false
		}
	}
	return true
}

// plan is what a confirmation shows: every change, in rollout order.
func plan(to string, arts []JournalArtifact) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Stack %q will change, region by region, each gated and rolled back on failure:\n", to)
	for _, a := range arts {
		fmt.Fprintf(&b, "  %s: %s -> %s\n", a.row(), a.Old, a.New)
	}
	return b.String()
}

// changes lists what a run changes, in wave order: each selected region's
// backend image, then each stack-wide image that changes.
func changes(sel []region, rel release, tgt target) []JournalArtifact {
	var arts []JournalArtifact
	for _, r := range sel {
		arts = append(arts, JournalArtifact{Kind: kindBackend, Region: r.Name, Key: r.imageKey(),
			Old: r.Image, New: rel.images[r.Name], State: statePending})
	}
	for _, a := range stackArtifacts() {
		if img, ok := rel.shared[a.kind]; ok {
			arts = append(arts, JournalArtifact{Kind: a.kind, Key: a.key, Old: tgt.Shared[a.key], New: img, State: statePending})
		}
	}
	return arts
}

// newJournal records a new run before its first change.
func newJournal(o Options, rel release, arts []JournalArtifact) *Journal {
	return &Journal{Version: journalVersion, From: o.From, To: o.To, Image: rel.image, Rollback: o.Rollback,
		Started: time.Now().UTC(), Artifacts: arts}
}

// readTarget reads and checks the target's regions; ok is false when the
// run ended.
func (e *engine) readTarget(ctx context.Context) (target, []region, bool) {
	raw, err := e.st.Config(ctx, e.o.To)
	if err != nil {
		e.end(Refused, err)
		return target{}, nil, false
	}
	tgt, err := readTarget(e.o.To, raw)
	if err != nil {
		e.end(Refused, err)
		return target{}, nil, false
	}
	sel, err := selectRegions(tgt.Regions, e.o.Regions)
	if err != nil {
		e.end(Usage, fmt.Errorf("--regions: %w", err))
		return target{}, nil, false
	}
	for _, r := range sel {
		if err := pinned(r.Image); err != nil {
			e.end(Refused, fmt.Errorf("stack %q: %s: %w (each target region needs the digest it runs, to roll back to)", e.o.To, r.imageKey(), err))
			return target{}, nil, false
		}
	}
	return tgt, sel, true
}

// readSource returns the source's outputs once every image it exports is
// digest-pinned and it has an API URL to gate; ok is false when the run
// ended.
func (e *engine) readSource(ctx context.Context) (contract.Deployed, bool) {
	out, err := e.st.Outputs(ctx, e.o.From)
	if err != nil {
		e.end(Refused, err)
		return contract.Deployed{}, false
	}
	src, err := contract.DecodeOutputs(out)
	if err != nil {
		e.end(Refused, fmt.Errorf("source stack %q: %w; nothing changed", e.o.From, err))
		return contract.Deployed{}, false
	}
	e.rep.Image = src.BackendImage
	if err := checkSource(src); err != nil {
		e.end(Refused, fmt.Errorf("source stack %q %w; nothing changed", e.o.From, err))
		return contract.Deployed{}, false
	}
	return src, true
}

// checkSource requires a pinned backend image, pinned stack-wide images
// where the source exports them, and an API URL.
func checkSource(src contract.Deployed) error {
	if err := pinned(src.BackendImage); err != nil {
		return fmt.Errorf("output %s: %w", contract.OutputBackendImage, err)
	}
	for _, a := range stackArtifacts() {
		if !src.Has(a.output) {
			continue
		}
		if err := pinned(src.Value(a.output)); err != nil {
			return fmt.Errorf("output %s: %w", a.output, err)
		}
	}
	if src.APIURL == "" {
		return fmt.Errorf("has no %s output to verify", contract.OutputAPIURL)
	}
	return nil
}
