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
	b, ok := imageBuildOf(r)
	if !ok {
		return nil
	}
	path, u, problem := b.effectiveUser(c.Settings.ProgramDir)
	if problem == "" {
		problem = rootUserProblem(path, u)
	}
	if problem == "" {
		return nil
	}
	return []string{fmt.Sprintf("%s: %s", label(r), problem)}
}

// imageBuild is the build block of an image, its dockerfile relative to the
// program directory as DockerfilePath expects.
type imageBuild struct {
	context, dockerfile, target string
	args                        map[string]string
}

// imageBuildOf reads an image's build block; ok is false when the image is
// not built by this stack, or an input that may decide its USER is not known
// yet.
func imageBuildOf(r policyx.AnalyzerResource) (b imageBuild, ok bool) {
	builder, ok := builders[r.Type]
	if !ok {
		return b, false
	}
	if _, st := at(r.Properties, "build"); st != known {
		return b, false
	}
	var cst, dst, tst state
	b.context, cst = stringAt(r.Properties, "build", "context")
	b.dockerfile, dst = stringAt(r.Properties, "build", "dockerfile")
	b.target, tst = stringAt(r.Properties, "build", "target")
	if cst == unknown || dst == unknown || tst == unknown {
		return b, false
	}
	if b.args, ok = buildArgs(r, builder.argsKey); !ok {
		return b, false
	}
	if builder.dockerfileInContext && b.dockerfile != "" && !filepath.IsAbs(b.dockerfile) {
		b.dockerfile = filepath.Join(b.context, b.dockerfile)
	}
	return b, true
}

// buildArgs are an image's string build args; ok is false when one is not
// known yet, as it may be the USER.
func buildArgs(r policyx.AnalyzerResource, key string) (map[string]string, bool) {
	args := map[string]string{}
	v, st := at(r.Properties, "build", key)
	if st != known || !v.IsMap() {
		return args, true
	}
	for k, a := range v.AsMap().All {
		if a.IsComputed() {
			return nil, false
		}
		if a.IsString() {
			args[k] = a.AsString()
		}
	}
	return args, true
}

// effectiveUser finds, reads and parses the image's Dockerfile. When it
// cannot, problem says why: the rule fails closed.
func (b imageBuild) effectiveUser(programDir string) (path string, u StageUser, problem string) {
	path, err := DockerfilePath(programDir, b.context, b.dockerfile)
	if err != nil {
		return "", u, fmt.Sprintf("cannot resolve the Dockerfile (context %q, dockerfile %q): %v", b.context, b.dockerfile, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return path, u, fmt.Sprintf("cannot read Dockerfile %s (context %q, dockerfile %q, resolved against the program directory): %v; run the policy pack from the Pulumi program's directory or use absolute paths",
			path, b.context, b.dockerfile, err)
	}
	u, err = EffectiveUser(data, b.args, b.target)
	if err != nil {
		return path, u, fmt.Sprintf("Dockerfile %s: %v", path, err)
	}
	return path, u, ""
}

// rootUserProblem says why the built stage runs as root ("" if it does not).
// A base image's own USER cannot be seen, so a stage without USER is root.
func rootUserProblem(path string, u StageUser) string {
	switch {
	case !u.Set:
		return fmt.Sprintf("Dockerfile %s, %s: no USER instruction, so the image runs as root (or whatever the base image says, which cannot be verified); add `USER 10001:10001` (a numeric non-root uid) to the final stage",
			path, u.Stage)
	case IsRootUser(u.User):
		return fmt.Sprintf("Dockerfile %s, %s: effective USER is %q (root); end the final stage with `USER 10001:10001` (a numeric non-root uid)",
			path, u.Stage, u.User)
	}
	return ""
}
