package delivery

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// TestCredentialsScopedToEnvironments: every job that touches a stack runs
// in that stack's GitHub environment, so its SSH key and passphrase are the
// environment's (one key per environment, production behind its protection
// rules, previews included), and no workflow holds a long-lived Pulumi
// token: Pulumi Cloud is reached through OIDC.
func TestCredentialsScopedToEnvironments(t *testing.T) {
	for _, f := range workflowFiles(t) {
		name := filepath.Base(f)
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "secrets.PULUMI_ACCESS_TOKEN") {
			t.Errorf("%s: uses the long-lived secret PULUMI_ACCESS_TOKEN; log in through OIDC (pulumi/auth-actions)", name)
		}
		w := parse(t, name)
		for id, j := range w.Jobs {
			ssh := index(j.Steps, func(s *actionlint.Step) bool {
				return input(s, "private-key") != "" && strings.Contains(input(s, "private-key"), "DOCKER_HOSTS_SSH_KEY")
			})
			if ssh < 0 {
				continue
			}
			env := ""
			if j.Environment != nil {
				env = str(j.Environment.Name)
			}
			if env != "staging" && env != "production" && env != "${{ matrix.stack }}" {
				t.Errorf("%s job %s: reads DOCKER_HOSTS_SSH_KEY outside a stack environment (environment %q)", name, id, env)
			}
			login := index(j.Steps, usesPrefix("pulumi/auth-actions@"))
			if login < 0 || login > ssh {
				t.Errorf("%s job %s: no OIDC Pulumi login before the stack is touched", name, id)
			}
			perms := j.Permissions
			if perms == nil {
				perms = w.Permissions
			}
			if perms == nil || perms.Scopes["id-token"] == nil || str(perms.Scopes["id-token"].Value) != "write" {
				t.Errorf("%s job %s: OIDC needs permissions id-token: write", name, id)
			}
		}
	}
}

// TestPromotionPRTriggersCI: the promotion pull request is opened with a
// GitHub App token, not GITHUB_TOKEN (whose pull requests start no workflow).
func TestPromotionPRTriggersCI(t *testing.T) {
	j := parse(t, "promote.yml").Jobs["promote"]
	if j == nil {
		t.Fatal("promote.yml has no job promote")
	}
	app := index(j.Steps, usesPrefix("actions/create-github-app-token@"))
	pr := index(j.Steps, usesPrefix("peter-evans/create-pull-request@"))
	if app < 0 || pr < app {
		t.Fatalf("want a GitHub App token step before the pull request (steps %d, %d)", app, pr)
	}
	if tok := input(j.Steps[pr], "token"); !strings.Contains(tok, "steps."+str(j.Steps[app].ID)+".outputs.token") {
		t.Errorf("create-pull-request token = %q, want the App token", tok)
	}
}

// TestOnePolicyConfig: every policy-checked update and preview uses the same
// policy pack configuration.
func TestOnePolicyConfig(t *testing.T) {
	const config = "policy/policy-config.example.json"
	for _, name := range []string{"deploy.yml", "preview.yml"} {
		for id, j := range parse(t, name).Jobs {
			for _, s := range j.Steps {
				if input(s, "policyPacks") != "" && input(s, "policyPackConfigs") != config {
					t.Errorf("%s job %s: policyPackConfigs %q, want %q", name, id, input(s, "policyPackConfigs"), config)
				}
			}
		}
	}
	j := parse(t, "promote.yml").Jobs["promote"]
	if i := index(j.Steps, func(s *actionlint.Step) bool { return strings.Contains(script(s), "--policy-pack-config "+config) }); i < 0 {
		t.Errorf("promote.yml does not pass --policy-pack-config %s", config)
	}
}
