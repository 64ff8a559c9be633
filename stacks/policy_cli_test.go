package stacks_test

// The pack under the real Pulumi engine: `pulumi preview --policy-pack
// ./policy` through the Automation API, with the real program (an inline
// program running stacks.Platform) against stand-in providers. The docker,
// cloudflare and random plugins cannot be downloaded here, so the engine is
// told to attach to in-process stand-ins (PULUMI_DEBUG_PROVIDERS) that accept
// every input and echo it back; the pack is the built binary, which the
// engine runs directly when --policy-pack names a file.

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/helloagents/infra/backend/testkit"
	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/policy/analyzertest"
	"github.com/helloagents/infra/stacks"
	"github.com/helloagents/infra/stacks/config"
)

// echoProvider accepts any configuration and inputs and returns the inputs as
// the outputs; in a preview the engine never asks it for more.
type echoProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	version string
}

func (p *echoProvider) Handshake(context.Context, *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true, AcceptOutputs: true}, nil
}

func (p *echoProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: p.version}, nil
}

func (p *echoProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *echoProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *echoProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true, AcceptOutputs: true}, nil
}

func (p *echoProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *echoProvider) Diff(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *echoProvider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if !req.GetPreview() {
		return nil, fmt.Errorf("stand-in provider: %s: only previews are supported", req.GetUrn())
	}
	return &pulumirpc.CreateResponse{Properties: req.GetProperties()}, nil
}

func (p *echoProvider) Attach(context.Context, *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *echoProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// serveProvider starts an echoing stand-in provider and returns its port.
func serveProvider(t *testing.T, version string) int {
	t.Helper()
	return serve(t, &echoProvider{version: version})
}

func needCLI(t *testing.T) string {
	t.Helper()
	path := testkit.RequireTool(t, "pulumi", "make tools builds bin/pulumi")
	return path
}

// engineEnv points the Pulumi CLI at a private home and file state backend
// in a temporary directory (with "state" and "work" made) and returns it.
func engineEnv(t *testing.T, passphrase string) string {
	t.Helper()
	cli := needCLI(t)
	dir := t.TempDir()
	t.Setenv("PATH", filepath.Dir(cli)+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("PULUMI_HOME", filepath.Join(dir, "home"))
	t.Setenv("PULUMI_BACKEND_URL", "file://"+filepath.Join(dir, "state"))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", passphrase)
	t.Setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
	for _, d := range []string{"state", "work"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// buildPackFile builds the pack binary beside a copy of PulumiPolicy.yaml:
// the engine runs a policy pack given as a file directly (the directory form
// needs the pulumi-language-go host to build it).
func buildPackFile(t *testing.T) string {
	t.Helper()
	bin := analyzertest.Build(t)
	yaml, err := os.ReadFile(filepath.Join(analyzertest.PackDir(), "PulumiPolicy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(bin), "PulumiPolicy.yaml"), yaml, 0o644); err != nil {
		t.Fatal(err)
	}
	return bin
}

// previewWithPack previews a committed stack's program under the engine with
// the policy pack binary and returns the engine's output and error.
func previewWithPack(t *testing.T, bin, stack, packConfig string, transform pulumi.ResourceTransformation) (string, error) {
	t.Helper()
	dir := engineEnv(t, "policy-test")
	t.Setenv("PULUMI_DEBUG_PROVIDERS", fmt.Sprintf("docker:%d,cloudflare:%d,random:%d",
		serveProvider(t, "4.10.0"), serveProvider(t, "5.49.1"), serveProvider(t, "4.18.3")))

	raw, err := config.ReadStackFile(filepath.Join("..", "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stacktest.Fill(raw, config.Placeholders())
	if stack != "dev" {
		maps.Copy(raw, stacktest.OperatorSecrets())
	}
	cfg, err := config.Parse(stack, raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s, err := auto.UpsertStackInlineSource(ctx, stack, project, func(ctx *pulumi.Context) error {
		if transform != nil {
			if err := ctx.RegisterStackTransformation(transform); err != nil {
				return err
			}
		}
		_, err := stacks.Platform(ctx, cfg)
		return err
	}, auto.WorkDir(filepath.Join(dir, "work")))
	if err != nil {
		t.Fatalf("create stack %s: %v", stack, err)
	}
	// One buffer for both streams, which the Automation API copies from two
	// goroutines: it must lock.
	var out lockedBuilder
	opts := []optpreview.Option{optpreview.PolicyPacks(bin), optpreview.ProgressStreams(&out), optpreview.ErrorProgressStreams(&out)}
	if packConfig != "" {
		opts = append(opts, optpreview.PolicyPackConfigs(packConfig))
	}
	_, err = s.Preview(ctx, opts...)
	return out.String(), err
}

// TestPolicyUnderEngine runs `pulumi preview --policy-pack` on the real
// staging and production programs with the example config: they must pass;
// a stricter config must make the pack refuse the zone's TLS 1.2, and an
// invalid config must be refused by the engine's schema validation.
func TestPolicyUnderEngine(t *testing.T) {
	needCLI(t)
	bin := buildPackFile(t)
	example := filepath.Join(analyzertest.PackDir(), "policy-config.example.json")
	for _, stack := range []string{"staging", "production"} {
		t.Run(stack+" passes", func(t *testing.T) {
			out, err := previewWithPack(t, bin, stack, example, nil)
			if err != nil {
				t.Fatalf("preview with the policy pack failed: %v\n%s", err, out)
			}
			for _, want := range []string{"helloagents-guardrails", "docker:index:Container backend-eu-west-0", "cloudflare:index:ZoneSettingsOverride"} {
				if !strings.Contains(out, want) {
					t.Errorf("preview output does not mention %s:\n%s", want, out)
				}
			}
		})
	}
	t.Run("stricter config refuses the zone's TLS 1.2", func(t *testing.T) {
		config := filepath.Join(t.TempDir(), "policy-config.json")
		if err := os.WriteFile(config, []byte(`{"https-only": {"minimumTlsVersion": "1.3"}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := previewWithPack(t, bin, "staging", config, nil)
		if err == nil {
			t.Fatalf("preview passed; want a mandatory https-only violation:\n%s", out)
		}
		for _, want := range []string{"mandatory", "https-only", `settings.minTlsVersion is "1.2"`} {
			if !strings.Contains(out, want) {
				t.Errorf("output does not mention %q:\n%s", want, out)
			}
		}
	})
	// The program itself changed (a stack transformation, as a careless edit
	// would): the engine hands the pack the changed inputs and the pack stops
	// the preview.
	refusals := []struct {
		name, policy, message string
		transform             pulumi.ResourceTransformation
	}{
		{"container user root", "containers-run-as-non-root", `user "root" is root`,
			func(a *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
				if c, ok := a.Props.(*docker.ContainerArgs); ok && strings.HasPrefix(a.Name, "backend-") {
					c.User = pulumi.String("root")
					return &pulumi.ResourceTransformationResult{Props: c, Opts: a.Opts}
				}
				return nil
			}},
		{"always_use_https off", "https-only", `settings.alwaysUseHttps is "off"`,
			func(a *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
				if z, ok := a.Props.(*cloudflare.ZoneSettingsOverrideArgs); ok {
					if st, ok := z.Settings.(*cloudflare.ZoneSettingsOverrideSettingsArgs); ok {
						st.AlwaysUseHttps = pulumi.String("off")
						return &pulumi.ResourceTransformationResult{Props: z, Opts: a.Opts}
					}
				}
				return nil
			}},
	}
	for _, r := range refusals {
		t.Run("refuses "+r.name, func(t *testing.T) {
			out, err := previewWithPack(t, bin, "production", example, r.transform)
			if err == nil {
				t.Fatalf("preview passed; want a mandatory %s violation:\n%s", r.policy, out)
			}
			for _, want := range []string{"[mandatory]  " + r.policy, r.message} {
				if !strings.Contains(out, want) {
					t.Errorf("output does not mention %q:\n%s", want, out)
				}
			}
		})
	}
	t.Run("invalid config is refused by the engine", func(t *testing.T) {
		config := filepath.Join(t.TempDir(), "policy-config.json")
		if err := os.WriteFile(config, []byte(`{"backups-retention": {"minimumRetentionDays": 0}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := previewWithPack(t, bin, "staging", config, nil)
		if err == nil || !strings.Contains(out, "minimumRetentionDays") {
			t.Fatalf("err = %v; want a config validation error naming minimumRetentionDays:\n%s", err, out)
		}
	})
}

// lockedBuilder is a strings.Builder safe for concurrent writers.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
