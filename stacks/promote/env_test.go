package promote_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/testkit"
	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/internal/stacktest/fixture"
	"github.com/helloagents/infra/stacks"
	"github.com/helloagents/infra/stacks/config"
	"github.com/helloagents/infra/stacks/operation"
	"github.com/helloagents/infra/stacks/promote"
	"github.com/helloagents/infra/verify"
)

// digest builds a digest-pinned reference whose hex starts with tag, so
// the fake servers can tell images apart by their first 12 hex digits.
func digest(tag string) string {
	return "ghcr.io/helloagents/backend@sha256:" + tag + strings.Repeat("0", 64-len(tag))
}

// tagOf is the part of a reference the health URLs carry.
func tagOf(ref string) string {
	_, d, ok := strings.Cut(ref, "@sha256:")
	if !ok || len(d) < 12 {
		return "unpinned"
	}
	return d[:12]
}

var (
	oldImage  = digest("0bd0bd0bd0bd")
	newImage  = digest("aeaeaeaeaeae")
	newBackup = "ghcr.io/helloagents/pgbackup@sha256:" + strings.Repeat("b", 64)
	// oldBackup is the backup.image a released target runs.
	oldBackup = "ghcr.io/helloagents/pgbackup@sha256:" + strings.Repeat("c", 64)
	// fileBackup is the backup.image of the repository's
	// Pulumi.production.yaml as the tests deploy it (stackFile).
	fileBackup = "ghcr.io/helloagents/pgbackup" + stacktest.Substitute(config.Placeholders()[0])
)

// env is one test's Pulumi world: a file state backend and a workspace with
// real staging and production stacks over an inline program, plus one fake
// backend server per production region and one for staging.
type env struct {
	t       *testing.T
	ws      auto.Workspace
	stacks  promote.Stacks
	dir     string
	staging *fakeRegion
	regions []*fakeRegion
	// urls maps "staging" and each region to its server's base URL: all
	// the program needs, so a child process can rebuild the program.
	urls map[string]string

	mu          sync.Mutex
	sourceImage string        // what staging exports as backendImage
	sourceBkp   string        // what staging exports as backupImage
	hold        chan struct{} // when set, the production program waits on it (an update holding the lock)
	holding     chan struct{} // closed once the held update is running
}

// pulumiCommand finds the Pulumi CLI: PATH first, then the repository's
// bin/pulumi that `make tools` builds.
func pulumiCommand(t *testing.T) auto.PulumiCommand {
	t.Helper()
	root := ""
	if _, err := exec.LookPath("pulumi"); err != nil {
		abs, _ := filepath.Abs(filepath.Join("..", ".."))
		if _, err := os.Stat(filepath.Join(abs, "bin", "pulumi")); err != nil {
			testkit.Missing(t, "the Pulumi CLI is missing: not on PATH and no bin/pulumi (run `make tools`)")
		}
		root = abs
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root})
	if err != nil {
		t.Fatalf("pulumi CLI: %v", err)
	}
	return cmd
}

// testHealthCheck is the production health-check setting of the tests:
// the smallest values the config validation allows, one probe per gate.
var testHealthCheck = map[string]any{
	"interval": "2s", "timeout": "1s",
	"retries": 1, "startPeriod": "0s", "expectedCodes": []int{200},
}

// stackFile returns the repository's Pulumi.<stack>.yaml with the given
// config values replaced: the real shape, so the tests break when it
// changes.
func stackFile(t *testing.T, stack string, replace map[string]any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatalf("the repository's stack file: %v", err)
	}
	// The committed placeholders do not deploy (validation refuses them):
	// the test stacks run with stacktest's real-looking substitutes.
	for _, p := range config.Placeholders() {
		b = bytes.ReplaceAll(b, []byte(p), []byte(stacktest.Substitute(p)))
	}
	var f map[string]any
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	cfg, _ := f["config"].(map[string]any)
	for k, v := range replace {
		cfg[k] = v
	}
	out, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// productionRegions is the test's helloagents:regions: three regions on the
// old image.
func productionRegions(names []string) []any {
	var list []any
	for i, n := range names {
		list = append(list, map[string]any{
			"name": n, "dockerHost": "ssh://deploy@" + n + ".hosts.helloagents.dev", "replicas": 1 + i%2, "image": oldImage,
		})
	}
	return list
}

// secrets are the credentials the config validation requires outside dev.
func secrets() map[string]auto.ConfigValue {
	m := map[string]auto.ConfigValue{}
	for k, v := range fixture.Secrets() {
		m[k] = auto.ConfigValue{Value: v, Secret: true}
	}
	return m
}

// newEnv creates the backend, the stacks and the servers, and deploys both
// stacks once, as a real platform would be before a promotion.
func newEnv(t *testing.T, regionNames ...string) *env {
	t.Helper()
	cmd := pulumiCommand(t)
	e := &env{t: t, dir: t.TempDir(), sourceImage: newImage, sourceBkp: newBackup, urls: map[string]string{}}
	e.staging = newFakeRegion(t, "staging")
	e.urls["staging"] = e.staging.srv.URL
	for _, n := range regionNames {
		f := newFakeRegion(t, n)
		e.regions = append(e.regions, f)
		e.urls[n] = f.srv.URL
	}
	work := filepath.Join(e.dir, "work")
	for _, d := range []string{"state", "work", "home"} {
		if err := os.MkdirAll(filepath.Join(e.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string][]byte{
		"production": stackFile(t, "production", map[string]any{
			"helloagents:regions": productionRegions(regionNames), "helloagents:healthCheck": testHealthCheck,
		}),
		"staging": stackFile(t, "staging", nil),
	}
	for s, b := range files {
		if err := os.WriteFile(filepath.Join(work, "Pulumi."+s+".yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.open(t, cmd)
	ctx := t.Context()
	for _, s := range []string{"staging", "production"} {
		if _, err := auto.NewStack(ctx, s, e.ws); err != nil {
			t.Fatalf("create stack %s: %v", s, err)
		}
		if err := e.ws.SetAllConfig(ctx, s, secrets()); err != nil {
			t.Fatalf("secrets of %s: %v", s, err)
		}
		if _, err := e.stacks.Up(ctx, s, operation.Policy{}); err != nil {
			t.Fatalf("first up of %s: %v", s, err)
		}
	}
	return e
}

// open creates the workspace over e.dir (the stacks may already exist).
func (e *env) open(t *testing.T, cmd auto.PulumiCommand) {
	t.Helper()
	ws, err := auto.NewLocalWorkspace(t.Context(),
		auto.Program(e.program),
		auto.Project(workspace.Project{Name: "helloagents", Runtime: workspace.NewProjectRuntimeInfo("go", nil)}),
		auto.WorkDir(filepath.Join(e.dir, "work")),
		auto.Pulumi(cmd),
		auto.EnvVars(map[string]string{
			"PULUMI_BACKEND_URL":       "file://" + filepath.Join(e.dir, "state"),
			"PULUMI_CONFIG_PASSPHRASE": "promote-test",
			"PULUMI_HOME":              filepath.Join(e.dir, "home"),
			"PULUMI_SKIP_UPDATE_CHECK": "true",
		}))
	if err != nil {
		t.Fatalf("workspace: %v", err)
	}
	e.ws, e.stacks = ws, operation.Workspace{WS: ws}
}

// program is the inline Pulumi program of both stacks: it loads the config
// with stacks.Load like the real program, exports the contract's outputs,
// and registers no provider resources (plugins cannot be downloaded here).
func (e *env) program(ctx *pulumi.Context) error {
	cfg, err := stacks.Load(ctx)
	if err != nil {
		return err
	}
	if ctx.Stack() == "staging" {
		e.mu.Lock()
		img, bkp := e.sourceImage, e.sourceBkp
		e.mu.Unlock()
		base := e.urls["staging"] + "/" + tagOf(img)
		ctx.Export("backendImage", pulumi.String(img))
		ctx.Export("backupImage", pulumi.String(bkp))
		ctx.Export("apiUrl", pulumi.String(base))
		ctx.Export("frontendUrl", pulumi.String(base+"/app"))
		ctx.Export("healthUrls", pulumi.StringMap{cfg.Regions[0].Name: pulumi.String(base + health.ReadyPath)})
		return nil
	}
	e.mu.Lock()
	hold, holding := e.hold, e.holding
	e.mu.Unlock()
	if hold != nil {
		close(holding)
		<-hold
	}
	urls, images, canaries := pulumi.StringMap{}, pulumi.StringMap{}, pulumi.Map{}
	for _, r := range cfg.Regions {
		base, ok := e.urls[r.Name]
		if !ok {
			return fmt.Errorf("no test server for region %q", r.Name)
		}
		if strings.Contains(r.Image, "badbad") {
			return fmt.Errorf("region %s: image %s cannot be deployed", r.Name, r.Image)
		}
		urls[r.Name] = pulumi.String(base + "/" + tagOf(r.Image) + health.ReadyPath)
		images[r.Name] = pulumi.String(r.Image)
		if c, ok := cfg.RunningCanary(r); ok {
			canaries[r.Name] = pulumi.ToMap(c.Output())
		}
	}
	ctx.Export("canaries", canaries)
	if strings.Contains(cfg.Backup.Image, "badbad") {
		return fmt.Errorf("backup image %s cannot be deployed", cfg.Backup.Image)
	}
	ctx.Export("healthUrls", urls)
	ctx.Export("images", images)
	ctx.Export("backupImage", pulumi.String(cfg.Backup.Image))
	ctx.Export("frontendUrl", pulumi.String(e.urls[cfg.Regions[0].Name]+"/app/app"))
	ctx.Export("apiUrl", pulumi.String(e.urls[cfg.Regions[0].Name]+"/"+tagOf(cfg.Regions[0].Image)))
	ctx.Export("backendImage", pulumi.String(cfg.Regions[0].Image))
	return nil
}

// setSource redeploys staging exporting these images.
func (e *env) setSource(t *testing.T, image, backup string) {
	t.Helper()
	e.mu.Lock()
	e.sourceImage, e.sourceBkp = image, backup
	e.mu.Unlock()
	if _, err := e.stacks.Up(t.Context(), "staging", operation.Policy{}); err != nil {
		t.Fatalf("up staging: %v", err)
	}
}

// options are the promotion options of the tests: fast gates.
func (e *env) options() promote.Options {
	return promote.Options{
		From: "staging", To: "production",
		Journal: filepath.Join(e.dir, "work", ".promotion", "production.json"),
		Gates: operation.VerifyGates{Verify: verify.Options{
			Retries: verify.NoRetries, Timeout: time.Second, Requests: 3,
		}},
		Log:          testLog{e.t},
		Attestations: &registryFake{},
		Judge:        &judge{},
	}
}
