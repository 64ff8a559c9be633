package components_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/proxy"
	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
)

// canaryService runs newBackend's service with a canary of canaryImg (none
// when empty) and returns the mock and the service.
func canaryService(t *testing.T, canaryImg string) (*mocktest.Monitor, *components.BackendService) {
	t.Helper()
	var svc *components.BackendService
	m := run(t, func(ctx *pulumi.Context) error {
		host, err := newHost(ctx, "unix:///var/run/docker.sock")
		if err != nil {
			return err
		}
		args := &components.BackendServiceArgs{
			Host: host, Image: pulumi.String("r/b@sha256:" + strings.Repeat("2", 64)),
			Pull: true, Replicas: 2, Port: 8000, User: "65532:65532",
			Limits:      components.Limits{MemoryMB: 512, CPUs: 1, MaxRestarts: 5},
			HealthCheck: healthcheck.Default(), HealthcheckCommand: []string{"CMD", "/server", "healthcheck"},
			MetricsPort: components.BackendMetricsPort,
			Env:         map[string]string{"APP_VERSION": "1"},
			SecretEnv:   map[string]pulumi.StringInput{"DATABASE_URL": secret("postgres://x")},
		}
		if canaryImg != "" {
			args.Canary = &components.CanaryArgs{Image: pulumi.String(canaryImg), Pull: true}
		}
		svc, err = components.NewBackendService(ctx, "backend-eu", args, host.Child())
		return err
	})
	return m, svc
}

// without drops the keys of props that legitimately differ between a
// stable replica and the canary.
func without(props resource.PropertyMap, keys ...string) resource.PropertyMap {
	out := props.Copy()
	for _, k := range keys {
		delete(out, resource.PropertyKey(k))
	}
	return out
}

// TestCanaryReplica: with a canary, exactly one more container, set up like
// a stable replica except for its image, IMAGE_FINGERPRINT, name, alias and
// label; without, none.
func TestCanaryReplica(t *testing.T) {
	canaryDigest := "sha256:" + strings.Repeat("9", 64)
	m, svc := canaryService(t, "r/b@"+canaryDigest)
	if n := m.Count(restype.DockerContainer); n != 3 {
		t.Fatalf("%d containers, want 2 stable replicas and 1 canary", n)
	}
	if n := m.Count(restype.DockerRemoteImage); n != 2 {
		t.Errorf("%d pulled images, want the stable and the canary image", n)
	}
	c, ok := m.Named(restype.DockerContainer, "backend-eu-canary-0")
	if !ok {
		t.Fatal("no container backend-eu-canary-0")
	}
	if !strings.HasSuffix(c.Parent, "helloagents:backend:BackendService::backend-eu") {
		t.Errorf("canary parent %s, want the BackendService component", c.Parent)
	}
	name := str(c, "name")
	if !regexp.MustCompile(`^helloagents-test-backend-canary-[0-9a-f]{10}-0$`).MatchString(name) {
		t.Errorf("canary name %q, want helloagents-test-backend-canary-<fingerprint>-0", name)
	}
	if got, _, _, _ := mocktest.Await(svc.CanaryContainer); got != name {
		t.Errorf("CanaryContainer output %v, want %q", got, name)
	}
	nets := arr(c.Inputs["networksAdvanced"])
	var aliases []string
	for _, n := range nets {
		if a := arr(mocktest.Unwrap(n).ObjectValue()["aliases"]); a != nil {
			aliases = append(aliases, mocktest.Strings(resource.NewArrayProperty(a))...)
		}
	}
	if !slices.Equal(aliases, []string{proxy.CanaryHost}) {
		t.Errorf("canary aliases %v, want only %s (never %s: the proxy weights it as a canary)", aliases, proxy.CanaryHost, components.BackendAlias)
	}
	if got := labelMap(c); got[labels.Canary] != "true" || got[labels.Role] != string(labels.RoleBackend) || got[labels.Region] != "eu" {
		t.Errorf("canary labels %v, want %s=true and the backend role", got, labels.Canary)
	}
	if env := mocktest.Strings(c.Inputs["envs"]); !slices.Contains(env, "IMAGE_FINGERPRINT="+canaryDigest) {
		t.Errorf("canary env %v lacks IMAGE_FINGERPRINT=%s", env, canaryDigest)
	}
	stable, ok := m.Named(restype.DockerContainer, "backend-eu-0")
	if !ok {
		t.Fatal("no stable replica 0")
	}
	if labelMap(stable)[labels.Canary] != "" {
		t.Errorf("stable replica labelled %s", labels.Canary)
	}
	// Everything else (user, read-only root, capabilities, limits,
	// healthcheck, wait, destroyGraceSeconds, stop signal, secrets, the
	// private network) is the stable replica's.
	differ := []string{"name", "image", "envs", "networksAdvanced", "labels"}
	if got, want := without(c.Inputs, differ...), without(stable.Inputs, differ...); !got.DeepEquals(want) {
		t.Errorf("canary settings differ from a stable replica's:\ncanary %v\nstable %v", got, want)
	}
	for _, k := range []string{"user", "readOnly", "capabilities", "destroyGraceSeconds", "securityOpts"} {
		if _, ok := c.Inputs[resource.PropertyKey(k)]; !ok {
			t.Errorf("canary lacks %s", k)
		}
	}
	cEnv, sEnv := mocktest.Strings(c.Inputs["envs"]), mocktest.Strings(stable.Inputs["envs"])
	if len(cEnv) != len(sEnv) {
		t.Errorf("canary env %v, stable env %v: want the same variables", cEnv, sEnv)
	}
	if c.DeleteBeforeReplace == nil || *c.DeleteBeforeReplace {
		t.Errorf("canary deleteBeforeReplace %v, want explicitly false (a new canary is healthy before the old one goes)", c.DeleteBeforeReplace)
	}

	m, svc = canaryService(t, "")
	if n := m.Count(restype.DockerContainer); n != 2 {
		t.Errorf("%d containers without a canary, want 2", n)
	}
	if got, _, _, _ := mocktest.Await(svc.CanaryContainer); got != "" {
		t.Errorf("CanaryContainer %v without a canary, want empty", got)
	}
}

// TestCanaryName: the canary's name follows its image, so a new canary
// starts beside the old one, and differs from any stable replica's even
// with the stable image.
func TestCanaryName(t *testing.T) {
	name := func(img string) string {
		m, _ := canaryService(t, img)
		c, ok := m.Named(restype.DockerContainer, "backend-eu-canary-0")
		if !ok {
			t.Fatal("no canary")
		}
		return str(c, "name")
	}
	a, b := name("r/b@sha256:"+strings.Repeat("7", 64)), name("r/b@sha256:"+strings.Repeat("8", 64))
	if a == b {
		t.Errorf("two canary images share the name %s", a)
	}
	same := name("r/b@sha256:" + strings.Repeat("2", 64))
	if !strings.Contains(same, "-canary-") {
		t.Errorf("canary of the stable image named %s", same)
	}
}

// TestProxyCanaryWeights: with CanaryWeight the proxy gets the weights of
// proxy.Weights; without, neither variable (the image's defaults); an
// impossible weight is an error naming the region.
func TestProxyCanaryWeights(t *testing.T) {
	for _, tc := range []struct {
		weight, replicas int
		want             []string
		err              string
	}{
		{weight: 0, replicas: 2},
		{weight: 10, replicas: 2, want: []string{"PROXY_STABLE_WEIGHT=9", "PROXY_CANARY_WEIGHT=2"}},
		{weight: 50, replicas: 1, want: []string{"PROXY_STABLE_WEIGHT=1", "PROXY_CANARY_WEIGHT=1"}},
		{weight: 10, replicas: 0, err: "proxy for region eu: canary weights need at least one stable and one canary replica"},
	} {
		t.Run(fmt.Sprintf("%d%%of%d", tc.weight, tc.replicas), func(t *testing.T) {
			if len(tc.want) > 0 {
				s, c, err := proxy.Weights(tc.weight, tc.replicas, 1)
				if err != nil || tc.want[0] != fmt.Sprintf("%s=%d", proxy.EnvStableWeight, s) || tc.want[1] != fmt.Sprintf("%s=%d", proxy.EnvCanaryWeight, c) {
					t.Fatalf("proxy.Weights(%d, %d, 1) = %d, %d, %v: the table is out of date", tc.weight, tc.replicas, s, c, err)
				}
			}
			m := mocktest.New()
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				host, err := newHost(ctx, "unix:///var/run/docker.sock")
				if err != nil {
					return err
				}
				_, err = components.NewProxy(ctx, "proxy-eu", &components.ProxyArgs{
					Host: host, Image: pulumi.String("r/proxy@sha256:" + strings.Repeat("4", 64)), Pull: true,
					Port: 8000, BackendPort: 8000, MaxReplicas: 3,
					Limits:       components.Limits{MemoryMB: 128, CPUs: 0.5, MaxRestarts: 5},
					CanaryWeight: tc.weight, Replicas: tc.replicas,
				}, host.Child())
				return err
			}, pulumi.WithMocks("helloagents", "test", m))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, ok := m.Named(restype.DockerContainer, "proxy-eu")
			if !ok {
				t.Fatal("no proxy")
			}
			var got []string
			for _, e := range mocktest.Strings(c.Inputs["envs"]) {
				if strings.HasPrefix(e, proxy.EnvStableWeight+"=") || strings.HasPrefix(e, proxy.EnvCanaryWeight+"=") {
					got = append(got, e)
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("proxy weight variables %v, want %v", got, want)
			}
		})
	}
}
