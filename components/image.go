package components

import (
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ImageArgs describe one image built from the backend module.
type ImageArgs struct {
	// Repository is a local name (dev) or a registry repository (pushed).
	Repository string
	// Tag of the built image ("dev", "staging").
	Tag string
	// Context is the build context (stacks/config.BackendContext()) and Dockerfile
	// the Dockerfile path inside it, both absolute.
	Context    string
	Dockerfile string
	// Push sends the image to Registry and exports its repo digest; without
	// it the image stays on the build engine (dev).
	Push     bool
	Registry *RegistryAuth
	// Provider is the engine that builds.
	Provider *docker.Provider
}

// Image builds an image from backend/ with pulumi-docker. Ref is what the
// regions run: the repo digest (repo@sha256:...) of a pushed image, so every
// region runs exactly the bytes that were built, or in dev the local image
// ID (sha256:...).
type Image struct {
	pulumi.ResourceState

	Ref pulumi.StringOutput
}

// NewImage builds (and pushes) the image.
func NewImage(ctx *pulumi.Context, name string, args *ImageArgs, opts ...pulumi.ResourceOption) (*Image, error) {
	im := &Image{}
	if err := ctx.RegisterComponentResource("helloagents:backend:Image", name, im, opts...); err != nil {
		return nil, err
	}
	iargs := &docker.ImageArgs{
		ImageName: pulumi.String(args.Repository + ":" + args.Tag),
		Build: &docker.DockerBuildArgs{
			Context:        pulumi.String(args.Context),
			Dockerfile:     pulumi.String(args.Dockerfile),
			BuilderVersion: docker.BuilderVersionBuilderBuildKit,
		},
		SkipPush: pulumi.Bool(!args.Push),
	}
	if args.Push && args.Registry != nil {
		iargs.Registry = &docker.RegistryArgs{
			Server:   pulumi.String(args.Registry.Server),
			Username: pulumi.String(args.Registry.Username),
			Password: args.Registry.Password,
		}
	}
	img, err := docker.NewImage(ctx, name, iargs, pulumi.Parent(im), pulumi.Provider(args.Provider))
	if err != nil {
		return nil, err
	}
	// pulumi-docker reports the pushed manifest digest, or for a local image
	// its image ID (sha256:...): either way a rebuild changes Ref and so
	// replaces the containers that run it.
	im.Ref = img.RepoDigest
	if err := ctx.RegisterResourceOutputs(im, pulumi.Map{"ref": im.Ref}); err != nil {
		return nil, err
	}
	return im, nil
}
