package promote_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

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
	oldImage = digest("0bd0bd0bd0bd")
	newImage = digest("aeaeaeaeaeae")
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

	mu          sync.Mutex
	sourceImage string        // what staging exports as backendImage
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
			if os.Getenv("CI") != "" {
				t.Fatal("the Pulumi CLI is missing: not on PATH and no bin/pulumi (run `make tools`)")
			}
			t.Skip("the Pulumi CLI is missing: not on PATH and no bin/pulumi (run `make tools`)")
		}
		root = abs
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root})
	if err != nil {
		t.Fatalf("pulumi CLI: %v", err)
	}
	return cmd
}

// productionConfig is Pulumi.production.yaml of the test: the contract's
// shape, three regions on the old image, fast health-check settings.
func productionConfig(regions []string) string {
	var b strings.Builder
	b.WriteString("config:\n  helloagents:environment: production\n")
	b.WriteString("  helloagents:healthCheck:\n    path: /health/ready\n    livenessPath: /health/live\n" +
		"    interval: 50ms\n    timeout: 300ms\n    retries: 2\n    startPeriod: 0s\n    expectedCodes: [200]\n")
	b.WriteString("  helloagents:regions:\n")
	for i, r := range regions {
		fmt.Fprintf(&b, "    - name: %s\n      dockerHost: ssh://deploy@%s.example.dev\n      replicas: %d\n      image: %s\n",
			r, r, 1+i%2, oldImage)
	}
	return b.String()
}

// newEnv creates the backend, the stacks and the servers, and deploys both
// stacks once, as a real platform would be before a promotion.
func newEnv(t *testing.T, regionNames ...string) *env {
	t.Helper()
	cmd := pulumiCommand(t)
	e := &env{t: t, dir: t.TempDir(), sourceImage: newImage}
	e.staging = newFakeRegion(t, "staging")
	for _, n := range regionNames {
		e.regions = append(e.regions, newFakeRegion(t, n))
	}
	state, work, home := filepath.Join(e.dir, "state"), filepath.Join(e.dir, "work"), filepath.Join(e.dir, "home")
	for _, d := range []string{state, work, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(work, "Pulumi.production.yaml"), []byte(productionConfig(regionNames)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "Pulumi.staging.yaml"),
		[]byte("config:\n  helloagents:environment: staging\n  helloagents:regions:\n    - name: staging\n      dockerHost: ssh://deploy@staging.example.dev\n      replicas: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ws, err := auto.NewLocalWorkspace(ctx,
		auto.Program(e.program),
		auto.Project(workspace.Project{Name: "helloagents", Runtime: workspace.NewProjectRuntimeInfo("go", nil)}),
		auto.WorkDir(work),
		auto.Pulumi(cmd),
		auto.EnvVars(map[string]string{
			"PULUMI_BACKEND_URL":       "file://" + state,
			"PULUMI_CONFIG_PASSPHRASE": "promote-test",
			"PULUMI_HOME":              home,
			"PULUMI_SKIP_UPDATE_CHECK": "true",
		}))
	if err != nil {
		t.Fatalf("workspace: %v", err)
	}
	e.ws, e.stacks = ws, promote.Workspace{WS: ws}
	for _, s := range []string{"staging", "production"} {
		if _, err := auto.NewStack(ctx, s, ws); err != nil {
			t.Fatalf("create stack %s: %v", s, err)
		}
		if _, err := e.stacks.Up(ctx, s, nil); err != nil {
			t.Fatalf("first up of %s: %v", s, err)
		}
	}
	return e
}

// program is the inline Pulumi program of both stacks: the contract's
// config shape and outputs, and no provider resources (plugins cannot be
// downloaded here).
func (e *env) program(ctx *pulumi.Context) error {
	var regions []struct {
		Name  string `json:"name"`
		Image string `json:"image"`
	}
	if err := json.Unmarshal([]byte(config.Require(ctx, "helloagents:regions")), &regions); err != nil {
		return fmt.Errorf("helloagents:regions: %w", err)
	}
	if ctx.Stack() == "staging" {
		e.mu.Lock()
		img := e.sourceImage
		e.mu.Unlock()
		ctx.Export("backendImage", pulumi.String(img))
		ctx.Export("apiUrl", pulumi.String(e.staging.srv.URL+"/"+tagOf(img)))
		ctx.Export("healthUrls", pulumi.StringMap{"staging": pulumi.String(e.staging.srv.URL + "/" + tagOf(img) + "/health/ready")})
		return nil
	}
	e.mu.Lock()
	hold, holding := e.hold, e.holding
	e.mu.Unlock()
	if hold != nil {
		close(holding)
		<-hold
	}
	urls, images := pulumi.StringMap{}, pulumi.StringMap{}
	for _, r := range regions {
		f := e.region(r.Name)
		if f == nil {
			return fmt.Errorf("no test server for region %q", r.Name)
		}
		if strings.Contains(r.Image, "badbad") {
			return fmt.Errorf("region %s: image %s cannot be deployed", r.Name, r.Image)
		}
		urls[r.Name] = pulumi.String(f.srv.URL + "/" + tagOf(r.Image) + "/health/ready")
		images[r.Name] = pulumi.String(r.Image)
	}
	ctx.Export("healthUrls", urls)
	ctx.Export("images", images)
	ctx.Export("apiUrl", pulumi.String(e.regions[0].srv.URL+"/"+tagOf(regions[0].Image)))
	ctx.Export("backendImage", pulumi.String(regions[0].Image))
	return nil
}

func (e *env) region(name string) *fakeRegion {
	for _, r := range e.regions {
		if r.name == name {
			return r
		}
	}
	return nil
}

func (e *env) setSource(t *testing.T, image string) {
	t.Helper()
	e.mu.Lock()
	e.sourceImage = image
	e.mu.Unlock()
	if _, err := e.stacks.Up(t.Context(), "staging", nil); err != nil {
		t.Fatalf("up staging: %v", err)
	}
}

// options are the promotion options of the tests: fast gates.
func (e *env) options() promote.Options {
	return promote.Options{
		From: "staging", To: "production",
		Journal: filepath.Join(e.dir, "work", ".promotion", "production.json"),
		Gates: promote.VerifyGates{Verify: verify.Options{
			Retries: verify.NoRetries, Timeout: time.Second, Requests: 3,
		}},
		Log: testLog{e.t},
	}
}

// configImages returns each region's image in the production config.
func (e *env) configImages(t *testing.T) []string {
	t.Helper()
	raw, err := e.stacks.Config(t.Context(), "production")
	if err != nil {
		t.Fatal(err)
	}
	var regions []struct{ Image string }
	if err := json.Unmarshal([]byte(raw["helloagents:regions"]), &regions); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range regions {
		out = append(out, r.Image)
	}
	return out
}

// deployedImages returns each region's image in the deployed state.
func (e *env) deployedImages(t *testing.T) []string {
	t.Helper()
	out, err := e.stacks.Outputs(t.Context(), "production")
	if err != nil {
		t.Fatal(err)
	}
	images, _ := out["images"].(map[string]any)
	var list []string
	for _, r := range e.regions {
		s, _ := images[r.name].(string)
		list = append(list, s)
	}
	return list
}

// updates counts the production stack's recorded updates.
func (e *env) updates(t *testing.T) int {
	t.Helper()
	s, err := auto.SelectStack(t.Context(), "production", e.ws)
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.History(context.WithoutCancel(t.Context()), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(h)
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
