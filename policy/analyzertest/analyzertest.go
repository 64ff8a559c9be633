// Package analyzertest builds the policy pack binary, starts it and drives it
// over the analyzer gRPC protocol in the order the Pulumi engine does
// (Handshake, ConfigureStack, GetAnalyzerInfo, Configure, Analyze per
// resource, AnalyzeStack), so tests exercise the pack exactly as
// `pulumi preview --policy-pack ./policy` would, without the CLI.
package analyzertest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/helloagents/infra/backend/testkit"
)

// PackDir is the policy pack's directory (where PulumiPolicy.yaml is).
func PackDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// need skips the test (or fails it when CI is set) if tool is missing.
func need(t testing.TB, tool string) string {
	t.Helper()
	path := testkit.RequireTool(t, tool, "needed on PATH to build the policy pack")
	return path
}

// Build compiles the policy pack into a temporary directory and returns the
// binary's path.
func Build(t testing.TB) string {
	t.Helper()
	goBin := need(t, "go")
	bin := filepath.Join(t.TempDir(), "helloagents-policy")
	cmd := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, ".")
	cmd.Dir = PackDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the policy pack in %s: %v\n%s", cmd.Dir, err, out)
	}
	return bin
}

// Server is a running policy pack process and its analyzer client.
type Server struct {
	Client pulumirpc.AnalyzerClient
	cmd    *exec.Cmd
	conn   *grpc.ClientConn
}

// Start runs the pack binary with workDir as its working directory (the
// engine starts a pack in the Pulumi program's directory), reads the port it
// prints and connects. The process is stopped when the test ends.
func Start(t testing.TB, bin, workDir string) *Server {
	t.Helper()
	cmd, stdout := startPack(t, bin, workDir)
	port := readPort(t, stdout)
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial policy pack on port %d: %v", port, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &Server{Client: pulumirpc.NewAnalyzerClient(conn), cmd: cmd, conn: conn}
}

// startPack starts the pack binary in workDir and returns its stdout.
func startPack(t testing.TB, bin, workDir string) (*exec.Cmd, io.Reader) {
	t.Helper()
	// The process lives until the test ends: t.Context is canceled then.
	cmd := exec.CommandContext(t.Context(), bin)
	cmd.Dir = workDir
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start policy pack: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, stdout
}

// readPort reads the port a pack prints on its first line; a pack that
// prints nothing within a minute fails the test rather than hanging it.
func readPort(t testing.TB, stdout io.Reader) int {
	t.Helper()
	type read struct {
		line string
		err  error
	}
	ch := make(chan read, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		ch <- read{line, err}
	}()
	var line string
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("policy pack printed no port: %v", r.err)
		}
		line = r.line
	case <-time.After(time.Minute):
		t.Fatal("policy pack printed no port within a minute")
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("policy pack printed %q, want a port number", line)
	}
	return port
}

// Stack is what the engine tells the pack about the stack in ConfigureStack.
type Stack struct {
	Name, Project, Organization string
	// Config is the stack's configuration ("helloagents:environment" -> "dev").
	Config map[string]string
	Tags   map[string]string
	DryRun bool
}

// Resource is one resource to analyze, with its inputs as the engine holds
// them (secrets as secret values, unknowns as computed values).
type Resource struct {
	Type, Name, URN, Parent string
	// ProviderURN is the URN of the resource's provider ("" for none).
	ProviderURN string
	Inputs      resource.PropertyMap
}

// Result is what the pack answered.
type Result struct {
	Info *pulumirpc.AnalyzerInfo
	// Analyze holds the diagnostics of every Analyze call, AnalyzeStack those
	// of the single AnalyzeStack call.
	Analyze, AnalyzeStack []*pulumirpc.AnalyzeDiagnostic
}

// All returns every diagnostic.
func (r Result) All() []*pulumirpc.AnalyzeDiagnostic {
	return append(append([]*pulumirpc.AnalyzeDiagnostic(nil), r.Analyze...), r.AnalyzeStack...)
}

// Mandatory returns the mandatory diagnostics.
func (r Result) Mandatory() []*pulumirpc.AnalyzeDiagnostic {
	var out []*pulumirpc.AnalyzeDiagnostic
	for _, d := range r.All() {
		if d.GetEnforcementLevel() == pulumirpc.EnforcementLevel_MANDATORY {
			out = append(out, d)
		}
	}
	return out
}

// Format renders diagnostics for a test failure message.
func Format(ds []*pulumirpc.AnalyzeDiagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "  [%s %s] %s: %s\n", d.GetPolicyName(), d.GetEnforcementLevel(), d.GetUrn(),
			strings.ReplaceAll(d.GetMessage(), "\n", " | "))
	}
	return b.String()
}

// Run drives one full analysis. policyConfig holds --policy-pack-config style
// entries (policy name -> properties, optionally "enforcementLevel"); the
// engine's reconciliation is reproduced: schema defaults, then the policy's
// own level, then the given config.
func (s *Server) Run(t testing.TB, stack Stack, policyConfig map[string]map[string]any, resources []Resource) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := s.run(ctx, stack, policyConfig, resources)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (s *Server) run(ctx context.Context, stack Stack, policyConfig map[string]map[string]any, resources []Resource) (Result, error) {
	info, err := s.configure(ctx, stack, policyConfig)
	if err != nil {
		return Result{}, err
	}
	out := Result{Info: info}
	stackResources, err := s.analyze(ctx, resources, &out)
	if err != nil {
		return out, err
	}
	resp, err := s.Client.AnalyzeStack(ctx, &pulumirpc.AnalyzeStackRequest{Resources: stackResources})
	if err != nil {
		return out, fmt.Errorf("rpc AnalyzeStack: %w", err)
	}
	out.AnalyzeStack = resp.GetDiagnostics()
	return out, nil
}

// configure makes the calls the engine makes before analysis: Handshake,
// ConfigureStack, GetAnalyzerInfo, then Configure with the reconciled config.
func (s *Server) configure(ctx context.Context, stack Stack, policyConfig map[string]map[string]any) (*pulumirpc.AnalyzerInfo, error) {
	dir := PackDir()
	if _, err := s.Client.Handshake(ctx, &pulumirpc.AnalyzerHandshakeRequest{RootDirectory: &dir, ProgramDirectory: &dir}); err != nil {
		return nil, fmt.Errorf("rpc Handshake: %w", err)
	}
	if _, err := s.Client.ConfigureStack(ctx, &pulumirpc.AnalyzerStackConfigureRequest{
		Stack: stack.Name, Project: stack.Project, Organization: stack.Organization,
		Config: stack.Config, Tags: stack.Tags, DryRun: stack.DryRun,
	}); err != nil {
		return nil, fmt.Errorf("rpc ConfigureStack: %w", err)
	}
	info, err := s.Client.GetAnalyzerInfo(ctx, &emptypb.Empty{})
	if err != nil {
		return nil, fmt.Errorf("rpc GetAnalyzerInfo: %w", err)
	}
	conf, err := reconcile(info, policyConfig)
	if err != nil {
		return nil, err
	}
	if _, err := s.Client.Configure(ctx, &pulumirpc.ConfigureAnalyzerRequest{PolicyConfig: conf}); err != nil {
		return nil, fmt.Errorf("rpc Configure: %w", err)
	}
	return info, nil
}

// analyze calls Analyze on each resource in order, adding the diagnostics
// to out.Analyze, and returns the resources as AnalyzeStack takes them.
func (s *Server) analyze(ctx context.Context, resources []Resource, out *Result) ([]*pulumirpc.AnalyzerResource, error) {
	var stackResources []*pulumirpc.AnalyzerResource
	for _, r := range resources {
		props, provider, err := marshal(r)
		if err != nil {
			return nil, err
		}
		resp, err := s.Client.Analyze(ctx, &pulumirpc.AnalyzeRequest{
			Type: r.Type, Properties: props, Urn: r.URN, Name: r.Name,
			Options: &pulumirpc.AnalyzerResourceOptions{Parent: r.Parent}, Provider: provider,
		})
		if err != nil {
			return nil, fmt.Errorf("rpc Analyze %s: %w", r.URN, err)
		}
		out.Analyze = append(out.Analyze, resp.GetDiagnostics()...)
		stackResources = append(stackResources, &pulumirpc.AnalyzerResource{
			Type: r.Type, Properties: props, Urn: r.URN, Name: r.Name, Parent: r.Parent,
			Options: &pulumirpc.AnalyzerResourceOptions{Parent: r.Parent}, Provider: provider,
		})
	}
	return stackResources, nil
}

// marshal encodes a resource's inputs as the engine sends them (unknowns,
// secrets, resource references and output values kept) and its provider.
func marshal(r Resource) (*structpb.Struct, *pulumirpc.AnalyzerProviderResource, error) {
	props, err := plugin.MarshalProperties(r.Inputs, plugin.MarshalOptions{
		Label: r.URN, KeepUnknowns: true, KeepSecrets: true, KeepResources: true, KeepOutputValues: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("marshal %s: %w", r.URN, err)
	}
	var provider *pulumirpc.AnalyzerProviderResource
	if r.ProviderURN != "" {
		provider = &pulumirpc.AnalyzerProviderResource{Urn: r.ProviderURN, Type: providerType(r.ProviderURN), Properties: &structpb.Struct{}}
	}
	return props, provider, nil
}

func providerType(urn string) string {
	if u, err := resource.ParseURN(urn); err == nil {
		return string(u.Type())
	}
	return ""
}

// reconcile builds the Configure request the engine would send.
func reconcile(info *pulumirpc.AnalyzerInfo, given map[string]map[string]any) (map[string]*pulumirpc.PolicyConfig, error) {
	levels := map[string]pulumirpc.EnforcementLevel{
		"advisory": pulumirpc.EnforcementLevel_ADVISORY, "mandatory": pulumirpc.EnforcementLevel_MANDATORY,
		"disabled": pulumirpc.EnforcementLevel_DISABLED, "remediate": pulumirpc.EnforcementLevel_REMEDIATE,
	}
	out := map[string]*pulumirpc.PolicyConfig{}
	var errs []error
	for _, p := range info.GetPolicies() {
		props := map[string]any{}
		if schema := p.GetConfigSchema().GetProperties(); schema != nil {
			for k, v := range schema.AsMap() {
				if m, ok := v.(map[string]any); ok {
					if d, ok := m["default"]; ok {
						props[k] = d
					}
				}
			}
		}
		level := p.GetEnforcementLevel()
		for k, v := range given[p.GetName()] {
			if k == "enforcementLevel" {
				l, ok := levels[fmt.Sprint(v)]
				if !ok {
					errs = append(errs, fmt.Errorf("policy %s: enforcementLevel %v", p.GetName(), v))
				}
				level = l
				continue
			}
			props[k] = v
		}
		st, err := structpb.NewStruct(props)
		if err != nil {
			errs = append(errs, fmt.Errorf("policy %s config: %w", p.GetName(), err))
			continue
		}
		out[p.GetName()] = &pulumirpc.PolicyConfig{EnforcementLevel: level, Properties: st}
	}
	return out, errors.Join(errs...)
}
