package promote_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/internal/stacktest/fixture"
	"github.com/helloagents/infra/stacks/operation"
	"github.com/helloagents/infra/stacks/promote"
)

// memStacks is an in-memory Stacks for the engine's edge cases that the
// real engine cannot produce on demand (a lock appearing mid-run, a failing
// rollback). The end-to-end tests use the real Pulumi engine.
type memStacks struct {
	source   map[string]any
	regions  []map[string]any // target helloagents:regions
	deployed []string         // images of the last successful up
	ups      int
	upErr    func(n int) error  // error of the n-th up (1-based), nil for success
	order    []string           // regions whose image changed, per up
	packs    []operation.Policy // policy of every up and preview
	backup   string             // helloagents:backup.image when set
	shared   map[string]string  // other stack-wide images by config path, e.g. helloagents:database.image
	history  []operation.Update // newest first, one per up
	env      string             // helloagents:environment when set
	// canary keeps the stack file's backend.canary: the edge cases run
	// without canaries (their order of updates is the release's), the
	// canary's steps are tested under the real engine (canary_test.go).
	canary bool
}

func newMem(names ...string) *memStacks {
	m := &memStacks{source: map[string]any{"backendImage": newImage, "apiUrl": "http://source.test"}}
	for _, n := range names {
		m.regions = append(m.regions, map[string]any{"name": n, "dockerHost": "ssh://deploy@" + n + ".example.dev", "replicas": 1, "image": oldImage})
		m.deployed = append(m.deployed, oldImage)
	}
	return m
}

func (m *memStacks) Outputs(_ context.Context, stack string) (map[string]any, error) {
	if stack == "staging" {
		return m.source, nil
	}
	return m.outputs(), nil
}

func (m *memStacks) outputs() map[string]any {
	urls := map[string]any{}
	for i, r := range m.regions {
		urls[r["name"].(string)] = fmt.Sprintf("http://%s.test/%s/health/ready", r["name"], tagOf(m.deployed[i]))
	}
	return map[string]any{"healthUrls": urls}
}

// Config is the repository's production stack file with the test's
// regions and health check, and every required secret.
func (m *memStacks) Config(context.Context, string) (map[string]string, error) {
	raw, err := fixture.Production()
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(m.regions)
	raw["helloagents:regions"] = string(b)
	if m.backup != "" {
		var b map[string]any
		if err := json.Unmarshal([]byte(raw["helloagents:backup"]), &b); err != nil {
			return nil, err
		}
		b["image"] = m.backup
		bb, _ := json.Marshal(b)
		raw["helloagents:backup"] = string(bb)
	}
	for path, value := range m.shared {
		if err := setField(raw, path, value); err != nil {
			return nil, err
		}
	}
	if !m.canary {
		if err := deleteField(raw, contract.KeyCanary); err != nil {
			return nil, err
		}
	}
	hc, _ := json.Marshal(testHealthCheck)
	raw["helloagents:healthCheck"] = string(hc)
	if m.env != "" {
		raw["helloagents:environment"] = m.env
	}
	return raw, nil
}

// setField sets one field of an object config value: path is
// "namespace:object.field".
func setField(raw map[string]string, path, value string) error {
	key, field, _ := strings.Cut(path, ".")
	obj := map[string]any{}
	if v, ok := raw[key]; ok {
		if err := json.Unmarshal([]byte(v), &obj); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	obj[field] = value
	b, err := json.Marshal(obj)
	raw[key] = string(b)
	return err
}

// deleteField removes one field of an object config value: path is
// "namespace:object.field".
func deleteField(raw map[string]string, path string) error {
	key, field, _ := strings.Cut(path, ".")
	obj := map[string]any{}
	if err := json.Unmarshal([]byte(raw[key]), &obj); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	delete(obj, field)
	b, err := json.Marshal(obj)
	raw[key] = string(b)
	return err
}

var imagePath = regexp.MustCompile(`^helloagents:regions\[(\d+)\]\.(image|canaryImage)$`)

func (m *memStacks) SetConfigPath(_ context.Context, _, path, value string) error {
	if path == "helloagents:backup.image" {
		m.backup = value
		return nil
	}
	if _, ok := m.shared[path]; ok {
		m.shared[path] = value
		return nil
	}
	g := imagePath.FindStringSubmatch(path)
	if g == nil {
		return fmt.Errorf("unexpected path %q", path)
	}
	i, _ := strconv.Atoi(g[1])
	m.regions[i][g[2]] = value
	return nil
}

func (m *memStacks) RemoveConfigPath(_ context.Context, _, path string) error {
	g := imagePath.FindStringSubmatch(path)
	if g == nil || g[2] != "canaryImage" {
		return fmt.Errorf("unexpected path %q", path)
	}
	i, _ := strconv.Atoi(g[1])
	if _, ok := m.regions[i][g[2]]; !ok {
		return fmt.Errorf("%s: configuration key not found", path)
	}
	delete(m.regions[i], g[2])
	return nil
}

func (m *memStacks) Up(_ context.Context, _ string, packs operation.Policy) (map[string]any, error) {
	m.ups++
	m.packs = append(m.packs, packs)
	if m.upErr != nil {
		if err := m.upErr(m.ups); err != nil {
			m.record("failed")
			return nil, err
		}
	}
	m.record("succeeded")
	var changed []string
	for i, r := range m.regions {
		if img := r["image"].(string); img != m.deployed[i] {
			m.deployed[i] = img
			changed = append(changed, r["name"].(string))
		}
	}
	m.order = append(m.order, strings.Join(changed, "+"))
	return m.outputs(), nil
}

func (m *memStacks) Preview(_ context.Context, _ string, packs operation.Policy) (string, error) {
	m.packs = append(m.packs, packs)
	return "", nil
}

func (m *memStacks) Busy(context.Context, string) error { return nil }

func (m *memStacks) History(context.Context, string) ([]operation.Update, error) {
	return m.history, nil
}

// record adds an update with the current regions to the history, as the
// Pulumi backend does for every up.
func (m *memStacks) record(result string) {
	b, _ := json.Marshal(m.regions)
	u := operation.Update{Kind: "update", Result: result, Config: map[string]string{"helloagents:regions": string(b)}}
	m.history = append([]operation.Update{u}, m.history...)
}

// deploy sets every region to images (one per region, in order) and
// records a succeeded up, as a past release would have.
func (m *memStacks) deploy(images ...string) {
	for i, img := range images {
		m.regions[i]["image"] = img
		m.deployed[i] = img
	}
	m.record("succeeded")
}

// gates passes everything except health URLs containing fail.
type gates struct{ fail string }

func (g gates) Source(context.Context, string, string) error { return nil }
func (g gates) Region(_ context.Context, url, _ string, _ healthcheck.Settings) error {
	if g.fail != "" && strings.Contains(url, g.fail) {
		return fmt.Errorf("%s: status 503", url)
	}
	return nil
}

func memOptions(t *testing.T) promote.Options {
	return promote.Options{From: "staging", To: "production", Journal: filepath.Join(t.TempDir(), "j.json"), Gates: gates{},
		Attestations: &registryFake{}}
}

func TestEngineEdgeCases(t *testing.T) {
	locked := fmt.Errorf("up: %w", operation.ErrLocked)
	tests := []struct {
		name     string
		regions  []string // --regions
		mutate   func(*memStacks, *promote.Options)
		want     promote.Outcome
		reason   string
		order    []string // images changed per up
		deployed []string
		journal  bool // journal kept
	}{
		{name: "subset in configured order", regions: []string{"c", "a"},
			want: promote.Promoted, order: []string{"a", "c"}, deployed: []string{newImage, oldImage, newImage}},
		{name: "unknown region", regions: []string{"a", "zz"}, want: promote.Usage, reason: `region "zz" is not configured`,
			deployed: []string{oldImage, oldImage, oldImage}},
		{name: "same stack twice", mutate: func(_ *memStacks, o *promote.Options) { o.To = o.From },
			want: promote.Usage, reason: "a promotion needs two stacks", deployed: []string{oldImage, oldImage, oldImage}},
		{name: "lock appears at the first update",
			mutate: func(m *memStacks, _ *promote.Options) {
				m.upErr = func(int) error { return locked }
			},
			want: promote.Refused, reason: "nothing deployed", deployed: []string{oldImage, oldImage, oldImage}},
		{name: "rollback update fails",
			mutate: func(m *memStacks, o *promote.Options) {
				o.Gates = gates{fail: "b.test/" + tagOf(newImage)}
				m.upErr = func(n int) error {
					if n == 3 {
						return errors.New("provider crashed")
					}
					return nil
				}
			},
			want: promote.ManualAction, reason: "the rollback update failed", order: []string{"a", "b"},
			deployed: []string{newImage, newImage, oldImage}, journal: true},
		{name: "target region without a digest",
			mutate: func(m *memStacks, _ *promote.Options) { m.regions[1]["image"] = "ghcr.io/helloagents/backend:v1" },
			want:   promote.Refused, reason: "regions[1].image", deployed: []string{oldImage, oldImage, oldImage}},
		{name: "corrupt journal",
			mutate: func(_ *memStacks, o *promote.Options) { _ = os.WriteFile(o.Journal, []byte("{"), 0o644) },
			want:   promote.ManualAction, reason: "corrupt", deployed: []string{oldImage, oldImage, oldImage}, journal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem("a", "b", "c")
			o := memOptions(t)
			o.Regions = tt.regions
			if tt.mutate != nil {
				tt.mutate(m, &o)
			}
			rep := promote.Run(t.Context(), m, o)
			if rep.Outcome != tt.want || !strings.Contains(rep.Reason, tt.reason) {
				t.Fatalf("outcome %s (%q), want %s with reason containing %q", rep.Outcome, rep.Reason, tt.want, tt.reason)
			}
			if tt.order != nil && !same(m.order[:len(tt.order)], tt.order) {
				t.Errorf("updates changed %q, want %q first", m.order, tt.order)
			}
			if !same(m.deployed, tt.deployed) {
				t.Errorf("deployed %q, want %q", m.deployed, tt.deployed)
			}
			if _, err := os.Stat(o.Journal); (err == nil) != tt.journal {
				t.Errorf("journal present: %v, want %v", err == nil, tt.journal)
			}
			if tt.want == promote.Refused && m.regions[0]["image"] != oldImage {
				t.Errorf("a refused promotion left region a at %v", m.regions[0]["image"])
			}
		})
	}
}

func TestPolicyPacksReachEveryUpdateAndPreview(t *testing.T) {
	packs := operation.Policy{Packs: []string{"/repo/policy", "/repo/extra"}, Configs: []string{"/repo/a.json", "/repo/b.json"}}
	for _, tt := range []struct {
		name  string
		opts  func(*promote.Options)
		calls int
	}{
		{"promotion", func(*promote.Options) {}, 4}, // preflight preview + 3 updates
		{"dry run", func(o *promote.Options) { o.DryRun = true }, 3},
		{"rollback", func(o *promote.Options) { o.Gates = gates{fail: "b.test/" + tagOf(newImage)} }, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem("a", "b", "c")
			o := memOptions(t)
			o.Policy = packs
			tt.opts(&o)
			promote.Run(t.Context(), m, o)
			if len(m.packs) != tt.calls {
				t.Fatalf("%d updates and previews, want %d", len(m.packs), tt.calls)
			}
			for i, p := range m.packs {
				if !same(p.Packs, packs.Packs) || !same(p.Configs, packs.Configs) {
					t.Errorf("call %d had policy packs %q, want %q", i+1, p, packs)
				}
			}
		})
	}
}

// The backup job's image is promoted only with every region: each region
// runs it, so a partial rollout must leave it alone.
func TestBackupImageOnlyWithEveryRegion(t *testing.T) {
	for _, tt := range []struct {
		regions []string
		want    string
	}{{nil, newBackup}, {[]string{"a"}, oldBackup}} {
		m := newMem("a", "b")
		m.backup = oldBackup
		m.source["backupImage"] = newBackup
		o := memOptions(t)
		o.Regions = tt.regions
		if rep := promote.Run(t.Context(), m, o); rep.Outcome != promote.Promoted {
			t.Fatalf("--regions %v: outcome %s (%s)", tt.regions, rep.Outcome, rep.Reason)
		}
		if m.backup != tt.want {
			t.Errorf("--regions %v: backup image %s, want %s", tt.regions, m.backup, tt.want)
		}
	}
}

// A journal of a running promotion is not an interrupted one: a second run
// meanwhile must be refused, not "resume" it.
func TestSecondRunIsRefusedWhileOneRuns(t *testing.T) {
	m := newMem("a", "b")
	o := memOptions(t)
	inWave, release := make(chan struct{}), make(chan struct{})
	o.AfterWave = func(string) {
		select {
		case <-inWave:
		default:
			close(inWave)
			<-release
		}
	}
	done := make(chan *promote.Report, 1)
	go func() { done <- promote.Run(t.Context(), m, o) }()
	<-inWave
	second := o
	second.AfterWave = nil
	rep := promote.Run(t.Context(), newMem("a", "b"), second)
	close(release)
	first := <-done
	if rep.Outcome != promote.Refused || !strings.Contains(rep.Reason, "another promotion is running") {
		t.Errorf("second run: outcome %s (%s), want refused because one is running", rep.Outcome, rep.Reason)
	}
	if first.Outcome != promote.Promoted {
		t.Errorf("first run: outcome %s (%s)", first.Outcome, first.Reason)
	}
	// Once the first run ended, the lock is free again.
	if rep := promote.Run(t.Context(), newMem("a", "b"), second); rep.Outcome != promote.Promoted {
		t.Errorf("a run after the first ended: outcome %s (%s)", rep.Outcome, rep.Reason)
	}
}

// TestRollbackToANamedImage: --image rolls a digest that served before out
// to every region with the same gates and rollback, without reading or
// gating any source stack.
func TestRollbackToANamedImage(t *testing.T) {
	t.Run("rolled out", func(t *testing.T) {
		m := newMem("a", "b")
		m.source = nil // no source stack: reading it would fail the run
		o := memOptions(t)
		o.From, o.Image = "", newImage
		rep := promote.Run(t.Context(), m, o)
		if rep.Outcome != promote.Promoted || m.deployed[0] != newImage || m.deployed[1] != newImage {
			t.Fatalf("outcome %s (%s), deployed %v", rep.Outcome, rep.Reason, m.deployed)
		}
		var text strings.Builder
		if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), newImage+" -> production: promoted") {
			t.Errorf("report: %v\n%s", err, text.String())
		}
	})
	t.Run("a failing gate restores every region", func(t *testing.T) {
		m := newMem("a", "b")
		o := memOptions(t)
		o.From, o.Image, o.Gates = "", newImage, gates{fail: "b.test/" + tagOf(newImage)}
		rep := promote.Run(t.Context(), m, o)
		if rep.Outcome != promote.RolledBack || m.deployed[0] != oldImage || m.deployed[1] != oldImage {
			t.Fatalf("outcome %s (%s), deployed %v", rep.Outcome, rep.Reason, m.deployed)
		}
	})
	for name, tc := range map[string]struct {
		from, image, reason string
	}{
		"unpinned":     {"", "ghcr.io/helloagents/backend:latest", "--image"},
		"both sources": {"staging", newImage, "--from and --image exclude each other"},
		"no source":    {"", "", "a source stack (--from) or an image (--image) is required"},
	} {
		t.Run(name, func(t *testing.T) {
			m := newMem("a")
			o := memOptions(t)
			o.From, o.Image = tc.from, tc.image
			rep := promote.Run(t.Context(), m, o)
			if rep.Outcome != promote.Usage || !strings.Contains(rep.Reason, tc.reason) || m.ups != 0 {
				t.Errorf("outcome %s (%s), %d ups; want usage error %q", rep.Outcome, rep.Reason, m.ups, tc.reason)
			}
		})
	}
}

// TestRollbackToPrevious: --rollback after a finished promotion takes each
// region's previous digest from the target's history and rolls it out
// with the same gates, journal and outcomes as a promotion.
func TestRollbackToPrevious(t *testing.T) {
	older := digest("01d01d01d01d")
	tests := []struct {
		name    string
		setup   func(*memStacks, *promote.Options) // history before the rollback
		gate    string                             // health URL part that fails
		want    promote.Outcome
		reason  string
		after   []string // deployed images after the rollback
		newRows []string // report's new image per region
	}{
		{name: "after a finished promotion",
			setup: func(m *memStacks, o *promote.Options) { promoteNew(t, m, *o) },
			want:  promote.Promoted, after: []string{oldImage, oldImage}, newRows: []string{oldImage, oldImage}},
		{name: "each region back to its own digest",
			setup: func(m *memStacks, o *promote.Options) { m.deploy(older, oldImage); promoteNew(t, m, *o) },
			want:  promote.Promoted, after: []string{older, oldImage}, newRows: []string{older, oldImage}},
		{name: "a failing gate restores the current digest",
			setup: func(m *memStacks, o *promote.Options) { promoteNew(t, m, *o) },
			gate:  "b.test/" + tagOf(oldImage),
			want:  promote.RolledBack, after: []string{newImage, newImage}},
		{name: "a promotion that was rolled back is not a target",
			setup: func(m *memStacks, o *promote.Options) {
				m.history = nil
				m.deploy(older, older)
				m.deploy(oldImage, oldImage)
				bad := *o
				bad.Gates = gates{fail: "b.test/" + tagOf(newImage)}
				if rep := promote.Run(t.Context(), m, bad); rep.Outcome != promote.RolledBack {
					t.Fatalf("setup promotion: %s (%s)", rep.Outcome, rep.Reason)
				}
			},
			want: promote.Promoted, after: []string{older, older}, newRows: []string{older, older}},
		{name: "first release: nothing to roll back to",
			want: promote.Refused, reason: "no previous digest", after: []string{oldImage, oldImage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem("a", "b")
			m.deploy(oldImage, oldImage)
			o := memOptions(t)
			if tt.setup != nil {
				tt.setup(m, &o)
			}
			m.source = nil // a rollback reads no source stack
			rb := o
			rb.From, rb.Rollback = "", true
			if tt.gate != "" {
				rb.Gates = gates{fail: tt.gate}
			}
			ups := m.ups
			rep := promote.Run(t.Context(), m, rb)
			if rep.Outcome != tt.want || !strings.Contains(rep.Reason, tt.reason) {
				t.Fatalf("outcome %s (%q), want %s with %q", rep.Outcome, rep.Reason, tt.want, tt.reason)
			}
			if !same(m.deployed, tt.after) {
				t.Errorf("deployed %q, want %q", m.deployed, tt.after)
			}
			if tt.want == promote.Refused && m.ups != ups {
				t.Errorf("a refused rollback ran %d updates", m.ups-ups)
			}
			for i, want := range tt.newRows {
				if rep.Regions[i].NewImage != want {
					t.Errorf("report row %s: new image %s, want %s", rep.Regions[i].Region, rep.Regions[i].NewImage, want)
				}
			}
			if _, err := os.Stat(rb.Journal); err == nil {
				t.Error("journal kept after a finished rollback")
			}
		})
	}
}

// TestRollbackRefusedDuringAnInterruptedPromotion: the journal of an
// interrupted promotion is named, not the history's half-done state.
func TestRollbackRefusedDuringAnInterruptedPromotion(t *testing.T) {
	m := newMem("a", "b")
	m.deploy(oldImage, oldImage)
	o := memOptions(t)
	ctx, cancel := context.WithCancel(t.Context())
	o.AfterWave = func(string) { cancel() }
	if rep := promote.Run(ctx, m, o); rep.Outcome != promote.ManualAction {
		t.Fatalf("interrupted promotion: %s (%s)", rep.Outcome, rep.Reason)
	}
	rb := memOptions(t)
	rb.Journal, rb.From, rb.Rollback = o.Journal, "", true
	ups := m.ups
	rep := promote.Run(t.Context(), m, rb)
	if rep.Outcome != promote.Refused || !strings.Contains(rep.Reason, "an interrupted promotion") || !strings.Contains(rep.Reason, "--abort") {
		t.Errorf("outcome %s (%s), want refused naming the interrupted promotion and --abort", rep.Outcome, rep.Reason)
	}
	if m.ups != ups {
		t.Errorf("a refused rollback ran %d updates", m.ups-ups)
	}
}

// promoteNew promotes newImage from staging into every region of m.
func promoteNew(t *testing.T, m *memStacks, o promote.Options) {
	t.Helper()
	if rep := promote.Run(t.Context(), m, o); rep.Outcome != promote.Promoted {
		t.Fatalf("setup promotion: %s (%s)", rep.Outcome, rep.Reason)
	}
}

// TestConfirmation: the plan names every region's current and new digest;
// a declined confirmation changes nothing. Dry runs are not confirmed.
func TestConfirmation(t *testing.T) {
	for _, tt := range []struct {
		name    string
		dryRun  bool
		decline bool
		asked   bool
		want    promote.Outcome
	}{
		{"accepted", false, false, true, promote.Promoted},
		{"declined", false, true, true, promote.Refused},
		{"dry run is not asked", true, true, false, promote.Promoted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem("a", "b")
			o := memOptions(t)
			o.DryRun = tt.dryRun
			var plan string
			o.Confirm = func(p string) error {
				plan = p
				if tt.decline {
					return errors.New("confirmation declined")
				}
				return nil
			}
			rep := promote.Run(t.Context(), m, o)
			if rep.Outcome != tt.want {
				t.Fatalf("outcome %s (%s), want %s", rep.Outcome, rep.Reason, tt.want)
			}
			if (plan != "") != tt.asked {
				t.Fatalf("asked: %v, want %v", plan != "", tt.asked)
			}
			for _, r := range []string{"a", "b"} {
				if tt.asked && !strings.Contains(plan, "  "+r+": "+oldImage+" -> "+newImage+"\n") {
					t.Errorf("plan lacks region %s's change:\n%s", r, plan)
				}
			}
			if tt.decline && !tt.dryRun && (m.ups != 0 || m.regions[0]["image"] != oldImage) {
				t.Errorf("a declined promotion ran %d updates, region a at %v", m.ups, m.regions[0]["image"])
			}
		})
	}
}

// TestConfirmationByEnvironment: whether a promotion asks first is decided
// by the target's parsed environment, as the program and the policy pack
// decide it, not by the stack being literally named "production" (only a
// production stack pins images, so only one can be a promotion's target).
func TestConfirmationByEnvironment(t *testing.T) {
	for _, tt := range []struct {
		to, env string // target stack, its helloagents:environment ("" unset)
	}{
		{"production", ""},
		{"prod", ""},
		{"acme/production", ""},
		{"acme/prod", ""},
		{"eu-live", "production"},
	} {
		t.Run(tt.to, func(t *testing.T) {
			m := newMem("a", "b")
			m.env = tt.env
			o := memOptions(t)
			o.To = tt.to
			asked := false
			o.Confirm = func(string) error { asked = true; return nil }
			if rep := promote.Run(t.Context(), m, o); rep.Outcome != promote.Promoted {
				t.Fatalf("outcome %s (%s), want %s", rep.Outcome, rep.Reason, promote.Promoted)
			}
			if !asked {
				t.Errorf("promotion to production stack %q (environment %q) did not ask for confirmation", tt.to, tt.env)
			}
		})
	}
}

// TestInterruptedRollbackResumes: a --rollback stopped between regions
// keeps its journal; run again, it takes the digests from the journal (the
// history now shows the half-done rollback) and finishes; --abort instead
// restores the digests it started from.
func TestInterruptedRollbackResumes(t *testing.T) {
	older := digest("01d01d01d01d")
	for _, tt := range []struct {
		name  string
		abort bool
		want  []string
	}{
		{"resumed", false, []string{older, oldImage}},
		{"aborted", true, []string{newImage, newImage}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMem("a", "b")
			m.deploy(older, oldImage)
			o := memOptions(t)
			promoteNew(t, m, o)
			m.source = nil
			rb := o
			rb.From, rb.Rollback = "", true
			ctx, cancel := context.WithCancel(t.Context())
			rb.AfterWave = func(string) { cancel() }
			if rep := promote.Run(ctx, m, rb); rep.Outcome != promote.ManualAction || !strings.Contains(rep.Reason, "interrupted") {
				t.Fatalf("interrupted rollback: %s (%s)", rep.Outcome, rep.Reason)
			}
			if !same(m.deployed, []string{older, newImage}) {
				t.Fatalf("after the interruption deployed %q", m.deployed)
			}
			again := rb
			again.AfterWave = nil
			if tt.abort {
				again.Rollback, again.Abort = false, true
			}
			rep := promote.Run(t.Context(), m, again)
			if want := map[bool]promote.Outcome{false: promote.Promoted, true: promote.RolledBack}[tt.abort]; rep.Outcome != want {
				t.Fatalf("second run: %s (%s), want %s", rep.Outcome, rep.Reason, want)
			}
			if !tt.abort && !rep.Resumed {
				t.Error("the second run did not resume the journaled rollback")
			}
			if !same(m.deployed, tt.want) {
				t.Errorf("deployed %q, want %q", m.deployed, tt.want)
			}
			if _, err := os.Stat(rb.Journal); err == nil {
				t.Error("journal kept")
			}
		})
	}
}

// A target that runs canaries needs a judge: without one the promotion is
// refused before anything changes.
func TestCanaryTargetNeedsAJudge(t *testing.T) {
	m := newMem("eu-west", "us-east")
	m.canary = true
	rep := promote.Run(t.Context(), m, memOptions(t))
	if rep.Outcome != promote.Refused || !strings.Contains(rep.Reason, "runs canaries (helloagents:backend.canary) but the promotion has no judge") {
		t.Fatalf("outcome %s (%s), want refused for want of a judge", rep.Outcome, rep.Reason)
	}
	if m.ups != 0 || m.regions[0]["image"] != oldImage {
		t.Errorf("%d updates, image %v: a refused promotion changed the target", m.ups, m.regions[0]["image"])
	}
}

// A poll longer than the stack's bake cannot judge a canary: a usage
// error before anything changes, not a rollback after the canary ran.
func TestCanaryPollLongerThanTheBake(t *testing.T) {
	m := newMem("eu-west", "us-east")
	m.canary = true
	o := memOptions(t)
	o.Judge = &judge{}
	o.CanaryPoll = time.Hour
	rep := promote.Run(t.Context(), m, o)
	if rep.Outcome != promote.Usage || !strings.Contains(rep.Reason, "Bake is 10m0s: must be at least Poll (1h0m0s)") {
		t.Fatalf("outcome %s (%s), want a usage error naming the bake and the poll", rep.Outcome, rep.Reason)
	}
	if m.ups != 0 {
		t.Errorf("%d updates: a usage error changed the target", m.ups)
	}
}

// Going back to a digest that served before (--image, --rollback) on a
// target that runs canaries runs no canary and reads no SLO burn: the
// release it undoes is what burns the budget, and recovery must not wait
// a bake or fail on it.
func TestRecoveryRunsNoCanary(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*promote.Options)
	}{
		{"--image", func(o *promote.Options) { o.From, o.Image = "", oldImage }},
		{"--rollback", func(o *promote.Options) { o.From, o.Rollback = "", true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMem("eu-west", "us-east")
			m.canary = true
			m.deploy(oldImage, oldImage)
			m.deploy(newImage, newImage)
			o := memOptions(t)
			j := &judge{burning: map[string]bool{"eu-west": true, "us-east": true}}
			o.Judge = j
			tc.set(&o)
			rep := promote.Run(t.Context(), m, o)
			if rep.Outcome != promote.Promoted {
				t.Fatalf("outcome %s (%s), want the old image back everywhere", rep.Outcome, rep.Reason)
			}
			if len(j.calls()) != 0 || len(j.burns) != 0 {
				t.Errorf("canaries judged %q, burn read %q: recovery waited on a canary or on the burn it is ending", j.calls(), j.burns)
			}
			if m.deployed[0] != oldImage || m.deployed[1] != oldImage {
				t.Errorf("deployed %q, want the old image", m.deployed)
			}
		})
	}
}
