package rules

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/policy/restype"
)

// DockerfilePath resolves the Dockerfile of a docker.Image build exactly as
// pulumi-docker v4 does: `build.dockerfile` defaults to <context>/Dockerfile;
// a relative `build.dockerfile` or `build.context` is relative to the
// program's working directory (programDir; the process working directory
// when empty), not to the context.
func DockerfilePath(programDir, context, dockerfile string) (string, error) {
	base := programDir
	if base == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("working directory: %w", err)
		}
		base = wd
	}
	if context == "" {
		context = "."
	}
	if !filepath.IsAbs(context) {
		context = filepath.Join(base, context)
	}
	switch {
	case dockerfile == "":
		return filepath.Join(context, "Dockerfile"), nil
	case filepath.IsAbs(dockerfile):
		return filepath.Clean(dockerfile), nil
	}
	return filepath.Join(base, dockerfile), nil
}

// Besides docker.Image, the Terraform-bridged RemoteImage and RegistryImage
// (restype.DockerRemoteImage, restype.DockerRegistryImage) can build an image:
// their `build.dockerfile` is a name inside the context and their build
// args are `build.buildArgs`.

// builders maps the image-building types to how they name their inputs.
var builders = map[string]struct {
	argsKey             string
	dockerfileInContext bool
}{
	restype.DockerImage:         {"args", false},
	restype.DockerRemoteImage:   {"buildArgs", true},
	restype.DockerRegistryImage: {"buildArgs", true},
}

// ImagesRunAsNonRoot refuses an image built from a Dockerfile (docker Image,
// or RemoteImage/RegistryImage with a `build` block) whose built stage
// (build.target, or the last stage) ends without a USER or with a root USER.
// A base image's own USER cannot be seen from here, so the Dockerfile must
// say USER explicitly. A Dockerfile that cannot be read or parsed is refused
// too: the rule fails closed.
func ImagesRunAsNonRoot(r policyx.AnalyzerResource, c Context) []string {
	builder, ok := builders[r.Type]
	if !ok {
		return nil
	}
	if _, st := at(r.Properties, "build"); st != known {
		return nil // not built by this stack (or not known yet)
	}
	context, cst := stringAt(r.Properties, "build", "context")
	dockerfile, dst := stringAt(r.Properties, "build", "dockerfile")
	target, tst := stringAt(r.Properties, "build", "target")
	if cst == unknown || dst == unknown || tst == unknown {
		return nil
	}
	args := map[string]string{}
	if v, st := at(r.Properties, "build", builder.argsKey); st == known && v.IsMap() {
		for k, a := range v.AsMap().All {
			if a.IsComputed() {
				return nil // a build arg not known yet may be the USER
			}
			if a.IsString() {
				args[k] = a.AsString()
			}
		}
	}
	if builder.dockerfileInContext && dockerfile != "" && !filepath.IsAbs(dockerfile) {
		// Relative to the context: make it relative to the program
		// directory as DockerfilePath expects.
		dockerfile = filepath.Join(context, dockerfile)
	}
	path, err := DockerfilePath(c.Settings.ProgramDir, context, dockerfile)
	if err != nil {
		return []string{fmt.Sprintf("%s: cannot resolve the Dockerfile (context %q, dockerfile %q): %v", label(r), context, dockerfile, err)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{fmt.Sprintf("%s: cannot read Dockerfile %s (context %q, dockerfile %q, resolved against the program directory): %v; run the policy pack from the Pulumi program's directory or use absolute paths",
			label(r), path, context, dockerfile, err)}
	}
	u, err := EffectiveUser(data, args, target)
	if err != nil {
		return []string{fmt.Sprintf("%s: Dockerfile %s: %v", label(r), path, err)}
	}
	switch {
	case !u.Set:
		return []string{fmt.Sprintf("%s: Dockerfile %s, %s: no USER instruction, so the image runs as root (or whatever the base image says, which cannot be verified); add `USER 10001:10001` (a numeric non-root uid) to the final stage",
			label(r), path, u.Stage)}
	case IsRootUser(u.User):
		return []string{fmt.Sprintf("%s: Dockerfile %s, %s: effective USER is %q (root); end the final stage with `USER 10001:10001` (a numeric non-root uid)",
			label(r), path, u.Stage, u.User)}
	}
	return nil
}
