package delivery

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rhysd/actionlint"

	"github.com/helloagents/infra/contract"
)

// stagingImages are the image outputs of the staging stack, which a
// promotion moves: every output of the contract named *Image (backendImage,
// backupImage, proxyImage, postgresImage and the monitoring images'
// prometheusImage, alertmanagerImage, pgexporterImage), so an image added to
// the program must be scanned and verified by promote.yml too.
func stagingImages(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, o := range contract.Outputs() {
		if strings.HasSuffix(o, "Image") {
			out = append(out, o)
		}
	}
	if n := len(backendDockerfiles(t)); len(out) != n {
		t.Fatalf("the contract has %d image outputs %q for %d Dockerfiles in backend/: one output per image", len(out), out, n)
	}
	return out
}

// imageNames are the workflows' names of the images built from
// dockerfiles: backend/Dockerfile is "backend", backend/<name>.Dockerfile
// is <name> (the repository the program pushes it to).
func imageNames(dockerfiles []string) []string {
	var out []string
	for _, f := range dockerfiles {
		name := strings.TrimSuffix(filepath.Base(f), ".Dockerfile")
		if name == "Dockerfile" {
			name = "backend"
		}
		out = append(out, name)
	}
	return out
}

// backendDockerfiles are the Dockerfiles of the images staging builds.
func backendDockerfiles(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(repoRoot(t), "backend", "*Dockerfile"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no Dockerfiles in backend/ (%v)", err)
	}
	var out []string
	for _, f := range m {
		out = append(out, "backend/"+filepath.Base(f))
	}
	return out
}

func read(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseBytes(t *testing.T, src []byte) *actionlint.Workflow {
	t.Helper()
	w, errs := actionlint.Parse(src)
	if len(errs) > 0 {
		t.Fatalf("parse: %v", errs[0])
	}
	return w
}

// TestActionsPinnedBySHA: every `uses:` of the workflows and the local
// composite actions names a full commit SHA and, in a comment, its release.
func TestActionsPinnedBySHA(t *testing.T) {
	files := workflowFiles(t)
	actions, err := filepath.Glob(filepath.Join(repoRoot(t), ".github", "actions", "*", "action.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, actions...) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range pinErrors(relPath(repoRoot(t), f), src) {
			t.Error(e)
		}
	}
}

func TestPinCheckCatchesUnpinned(t *testing.T) {
	const sha = "fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09"
	tests := []struct {
		name, line string
		bad        bool
	}{
		{"pinned", "      - uses: actions/checkout@" + sha + " # v5.1.0", false},
		{"pinned, path inside the repository", "        uses: github/codeql-action/init@" + sha + " # v3.29.2", false},
		{"local action", "      - uses: ./.github/actions/docker-hosts-ssh", false},
		{"major tag", "      - uses: actions/checkout@v5", true},
		{"full tag", "        uses: aquasecurity/trivy-action@v0.36.0 # v0.36.0", true},
		{"branch", "      - uses: actions/checkout@main", true},
		{"short SHA", "      - uses: actions/checkout@fbc6f39 # v5.1.0", true},
		{"SHA without its release", "      - uses: actions/checkout@" + sha, true},
		{"comment that is no release", "      - uses: actions/checkout@" + sha + " # latest", true},
		{"quoted and unpinned", `      - uses: "actions/checkout@v5"`, true},
		{"container by tag", "      - uses: docker://alpine:3.20", true},
		{"container by digest", "      - uses: docker://alpine@sha256:" + strings.Repeat("a", 64), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "jobs:\n  x:\n    steps:\n" + tt.line + "\n"
			errs := pinErrors("planted.yml", []byte(src))
			if (len(errs) > 0) != tt.bad {
				t.Errorf("errors %q, want bad=%v", errs, tt.bad)
			}
		})
	}
}

// TestDeployScansBeforePush: deploy.yml scans every image staging builds
// before `pulumi up` pushes any (the scan job is a need of the deploy job),
// and each scan fails on a fixable critical or high finding.
func TestDeployScansBeforePush(t *testing.T) {
	for _, e := range scanBeforePushErrors("deploy.yml", parse(t, "deploy.yml"), backendDockerfiles(t)) {
		t.Error(e)
	}
	// ci.yml scans the same images on every pull request.
	ci := parse(t, "ci.yml").Jobs["image"]
	if ci == nil || index(ci.Steps, isImageScan) < 0 {
		t.Fatal("ci.yml job image does not scan the images")
	}
	if got := dockerfiles(ci); !sameSet(got, backendDockerfiles(t)) {
		t.Errorf("ci.yml builds and scans %q, want every backend Dockerfile %q", got, backendDockerfiles(t))
	}
	for _, e := range scanSettingErrors("ci.yml", ci.Steps[index(ci.Steps, isImageScan)]) {
		t.Error(e)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// TestScanOrderCheckCatchesPlantedFaults feeds deploy.yml with planted
// faults to the check above: each must be caught.
func TestScanOrderCheckCatchesPlantedFaults(t *testing.T) {
	want := backendDockerfiles(t)
	tests := []struct {
		name   string
		plant  func(w *actionlint.Workflow)
		expect string
	}{
		{name: "as committed", plant: func(*actionlint.Workflow) {}},
		{name: "deploy no longer waits for the scans", plant: func(w *actionlint.Workflow) { w.Jobs["staging"].Needs = nil },
			expect: "is not scanned before"},
		{name: "scan step moved after the push", plant: func(w *actionlint.Workflow) {
			img, st := w.Jobs["images"], w.Jobs["staging"]
			st.Needs, st.Strategy = nil, img.Strategy
			up := index(st.Steps, pushesImages)
			// build and scan now run in the deploy job, right after pulumi up
			moved := append([]*actionlint.Step{}, st.Steps[:up+1]...)
			moved = append(moved, img.Steps...)
			st.Steps = append(moved, st.Steps[up+1:]...)
			delete(w.Jobs, "images")
		}, expect: "is not scanned before"},
		{name: "scan step before the push in the same job", plant: func(w *actionlint.Workflow) {
			img, st := w.Jobs["images"], w.Jobs["staging"]
			st.Needs, st.Strategy = nil, img.Strategy
			st.Steps = append(append([]*actionlint.Step{}, img.Steps...), st.Steps...)
			delete(w.Jobs, "images")
		}},
		{name: "an image left out of the scan", plant: func(w *actionlint.Workflow) {
			row := w.Jobs["images"].Strategy.Matrix.Rows["image"]
			row.Values = slices.DeleteFunc(slices.Clone(row.Values), func(v actionlint.RawYAMLValue) bool {
				return strings.Contains(v.String(), "proxy.Dockerfile")
			})
		}, expect: "backend/proxy.Dockerfile is not scanned before"},
		{name: "a monitoring image left out of the scan", plant: func(w *actionlint.Workflow) {
			row := w.Jobs["images"].Strategy.Matrix.Rows["image"]
			row.Values = slices.DeleteFunc(slices.Clone(row.Values), func(v actionlint.RawYAMLValue) bool {
				return strings.Contains(v.String(), "alertmanager.Dockerfile")
			})
		}, expect: "backend/alertmanager.Dockerfile is not scanned before"},
		{name: "a scan that never fails", plant: func(w *actionlint.Workflow) {
			s := w.Jobs["images"].Steps[index(w.Jobs["images"].Steps, isImageScan)]
			setInput(s, "exit-code", "0")
		}, expect: `exit-code "0"`},
		{name: "a scan that ignores high findings", plant: func(w *actionlint.Workflow) {
			s := w.Jobs["images"].Steps[index(w.Jobs["images"].Steps, isImageScan)]
			setInput(s, "severity", "CRITICAL")
		}, expect: "want CRITICAL,HIGH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := parseBytes(t, read(t, ".github/workflows/deploy.yml"))
			tt.plant(w)
			errs := strings.Join(scanBeforePushErrors("deploy.yml", w, want), "\n")
			if tt.expect == "" && errs != "" {
				t.Fatalf("unexpected errors:\n%s", errs)
			}
			if !strings.Contains(errs, tt.expect) {
				t.Fatalf("errors %q, want one containing %q", errs, tt.expect)
			}
		})
	}
}

func setInput(s *actionlint.Step, name, value string) {
	for _, in := range s.Exec.(*actionlint.ExecAction).Inputs {
		if strings.EqualFold(str(in.Name), name) {
			in.Value = &actionlint.String{Value: value}
		}
	}
}

// TestDeployAttestsEveryPushedImage: after the push, each of the pushed
// digests (one per backend Dockerfile) is scanned again and gets a provenance and an SBOM attestation
// pushed to its registry, which is what infra/promote looks for.
func TestDeployAttestsEveryPushedImage(t *testing.T) {
	w := parse(t, "deploy.yml")
	j := w.Jobs["attest"]
	if j == nil {
		t.Fatal("deploy.yml has no job attest")
	}
	if !slices.ContainsFunc(j.Needs, func(n *actionlint.String) bool { return str(n) == "staging" }) {
		t.Error("attest must need staging (the pushed digests are its outputs)")
	}
	want := imageNames(backendDockerfiles(t))
	if got := matrixValues(j, "image"); !sameSet(got, want) {
		t.Errorf("attest matrix %q, want every image %q", got, want)
	}
	for _, out := range matrixValues(j, "image") {
		if w.Jobs["staging"].Outputs[out] == nil {
			t.Errorf("staging job does not output the %s digest", out)
		}
	}
	// The staging job reads each digest from the stack's outputs.
	st := w.Jobs["staging"]
	read := index(st.Steps, func(s *actionlint.Step) bool { return s.ID != nil && str(s.ID) == "outputs" })
	if read < 0 {
		t.Fatal("deploy.yml job staging has no step outputs (the stack outputs)")
	}
	for _, out := range stagingImages(t) {
		if !strings.Contains(script(st.Steps[read]), out) {
			t.Errorf("deploy.yml step %q does not read the stack output %s", str(st.Steps[read].Name), out)
		}
	}
	scan := index(j.Steps, isImageScan)
	attests := 0
	var kinds []string
	for i, s := range j.Steps {
		if !strings.HasPrefix(uses(s), "actions/attest@") {
			continue
		}
		attests++
		if scan < 0 || scan > i {
			t.Errorf("attest step %d is not preceded by a scan of the pushed digest", i)
		}
		if input(s, "push-to-registry") != "true" || input(s, "subject-digest") == "" || input(s, "subject-name") == "" {
			t.Errorf("attest step %q must push to the registry, for the subject's name and digest", str(s.Name))
		}
		kinds = append(kinds, map[bool]string{true: "sbom", false: "provenance"}[input(s, "sbom-path") != ""])
	}
	if !sameSet(kinds, []string{"sbom", "provenance"}) || attests != 2 {
		t.Errorf("attestations %q, want one provenance and one SBOM", kinds)
	}
	for scope, want := range map[string]string{"id-token": "write", "attestations": "write", "packages": "write"} {
		if j.Permissions == nil || j.Permissions.Scopes[scope] == nil || str(j.Permissions.Scopes[scope].Value) != want {
			t.Errorf("attest job needs permissions %s: %s", scope, want)
		}
	}
}

// TestPromoteScansBeforePromotion: promote.yml scans each staging image and
// verifies its attestations before infra/promote changes anything.
func TestPromoteScansBeforePromotion(t *testing.T) {
	for _, e := range promoteScanErrors(parse(t, "promote.yml"), stagingImages(t)) {
		t.Error(e)
	}
}

func TestPromoteScanCheckCatchesPlantedFaults(t *testing.T) {
	moveAfterPromote := func(match func(*actionlint.Step) bool) func(*actionlint.Job) {
		return func(j *actionlint.Job) {
			i := index(j.Steps, match)
			s := j.Steps[i]
			steps := slices.Delete(slices.Clone(j.Steps), i, i+1)
			run := index(steps, func(s *actionlint.Step) bool { return strings.Contains(script(s), "go run ./infra/promote") })
			j.Steps = slices.Insert(steps, run+1, s)
		}
	}
	tests := []struct {
		name   string
		plant  func(*actionlint.Job)
		expect string
	}{
		{name: "as committed", plant: func(*actionlint.Job) {}},
		{name: "backend scan moved after the promotion", plant: moveAfterPromote(func(s *actionlint.Step) bool {
			return isImageScan(s) && strings.Contains(input(s, "image-ref"), "backendImage")
		}), expect: "backendImage is scanned (step"},
		{name: "Postgres image not scanned", plant: func(j *actionlint.Job) {
			j.Steps = slices.DeleteFunc(slices.Clone(j.Steps), func(s *actionlint.Step) bool {
				return isImageScan(s) && strings.Contains(input(s, "image-ref"), "postgresImage")
			})
		}, expect: "postgresImage is never scanned"},
		{name: "a monitoring image not scanned", plant: func(j *actionlint.Job) {
			j.Steps = slices.DeleteFunc(slices.Clone(j.Steps), func(s *actionlint.Step) bool {
				return isImageScan(s) && strings.Contains(input(s, "image-ref"), "pgexporterImage")
			})
		}, expect: "pgexporterImage is never scanned"},
		{name: "a monitoring image's attestations not verified", plant: func(j *actionlint.Job) {
			s := j.Steps[index(j.Steps, func(s *actionlint.Step) bool { return strings.Contains(script(s), "gh attestation verify") })]
			for _, v := range s.Env.Vars {
				v.Value = &actionlint.String{Value: strings.ReplaceAll(str(v.Value), "${{ steps.images.outputs.prometheusImage }}", "")}
			}
		}, expect: "prometheusImage are never verified"},
		{name: "attestations verified after the promotion", plant: moveAfterPromote(func(s *actionlint.Step) bool {
			return strings.Contains(script(s), "gh attestation verify")
		}), expect: "must be verified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := parseBytes(t, read(t, ".github/workflows/promote.yml"))
			tt.plant(w.Jobs["promote"])
			errs := strings.Join(promoteScanErrors(w, stagingImages(t)), "\n")
			if tt.expect == "" && errs != "" {
				t.Fatalf("unexpected errors:\n%s", errs)
			}
			if !strings.Contains(errs, tt.expect) {
				t.Fatalf("errors %q, want one containing %q", errs, tt.expect)
			}
		})
	}
}

// TestIgnoreFileEntries: every accepted finding has a reason and an expiry
// that has not passed (and is at most 90 days ahead). Today's date is the
// point: an entry that expires turns CI red until someone looks at it.
func TestIgnoreFileEntries(t *testing.T) {
	for _, e := range ignoreErrors(read(t, ".trivyignore.yaml"), time.Now().UTC()) {
		t.Error(".trivyignore.yaml: " + e)
	}
}

func TestIgnoreCheckCatchesPlantedEntries(t *testing.T) {
	today := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, src, expect string
	}{
		{"no entries", "vulnerabilities: []\n", ""},
		{"empty file", "", ""},
		{"good entry", "vulnerabilities:\n  - id: CVE-2026-1\n    statement: \"not reachable (review: oncall)\"\n    expired_at: 2027-01-15\n", ""},
		{"good entry with purls", "vulnerabilities:\n  - id: CVE-2026-1\n    purls: [\"pkg:deb/debian/libx\"]\n    statement: no fix in bookworm yet\n    expired_at: \"2027-03-01\"\n", ""},
		{"no reason", "vulnerabilities:\n  - id: CVE-2026-1\n    expired_at: 2027-01-15\n", "no statement"},
		{"blank reason", "vulnerabilities:\n  - id: CVE-2026-1\n    statement: \"  \"\n    expired_at: 2027-01-15\n", "no statement"},
		{"no expiry", "vulnerabilities:\n  - id: CVE-2026-1\n    statement: later\n", "no expired_at"},
		{"expired", "vulnerabilities:\n  - id: CVE-2026-1\n    statement: later\n    expired_at: 2026-12-06\n", "expired on 2026-12-06"},
		{"too far ahead", "vulnerabilities:\n  - id: CVE-2026-1\n    statement: later\n    expired_at: 2027-12-01\n", "more than 90 days ahead"},
		{"not a date", "vulnerabilities:\n  - id: CVE-2026-1\n    statement: later\n    expired_at: soon\n", "not a date"},
		{"no id", "secrets:\n  - statement: test key\n    expired_at: 2027-01-15\n", "no id"},
		{"misspelt field", "vulnerabilities:\n  - id: CVE-2026-1\n    statement: later\n    expires_at: 2027-01-15\n", "field expires_at not found"},
		{"misspelt section", "vulnerability:\n  - id: CVE-2026-1\n", "field vulnerability not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := strings.Join(ignoreErrors([]byte(tt.src), today), "\n")
			if tt.expect == "" && errs != "" {
				t.Fatalf("unexpected errors:\n%s", errs)
			}
			if !strings.Contains(errs, tt.expect) {
				t.Fatalf("errors %q, want one containing %q", errs, tt.expect)
			}
		})
	}
}

// TestVulnCheckInCI: ci.yml runs `make vuln` against the public database,
// and the Makefile pins govulncheck's version.
func TestVulnCheckInCI(t *testing.T) {
	j := parse(t, "ci.yml").Jobs["vuln"]
	if j == nil {
		t.Fatal("ci.yml has no job vuln")
	}
	if index(j.Steps, func(s *actionlint.Step) bool {
		return strings.Contains(script(s), "make vuln VULN_DB=https://vuln.go.dev")
	}) < 0 {
		t.Error("ci.yml job vuln must run `make vuln VULN_DB=https://vuln.go.dev`")
	}
	if !strings.Contains(string(read(t, "Makefile")), "\nGOVULNCHECK_VERSION := v") {
		t.Error("the Makefile must pin GOVULNCHECK_VERSION := vX.Y.Z")
	}
}
