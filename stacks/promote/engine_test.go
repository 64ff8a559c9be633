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

	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/stacks"
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
	upErr    func(n int) error // error of the n-th up (1-based), nil for success
	order    []string          // regions whose image changed, per up
	packs    []promote.Policy  // policy of every up and preview
	backup   string            // helloagents:backup.image when set
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
	raw, err := stacks.ReadStackFile(filepath.Join("..", "..", "Pulumi.production.yaml"))
	if err != nil {
		return nil, err
	}
	stacktest.Fill(raw, stacks.Placeholders())
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
	hc, _ := json.Marshal(testHealthCheck)
	raw["helloagents:healthCheck"] = string(hc)
	for k, v := range secrets() {
		raw[k] = v.Value
	}
	return raw, nil
}

var imagePath = regexp.MustCompile(`^helloagents:regions\[(\d+)\]\.image$`)

func (m *memStacks) SetConfigPath(_ context.Context, _, path, value string) error {
	if path == "helloagents:backup.image" {
		m.backup = value
		return nil
	}
	g := imagePath.FindStringSubmatch(path)
	if g == nil {
		return fmt.Errorf("unexpected path %q", path)
	}
	i, _ := strconv.Atoi(g[1])
	m.regions[i]["image"] = value
	return nil
}

func (m *memStacks) Up(_ context.Context, _ string, packs promote.Policy) (map[string]any, error) {
	m.ups++
	m.packs = append(m.packs, packs)
	if m.upErr != nil {
		if err := m.upErr(m.ups); err != nil {
			return nil, err
		}
	}
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

func (m *memStacks) Preview(_ context.Context, _ string, packs promote.Policy) (string, error) {
	m.packs = append(m.packs, packs)
	return "", nil
}

func (m *memStacks) Busy(context.Context, string) error { return nil }

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
	return promote.Options{From: "staging", To: "production", Journal: filepath.Join(t.TempDir(), "j.json"), Gates: gates{}}
}

func TestEngineEdgeCases(t *testing.T) {
	locked := fmt.Errorf("up: %w", promote.ErrLocked)
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
	packs := promote.Policy{Packs: []string{"/repo/policy", "/repo/extra"}, Configs: []string{"/repo/a.json", "/repo/b.json"}}
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
