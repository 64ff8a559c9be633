package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/internal/stacktest/fixture"
	"github.com/helloagents/infra/notify"
	"github.com/helloagents/infra/stacks/failover"
	"github.com/helloagents/infra/stacks/operation"
)

// production is the repository's production stack in memory; every
// change is counted, and Up fails, so a run that gets past the checks
// shows up as a manual-action outcome.
type production struct{ changes []string }

func (p *production) Outputs(context.Context, string) (map[string]any, error) {
	return nil, errors.New("not deployed")
}

func (p *production) Config(context.Context, string) (map[string]string, error) {
	return fixture.Production()
}

func (p *production) SetConfigPath(_ context.Context, _, path, value string) error {
	p.changes = append(p.changes, path+"="+value)
	return nil
}

func (p *production) RemoveConfigPath(_ context.Context, _, path string) error {
	p.changes = append(p.changes, "rm "+path)
	return nil
}

func (p *production) UpContinueOnError(context.Context, string, operation.Policy) error {
	p.changes = append(p.changes, "up --continue-on-error")
	return errors.New("up: engine not available in this test")
}

func (p *production) Up(context.Context, string, operation.Policy) (map[string]any, error) {
	p.changes = append(p.changes, "up")
	return nil, errors.New("up: engine not available in this test")
}

func (p *production) Preview(context.Context, string, operation.Policy) (string, error) {
	return "~ 2 to replace", nil
}
func (p *production) Busy(context.Context, string) error { return nil }

// databases: us-east is a standby lag seconds behind, eu-west the primary.
type databases struct {
	lag     float64
	changes *[]string
}

func (d databases) Status(_ context.Context, r failover.Region) (failover.Status, error) {
	if r.Name == "eu-west" {
		return failover.Status{Role: "primary", Timeline: 1}, nil
	}
	return failover.Status{Role: "standby", Timeline: 1, InRecovery: true, ReplayLagSeconds: &d.lag}, nil
}

func (d databases) Fence(_ context.Context, r failover.Region) error {
	*d.changes = append(*d.changes, "fence "+r.Name)
	return nil
}

func (d databases) Promote(_ context.Context, r failover.Region, _ time.Duration, _ bool) (failover.Status, error) {
	*d.changes = append(*d.changes, "promote "+r.Name)
	return failover.Status{Role: "primary", Timeline: 2}, nil
}

func TestRun(t *testing.T) {
	tests := []struct {
		name           string
		args           []string
		env            map[string]string
		stdin          string
		terminal       bool
		lag            float64
		code           int
		stdout, stderr string
		changes        int
	}{
		{"help", []string{"--help"}, nil, "", false, 1, 0, "", "Exit status: 0 failed over", 0},
		{"help lists flags as --name", []string{"--help"}, nil, "", false, 1, 0, "", "--accept-data-loss", 0},
		{"missing stack and region", nil, nil, "", false, 1, 2, "", "--stack and --to are required", 0},
		{"bad max lag", []string{"--stack", "production", "--to", "us-east", "--max-lag", "-1s"}, nil, "", false, 1, 2, "", "--max-lag -1s", 0},
		{"pack config without pack", []string{"--stack", "p", "--to", "r", "--policy-pack-config", "c.json"}, nil, "", false, 1, 2, "", "1 --policy-pack-config for 0 --policy-pack", 0},
		{"extra args", []string{"--stack", "p", "--to", "r", "now"}, nil, "", false, 1, 2, "", "unexpected arguments", 0},
		{"unknown region", []string{"--stack", "production", "--to", "mars"}, nil, "", false, 1, 2, `allowed: eu-west, us-east`, "", 0},
		{"too far behind", []string{"--stack", "production", "--to", "us-east"}, nil, "", false, 120, 3, "replay lag is 2m0s", "", 0},
		{"declined on a terminal", []string{"--stack", "production", "--to", "us-east"}, nil, "n\n", true, 1, 1, "declined", "Proceed? [y/N]", 0},
		{"flags from the environment, declined", nil, map[string]string{envStack: "production", envTo: "us-east"}, "", true, 1, 1, "declined", "from eu-west to us-east", 0},
		{"dry run changes nothing lasting", []string{"--stack", "production", "--to", "us-east", "--dry-run"}, nil, "", true, 1, 0, "planned (dry run: nothing changed)", "", 2},
		{"--yes skips the question", []string{"--stack", "production", "--to", "us-east", "--yes"}, nil, "", true, 1, 4, "pulumi up failed", "", 4},
		{"approved on a terminal", []string{"--stack", "production", "--to", "us-east"}, nil, "yes\n", true, 1, 4, "pulumi up failed", "Proceed? [y/N]", 4},
		{"no terminal: no question", []string{"--stack", "production", "--to", "us-east"}, nil, "", false, 1, 4, "pulumi up failed", "", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			p := &production{}
			e := env{
				getenv: func(k string) string { return tc.env[k] }, stdin: strings.NewReader(tc.stdin), terminal: tc.terminal,
				stdout: &stdout, stderr: &stderr,
				open:      func(context.Context, string) (failover.Stacks, error) { return p, nil },
				databases: func(string) failover.Databases { return databases{lag: tc.lag, changes: &p.changes} },
			}
			args := append(tc.args, "--journal", filepath.Join(t.TempDir(), "j.json"))
			code := run(context.Background(), args, e)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stdout lacks %q or stderr lacks %q\nstdout:\n%s\nstderr:\n%s", tc.stdout, tc.stderr, stdout.String(), stderr.String())
			}
			if len(p.changes) != tc.changes {
				t.Errorf("changes %v, want %d", p.changes, tc.changes)
			}
			// Only a production change from a terminal without --yes asks.
			asks := map[string]bool{"declined on a terminal": true, "flags from the environment, declined": true, "approved on a terminal": true}[tc.name]
			if got := strings.Contains(stderr.String(), "Proceed? [y/N]"); got != asks {
				t.Errorf("asked %v, want %v:\n%s", got, asks, stderr.String())
			}
		})
	}
}

func TestRunJSON(t *testing.T) {
	var stdout, stderr strings.Builder
	p := &production{}
	code := run(context.Background(), []string{"--stack", "production", "--to", "us-east", "--json", "--journal", filepath.Join(t.TempDir(), "j.json")}, env{
		getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		open:      func(context.Context, string) (failover.Stacks, error) { return p, nil },
		databases: func(string) failover.Databases { return databases{lag: 300, changes: &p.changes} },
	})
	var rep struct {
		Outcome  string `json:"outcome"`
		ExitCode int    `json:"exitCode"`
		From, To string
		Target   struct {
			ReplayLagSeconds float64 `json:"replayLagSeconds"`
		} `json:"target"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout.String())
	}
	if code != 3 || rep.ExitCode != 3 || rep.From != "eu-west" || rep.To != "us-east" || rep.Target.ReplayLagSeconds != 300 {
		t.Errorf("exit %d, report %+v", code, rep)
	}
	if !strings.Contains(stderr.String(), fmt.Sprintf("exit code %d", 3)) {
		t.Errorf("the text report is not on stderr:\n%s", stderr.String())
	}
}

// TestDefaultJournalIsIgnored: the failover journal's default path is
// git-ignored, so `git clean -fd` in the project cannot delete the journal
// of a running failover.
func TestDefaultJournalIsIgnored(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	e := env{getenv: func(string) string { return "" }, stderr: io.Discard, databases: func(string) failover.Databases { return nil }}
	f, code := parse([]string{"--stack", "org/production", "--to", "us-east", "--work-dir", root}, e)
	if code >= 0 {
		t.Fatalf("parse: exit %d", code)
	}
	journal := f.options(e).Journal
	rel, err := filepath.Rel(root, journal)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(t.Context(), "git", "-C", root, "check-ignore", "--no-index", rel).CombinedOutput(); err != nil {
		t.Errorf("the default journal %s is not git-ignored (git check-ignore: %v %s): add its directory to .gitignore", rel, err, out)
	}
}

// TestNotifyWebhook: --notify, else the promotion's webhook secret
// (envNotify), becomes the failover's notifier; without either it has none.
func TestNotifyWebhook(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"flag", []string{"--notify", "https://hooks.test/flag"}, map[string]string{envNotify: "https://hooks.test/env"}, "https://hooks.test/flag"},
		{"environment", nil, map[string]string{envNotify: "https://hooks.test/env"}, "https://hooks.test/env"},
		{"none", nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := env{getenv: func(k string) string { return tc.env[k] }, stderr: io.Discard, databases: func(string) failover.Databases { return nil }}
			f, code := parse(append([]string{"--stack", "production", "--to", "us-east"}, tc.args...), e)
			if code >= 0 {
				t.Fatalf("parse: exit %d", code)
			}
			o := f.options(e)
			got := ""
			if w, ok := o.Notify.(*notify.Webhook); ok {
				got = w.URL
			}
			if got != tc.want || (tc.want == "") != (o.Notify == nil) {
				t.Errorf("notifier %#v, want webhook %q", o.Notify, tc.want)
			}
		})
	}
}
