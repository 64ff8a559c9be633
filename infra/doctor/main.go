// Command doctor checks that this machine can run `make up`: the Go version
// go.mod asks for, the official Pulumi CLI 3.274.x with its Go language
// host, a reachable Docker engine 20.10 or newer and free ports. Each failed
// check prints the exact fix.
//
//	go run ./infra/doctor [--pulumi PATH] [--port 8000]
//
// Exit status: 0 every check passed (also --help), 1 a check failed, 2 usage
// error.
package main

import (
	"bufio"
	"context"
	"fmt"
	"go/version"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/helloagents/infra/backend/cli"
	"github.com/helloagents/infra/backend/server"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], system{}, os.Stdout, os.Stderr))
}

// machine is what doctor asks of the host; tests replace it.
type machine interface {
	// Output runs a command and returns its standard output.
	Output(ctx context.Context, name string, args ...string) (string, error)
	LookPath(file string) (string, error)
	Getenv(key string) string
	ReadFile(path string) ([]byte, error)
	Stat(path string) (os.FileInfo, error)
	// Ping asks the Docker engine at host (unix://...) for /_ping.
	Ping(ctx context.Context, host string) error
	// PortFree reports whether 127.0.0.1:port can be bound; if not, whether
	// the program the port is for answers there (probe).
	PortFree(ctx context.Context, port int, p probe) (free, ours bool)
}

// check is one line of the report.
type check struct {
	name   string
	ok     bool
	detail string
	fix    string
}

func run(ctx context.Context, args []string, m machine, stdout, stderr io.Writer) int {
	opts, code, done := parseArgs(args, stderr)
	if done {
		return code
	}
	checks := []check{
		goVersion(ctx, m, opts.gomod),
		pulumiCLI(ctx, m, opts.pulumi),
		dockerEngine(ctx, m),
		portCheck(ctx, m, apiPort(opts.port)),
		portCheck(ctx, m, prometheusPort(opts.prometheusPort)),
		portCheck(ctx, m, alertmanagerPort(opts.alertmanagerPort)),
	}
	return report(stdout, checks)
}

// usage heads --help, above the flags.
const usage = `Usage: go run ./infra/doctor [flags]

Checks what ` + "`make up`" + ` needs: Go at least go.mod's version, the official
Pulumi CLI ` + pulumiSeries + `.x (the Makefile's PULUMI_VERSION ` + pulumiPinned + `) with its Go
language host (pulumi-language-go), a reachable Docker engine (DOCKER_HOST,
else the current docker context, else /var/run/docker.sock) at version
` + minDocker + ` or newer, and free ports for the API, Prometheus and
Alertmanager. Prints the fix of every failed check.

Exit status: 0 every check passed (also --help), 1 a check failed, 2 usage error.

Flags:
`

// options are the command line of doctor.
type options struct {
	pulumi           string
	port             int
	prometheusPort   int
	alertmanagerPort int
	gomod            string
}

// parseArgs reads the flags. done is true when run must exit with code:
// after --help (0) or a usage error (2, already reported on stderr).
func parseArgs(args []string, stderr io.Writer) (opts options, code int, done bool) {
	fs := cli.NewFlagSet("doctor", usage, stderr)
	fs.StringVar(&opts.pulumi, "pulumi", "", "the Pulumi `CLI` `make up` will run (default: pulumi on PATH)")
	fs.IntVar(&opts.port, "port", server.DefaultPort, "the `port` the dev API is published on (helloagents:backend.hostPort)")
	fs.IntVar(&opts.prometheusPort, "prometheus-port", 9090, "the `port` dev's Prometheus is published on (helloagents:monitoring.prometheusHostPort)")
	fs.IntVar(&opts.alertmanagerPort, "alertmanager-port", 9093, "the `port` dev's Alertmanager is published on (helloagents:monitoring.alertmanagerHostPort)")
	fs.StringVar(&opts.gomod, "gomod", "go.mod", "the `go.mod` whose go directive is the required Go version")
	if code, done := cli.Parse(fs, args); done {
		return opts, code, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "doctor: unexpected arguments %q\n", fs.Args())
		return opts, 2, true
	}
	return opts, 0, false
}

// report prints one line per check, with the fix of each failed one, and
// returns the exit status: 1 when any check failed.
func report(stdout io.Writer, checks []check) int {
	failed := 0
	for _, c := range checks {
		mark := "ok  "
		if !c.ok {
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(stdout, "%s %-14s %s\n", mark, c.name, c.detail)
		if !c.ok && c.fix != "" {
			for _, l := range strings.Split(c.fix, "\n") {
				fmt.Fprintf(stdout, "     fix: %s\n", l)
			}
		}
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "%d check(s) failed: fix them, then run make doctor again\n", failed)
		return 1
	}
	fmt.Fprintln(stdout, "ready for make up")
	return 0
}

// goVersion compares `go env GOVERSION` with go.mod's go directive.
func goVersion(ctx context.Context, m machine, gomod string) check {
	c := check{name: "go"}
	want, err := goDirective(m, gomod)
	if err != nil {
		c.detail = err.Error()
		c.fix = "run doctor from the repository root (make doctor)"
		return c
	}
	out, err := m.Output(ctx, "go", "env", "GOVERSION")
	if err != nil {
		c.detail = "go not found"
		c.fix = "install Go " + want + " or newer: https://go.dev/dl/"
		return c
	}
	have := strings.TrimPrefix(strings.TrimSpace(out), "go")
	if version.Compare("go"+have, "go"+want) < 0 {
		c.detail = fmt.Sprintf("go %s is older than go.mod's %s", have, want)
		c.fix = "install Go " + want + " or newer: https://go.dev/dl/ (or set GOTOOLCHAIN=auto to let go fetch it)"
		return c
	}
	c.ok, c.detail = true, fmt.Sprintf("go %s (go.mod: %s)", have, want)
	return c
}

// goDirective returns the version of go.mod's go line.
func goDirective(m machine, gomod string) (string, error) {
	data, err := m.ReadFile(gomod)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", gomod, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "go "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s has no go directive", gomod)
}

// pulumiCLI checks the CLI and the Go language host beside it or on PATH:
// a CLI built from source has no language host and cannot run the program.
func pulumiCLI(ctx context.Context, m machine, path string) check {
	c := check{name: "pulumi"}
	install := pulumiInstall
	if path == "" {
		p, err := m.LookPath("pulumi")
		if err != nil {
			c.detail, c.fix = "pulumi not on PATH", install
			return c
		}
		path = p
	} else if _, err := m.Stat(path); err != nil {
		c.detail, c.fix = fmt.Sprintf("pulumi not on PATH, and %s does not exist", path), install
		return c
	}
	out, err := m.Output(ctx, path, "version")
	if err != nil {
		c.detail, c.fix = fmt.Sprintf("%s does not run: %v", path, err), install
		return c
	}
	version := strings.TrimSpace(out)
	if fail, ok := pulumiVersionCheck(version); !ok {
		c.detail, c.fix = fmt.Sprintf("%s: %s", path, fail), install
		return c
	}
	host := filepath.Join(filepath.Dir(path), "pulumi-language-go")
	if _, err := m.Stat(host); err != nil {
		if p, err := m.LookPath("pulumi-language-go"); err == nil {
			host = p
		} else {
			c.detail = fmt.Sprintf("%s %s has no Go language host (pulumi-language-go); a CLI built from source (make tools) cannot run the program", path, version)
			c.fix = install
			return c
		}
	}
	c.ok, c.detail = true, fmt.Sprintf("%s %s, language host %s", path, version, host)
	return c
}

// dockerHost returns the engine dev deploys to: DOCKER_HOST, else the
// current docker context's endpoint, else the default socket. The Makefile
// uses the same order.
func dockerHost(ctx context.Context, m machine) (host, source string) {
	if h := m.Getenv("DOCKER_HOST"); h != "" {
		return h, "DOCKER_HOST"
	}
	if out, err := m.Output(ctx, "docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}"); err == nil {
		if h := strings.TrimSpace(out); h != "" {
			return h, "docker context"
		}
	}
	return "unix:///var/run/docker.sock", "default"
}

func dockerEngine(ctx context.Context, m machine) check {
	host, source := dockerHost(ctx, m)
	c := check{name: "docker"}
	u, err := url.Parse(host)
	if err != nil || (u.Scheme != "unix" && u.Scheme != "ssh") {
		c.detail = fmt.Sprintf("%s (%s) is not a unix:// socket or ssh:// host", host, source)
		c.fix = "the dev stack reaches Docker over a unix socket or ssh://user@host; set DOCKER_HOST to one (tcp:// would expose the engine)"
		return c
	}
	if u.Scheme == "ssh" {
		c.ok, c.detail = true, fmt.Sprintf("%s (%s); not probed over ssh", host, source)
		return c
	}
	if err := m.Ping(ctx, host); err != nil {
		c.detail = fmt.Sprintf("no engine answers at %s (%s): %v", host, source, err)
		c.fix = "start Docker (Docker Desktop, colima start, sudo systemctl start docker, ...)\n" +
			"or point DOCKER_HOST at its socket, e.g. export DOCKER_HOST=unix://$HOME/.colima/default/docker.sock\n" +
			"Linux without root: add yourself to the docker group (sudo usermod -aG docker $USER, then log in again)"
		return c
	}
	out, err := m.Output(ctx, "docker", "version", "--format", "{{.Server.Version}}")
	if err != nil {
		c.detail = fmt.Sprintf("engine at %s (%s) answers, but `docker version` failed: %v", host, source, err)
		c.fix = "install the Docker CLI (docker-ce-cli, Docker Desktop) so doctor can read the engine's version (needs " + minDocker + "+)"
		return c
	}
	found := strings.TrimSpace(out)
	v, err := parseVersion(found)
	if err != nil || compareParts(v, mustParse(minDocker)) < 0 {
		c.detail = fmt.Sprintf("engine at %s (%s) is Docker %q; required: %s or newer", host, source, found, minDocker)
		c.fix = "upgrade Docker Engine to " + minDocker + " or newer (https://docs.docker.com/engine/install/), or point DOCKER_HOST at a newer engine"
		return c
	}
	c.ok, c.detail = true, fmt.Sprintf("engine at %s (%s), Docker %s (needs %s+)", host, source, found, minDocker)
	return c
}

// published is a port the dev stack publishes on 127.0.0.1: what it is
// for, the probe that recognises its program, and the settings that move it.
type published struct {
	port    int
	what    string // "the API", "Prometheus"
	probe   probe
	setting string // the stack setting that moves it
	flag    string // doctor's flag and make variable for it
}

// probe recognises a program by one GET: the body at path contains want.
type probe struct{ path, want string }

func apiPort(port int) published {
	return published{port, "the API", probe{"/health/live", `"status"`}, "backend.hostPort", "PORT"}
}

func prometheusPort(port int) published {
	return published{port, "Prometheus", probe{"/-/healthy", "Prometheus"}, "monitoring.prometheusHostPort", "PROMETHEUS_PORT"}
}

func alertmanagerPort(port int) published {
	return published{port, "Alertmanager", probe{"/api/v2/status", "versionInfo"}, "monitoring.alertmanagerHostPort", "ALERTMANAGER_PORT"}
}

func portCheck(ctx context.Context, m machine, p published) check {
	c := check{name: "port " + strconv.Itoa(p.port)}
	free, ours := m.PortFree(ctx, p.port, p.probe)
	switch {
	case free:
		c.ok, c.detail = true, "127.0.0.1:"+strconv.Itoa(p.port)+" is free"
	case ours:
		c.ok, c.detail = true, "in use by "+p.what+" (the dev stack is up)"
	default:
		c.detail = "127.0.0.1:" + strconv.Itoa(p.port) + " is taken by another program"
		c.fix = fmt.Sprintf("stop it (find it with: lsof -i :%d), or publish %s elsewhere:\n"+
			"set %s in Pulumi.dev.yaml and run make doctor %s=<port>", p.port, p.what, p.setting, p.flag)
	}
	return c
}

// system is the real machine.
type system struct{}

func (system) Output(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	return string(out), err
}

func (system) LookPath(file string) (string, error)  { return exec.LookPath(file) }
func (system) Getenv(key string) string              { return os.Getenv(key) }
func (system) ReadFile(path string) ([]byte, error)  { return os.ReadFile(path) }
func (system) Stat(path string) (os.FileInfo, error) { return os.Stat(path) }

func (system) Ping(ctx context.Context, host string) error {
	sock := strings.TrimPrefix(host, "unix://")
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/_ping answered %s", resp.Status)
	}
	return nil
}

func (system) PortFree(ctx context.Context, port int, p probe) (free, ours bool) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err == nil {
		_ = l.Close()
		return true, false
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+p.path, nil)
	if err != nil {
		return false, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return false, resp.StatusCode == http.StatusOK && strings.Contains(string(body), p.want)
}
