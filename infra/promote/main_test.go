package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/helloagents/infra/backend/testkit"
	"github.com/helloagents/infra/internal/attest"
	"github.com/helloagents/infra/internal/attest/attesttest"
	"github.com/helloagents/infra/internal/stacktest/fixture"
	"github.com/helloagents/infra/stacks/operation"
	"github.com/helloagents/infra/stacks/promote"
)

// unpinned is a Stacks whose source exports a tag, not a digest: enough to
// drive the CLI end to end to a refusal without a Pulumi engine (the engine
// itself is tested against the real one in stacks/promote).
type unpinned struct{}

func (unpinned) Outputs(context.Context, string) (map[string]any, error) {
	return map[string]any{"backendImage": "ghcr.io/helloagents/backend:latest", "apiUrl": "http://127.0.0.1:1"}, nil
}

// Config is the repository's production stack file plus the secrets it
// leaves to each workspace.
func (unpinned) Config(context.Context, string) (map[string]string, error) {
	return fixture.Production()
}

func (unpinned) SetConfigPath(context.Context, string, string, string) error {
	return errors.New("must not be called")
}

func (unpinned) Up(context.Context, string, operation.Policy) (map[string]any, error) {
	return nil, errors.New("must not be called")
}

func (unpinned) Preview(context.Context, string, operation.Policy) (string, error) {
	return "", errors.New("must not be called")
}
func (unpinned) Busy(context.Context, string) error { return nil }

func (unpinned) RemoveConfigPath(context.Context, string, string) error {
	return errors.New("must not be called")
}

func (unpinned) History(context.Context, string) ([]operation.Update, error) {
	return nil, errors.New("must not be called")
}

func openUnpinned(context.Context, string) (promote.Stacks, error) { return unpinned{}, nil }

// TestUsageBeforeOpen: every usage error, the engine's own included, is
// decided before the Pulumi project is opened: exit 2 without a project.
func TestUsageBeforeOpen(t *testing.T) {
	for _, args := range [][]string{
		{"--from", "staging", "--to", "staging"},
		{"--from", "staging", "--to", "production", "--image", "r/b@sha256:" + strings.Repeat("a", 64)},
		{"--to", "production", "--image", "r/b:latest"},
		{"--to", "production", "--rollback", "--abort", "--dry-run"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			open := func(context.Context, string) (promote.Stacks, error) {
				t.Error("the project was opened")
				return nil, errors.New("no project")
			}
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), args, noEnv, &stdout, &stderr, open, terminal{}); code != int(promote.Usage) {
				t.Errorf("exit %d, want %d (usage)\nstderr: %s", code, promote.Usage, stderr.String())
			}
			if !strings.Contains(stderr.String(), "run with --help for usage") {
				t.Errorf("stderr lacks the usage hint:\n%s", stderr.String())
			}
		})
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"help", []string{"--help"}, 0, "", "Exit status: 0 promoted"},
		{"missing stacks", nil, 2, "", "--from and --to are required"},
		{"rollback image unpinned", []string{"--to", "production", "--image", "r/b:latest", "--work-dir", "WORK"}, 2, "", "promote: --image"},
		{"stacks from the environment", []string{"--work-dir", "WORK", "ENV"}, 1, "not pinned by digest", ""},
		{"unknown flag", []string{"--from", "staging", "--to", "production", "--colour"}, 2, "", "flag provided but not defined"},
		{"bad pass rate", []string{"--from", "a", "--to", "b", "--min-pass-rate", "2"}, 2, "", "--min-pass-rate 2"},
		{"pack config without pack", []string{"--from", "a", "--to", "b", "--policy-pack-config", "c.json"}, 2, "", "1 --policy-pack-config for 0 --policy-pack"},
		{"extra args", []string{"--from", "a", "--to", "b", "now"}, 2, "", "unexpected arguments"},
		{"unknown region", []string{"--from", "staging", "--to", "production", "--regions", "eu-west,mars"}, 2,
			`region "mars" is not configured`, ""},
		{"unpinned refused", []string{"--from", "staging", "--to", "production", "--work-dir", "WORK"}, 1,
			"not pinned by digest", ""},
		{"json", []string{"--from", "staging", "--to", "production", "--json", "--work-dir", "WORK"}, 1,
			`"exitCode": 1`, "staging -> production: refused, exit code 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string(nil), tt.args...)
			for i, a := range args {
				if a == "WORK" {
					args[i] = t.TempDir()
				}
			}
			getenv := noEnv
			if len(args) > 0 && args[len(args)-1] == "ENV" {
				args = args[:len(args)-1]
				getenv = func(k string) string {
					return map[string]string{envFrom: "staging", envTo: "production"}[k]
				}
			}
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), args, getenv, &stdout, &stderr, openUnpinned, terminal{})
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
		})
	}
}

func TestJSONReportParses(t *testing.T) {
	var stdout, stderr bytes.Buffer
	run(t.Context(), []string{"--from", "staging", "--to", "production", "--json", "--work-dir", t.TempDir()}, noEnv, &stdout, &stderr, openUnpinned, terminal{})
	var rep struct {
		Outcome  string `json:"outcome"`
		ExitCode int    `json:"exitCode"`
		Image    string `json:"image"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, stdout.String())
	}
	if rep.Outcome != "refused" || rep.ExitCode != 1 || rep.Image != "ghcr.io/helloagents/backend:latest" {
		t.Errorf("report %+v", rep)
	}
}

// TestHelpDescribesEveryFlag keeps --help honest: every flag has a usage text.
func TestHelpDescribesEveryFlag(t *testing.T) {
	var stderr bytes.Buffer
	run(t.Context(), []string{"--help"}, noEnv, &bytes.Buffer{}, &stderr, openUnpinned, terminal{})
	for _, name := range []string{"from", "to", "image", "regions", "dry-run", "abort", "json", "policy-pack", "work-dir",
		"policy-pack-config", "journal", "retries", "timeout", "requests", "min-pass-rate", "notify", "rollback", "yes"} {
		if !strings.Contains(stderr.String(), "  --"+name+" ") && !strings.Contains(stderr.String(), "  --"+name+"\n") {
			t.Errorf("--help does not describe --%s", name)
		}
	}
}

// TestNotifyFlagAndEnvironment: --notify, or HELLOAGENTS_NOTIFY_WEBHOOK when
// the flag is absent, receives the run's outcome; the URL never appears in
// the output.
func TestNotifyFlagAndEnvironment(t *testing.T) {
	for _, viaEnv := range []bool{false, true} {
		t.Run(fmt.Sprintf("env=%v", viaEnv), func(t *testing.T) {
			srv := testkit.NewReceiver(t, 0, 0)
			hook := srv.URL
			args := []string{"--from", "staging", "--to", "production", "--work-dir", t.TempDir()}
			getenv := noEnv
			if viaEnv {
				getenv = func(k string) string {
					if k == notifyEnv {
						return hook
					}
					return ""
				}
			} else {
				args = append(args, "--notify", hook)
			}
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), args, getenv, &stdout, &stderr, openUnpinned, terminal{}); code != 1 {
				t.Fatalf("exit %d, want 1 (refused)\n%s", code, stderr.String())
			}
			got := testkit.Decode[map[string]string](t, srv)
			if len(got) != 1 || got[0]["event"] != "finish" || got[0]["outcome"] != "refused" || got[0]["stack"] != "production" {
				t.Errorf("notifications %v, want one finish/refused", got)
			}
			if strings.Contains(stdout.String()+stderr.String(), testkit.HookSecret) {
				t.Error("the webhook URL appears in the output")
			}
		})
	}
}

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// released is a target with a history: one earlier digest in every region
// before the current one. Every config change fails, which ends the run
// right after the confirmation: enough to see what the CLI asked.
type released struct {
	unpinned
	sets *int
}

func (r released) History(ctx context.Context, stack string) ([]operation.Update, error) {
	raw, err := r.Config(ctx, stack)
	if err != nil {
		return nil, err
	}
	cur := raw["helloagents:regions"]
	var regions []map[string]any
	if err := json.Unmarshal([]byte(cur), &regions); err != nil {
		return nil, err
	}
	for _, reg := range regions {
		reg["image"] = previousImage
	}
	before, _ := json.Marshal(regions)
	return []operation.Update{
		{Kind: "update", Result: "succeeded", Config: map[string]string{"helloagents:regions": cur}},
		{Kind: "update", Result: "succeeded", Config: map[string]string{"helloagents:regions": string(before)}},
	}, nil
}

func (r released) SetConfigPath(context.Context, string, string, string) error {
	*r.sets++
	return errors.New("test stops here")
}

const previousImage = "ghcr.io/helloagents/backend@sha256:1111111111111111111111111111111111111111111111111111111111111111"

// TestRollbackConfirmation drives --rollback through the CLI: a terminal
// is shown the plan (current -> previous digest per region) and asked;
// --yes or no terminal skips the question.
func TestRollbackConfirmation(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		tty    bool
		answer string
		asked  bool
		code   int // 1: declined, nothing changed; 3: went on to change
	}{
		{"terminal, declined", []string{"--rollback"}, true, "n\n", true, 1},
		{"terminal, accepted", []string{"--rollback"}, true, "y\n", true, 3},
		{"image previous is --rollback", []string{"--image", "previous"}, true, "\n", true, 1},
		{"terminal with --yes", []string{"--rollback", "--yes"}, true, "", false, 3},
		{"no terminal (CI)", []string{"--rollback"}, false, "", false, 3},
		{"dry run is not asked", []string{"--rollback", "--dry-run"}, true, "", false, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sets := 0
			open := func(context.Context, string) (promote.Stacks, error) { return released{sets: &sets}, nil }
			var stdout, stderr, question bytes.Buffer
			term := terminal{in: strings.NewReader(tt.answer), out: &question, tty: tt.tty}
			args := append([]string{"--to", "production", "--work-dir", t.TempDir()}, tt.args...)
			code := run(t.Context(), args, noEnv, &stdout, &stderr, open, term)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			asked := strings.Contains(question.String(), "Proceed? [y/N]")
			if asked != tt.asked {
				t.Fatalf("asked %v, want %v: %q", asked, tt.asked, question.String())
			}
			if asked && !strings.Contains(question.String(), " -> "+previousImage) {
				t.Errorf("the plan does not show the previous digest:\n%s", question.String())
			}
			if declined := tt.code == 1; declined != (sets == 0) {
				t.Errorf("%d config changes attempted; declined: %v", sets, declined)
			}
		})
	}
}

// inRegistry is a source stack whose images are in a real OCI registry
// running in the test (internal/attest/attesttest); the target is the
// repository's production stack file. Its API answers nothing, so a run
// that passes the attestation check is stopped by the source gate: still
// before any change (SetConfigPath and Up fail the test).
type inRegistry struct {
	unpinned
	backend, backup string
	// prometheus is the Prometheus image staging exports, when set: a
	// monitoring image, stack-wide like the backup job's.
	prometheus string
}

func (s inRegistry) Outputs(context.Context, string) (map[string]any, error) {
	out := map[string]any{"backendImage": s.backend, "backupImage": s.backup, "apiUrl": "http://127.0.0.1:1"}
	if s.prometheus != "" {
		out["prometheusImage"] = s.prometheus
	}
	return out, nil
}

// TestAttestationsInTheRegistry drives the CLI against a real registry: a
// digest without its SBOM and provenance attestations is refused, naming
// the digest and what it lacks; attested digests pass on to the source gate.
func TestAttestationsInTheRegistry(t *testing.T) {
	host := attesttest.NewRegistry(t, true)
	attested := attesttest.PushImage(t, host, "helloagents/backend")
	attesttest.Attach(t, attested, attest.PredicateCycloneDX)
	attesttest.Attach(t, attested, attest.PredicateSLSAProvenance)
	bare := attesttest.PushImage(t, host, "helloagents/backend")
	backup := attesttest.PushImage(t, host, "helloagents/pgbackup")
	attesttest.Attach(t, backup, "https://spdx.dev/Document/v2.3")
	attesttest.Attach(t, backup, attest.PredicateSLSAProvenance)
	provenanceOnly := attesttest.PushImage(t, host, "helloagents/pgbackup")
	attesttest.Attach(t, provenanceOnly, attest.PredicateSLSAProvenance)
	prometheus := attesttest.PushImage(t, host, "helloagents/prometheus")
	attesttest.Attach(t, prometheus, "https://spdx.dev/Document/v2.3")
	attesttest.Attach(t, prometheus, attest.PredicateSLSAProvenance)
	barePrometheus := attesttest.PushImage(t, host, "helloagents/prometheus")
	tests := []struct {
		name                        string
		backend, backup, prometheus string
		want                        []string // in the output
		refusedByCheck              bool
	}{
		{name: "attested images reach the source gate", backend: attested.String(), backup: backup.String(),
			want: []string{"failed its gate"}},
		{name: "attested monitoring image reaches the source gate", backend: attested.String(), backup: backup.String(),
			prometheus: prometheus.String(), want: []string{"failed its gate", "checking the SBOM and provenance attestations of " + prometheus.String()}},
		{name: "monitoring image without attestations", backend: attested.String(), backup: backup.String(),
			prometheus: barePrometheus.String(), refusedByCheck: true,
			want: []string{"supply-chain check failed, nothing changed", barePrometheus.DigestStr(), "no SBOM (SPDX or CycloneDX) and no SLSA build provenance"}},
		{name: "backend image without attestations", backend: bare.String(), backup: backup.String(), refusedByCheck: true,
			want: []string{"supply-chain check failed, nothing changed", bare.DigestStr(), "no SBOM (SPDX or CycloneDX) and no SLSA build provenance"}},
		{name: "backup image without SBOM", backend: attested.String(), backup: provenanceOnly.String(), refusedByCheck: true,
			want: []string{provenanceOnly.DigestStr(), "has no SBOM (SPDX or CycloneDX) attestation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open := func(context.Context, string) (promote.Stacks, error) {
				return inRegistry{backend: tt.backend, backup: tt.backup, prometheus: tt.prometheus}, nil
			}
			var stdout, stderr bytes.Buffer
			args := []string{"--from", "staging", "--to", "production", "--work-dir", t.TempDir(), "--retries", "0", "--timeout", "1s"}
			if code := run(t.Context(), args, noEnv, &stdout, &stderr, open, terminal{}); code != 1 {
				t.Fatalf("exit %d, want 1 (refused before any change)\nstdout: %s\nstderr: %s", code, &stdout, &stderr)
			}
			out := stdout.String() + stderr.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if got := strings.Contains(out, "supply-chain check failed"); got != tt.refusedByCheck {
				t.Errorf("refused by the attestation check: %v, want %v:\n%s", got, tt.refusedByCheck, out)
			}
		})
	}
}
