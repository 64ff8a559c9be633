package stacks

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/stacks/config"
)

// TestIncidentDocsQuoteTheCode holds the figures that the docs people
// follow in an incident quote to the code they describe: a fix that
// chowns the data volume to the wrong uid, or a wait bound the engine does
// not use, makes an outage worse.
func TestIncidentDocsQuoteTheCode(t *testing.T) {
	for _, env := range []config.Environment{config.Dev, config.Staging, config.Production} {
		if got := config.Defaults("s", env).Database.RunAs; got != config.Defaults("s", config.Dev).Database.RunAs {
			t.Fatalf("database.runAs differs by environment (%s: %s): the doc's one chown no longer fits every stack", env, got)
		}
	}
	d := config.Defaults("dev", config.Dev)
	tunnel := strings.Join(components.TunnelStates, ", ")
	for _, tc := range []struct {
		doc, what string
		re        *regexp.Regexp // its first group is the quoted value
		want      string
	}{
		{"DEPLOYMENT.md", "the data volume's owner in the permission-error fix (database.runAs)",
			regexp.MustCompile(`chown -R (\S+) /d`), d.Database.RunAs},
		{"DEPLOYMENT.md", "a release's wait for a healthy replica with the defaults (components.WaitSeconds)",
			regexp.MustCompile(`(\d+) s with the defaults`), strconv.Itoa(components.WaitSeconds(d.HealthCheck))},
		{"MONITORING.md", "the tunnel alert's new_status values (components.TunnelStates)",
			regexp.MustCompile("`new_status` = ([A-Z_, ]+) \\(`components.TunnelStates`\\)"), tunnel},
	} {
		t.Run(tc.doc+" "+tc.what, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "docs", tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			all := tc.re.FindAllStringSubmatch(string(b), -1)
			if len(all) == 0 {
				t.Fatalf("%s does not quote %s (no match of %s)", tc.doc, tc.what, tc.re)
			}
			for _, m := range all {
				if m[1] != tc.want {
					t.Errorf("%s quotes %s as %q; the code says %q", tc.doc, tc.what, m[1], tc.want)
				}
			}
		})
	}
}

// TestDocsNameOnlyFilesThatExist: a repository path the docs tell users to
// pass (a policy config, a script) exists.
func TestDocsNameOnlyFilesThatExist(t *testing.T) {
	path := regexp.MustCompile("`(?:[a-zA-Z]+: )?((?:policy|backend|infra|docs|stacks|components)/[A-Za-z0-9_./-]+\\.(?:json|yaml|yml|sh|md))`")
	for _, doc := range []string{"POLICY.md", "DEPLOYMENT.md", "MONITORING.md", "DELIVERY.md"} {
		b, err := os.ReadFile(filepath.Join("..", "docs", doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range path.FindAllStringSubmatch(string(b), -1) {
			if _, err := os.Stat(filepath.Join("..", m[1])); err != nil {
				t.Errorf("%s names %s, which does not exist", doc, m[1])
			}
		}
	}
}
