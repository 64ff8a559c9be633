package stacks_test

// The release under the real Pulumi engine. The docker and random plugins
// cannot be downloaded here, so the engine attaches to in-process stand-ins
// (PULUMI_DEBUG_PROVIDERS) that behave like pulumi-docker where the release
// depends on it:
//
//   - Diff: a container whose inputs differ from its state is replaced, and
//     the provider asks for delete-before-replace (pulumi-docker does);
//   - Create/Read: a container's state is what the engine would report,
//     read back the way terraform-provider-docker reads it (cpus from
//     NanoCPUs, a default memory-swap of twice the memory, healthcheck
//     durations as time.Duration strings);
//   - Image: a build whose context changed gets a new image ID.
//
// Every call is recorded in order, so the tests can say what happened first.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/helloagents/infra/components/canonical"
	"github.com/helloagents/infra/policy/restype"
	"github.com/helloagents/infra/stacks"
	"github.com/helloagents/infra/stacks/config"
)

// call is one provider operation as the stand-in saw it.
type call struct {
	op   string // create, delete, update
	urn  resource.URN
	name string // the container's Docker name, when it is a container
}

// dockerSim is the stand-in docker (and random) provider.
type dockerSim struct {
	echoProvider
	mu    sync.Mutex
	calls []call
	// source is what the backend image is built from; changing it rebuilds
	// that image (the pgbackup and proxy builds are cached layers that do
	// not depend on the server's code, so their IDs stay).
	source string
}

var keep = plugin.MarshalOptions{KeepSecrets: true, KeepUnknowns: true, KeepResources: true}

func (p *dockerSim) record(op string, urn string, props resource.PropertyMap) {
	p.mu.Lock()
	defer p.mu.Unlock()
	name := ""
	if v, ok := props["name"]; ok && v.IsString() {
		name = v.StringValue()
	}
	p.calls = append(p.calls, call{op: op, urn: resource.URN(urn), name: name})
}

// log returns the recorded calls since the last reset and clears them.
func (p *dockerSim) take() []call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.calls
	p.calls = nil
	return out
}

func (p *dockerSim) setSource(s string) {
	p.mu.Lock()
	p.source = s
	p.mu.Unlock()
}

// state is what the engine reports for a resource created from inputs.
func (p *dockerSim) state(urn string, in resource.PropertyMap) resource.PropertyMap {
	out := in.Copy()
	switch resource.URN(urn).Type() {
	case restype.DockerContainer:
		if v, ok := in["cpus"]; ok && v.IsString() {
			r, _ := new(big.Rat).SetString(v.StringValue())
			f, _ := r.Float64()
			out["cpus"] = resource.NewProperty(canonical.DockerCPUs(f))
		}
		if _, ok := in["memorySwap"]; !ok && in["memory"].IsNumber() {
			out["memorySwap"] = resource.NewProperty(2 * in["memory"].NumberValue())
		}
		if hc, ok := in["healthcheck"]; ok && hc.IsObject() {
			h := hc.ObjectValue().Copy()
			for _, k := range []resource.PropertyKey{"interval", "timeout", "startPeriod"} {
				if v, ok := h[k]; ok && v.IsString() {
					d, _ := time.ParseDuration(v.StringValue())
					h[k] = resource.NewProperty(d.String())
				}
			}
			out["healthcheck"] = resource.NewObjectProperty(h)
		}
	case restype.DockerImage:
		name := in["imageName"].StringValue()
		if strings.HasPrefix(name, "helloagents-backend:") {
			p.mu.Lock()
			name += p.source
			p.mu.Unlock()
		}
		out["repoDigest"] = resource.NewProperty("sha256:" + digest(name))
	case restype.DockerRemoteImage:
		out["imageId"] = resource.NewProperty("sha256:" + digest(in["name"].StringValue()))
	case restype.RandomPassword:
		out["result"] = resource.MakeSecret(resource.NewProperty("stand-in-password-0123456789abcdef"))
	case "random:index/randomId:RandomId":
		out["b64Std"] = resource.NewProperty("c3RhbmQtaW4=" + digest(urn)[:8])
	case "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared":
		out["cname"] = resource.NewProperty(digest(urn)[:16] + ".cfargotunnel.com")
		out["tunnelToken"] = resource.MakeSecret(resource.NewProperty("token-" + digest(urn)[:16]))
	case "cloudflare:index/pagesProject:PagesProject":
		out["subdomain"] = resource.NewProperty(in["name"].StringValue() + ".pages.dev")
	}
	return out
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (p *dockerSim) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	in, err := plugin.UnmarshalProperties(req.GetProperties(), keep)
	if err != nil {
		return nil, err
	}
	if !req.GetPreview() {
		p.record("create", req.GetUrn(), in)
	}
	props, err := plugin.MarshalProperties(p.state(req.GetUrn(), in), keep)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: fmt.Sprintf("id-%d", time.Now().UnixNano()), Properties: props}, nil
}

// Diff compares the new inputs with the state as pulumi-docker does: an
// image whose build context changed is rebuilt in place; any other changed
// input of a container, network or volume replaces it, delete-before-
// replace unless the program overrides that. A Cloudflare resource (the
// production tests serve this stand-in for that provider too) is updated
// in place, as pulumi-cloudflare updates a load balancer's pools.
func (p *dockerSim) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), keep)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), keep)
	if err != nil {
		return nil, err
	}
	if resource.URN(req.GetUrn()).Type() == restype.DockerImage {
		if !p.state(req.GetUrn(), news)["repoDigest"].DeepEquals(olds["repoDigest"]) {
			return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: []string{"build"}}, nil
		}
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	var changed []string
	for k, v := range news {
		if o, ok := olds[k]; !ok || !o.DeepEquals(v) {
			changed = append(changed, string(k))
		}
	}
	// An input the program stopped setting but the state holds (a default
	// the engine filled in) is a change too, as memorySwap is.
	if _, set := news["memorySwap"]; !set && olds["memorySwap"].IsNumber() && news["memory"].IsNumber() &&
		olds["memorySwap"].NumberValue() != news["memory"].NumberValue()*2 {
		changed = append(changed, "memorySwap")
	}
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	slices.Sort(changed)
	if strings.HasPrefix(req.GetUrn(), "urn:pulumi:") && strings.HasPrefix(string(resource.URN(req.GetUrn()).Type()), "cloudflare:") {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: changed}, nil
	}
	return &pulumirpc.DiffResponse{
		Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: changed, Replaces: changed, DeleteBeforeReplace: true,
	}, nil
}

func (p *dockerSim) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	news, err := plugin.UnmarshalProperties(req.GetNews(), keep)
	if err != nil {
		return nil, err
	}
	if !req.GetPreview() {
		p.record("update", req.GetUrn(), news)
	}
	props, err := plugin.MarshalProperties(p.state(req.GetUrn(), news), keep)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Read is a refresh: the state is what the engine reports, unchanged.
func (p *dockerSim) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *dockerSim) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	old, err := plugin.UnmarshalProperties(req.GetProperties(), keep)
	if err != nil {
		return nil, err
	}
	p.record("delete", req.GetUrn(), old)
	return &emptypb.Empty{}, nil
}

// engineStack is the dev stack's program on the real engine, with the
// stand-in providers, in a private state backend.
type engineStack struct {
	sim   *dockerSim
	stack auto.Stack
	cfg   config.Config
	// cpus, when set, overrides the program's cpus input (a careless edit).
	cpus string
}

func newEngineStack(t *testing.T) *engineStack {
	t.Helper()
	dir := engineEnv(t, "release-test")
	es := &engineStack{sim: &dockerSim{echoProvider: echoProvider{version: "4.10.0"}, source: "generation 1"}}
	random := &dockerSim{echoProvider: echoProvider{version: "4.18.3"}}
	t.Setenv("PULUMI_DEBUG_PROVIDERS", fmt.Sprintf("docker:%d,random:%d", serve(t, es.sim), serve(t, random)))

	raw, err := config.ReadStackFile(filepath.Join("..", "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if es.cfg, err = config.Parse("dev", raw); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	es.stack, err = auto.UpsertStackInlineSource(ctx, "dev", project, es.program, auto.WorkDir(filepath.Join(dir, "work")))
	if err != nil {
		t.Fatalf("create stack: %v", err)
	}
	return es
}

func (es *engineStack) program(ctx *pulumi.Context) error {
	if es.cpus != "" {
		err := ctx.RegisterStackTransformation(func(a *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
			if c, ok := a.Props.(*docker.ContainerArgs); ok {
				c.Cpus = pulumi.String(es.cpus)
				return &pulumi.ResourceTransformationResult{Props: c, Opts: a.Opts}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	_, err := stacks.Platform(ctx, es.cfg)
	return err
}

func (es *engineStack) up(t *testing.T) auto.UpResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out lockedBuilder // both streams, copied from two goroutines
	res, err := es.stack.Up(ctx, optup.ProgressStreams(&out), optup.ErrorProgressStreams(&out))
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out.String())
	}
	return res
}

// previewNoChanges runs `pulumi preview --refresh --expect-no-changes`, the
// drift check, and returns its error and output.
func (es *engineStack) previewNoChanges(t *testing.T) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out lockedBuilder // both streams, copied from two goroutines
	_, err := es.stack.Preview(ctx, optpreview.Refresh(), optpreview.ExpectNoChanges(), optpreview.Diff(),
		optpreview.ProgressStreams(&out), optpreview.ErrorProgressStreams(&out))
	return out.String(), err
}

// serve starts an in-process provider the engine attaches to
// (PULUMI_DEBUG_PROVIDERS) and returns its port.
func serve(t *testing.T, p pulumirpc.ResourceProviderServer) int {
	t.Helper()
	cancel := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, p)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(cancel)
		if err := <-handle.Done; err != nil {
			t.Errorf("stand-in provider: %v", err)
		}
	})
	return handle.Port
}

// TestIdempotentUnderEngine deploys the dev stack, then runs the drift check
// (`preview --refresh --expect-no-changes`): the state the engine reads back
// equals what the program asks for, so nothing changes. The control: the
// same stack with cpus written as "1" (what the program once sent) fails the
// same check, so the check can fail.
func TestIdempotentUnderEngine(t *testing.T) {
	es := newEngineStack(t)
	es.up(t)
	es.sim.take()
	if out, err := es.previewNoChanges(t); err != nil {
		t.Fatalf("a no-change preview after up shows changes: %v\n%s", err, out)
	}
	res := es.up(t)
	if calls := es.sim.take(); len(calls) != 0 {
		t.Errorf("a no-change up called the provider: %v", calls)
	}
	for op, n := range *res.Summary.ResourceChanges {
		if op != "same" && n != 0 {
			t.Errorf("a no-change up: %d %s", n, op)
		}
	}
	es.cpus = "1"
	out, err := es.previewNoChanges(t)
	if err == nil || !strings.Contains(out, "cpus") {
		t.Errorf("cpus \"1\" (read back as \"1.0\") passed the no-change check: %v\n%s", err, out)
	}
}

// TestReleaseUnderEngine deploys the dev stack, changes the build context
// (a new backend image) and deploys again. The engine must create the new
// replica (under a new Docker name) before it deletes the old one, and must
// not touch Postgres, its volume, the backup job or the proxy.
func TestReleaseUnderEngine(t *testing.T) {
	es := newEngineStack(t)
	es.up(t)
	first := es.sim.take()
	es.sim.setSource("generation 2")
	es.up(t)
	release := es.sim.take()

	oldName := containerName(first, "backend-local-0")
	newCreate, oldDelete := -1, -1
	for i, c := range release {
		switch {
		case c.op == "create" && c.urn.Name() == "backend-local-0":
			newCreate = i
			if c.name == oldName {
				t.Errorf("the new replica reuses the Docker name %q", c.name)
			}
		case c.op == "delete" && c.urn.Name() == "backend-local-0":
			oldDelete = i
		}
		if strings.Contains(c.urn.Name(), "postgres") || strings.Contains(c.urn.Name(), "pgdata") ||
			strings.HasPrefix(c.urn.Name(), "proxy-") || strings.HasSuffix(c.urn.Name(), "-backup") {
			t.Errorf("a release touched %s (%s)", c.urn.Name(), c.op)
		}
	}
	t.Logf("release calls: %v", release)
	if newCreate < 0 || oldDelete < 0 {
		t.Fatalf("release did not replace the replica: %v", release)
	}
	if newCreate > oldDelete {
		t.Errorf("the old replica was deleted (call %d) before its successor was created (call %d)", oldDelete, newCreate)
	}
}

func containerName(calls []call, logical string) string {
	for _, c := range calls {
		if c.op == "create" && c.urn.Name() == logical {
			return c.name
		}
	}
	return ""
}
