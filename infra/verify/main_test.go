package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/internal/fakebackend"
)

// backend is a fake backend whose readiness answers ready: 200, or 503
// with its database unhealthy.
func backend(t *testing.T, ready int) *fakebackend.Backend {
	t.Helper()
	b := fakebackend.New(t)
	if ready != http.StatusOK {
		b.SetComponent(fakebackend.Database, health.Unhealthy, "Database connection failed")
	}
	return b
}

func TestRunExitCodes(t *testing.T) {
	ok, bad := backend(t, 200), backend(t, 503)
	fast := []string{"--retries", "0", "--timeout", "2s", "--requests", "3", "--p95", "1m"}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"pass", append([]string{"--api", ok.URL}, fast...), exitPass, "PASSED", ""},
		{"fail", append([]string{"--api", bad.URL}, fast...), exitFail, "FAIL  GET /health/ready", ""},
		{"missing api", nil, exitUsage, "", `API "": required`},
		{"bad rate", []string{"--api", ok.URL, "--min-pass-rate", "0"}, exitUsage, "", "--min-pass-rate 0: must be in (0, 1]"},
		{"bad retries", []string{"--api", ok.URL, "--retries", "-1"}, exitUsage, "", "--retries -1"},
		{"stray argument", []string{"--api", ok.URL, "extra"}, exitUsage, "", "unexpected arguments"},
		{"unknown flag", []string{"--nope"}, exitUsage, "", "flag provided but not defined"},
		{"help", []string{"--help"}, exitPass, "", "Exit status: 0 all checks pass, 1 a check failed, 2 usage error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut, false)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, &out, &errOut)
			}
			if !strings.Contains(out.String(), tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, &out)
			}
			if !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, &errOut)
			}
			if strings.Contains(out.String(), "\033[") {
				t.Errorf("colour escape codes without a terminal:\n%q", &out)
			}
		})
	}
}

func TestHelpDescribesEveryFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	run(context.Background(), []string{"--help"}, &out, &errOut, false)
	for _, f := range []string{"api", "frontend", "stack", "quiet", "retries", "backoff", "timeout", "requests", "min-pass-rate", "p95", "json"} {
		if !strings.Contains(errOut.String(), "  --"+f+" ") && !strings.Contains(errOut.String(), "  --"+f+"\n") {
			t.Errorf("--help does not describe --%s:\n%s", f, &errOut)
		}
	}
}

func TestJSONOutput(t *testing.T) {
	srv := backend(t, 503)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--api", srv.URL, "--json", "--retries", "0", "--requests", "2"}, &out, &errOut, true)
	var rep struct {
		Passed bool `json:"passed"`
		Checks []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, &out)
	}
	if code != exitFail || rep.Passed || len(rep.Checks) == 0 {
		t.Errorf("exit %d, report %+v; want exit 1 and a failed report", code, rep)
	}
}

func TestColourOnTerminal(t *testing.T) {
	var out, errOut bytes.Buffer
	run(context.Background(), []string{"--api", backend(t, 200).URL, "--retries", "0", "--requests", "2", "--p95", "1m"}, &out, &errOut, true)
	if !strings.Contains(out.String(), green+"PASS"+reset) {
		t.Errorf("no colour with colour on:\n%q", &out)
	}
}

func fakeHost(env map[string]string, outputs map[string]map[string]any) host {
	return host{
		getenv: func(k string) string { return env[k] },
		outputs: func(_ context.Context, stack string) (map[string]any, error) {
			o, ok := outputs[stack]
			if !ok {
				return nil, fmt.Errorf("no stack named %q found", stack)
			}
			return o, nil
		},
	}
}

// TestURLsFromEnvAndStack proves each way to name the target: the env
// variables stand in for missing flags, --stack reads the stack's outputs,
// and a flag given wins over both.
func TestURLsFromEnvAndStack(t *testing.T) {
	ok := backend(t, 200)
	fast := []string{"--retries", "0", "--timeout", "2s", "--requests", "2", "--p95", "1m"}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		outputs map[string]map[string]any
		args    []string
		code    int
		stdout  string
		stderr  string
	}{
		{"env api", map[string]string{envAPI: ok.URL}, nil, fast, exitPass, "verify " + ok.URL, ""},
		{"flag wins", map[string]string{envAPI: "http://127.0.0.1:1"}, nil, append([]string{"--api", ok.URL}, fast...), exitPass, "PASSED", ""},
		{"stack outputs", nil, map[string]map[string]any{"staging": {"apiUrl": ok.URL, "frontendUrl": "http://localhost:5173"}},
			append([]string{"--stack", "staging"}, fast...), exitPass, "verify " + ok.URL + "\n", ""},
		{"stack from env", map[string]string{envStack: "staging"}, map[string]map[string]any{"staging": {"apiUrl": ok.URL}},
			fast, exitPass, "PASSED", ""},
		{"unknown stack", nil, nil, []string{"--stack", "nope"}, exitUsage, "", `verify: no stack named "nope" found`},
		{"stack without outputs", nil, map[string]map[string]any{"staging": {}}, []string{"--stack", "staging"}, exitUsage, "",
			`stack "staging" has no apiUrl output; deploy it first`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runWith(context.Background(), tc.args, fakeHost(tc.env, tc.outputs), &out, &errOut, false)
			if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("exit %d (want %d)\nstdout (want %q):\n%s\nstderr (want %q):\n%s", code, tc.code, tc.stdout, &out, tc.stderr, &errOut)
			}
		})
	}
}

// TestUsageBeforeStack: a flag's own error exits 2 before the stack's
// outputs are read (pulumi stack output would open the project).
func TestUsageBeforeStack(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad retries", []string{"--stack", "staging", "--retries", "-1"}, "--retries -1: must be >= 0"},
		{"bad p95", []string{"--stack", "staging", "--p95", "0s"}, "--p95 0s: must be positive"},
		{"bad rate", []string{"--stack", "staging", "--min-pass-rate", "2"}, "--min-pass-rate 2: must be in (0, 1]"},
		{"bad requests", []string{"--stack", "staging", "--requests", "0"}, "--requests 0: must be at least 1"},
		{"stray argument", []string{"--stack", "staging", "extra"}, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := host{getenv: func(string) string { return "" }, outputs: func(context.Context, string) (map[string]any, error) {
				t.Error("the stack's outputs were read before the usage error")
				return nil, fmt.Errorf("not here")
			}}
			var out, errOut bytes.Buffer
			if code := runWith(context.Background(), tc.args, h, &out, &errOut, false); code != exitUsage || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, exitUsage, tc.want, &errOut)
			}
		})
	}
}

// TestSaysWhatItWaitsFor proves a retried check is announced on stderr,
// and --quiet silences it.
func TestSaysWhatItWaitsFor(t *testing.T) {
	bad := backend(t, 503)
	args := []string{"--api", bad.URL, "--retries", "1", "--backoff", "1ms", "--requests", "2"}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), args, &out, &errOut, false); code != exitFail {
		t.Fatalf("exit %d", code)
	}
	if want := "waiting 1ms for GET /health/ready (attempt 1 of 2 failed:"; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, &errOut)
	}
	errOut.Reset()
	run(context.Background(), append(args, "--quiet"), &out, &errOut, false)
	if strings.Contains(errOut.String(), "waiting") {
		t.Errorf("--quiet still reports waits:\n%s", &errOut)
	}
}
