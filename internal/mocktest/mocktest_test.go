package mocktest_test

import (
	"slices"
	"testing"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
)

func TestMonitorRecordsInputsWithSecrets(t *testing.T) {
	m := mocktest.New()
	var digest pulumi.StringOutput
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		p, err := docker.NewProvider(ctx, "local", &docker.ProviderArgs{Host: pulumi.String("unix:///var/run/docker.sock")})
		if err != nil {
			return err
		}
		img, err := docker.NewRemoteImage(ctx, "img", &docker.RemoteImageArgs{Name: pulumi.String("postgres:15-alpine")}, pulumi.Provider(p))
		if err != nil {
			return err
		}
		digest = img.RepoDigest
		_, err = docker.NewContainer(ctx, "c", &docker.ContainerArgs{
			Image: img.ImageId,
			Envs:  pulumi.StringArray{pulumi.ToSecret(pulumi.String("PASSWORD=x")).(pulumi.StringOutput)},
			User:  pulumi.String("70:70"),
		}, pulumi.Provider(p))
		return err
	}, pulumi.WithMocks("helloagents", "dev", m))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Count(restype.DockerContainer); got != 1 {
		t.Fatalf("containers = %d, want 1", got)
	}
	c, ok := m.Named(restype.DockerContainer, "c")
	if !ok {
		t.Fatal("container c not recorded")
	}
	if c.Inputs["user"].StringValue() != "70:70" {
		t.Errorf("user = %v", c.Inputs["user"])
	}
	env := c.Inputs["envs"].ArrayValue()[0]
	if !env.IsSecret() && !c.Inputs["envs"].IsSecret() {
		t.Errorf("env not secret: %v", c.Inputs["envs"])
	}
	if c.Provider == "" {
		t.Error("explicit provider not recorded")
	}
	v, _, known, err := mocktest.Await(digest)
	if err != nil || !known || v.(string) != "postgres@sha256:"+v.(string)[len("postgres@sha256:"):] {
		t.Errorf("repoDigest = %v known=%v err=%v", v, known, err)
	}
}

func TestUnwrapAndStrings(t *testing.T) {
	plain := resource.NewArrayProperty([]resource.PropertyValue{
		resource.NewStringProperty("a"), resource.MakeSecret(resource.NewStringProperty("b")),
	})
	for _, tc := range []struct {
		name string
		v    resource.PropertyValue
		want []string
	}{
		{"plain list", plain, []string{"a", "b"}},
		{"secret list", resource.MakeSecret(plain), []string{"a", "b"}},
		{"secret of a secret", resource.MakeSecret(resource.MakeSecret(plain)), []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if mocktest.Unwrap(tc.v).IsSecret() {
				t.Error("Unwrap left a secret marker")
			}
			if got := mocktest.Strings(tc.v); !slices.Equal(got, tc.want) {
				t.Errorf("Strings = %q, want %q", got, tc.want)
			}
		})
	}
}
