package delivery

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// The checks of the security promises (docs/DELIVERY.md, "Security
// scanning"). They take their input as arguments, so the tests run them on
// the repository's files and on planted bad inputs alike.

// usesLine matches a `uses:` line and its trailing comment.
var usesLine = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*["']?([^\s"'#]+)["']?\s*(?:#\s*(.*))?$`)

// pinnedRef is owner/repo[/path]@<full commit SHA>; the comment names the
// release it is: vX.Y.Z.
var (
	pinnedRef  = regexp.MustCompile(`^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$`)
	versionTag = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)
)

// pinErrors lists the `uses:` of a workflow or composite action (src, named
// name) that are not pinned by a full commit SHA with the release in a
// comment: a tag or branch can be moved to other code after review. Local
// actions (./...) are part of the repository; a docker:// image must name
// its digest.
func pinErrors(name string, src []byte) []string {
	var errs []string
	for i, line := range strings.Split(string(src), "\n") {
		m := usesLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ref, comment := m[1], strings.TrimSpace(m[2])
		switch {
		case strings.HasPrefix(ref, "./"):
		case strings.HasPrefix(ref, "docker://"):
			if !strings.Contains(ref, "@sha256:") {
				errs = append(errs, fmt.Sprintf("%s:%d: %s: a container action must name its digest (@sha256:...)", name, i+1, ref))
			}
		case !pinnedRef.MatchString(ref):
			errs = append(errs, fmt.Sprintf("%s:%d: %s is not pinned by a full commit SHA (owner/repo@<40 hex> # vX.Y.Z)", name, i+1, ref))
		case !versionTag.MatchString(comment):
			errs = append(errs, fmt.Sprintf("%s:%d: %s: the comment %q must name the release the SHA is (# vX.Y.Z)", name, i+1, ref, comment))
		}
	}
	return errs
}

// scanner is the image scanner every workflow uses.
const scanner = "aquasecurity/trivy-action@"

// isImageScan reports whether s scans an image for vulnerabilities (not a
// Trivy run that only writes an SBOM).
func isImageScan(s *actionlint.Step) bool {
	if !strings.HasPrefix(uses(s), scanner) || input(s, "image-ref") == "" {
		return false
	}
	f := input(s, "format")
	return !strings.Contains(f, "spdx") && !strings.Contains(f, "cyclonedx")
}

// scanSettingErrors checks that a scan fails the job on a fixable critical
// or high finding, honouring (only) the repository's ignore file.
func scanSettingErrors(where string, s *actionlint.Step) []string {
	var errs []string
	for in, want := range map[string]string{"exit-code": "1", "ignore-unfixed": "true", "trivyignores": ".trivyignore.yaml"} {
		if got := input(s, in); got != want {
			errs = append(errs, fmt.Sprintf("%s: scan %q has %s %q, want %q", where, str(s.Name), in, got, want))
		}
	}
	sev := strings.Split(input(s, "severity"), ",")
	if !slices.Contains(sev, "CRITICAL") || !slices.Contains(sev, "HIGH") {
		errs = append(errs, fmt.Sprintf("%s: scan %q has severity %q, want CRITICAL,HIGH", where, str(s.Name), input(s, "severity")))
	}
	return errs
}

// pushesImages reports whether s pushes images: `pulumi up` builds and
// pushes staging's images; a build-push-action or `docker push` also does.
func pushesImages(s *actionlint.Step) bool {
	return input(s, "command") == "up" || strings.Contains(script(s), "pulumi up") ||
		strings.Contains(script(s), "docker push") ||
		strings.HasPrefix(uses(s), "docker/build-push-action@") && input(s, "push") == "true"
}

// ancestors returns the jobs id needs, transitively.
func ancestors(w *actionlint.Workflow, id string) []string {
	var out []string
	var visit func(string)
	visit = func(id string) {
		j := w.Jobs[id]
		if j == nil {
			return
		}
		for _, n := range j.Needs {
			if name := strings.ToLower(str(n)); !slices.Contains(out, name) {
				out = append(out, name)
				visit(name)
			}
		}
	}
	visit(id)
	return out
}

// dockerfiles returns the Dockerfiles job j builds, expanding
// ${{ matrix.image.dockerfile }} over the matrix rows.
func dockerfiles(j *actionlint.Job) []string {
	var out []string
	for _, s := range j.Steps {
		if !strings.HasPrefix(uses(s), "docker/build-push-action@") {
			continue
		}
		f := input(s, "file")
		m := regexp.MustCompile(`^\$\{\{\s*matrix\.(\w+)\.(\w+)\s*\}\}$`).FindStringSubmatch(f)
		if m == nil {
			out = append(out, f)
			continue
		}
		if j.Strategy == nil || j.Strategy.Matrix == nil || j.Strategy.Matrix.Rows[m[1]] == nil {
			continue
		}
		for _, v := range j.Strategy.Matrix.Rows[m[1]].Values {
			if o, ok := v.(*actionlint.RawYAMLObject); ok {
				if s, ok := o.Props[m[2]].(*actionlint.RawYAMLString); ok {
					out = append(out, s.Value)
				}
			}
		}
	}
	return out
}

// scanBeforePushErrors checks workflow name: every step that pushes images
// comes after a scan of each of the Dockerfiles in want, a scan counting when
// it runs earlier in the same job (after that job's build) or in a job the
// pushing job needs. Every scan must fail on findings.
func scanBeforePushErrors(name string, w *actionlint.Workflow, want []string) []string {
	var errs []string
	pushed := false
	for id, j := range w.Jobs {
		for _, s := range j.Steps {
			if isImageScan(s) {
				errs = append(errs, scanSettingErrors(name+" job "+id, s)...)
			}
		}
	}
	for id, j := range w.Jobs {
		push := index(j.Steps, pushesImages)
		if push < 0 {
			continue
		}
		pushed = true
		var scanned []string
		for _, a := range ancestors(w, id) {
			if aj := w.Jobs[a]; aj != nil && index(aj.Steps, isImageScan) >= 0 {
				scanned = append(scanned, dockerfiles(aj)...)
			}
		}
		if scan := index(j.Steps, isImageScan); scan >= 0 && scan < push {
			scanned = append(scanned, dockerfiles(&actionlint.Job{Steps: j.Steps[:scan], Strategy: j.Strategy})...)
		}
		for _, f := range want {
			if !slices.Contains(scanned, f) {
				errs = append(errs, fmt.Sprintf("%s job %s pushes images (step %d %q) but %s is not scanned before: scan it in a job this one needs, or earlier in this job",
					name, id, push, str(j.Steps[push].Name), f))
			}
		}
	}
	if !pushed {
		errs = append(errs, name+": no step pushes images (pulumi up); nothing to check the scans against")
	}
	return errs
}

// promoteScanErrors checks the promotion job: each of staging's image
// outputs is scanned, and the attestations verified, before infra/promote
// runs.
func promoteScanErrors(w *actionlint.Workflow, outputs []string) []string {
	j := w.Jobs["promote"]
	if j == nil {
		return []string{"promote.yml has no job promote"}
	}
	run := index(j.Steps, func(s *actionlint.Step) bool { return strings.Contains(script(s), "go run ./infra/promote") })
	if run < 0 {
		return []string{"promote.yml: no step runs infra/promote"}
	}
	var errs []string
	// The step images reads each output from staging (and refuses one that
	// is not a pushed digest); the scans and the verify step use its outputs.
	images := index(j.Steps, func(s *actionlint.Step) bool { return s.ID != nil && str(s.ID) == "images" })
	if images < 0 || images > run {
		errs = append(errs, fmt.Sprintf("promote.yml: no step with id images reads staging's images before the promotion (steps %d, %d)", images, run))
	}
	for _, out := range outputs {
		if images >= 0 && !strings.Contains(script(j.Steps[images]), out) {
			errs = append(errs, fmt.Sprintf("promote.yml: step images does not read staging's %s", out))
		}
		scan := index(j.Steps, func(s *actionlint.Step) bool {
			return isImageScan(s) && strings.Contains(input(s, "image-ref"), "outputs."+out+" ")
		})
		switch {
		case scan < 0:
			errs = append(errs, fmt.Sprintf("promote.yml: staging's %s is never scanned", out))
		case scan > run:
			errs = append(errs, fmt.Sprintf("promote.yml: staging's %s is scanned (step %d) after the promotion (step %d)", out, scan, run))
		default:
			errs = append(errs, scanSettingErrors("promote.yml", j.Steps[scan])...)
		}
	}
	verify := index(j.Steps, func(s *actionlint.Step) bool { return strings.Contains(script(s), "gh attestation verify") })
	if verify < 0 || verify > run {
		errs = append(errs, fmt.Sprintf("promote.yml: the attestations must be verified (gh attestation verify) before the promotion (steps %d, %d)", verify, run))
		return errs
	}
	// The verify step loops over images it takes from the images step's
	// outputs (in its script or its environment).
	var refs []string
	if s := j.Steps[verify]; s.Env != nil {
		for _, v := range s.Env.Vars {
			refs = append(refs, str(v.Value))
		}
	}
	refs = append(refs, script(j.Steps[verify]))
	for _, out := range outputs {
		if !slices.ContainsFunc(refs, func(r string) bool { return strings.Contains(r, "outputs."+out+" ") }) {
			errs = append(errs, fmt.Sprintf("promote.yml: the attestations of staging's %s are never verified (step %d)", out, verify))
		}
	}
	return errs
}

// ignoreFile is Trivy's YAML ignore file (.trivyignore.yaml).
type ignoreFile struct {
	Vulnerabilities   []ignoreEntry `yaml:"vulnerabilities"`
	Misconfigurations []ignoreEntry `yaml:"misconfigurations"`
	Secrets           []ignoreEntry `yaml:"secrets"`
	Licenses          []ignoreEntry `yaml:"licenses"`
}

type ignoreEntry struct {
	ID        string   `yaml:"id"`
	Statement string   `yaml:"statement"`
	ExpiredAt string   `yaml:"expired_at"`
	Paths     []string `yaml:"paths"`
	PURLs     []string `yaml:"purls"`
}

// maxIgnore is how far ahead an ignore entry may expire: each accepted
// finding is looked at again at least this often.
const maxIgnore = 90 * 24 * time.Hour

// ignoreErrors checks every entry of an ignore file: an id, a reason
// (statement) and an expiry date that is after today and at most maxIgnore
// ahead. Unknown keys are refused: a misspelt field would silently turn an
// entry into a permanent one.
func ignoreErrors(src []byte, today time.Time) []string {
	var f ignoreFile
	dec := yaml.NewDecoder(strings.NewReader(string(src)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && err.Error() != "EOF" {
		return []string{fmt.Sprintf("ignore file: %v", err)}
	}
	var errs []string
	sections := []struct {
		name    string
		entries []ignoreEntry
	}{{"vulnerabilities", f.Vulnerabilities}, {"misconfigurations", f.Misconfigurations}, {"secrets", f.Secrets}, {"licenses", f.Licenses}}
	for _, sec := range sections {
		for i, e := range sec.entries {
			where := fmt.Sprintf("%s[%d] %s", sec.name, i, e.ID)
			if e.ID == "" {
				errs = append(errs, where+": no id")
			}
			if strings.TrimSpace(e.Statement) == "" {
				errs = append(errs, where+": no statement: say why the finding is accepted and who reviews it")
			}
			exp, err := time.Parse(time.DateOnly, e.ExpiredAt)
			switch {
			case e.ExpiredAt == "":
				errs = append(errs, where+": no expired_at: every accepted finding expires")
			case err != nil:
				errs = append(errs, fmt.Sprintf("%s: expired_at %q is not a date (YYYY-MM-DD)", where, e.ExpiredAt))
			case !exp.After(today):
				errs = append(errs, fmt.Sprintf("%s: expired on %s: fix the finding, or review it and set a new date", where, e.ExpiredAt))
			case exp.Sub(today) > maxIgnore:
				errs = append(errs, fmt.Sprintf("%s: expires %s, more than %d days ahead", where, e.ExpiredAt, int(maxIgnore.Hours()/24)))
			}
		}
	}
	return errs
}
