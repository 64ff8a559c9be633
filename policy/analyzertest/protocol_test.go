package analyzertest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/helloagents/infra/policy/pack"
	"github.com/helloagents/infra/policy/restype"
)

const (
	container = restype.DockerContainer
	zone      = restype.ZoneSettings
	record    = restype.Record
	image     = restype.DockerImage
)

func res(stack, typ, name string, inputs map[string]any, secrets map[string]string) Resource {
	props := resource.NewPropertyMapFromMap(inputs)
	if len(secrets) > 0 {
		var envs []resource.PropertyValue
		if v, ok := props["envs"]; ok {
			envs = v.ArrayValue()
		}
		for k, v := range secrets {
			envs = append(envs, resource.MakeSecret(resource.NewProperty(k+"="+v)))
		}
		props["envs"] = resource.NewProperty(envs)
	}
	urn := resource.NewURN(tokens.QName(stack), "helloagents", "", tokens.Type(typ), name)
	return Resource{Type: typ, Name: name, URN: string(urn), Inputs: props,
		ProviderURN: "urn:pulumi:" + stack + "::helloagents::pulumi:providers:docker::eu"}
}

func backend(user string) map[string]any {
	return map[string]any{
		"image": "helloagents/backend@sha256:" + strings.Repeat("b", 64), "user": user, "readOnly": true,
		"capabilities": map[string]any{"drops": []any{"ALL"}},
		"healthcheck":  map[string]any{"tests": []any{"CMD", "/server", "healthcheck"}, "interval": "30s"},
		"envs":         []any{"PORT=8080", "CORS_ALLOWED_ORIGINS=https://app.example.dev"},
		// The backend's grace period (components.StopFor): it covers the
		// default drain, so containers-drain-before-kill passes.
		"destroyGraceSeconds": 30,
	}
}

func zoneSettings(alwaysUseHTTPS, minTLS string) map[string]any {
	return map[string]any{"zoneId": "zone-1", "settings": map[string]any{
		"alwaysUseHttps": alwaysUseHTTPS, "minTlsVersion": minTLS, "ssl": "strict"}}
}

// byURN groups diagnostics by resource URN as "policy/LEVEL" strings.
func byURN(ds []*pulumirpc.AnalyzeDiagnostic) map[string][]string {
	out := map[string][]string{}
	for _, d := range ds {
		out[d.GetUrn()] = append(out[d.GetUrn()], d.GetPolicyName()+"/"+d.GetEnforcementLevel().String())
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

func TestProtocol(t *testing.T) {
	bin := Build(t)
	programDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(programDir, "Dockerfile"), []byte("FROM debian AS build\nUSER 10001\nFROM debian\nUSER root\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := map[string]string{"DATABASE_URL": "postgres://app:hunter2@db:5432/app"}

	t.Run("staging refuses root user and always_use_https off, accepts good resources", func(t *testing.T) {
		srv := Start(t, bin, programDir)
		rootC := res("staging", container, "backend-root", backend("root"), secret)
		goodC := res("staging", container, "backend-good", backend("10001:10001"), secret)
		offZone := res("staging", zone, "zone-off", zoneSettings("off", "1.2"), nil)
		goodZone := res("staging", zone, "zone-good", zoneSettings("on", "1.2"), nil)
		rec := res("staging", record, "api", map[string]any{"zoneId": "zone-2", "name": "api", "type": "CNAME", "content": "x.cfargotunnel.com", "proxied": true}, nil)
		img := res("staging", image, "backend-image", map[string]any{"imageName": "helloagents/backend:staging", "build": map[string]any{"context": "."}}, nil)

		got := srv.Run(t, Stack{Name: "staging", Project: "helloagents"}, nil,
			[]Resource{rootC, goodC, offZone, goodZone, rec, img})

		if got.Info.GetName() != "helloagents-guardrails" || !got.Info.GetSupportsConfig() || len(got.Info.GetPolicies()) != len(pack.Specs()) {
			t.Fatalf("analyzer info: name %q, supportsConfig %v, %d policies", got.Info.GetName(), got.Info.GetSupportsConfig(), len(got.Info.GetPolicies()))
		}
		for _, p := range got.Info.GetPolicies() {
			if p.GetEnforcementLevel() != pulumirpc.EnforcementLevel_MANDATORY {
				t.Errorf("staging: policy %s is %s, want MANDATORY", p.GetName(), p.GetEnforcementLevel())
			}
		}
		diags := byURN(got.All())
		want := map[string][]string{
			rootC.URN:   {"containers-run-as-non-root/MANDATORY"},
			offZone.URN: {"https-only/MANDATORY"},
			rec.URN:     {"https-zone-settings-managed/MANDATORY"},
			img.URN:     {"images-run-as-non-root/MANDATORY"},
		}
		for urn, w := range want {
			if !slices.Equal(diags[urn], w) {
				t.Errorf("%s: got %v, want %v\n%s", urn, diags[urn], w, Format(got.All()))
			}
		}
		for _, urn := range []string{goodC.URN, goodZone.URN} {
			if len(diags[urn]) > 0 {
				t.Errorf("good resource %s reported: %v", urn, diags[urn])
			}
		}
		for _, d := range got.All() {
			if strings.Contains(d.GetMessage(), "hunter2") {
				t.Errorf("diagnostic leaks a secret: %s", d.GetMessage())
			}
			if d.GetPolicyName() == "containers-run-as-non-root" && !strings.Contains(d.GetMessage(), `user "root"`) {
				t.Errorf("message does not name the offending value: %s", d.GetMessage())
			}
		}
	})

	t.Run("secrets survive the wire", func(t *testing.T) {
		srv := Start(t, bin, programDir)
		plain := res("production", container, "backend-plain", with(backend("10001"), "envs", []any{"PORT=8080", "DATABASE_URL=postgres://app:pw@db/app"}), nil)
		sealed := res("production", container, "backend-sealed", backend("10001"), secret)
		got := srv.Run(t, Stack{Name: "production", Project: "helloagents"}, nil, []Resource{plain, sealed})
		diags := byURN(got.All())
		if !slices.Equal(diags[plain.URN], []string{"secrets-are-secret/MANDATORY"}) || len(diags[sealed.URN]) != 0 {
			t.Errorf("got %v\n%s", diags, Format(got.All()))
		}
	})

	t.Run("environment from config: dev relaxes", func(t *testing.T) {
		srv := Start(t, bin, programDir)
		c := with(backend("10001"), "readOnly", false, "networkMode", "host")
		devC := res("laptop", container, "backend", c, secret)
		got := srv.Run(t, Stack{Name: "laptop", Project: "helloagents", Config: map[string]string{"helloagents:environment": "dev"}}, nil, []Resource{devC})
		if diags := byURN(got.All()); !slices.Equal(diags[devC.URN], []string{"containers-read-only-root-filesystem/ADVISORY"}) {
			t.Errorf("dev: got %v, want only the advisory read-only finding\n%s", diags[devC.URN], Format(got.All()))
		}
	})

	t.Run("preview: unknown values are not judged and do not fail the analysis", func(t *testing.T) {
		srv := Start(t, bin, programDir)
		c := res("staging", container, "backend", backend("10001"), nil)
		c.Inputs["user"] = resource.MakeComputed(resource.NewProperty(""))
		c.Inputs["envs"] = resource.NewProperty([]resource.PropertyValue{
			resource.NewProperty("PORT=8080"),
			resource.NewProperty(resource.Output{Known: false, Secret: true}),
			resource.MakeComputed(resource.NewProperty("")),
		})
		z := res("staging", zone, "zone", zoneSettings("on", "1.2"), nil)
		z.Inputs["zoneId"] = resource.NewProperty(resource.Output{Known: false})
		got := srv.Run(t, Stack{Name: "staging", Project: "helloagents", DryRun: true}, nil, []Resource{c, z})
		if len(got.All()) != 0 {
			t.Errorf("unknown values judged:\n%s", Format(got.All()))
		}
	})

	t.Run("policy config: minimum TLS, retention, enforcement level", func(t *testing.T) {
		srv := Start(t, bin, programDir)
		z := res("production", zone, "zone", zoneSettings("on", "1.2"), nil)
		rootC := res("production", container, "backend-root", backend("0"), secret)
		job := res("production", container, "backup", map[string]any{"user": "10001", "readOnly": true,
			"envs": []any{"BACKUP_DESTINATION=s3://b/p", "BACKUP_RETENTION_DAYS=14"}}, secret)
		got := srv.Run(t, Stack{Name: "production", Project: "helloagents"}, map[string]map[string]any{
			"https-only":                 {"minimumTlsVersion": "1.3"},
			"backups-retention":          {"minimumRetentionDays": 30},
			"containers-run-as-non-root": {"enforcementLevel": "advisory"},
		}, []Resource{z, rootC, job})
		diags := byURN(got.All())
		for urn, w := range map[string][]string{
			z.URN:     {"https-only/MANDATORY"},
			rootC.URN: {"containers-run-as-non-root/ADVISORY"},
			job.URN:   {"backups-retention/MANDATORY"},
		} {
			if !slices.Equal(diags[urn], w) {
				t.Errorf("%s: got %v, want %v\n%s", urn, diags[urn], w, Format(got.All()))
			}
		}
	})
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}
