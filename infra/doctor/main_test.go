package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// fake is a machine whose answers each test sets.
type fake struct {
	goVersion string            // "" means go is missing
	paths     map[string]string // LookPath results
	files     map[string]bool   // Stat results
	env       map[string]string
	context   string // docker context endpoint
	pingErr   error
	free      bool
	ours      bool
	taken     int    // when not 0, the only port free and ours apply to; the others are free
	pulumi    string // --pulumi
}

func (f fake) Output(_ context.Context, name string, args ...string) (string, error) {
	switch {
	case name == "go":
		if f.goVersion == "" {
			return "", errors.New("not found")
		}
		return f.goVersion + "\n", nil
	case name == "docker":
		if f.context == "" {
			return "", errors.New("no docker CLI")
		}
		return f.context + "\n", nil
	case strings.HasSuffix(name, "pulumi"):
		return "v3.274.1\n", nil
	}
	return "", errors.New("unexpected command " + name)
}

func (f fake) LookPath(file string) (string, error) {
	if p, ok := f.paths[file]; ok {
		return p, nil
	}
	return "", errors.New("not found")
}
func (f fake) Getenv(k string) string { return f.env[k] }
func (f fake) ReadFile(string) ([]byte, error) {
	return []byte("module x\n\ngo 1.26.8\n"), nil
}
func (f fake) Stat(p string) (os.FileInfo, error) {
	if f.files[p] {
		return nil, nil
	}
	return nil, os.ErrNotExist
}
func (f fake) Ping(context.Context, string) error { return f.pingErr }
func (f fake) PortFree(_ context.Context, port int, _ probe) (bool, bool) {
	if f.taken != 0 && port != f.taken {
		return true, false
	}
	return f.free, f.ours
}

func healthy() fake {
	return fake{
		goVersion: "go1.26.8",
		paths:     map[string]string{"pulumi": "/home/u/.pulumi/bin/pulumi"},
		files:     map[string]bool{"/home/u/.pulumi/bin/pulumi-language-go": true},
		free:      true,
	}
}

func TestDoctor(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*fake)
		code int
		want []string
	}{
		{"all good", func(*fake) {}, 0, []string{"ok   go             go 1.26.8 (go.mod: 1.26.8)", "language host /home/u/.pulumi/bin/pulumi-language-go",
			"engine at unix:///var/run/docker.sock (default)", "ready for make up"}},
		{"old go", func(f *fake) { f.goVersion = "go1.25.3" }, 1,
			[]string{"FAIL go             go 1.25.3 is older than go.mod's 1.26.8", "fix: install Go 1.26.8 or newer"}},
		{"no go", func(f *fake) { f.goVersion = "" }, 1, []string{"FAIL go", "https://go.dev/dl/"}},
		{"explicit CLI missing", func(f *fake) { f.pulumi = "/repo/bin/pulumi" }, 1,
			[]string{"FAIL pulumi         pulumi not on PATH, and /repo/bin/pulumi does not exist", "get.pulumi.com"}},
		{"no pulumi", func(f *fake) { f.paths = nil }, 1,
			[]string{"FAIL pulumi         pulumi not on PATH", "fix: install the official CLI: curl -fsSL https://get.pulumi.com | sh"}},
		{"source-built pulumi", func(f *fake) { f.files = nil }, 1,
			[]string{"has no Go language host (pulumi-language-go)", "get.pulumi.com"}},
		{"language host on PATH", func(f *fake) { f.files = nil; f.paths["pulumi-language-go"] = "/usr/local/bin/pulumi-language-go" }, 0,
			[]string{"language host /usr/local/bin/pulumi-language-go"}},
		{"DOCKER_HOST wins", func(f *fake) {
			f.env = map[string]string{"DOCKER_HOST": "unix:///home/u/.colima/default/docker.sock"}
			f.context = "unix:///other.sock"
		}, 0, []string{"engine at unix:///home/u/.colima/default/docker.sock (DOCKER_HOST)"}},
		{"docker context", func(f *fake) { f.context = "unix:///Users/u/.docker/run/docker.sock" }, 0,
			[]string{"engine at unix:///Users/u/.docker/run/docker.sock (docker context)"}},
		{"engine down", func(f *fake) { f.pingErr = errors.New("connection refused") }, 1,
			[]string{"FAIL docker         no engine answers at unix:///var/run/docker.sock (default): connection refused", "fix: start Docker"}},
		{"tcp engine", func(f *fake) { f.env = map[string]string{"DOCKER_HOST": "tcp://1.2.3.4:2375"} }, 1,
			[]string{"is not a unix:// socket or ssh:// host"}},
		{"port taken", func(f *fake) { f.free = false }, 1,
			[]string{"FAIL port 8000      127.0.0.1:8000 is taken by another program", "fix: stop it (find it with: lsof -i :8000)"}},
		{"port ours", func(f *fake) { f.free, f.ours = false, true }, 0, []string{"the dev stack is up"}},
		{"prometheus port taken", func(f *fake) { f.free, f.taken = false, 9090 }, 1,
			[]string{"FAIL port 9090      127.0.0.1:9090 is taken by another program",
				"set monitoring.prometheusHostPort in Pulumi.dev.yaml and run make doctor PROMETHEUS_PORT=<port>", "ok   port 8000", "ok   port 9093"}},
		{"alertmanager port ours", func(f *fake) { f.free, f.ours, f.taken = false, true, 9093 }, 0,
			[]string{"ok   port 9093      in use by Alertmanager (the dev stack is up)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := healthy()
			tc.mod(&f)
			var out, errOut bytes.Buffer
			var args []string
			if f.pulumi != "" {
				args = []string{"--pulumi", f.pulumi}
			}
			if code := run(t.Context(), args, f, &out, &errOut); code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, &out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, &out)
				}
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"--help"}, healthy(), &out, &errOut); code != 0 {
		t.Errorf("--help exit %d", code)
	}
	for _, w := range []string{"Exit status: 0 every check passed (also --help), 1 a check failed, 2 usage error", "  --pulumi CLI"} {
		if !strings.Contains(errOut.String(), w) {
			t.Errorf("help lacks %q:\n%s", w, &errOut)
		}
	}
	if code := run(t.Context(), []string{"--nope"}, healthy(), &out, &errOut); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
}
