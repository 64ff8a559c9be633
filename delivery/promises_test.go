package delivery

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// deploying are the workflows that run Pulumi against staging or production.
var deploying = []string{"preview.yml", "deploy.yml", "promote.yml", "drift.yml"}

func TestPromoteIsProtectedAndReported(t *testing.T) {
	w := parse(t, "promote.yml")
	if !hasEvent(w, "workflow_dispatch") || len(w.On) != 1 {
		t.Errorf("promote must run on manual dispatch only, has %d triggers", len(w.On))
	}
	for _, ev := range w.On {
		if d, ok := ev.(*actionlint.WorkflowDispatchEvent); ok {
			for _, in := range []string{"regions", "dry-run", "resume-run-id", "abort"} {
				if d.Inputs[in] == nil {
					t.Errorf("promote dispatch lacks input %q", in)
				}
			}
		}
	}
	j := w.Jobs["promote"]
	if j == nil {
		t.Fatal("promote.yml has no job \"promote\"")
	}
	if j.Environment == nil || str(j.Environment.Name) != "production" {
		t.Error("promote job must run in the protected environment \"production\" (approval)")
	}
	run := index(j.Steps, func(s *actionlint.Step) bool {
		sc := script(s)
		return strings.Contains(sc, "go run ./infra/promote") && strings.Contains(sc, "--from staging --to production --json")
	})
	if run < 0 {
		t.Fatal("promote job does not run `go run ./infra/promote --from staging --to production --json`")
	}
	up := index(j.Steps, usesPrefix("actions/upload-artifact@"))
	if up < run || !strings.HasPrefix(str(j.Steps[up].If), "always()") {
		t.Error("promote job must upload the JSON report as an artifact after the run, always (also on failure)")
	}
	journal := index(j.Steps, func(s *actionlint.Step) bool {
		return strings.HasPrefix(uses(s), "actions/upload-artifact@") && strings.HasPrefix(input(s, "path"), ".promotion")
	})
	if journal < run || str(j.Steps[journal].If) != "always()" || input(j.Steps[journal], "include-hidden-files") != "true" {
		t.Error("promote job must always upload the promotion journal (.promotion/, a hidden directory), so an interrupted run can be resumed")
	}
	pr := index(j.Steps, usesPrefix("peter-evans/create-pull-request@"))
	if pr < run || input(j.Steps[pr], "add-paths") != "Pulumi.production.yaml" {
		t.Error("promote job must commit Pulumi.production.yaml back through a pull request")
	}
}

func TestPreviewCommentsOnPR(t *testing.T) {
	w := parse(t, "preview.yml")
	if !hasEvent(w, "pull_request") {
		t.Error("preview must run on pull_request")
	}
	j := w.Jobs["preview"]
	if j == nil {
		t.Fatal("preview.yml has no job \"preview\"")
	}
	if got := matrixValues(j, "stack"); !slices.Equal(got, []string{"staging", "production"}) {
		t.Errorf("preview stacks = %v, want [staging production]", got)
	}
	p := index(j.Steps, usesPrefix("pulumi/actions@"))
	if p < 0 {
		t.Fatal("preview job does not use pulumi/actions")
	}
	s := j.Steps[p]
	for in, want := range map[string]string{
		"command": "preview", "comment-on-pr": "true", "policyPacks": "./policy",
		"stack-name": "${{ matrix.stack }}",
	} {
		if got := input(s, in); got != want {
			t.Errorf("preview step input %s = %q, want %q", in, got, want)
		}
	}
	if input(s, "github-token") == "" {
		t.Error("preview step needs github-token to comment")
	}
	if w.Permissions == nil || str(w.Permissions.Scopes["pull-requests"].Value) != "write" {
		t.Error("preview needs pull-requests: write (and nothing more) to comment")
	}
}

func TestDriftFailsOnChanges(t *testing.T) {
	w := parse(t, "drift.yml")
	if !hasEvent(w, "schedule") {
		t.Error("drift must run on a schedule")
	}
	j := w.Jobs["drift"]
	if j == nil {
		t.Fatal("drift.yml has no job \"drift\"")
	}
	if got := matrixValues(j, "stack"); !slices.Equal(got, []string{"staging", "production"}) {
		t.Errorf("drift stacks = %v, want [staging production]", got)
	}
	// A refreshing preview compares the program with reality without
	// writing the state; a `pulumi refresh` would rewrite it nightly.
	if i := index(j.Steps, func(s *actionlint.Step) bool {
		return input(s, "command") == "refresh" || strings.Contains(script(s), "pulumi refresh")
	}); i >= 0 {
		t.Errorf("drift step %d runs a state-writing refresh; use preview --refresh", i)
	}
	preview := index(j.Steps, func(s *actionlint.Step) bool {
		sc := script(s)
		return strings.Contains(sc, "pulumi preview") && strings.Contains(sc, "--refresh") && strings.Contains(sc, "--expect-no-changes") ||
			input(s, "command") == "preview" && input(s, "refresh") == "true" && input(s, "expect-no-changes") == "true"
	})
	if preview < 0 {
		t.Error("drift must run pulumi preview --refresh --expect-no-changes")
	}
}

func TestDeployVerifiesStaging(t *testing.T) {
	w := parse(t, "deploy.yml")
	if !hasEvent(w, "push") {
		t.Error("deploy must run on push")
	}
	j := w.Jobs["staging"]
	if j == nil {
		t.Fatal("deploy.yml has no job \"staging\"")
	}
	up := index(j.Steps, func(s *actionlint.Step) bool {
		return input(s, "command") == "up" && input(s, "stack-name") == "staging"
	})
	ver := index(j.Steps, func(s *actionlint.Step) bool { return strings.Contains(script(s), "go run ./infra/verify") })
	if up < 0 || ver < up {
		t.Errorf("deploy must `pulumi up` staging, then run infra/verify (steps %d, %d)", up, ver)
	}
	// APP_VERSION is documented as the commit: the stamp precedes the update.
	stamp := index(j.Steps, func(s *actionlint.Step) bool {
		return strings.Contains(script(s), "--path backend.appVersion \"$GITHUB_SHA\"")
	})
	if stamp < 0 || stamp > up {
		t.Errorf("deploy must set backend.appVersion to $GITHUB_SHA before `pulumi up` (steps %d, %d)", stamp, up)
	}
}

// TestPulumiPinnedToSDK: every workflow installs the CLI of the SDK version
// in go.mod, so CI never runs an engine the program was not built against.
func TestPulumiPinnedToSDK(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`github\.com/pulumi/pulumi/sdk/v3 v(\S+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod does not require github.com/pulumi/pulumi/sdk/v3")
	}
	sdk := string(m[1])
	for _, f := range workflowFiles(t) {
		name := filepath.Base(f)
		w := parse(t, name)
		for id, j := range w.Jobs {
			for _, s := range j.Steps {
				if !strings.HasPrefix(uses(s), "pulumi/actions@") {
					continue
				}
				v := input(s, "pulumi-version")
				if v == "${{ env.PULUMI_VERSION }}" {
					v = env(w.Env, "PULUMI_VERSION")
				}
				if v != sdk {
					t.Errorf("%s job %s: pulumi/actions pulumi-version resolves to %q, want the SDK's %q", name, id, v, sdk)
				}
			}
		}
	}
}

// TestLeastPrivilegeAndSerialisedStacks: every workflow states its token
// permissions (none grants write-all), and the workflows that change a stack
// share one concurrency group per stack and never cancel a running update.
func TestLeastPrivilegeAndSerialisedStacks(t *testing.T) {
	for _, f := range workflowFiles(t) {
		name := filepath.Base(f)
		w := parse(t, name)
		if w.Permissions == nil {
			t.Errorf("%s: no top-level permissions (the default token may be read-write)", name)
		}
		for id, j := range w.Jobs {
			for _, p := range []*actionlint.Permissions{w.Permissions, j.Permissions} {
				if p != nil && str(p.All) != "" {
					t.Errorf("%s job %s: permissions %q, want explicit scopes", name, id, str(p.All))
				}
			}
		}
	}
	groups := map[string]string{"deploy.yml": "pulumi-staging", "promote.yml": "pulumi-production", "drift.yml": "pulumi-${{ matrix.stack }}"}
	for name, want := range groups {
		w := parse(t, name)
		c := w.Concurrency
		for _, j := range w.Jobs {
			if j.Concurrency != nil {
				c = j.Concurrency
			}
		}
		if c == nil {
			t.Errorf("%s: no concurrency group, want %q", name, want)
			continue
		}
		if str(c.Group) != want {
			t.Errorf("%s: concurrency group %q, want %q", name, str(c.Group), want)
			continue
		}
		if c.CancelInProgress != nil && (c.CancelInProgress.Value || c.CancelInProgress.Expression != nil) {
			t.Errorf("%s: cancel-in-progress must be false: cancelling an update leaves the stack locked", name)
		}
	}
}

// TestDockerHostsReachableBeforePulumi: the docker provider dials every
// region's daemon even in preview, so SSH access comes before any Pulumi step.
func TestDockerHostsReachableBeforePulumi(t *testing.T) {
	for _, name := range deploying {
		w := parse(t, name)
		for id, j := range w.Jobs {
			ssh := index(j.Steps, usesPrefix("./.github/actions/docker-hosts-ssh"))
			pulumi := index(j.Steps, func(s *actionlint.Step) bool {
				return input(s, "command") != "" || strings.Contains(script(s), "pulumi ") ||
					strings.Contains(script(s), "./infra/promote")
			})
			if pulumi >= 0 && (ssh < 0 || ssh > pulumi) {
				t.Errorf("%s job %s: SSH setup for the Docker hosts must precede Pulumi (steps %d, %d)", name, id, ssh, pulumi)
			}
		}
	}
}

func TestCIJobsAndCaches(t *testing.T) {
	w := parse(t, "ci.yml")
	for _, id := range []string{"infra", "backend", "policy", "image"} {
		j := w.Jobs[id]
		if j == nil {
			t.Errorf("ci.yml lacks job %q", id)
			continue
		}
		if len(j.Needs) > 0 {
			t.Errorf("ci.yml job %s needs %v: the jobs must run in parallel", id, j.Needs)
		}
		if sg := index(j.Steps, usesPrefix("actions/setup-go@")); sg >= 0 && input(j.Steps[sg], "cache") == "false" {
			t.Errorf("ci.yml job %s turns the Go cache off", id)
		}
	}
	if j := w.Jobs["image"]; j != nil {
		b := index(j.Steps, usesPrefix("docker/build-push-action@"))
		if b < 0 || !strings.Contains(input(j.Steps[b], "cache-from"), "type=gha") ||
			!strings.Contains(input(j.Steps[b], "cache-to"), "type=gha") {
			t.Error("ci.yml image job must build with docker/build-push-action and the gha layer cache")
		}
	}
}
