package failover_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/helloagents/infra/stacks/config"

	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/internal/stacktest/fixture"
	"github.com/helloagents/infra/stacks/failover"
	"github.com/helloagents/infra/stacks/operation"
)

// events is the ordered record of everything the engine did to the fakes.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, fmt.Sprintf(format, args...))
}

func (e *events) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.list...)
}

// changes are the events that change something (everything but status
// reads, previews and gates).
func (e *events) changes() []string {
	var out []string
	for _, ev := range e.all() {
		if !strings.HasPrefix(ev, "status ") && !strings.HasPrefix(ev, "gate ") && ev != "preview" && ev != "outputs" {
			out = append(out, ev)
		}
	}
	return out
}

// fakeStacks is the production stack in memory: the committed stack file
// with real-looking placeholders and test secrets.
type fakeStacks struct {
	ev     *events
	config map[string]string
	busy   error
	upErr  []error // returned by successive Ups, then nil
	// afterUp runs after a successful Up (the restarted old primary
	// re-seeds itself).
	afterUp func()
}

func newFakeStacks(t *testing.T, ev *events) *fakeStacks {
	t.Helper()
	raw, err := fixture.Production()
	if err != nil {
		t.Fatal(err)
	}
	return &fakeStacks{ev: ev, config: raw}
}

func (f *fakeStacks) primary(t *testing.T) string {
	t.Helper()
	cfg, err := config.Parse("production", f.config)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database.PrimaryRegion
}

func (f *fakeStacks) Outputs(context.Context, string) (map[string]any, error) {
	f.ev.add("outputs")
	return map[string]any{
		"healthUrls":  map[string]any{"eu-west": "https://api-eu-west.test/health/ready", "us-east": "https://api-us-east.test/health/ready"},
		"frontendUrl": "https://app.test",
	}, nil
}

func (f *fakeStacks) Config(context.Context, string) (map[string]string, error) {
	return maps.Clone(f.config), nil
}

// SetConfigPath handles the one path the failover writes.
func (f *fakeStacks) SetConfigPath(_ context.Context, _ string, path, value string) error {
	if path != failover.KeyPrimaryRegion {
		return fmt.Errorf("unexpected config path %s", path)
	}
	db := map[string]any{}
	if err := json.Unmarshal([]byte(f.config["helloagents:database"]), &db); err != nil {
		return err
	}
	db["primaryRegion"] = value
	b, err := json.Marshal(db)
	if err != nil {
		return err
	}
	f.config["helloagents:database"] = string(b)
	f.ev.add("set primaryRegion=%s", value)
	return nil
}

// RemoveConfigPath handles the one path the failover removes.
func (f *fakeStacks) RemoveConfigPath(_ context.Context, _ string, path string) error {
	if path != failover.KeyPrimaryRegion {
		return fmt.Errorf("unexpected config path %s", path)
	}
	db := map[string]any{}
	if err := json.Unmarshal([]byte(f.config["helloagents:database"]), &db); err != nil {
		return err
	}
	delete(db, "primaryRegion")
	b, err := json.Marshal(db)
	if err != nil {
		return err
	}
	f.config["helloagents:database"] = string(b)
	f.ev.add("remove primaryRegion")
	return nil
}

func (f *fakeStacks) UpContinueOnError(ctx context.Context, stack string, p operation.Policy) error {
	f.ev.add("up --continue-on-error")
	if len(f.upErr) > 0 {
		err := f.upErr[0]
		f.upErr = f.upErr[1:]
		return err
	}
	return nil
}

func (f *fakeStacks) Up(context.Context, string, operation.Policy) (map[string]any, error) {
	f.ev.add("up")
	if len(f.upErr) > 0 {
		err := f.upErr[0]
		f.upErr = f.upErr[1:]
		if err != nil {
			return nil, err
		}
	}
	if f.afterUp != nil {
		f.afterUp()
	}
	return nil, nil
}

func (f *fakeStacks) Preview(context.Context, string, operation.Policy) (string, error) {
	f.ev.add("preview")
	return "~ db-eu-west-postgres PG_ROLE", nil
}

func (f *fakeStacks) Busy(context.Context, string) error { return f.busy }

// fakeDatabases are the regions' Postgres servers.
type fakeDatabases struct {
	ev          *events
	mu          sync.Mutex
	status      map[string]failover.Status
	unreachable map[string]bool
	refuse      bool // pgrole promote exits 3
	promoted    []bool
}

func lag(s float64) *float64 { return &s }

func newFakeDatabases(ev *events) *fakeDatabases {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	return &fakeDatabases{ev: ev, unreachable: map[string]bool{}, status: map[string]failover.Status{
		"eu-west": {Role: "primary", Timeline: 1},
		"us-east": {Role: "standby", Timeline: 1, InRecovery: true, LastReplayAt: &at, ReplayLagSeconds: lag(2.5), ReplayLSN: "0/3000060"},
	}}
}

func (d *fakeDatabases) set(region string, s failover.Status) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.status[region] = s
}

func (d *fakeDatabases) Status(_ context.Context, r failover.Region) (failover.Status, error) {
	d.ev.add("status %s", r.Name)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.unreachable[r.Name] {
		return failover.Status{}, fmt.Errorf("region %s: docker --host %s: connection refused", r.Name, r.DockerHost)
	}
	return d.status[r.Name], nil
}

func (d *fakeDatabases) Fence(_ context.Context, r failover.Region) error {
	d.ev.add("fence %s", r.Name)
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.status[r.Name]
	s.Fenced = true
	d.status[r.Name] = s
	return nil
}

func (d *fakeDatabases) Promote(_ context.Context, r failover.Region, maxLag time.Duration, accept bool) (failover.Status, error) {
	d.ev.add("promote %s max-lag %s accept %v", r.Name, maxLag, accept)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refuse {
		return d.status[r.Name], fmt.Errorf("region %s: %w", r.Name, failover.ErrPromoteRefused)
	}
	s := d.status[r.Name]
	s.Role, s.InRecovery, s.Timeline, s.ReplayLagSeconds = "primary", false, s.Timeline+1, nil
	d.status[r.Name] = s
	d.promoted = append(d.promoted, true)
	return s, nil
}

// reseed is what the old primary's entrypoint does when the up restarts
// it with PG_ROLE=standby.
func (d *fakeDatabases) reseed(region string) {
	d.set(region, failover.Status{Role: "standby", Timeline: 2, InRecovery: true, ReplayLagSeconds: lag(0.5)})
}

// fakeGates passes every region except those in fail.
type fakeGates struct {
	ev   *events
	fail map[string]bool
}

func (g fakeGates) Source(context.Context, string, string) error { return errors.New("not used") }

func (g fakeGates) Region(_ context.Context, url, _ string, _ healthcheck.Settings) error {
	g.ev.add("gate %s", url)
	for r := range g.fail {
		if strings.Contains(url, r) {
			return fmt.Errorf("%s: status 503", url)
		}
	}
	return nil
}

// world is one test's fakes and options.
type world struct {
	ev      *events
	st      *fakeStacks
	db      *fakeDatabases
	gates   fakeGates
	o       failover.Options
	confirm []string
}

func newWorld(t *testing.T) *world {
	ev := &events{}
	w := &world{ev: ev, st: newFakeStacks(t, ev), db: newFakeDatabases(ev), gates: fakeGates{ev: ev, fail: map[string]bool{}}}
	w.st.afterUp = func() { w.db.reseed("eu-west") }
	w.o = failover.Options{
		Stack: "production", To: "us-east", MaxLag: failover.DefaultMaxLag,
		Journal: filepath.Join(t.TempDir(), "failover", "production.json"),
		Gates:   w.gates, Databases: w.db, PollInterval: time.Millisecond, ReseedTimeout: time.Minute,
		Policy:  operation.Policy{Packs: []string{"/policy"}},
		Confirm: func(plan string) error { w.confirm = append(w.confirm, plan); return nil },
	}
	return w
}

func (w *world) run() *failover.Report {
	return failover.Run(context.Background(), w.st, w.o)
}
