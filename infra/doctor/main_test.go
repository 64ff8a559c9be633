package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/helloagents/infra/backend/cli"
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
	pulumiOut string // `pulumi version`
	dockerOut string // `docker version --format {{.Server.Version}}`; "" means it fails
}

func (f fake) Output(_ context.Context, name string, args ...string) (string, error) {
	switch {
	case name == "go":
		if f.goVersion == "" {
			return "", errors.New("not found")
		}
		return f.goVersion + "\n", nil
	case name == "docker" && len(args) > 0 && args[0] == "version":
		if f.dockerOut == "" {
			return "", errors.New("exit status 1")
		}
		return f.dockerOut + "\n", nil
	case name == "docker":
		if f.context == "" {
			return "", errors.New("no docker CLI")
		}
		return f.context + "\n", nil
	case strings.HasSuffix(name, "pulumi"):
		return f.pulumiOut + "\n", nil
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
		pulumiOut: "v3.274.1",
		dockerOut: "24.0.7",
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
			[]string{"FAIL pulumi         pulumi not on PATH", "fix: install the official CLI 3.274.1: curl -fsSL https://get.pulumi.com | sh -s -- --version 3.274.1"}},
		{"old pulumi", func(f *fake) { f.pulumiOut = "v3.190.0" }, 1,
			[]string{"FAIL pulumi         /home/u/.pulumi/bin/pulumi: found Pulumi CLI v3.190.0; required: 3.274.x (the Makefile's PULUMI_VERSION v3.274.1)",
				"fix: install the official CLI 3.274.1: curl -fsSL https://get.pulumi.com | sh -s -- --version 3.274.1"}},
		{"newer pulumi", func(f *fake) { f.pulumiOut = "v3.280.0" }, 1, []string{"found Pulumi CLI v3.280.0; required: 3.274.x"}},
		{"pulumi patch release", func(f *fake) { f.pulumiOut = "v3.274.9" }, 0, []string{"ok   pulumi         /home/u/.pulumi/bin/pulumi v3.274.9"}},
		{"unreadable pulumi version", func(f *fake) { f.pulumiOut = "garbage" }, 1, []string{`cannot read the CLI's version from "garbage"`}},
		{"old docker", func(f *fake) { f.dockerOut = "19.03.15" }, 1,
			[]string{`FAIL docker         engine at unix:///var/run/docker.sock (default) is Docker "19.03.15"; required: 20.10 or newer`,
				"fix: upgrade Docker Engine to 20.10 or newer"}},
		{"debian docker", func(f *fake) { f.dockerOut = "20.10.24+dfsg1" }, 0, []string{"Docker 20.10.24+dfsg1 (needs 20.10+)"}},
		{"no docker CLI", func(f *fake) { f.dockerOut = "" }, 1, []string{"`docker version` failed", "fix: install the Docker CLI"}},
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

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [3]int
		err  bool
	}{
		{"v3.274.1", [3]int{3, 274, 1}, false},
		{"v3.274.1\n", [3]int{3, 274, 1}, false},
		{"v3.275.0-dev.0", [3]int{3, 275, 0}, false},
		{"24.0.7", [3]int{24, 0, 7}, false},
		{"20.10.24+dfsg1", [3]int{20, 10, 24}, false},
		{"26.1.3-ce", [3]int{26, 1, 3}, false},
		{"20.10", [3]int{20, 10, 0}, false},
		{"Docker version 28.0.1, build abc", [3]int{28, 0, 1}, false},
		{"", [3]int{}, true},
		{"latest", [3]int{}, true},
		{"3", [3]int{}, true},
		{"1.2.3.4", [3]int{}, true},
	} {
		got, err := parseVersion(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseVersion(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestVersionRequirements(t *testing.T) {
	for _, tc := range []struct {
		what, version string
		ok            bool
	}{
		{"pulumi", "v3.274.1", true},
		{"pulumi", "v3.274.0", true},
		{"pulumi", "v3.273.9", false},
		{"pulumi", "v3.275.0", false},
		{"pulumi", "v4.274.1", false},
		{"docker", "20.10.0", true},
		{"docker", "20.10.24+dfsg1", true},
		{"docker", "28.0.1", true},
		{"docker", "20.9.9", false},
		{"docker", "19.03.15", false},
	} {
		var ok bool
		if tc.what == "pulumi" {
			_, ok = pulumiVersionCheck(tc.version)
		} else {
			v, err := parseVersion(tc.version)
			ok = err == nil && compareParts(v, mustParse(minDocker)) >= 0
		}
		if ok != tc.ok {
			t.Errorf("%s %s accepted: %v, want %v", tc.what, tc.version, ok, tc.ok)
		}
	}
}

// TestVersionsMatchMakefileAndReadme: the Pulumi CLI doctor asks for is the
// one the Makefile pins (PULUMI_VERSION, renovate bumps it), and the README
// quotes the same series and Docker minimum; a bump of one without the
// others fails here.
func TestVersionsMatchMakefileAndReadme(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^PULUMI_VERSION := (\S+)$`).FindSubmatch(mk)
	if m == nil || string(m[1]) != pulumiPinned {
		t.Errorf("Makefile PULUMI_VERSION is %q; doctor's pulumiPinned is %q", m, pulumiPinned)
	}
	if !strings.HasPrefix(pulumiPinned, "v"+pulumiSeries+".") {
		t.Errorf("pulumiPinned %s is not in pulumiSeries %s", pulumiPinned, pulumiSeries)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		re   *regexp.Regexp
		want string
	}{
		{regexp.MustCompile(`Pulumi CLI (\d+\.\d+)\.x`), pulumiSeries},
		{regexp.MustCompile(`Docker engine \((\d+\.\d+)\+`), minDocker},
		{regexp.MustCompile(`Docker engine (\d+\.\d+) or newer`), minDocker},
		{regexp.MustCompile(`get\.pulumi\.com \\?\| sh -s -- --version ([0-9.]+)`), strings.TrimPrefix(pulumiPinned, "v")},
		{regexp.MustCompile("exit 0 all passed \\(also `--help`\\), 1 on any failure \\(2 through make\\), (\\d) usage error"), strconv.Itoa(cli.ExitUsage)},
	} {
		all := tc.re.FindAllSubmatch(readme, -1)
		if len(all) == 0 {
			t.Errorf("README.md no longer quotes %s", tc.re)
		}
		for _, a := range all {
			if string(a[1]) != tc.want {
				t.Errorf("README.md quotes %q; doctor requires %s", a[0], tc.want)
			}
		}
	}
}
