package realprovider

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/stacks/config"
)

// TestPreviewStagingAndProductionOverSSH previews the committed staging and
// production stacks under the policy pack with the real plugins. The docker
// provider dials its engine even in a preview, so each region's dockerHost
// is a loopback sshd in front of this machine's engine: the same path CI's
// PR previews take to the real hosts, with a key and a pinned host key.
func TestPreviewStagingAndProductionOverSSH(t *testing.T) {
	s := newSuite(t)
	host := startLoopbackSSH(t)
	host.checkDocker(t)
	state := t.TempDir()
	s.env = append(s.env, "PULUMI_BACKEND_URL=file://"+state, "PULUMI_CONFIG_PASSPHRASE=test")
	pulumi, err := s.lookPath("pulumi")
	if err != nil {
		t.Fatalf("pulumi CLI: %v", err)
	}
	var rows []row
	for _, stack := range []string{"staging", "production"} {
		t.Run(stack, func(t *testing.T) {
			resources, took := previewOverSSH(t, s, pulumi, host, stack)
			rows = append(rows,
				row{stack + " preview: resources to create", strconv.Itoa(resources)},
				row{stack + " preview: duration", took.Round(time.Second).String()})
		})
	}
	if !t.Failed() {
		t.Logf("figures:\n%s", table(rows))
	}
}

// previewOverSSH makes stack's file usable against host, creates the stack
// with fake secrets and previews it with the pack; it returns the number of
// resources the preview would create and how long the preview took. pulumi
// is the CLI's path: exec resolves a bare name on the test's PATH, not on
// the suite's.
func previewOverSSH(t *testing.T, s *suite, pulumi string, host loopbackSSH, stack string) (int, time.Duration) {
	t.Helper()
	writeStackOverSSH(t, s.dir, stack, host)
	s.run(t, 2*time.Minute, pulumi, "stack", "init", stack, "--secrets-provider", "passphrase")
	secrets := previewSecrets(t)
	for _, key := range slices.Sorted(maps.Keys(secrets)) {
		s.run(t, time.Minute, pulumi, "config", "set", "--secret", "--stack", stack, config.Namespace+":"+key, secrets[key])
	}
	out, took, err := s.try(15*time.Minute, pulumi, "preview", "--stack", stack, "--policy-pack", "./policy", "--non-interactive")
	if err != nil {
		t.Fatalf("pulumi preview --stack %s: %v (after %s)\n%s", stack, err, took.Round(time.Second), tail(out, 80))
	}
	if strings.Contains(out, "[mandatory]") {
		t.Errorf("preview of %s reports mandatory policy violations:\n%s", stack, tail(out, 80))
	}
	if !strings.Contains(out, "helloagents-guardrails") {
		t.Errorf("preview of %s does not name the policy pack: did it run?\n%s", stack, tail(out, 80))
	}
	n, err := previewCreates(out)
	if err != nil {
		t.Fatalf("preview of %s: %v\n%s", stack, err, tail(out, 40))
	}
	t.Logf("%s: %d to create in %s\n%s", stack, n, took.Round(time.Second), tail(out, 15))
	return n, took
}

// previewCreates reads "N to create" from a preview summary.
func previewCreates(out string) (int, error) {
	m := regexp.MustCompile(`\+ (\d+) to create`).FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no \"N to create\" in the preview summary")
	}
	return strconv.Atoi(m[1])
}

// previewSecrets are values of the shape each required secret needs: the
// Cloudflare provider takes only a 40-character token and validation only an
// https Sentry DSN. The alert webhook stays unset: the committed stacks
// alert by email, and setting it would add resources.
func previewSecrets(t *testing.T) map[string]string {
	t.Helper()
	secrets := map[string]string{
		"cloudflareApiToken": strings.Repeat("Fake0Token", 4),
		"r2AccessKeyId":      "0123456789abcdef0123456789abcdef",
		"r2SecretAccessKey":  strings.Repeat("0123456789abcdef", 4),
		"sentryDsn":          "https://fake@o1.ingest.sentry.io/1",
		"aiApiKey":           "fake-ai-key",
		"registryPassword":   "fake-registry-password",
	}
	for key := range secrets {
		if !slices.Contains(config.SecretKeys(), key) {
			t.Fatalf("fake secret %s is not a key of config.SecretKeys %v", key, config.SecretKeys())
		}
	}
	return secrets
}

// writeStackOverSSH rewrites Pulumi.<stack>.yaml in dir: every region's
// engine is host, and each committed placeholder becomes the real-looking
// value the tests use. Validation then accepts the file, which is checked
// here so a config problem shows up before the slow preview.
func writeStackOverSSH(t *testing.T, dir, stack string, host loopbackSSH) {
	t.Helper()
	path := filepath.Join(dir, "Pulumi."+stack+".yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	values, _ := file["config"].(map[string]any)
	regions, _ := values[config.Namespace+":regions"].([]any)
	if len(regions) == 0 {
		t.Fatalf("%s: no regions", path)
	}
	for i, r := range regions {
		region, ok := r.(map[string]any)
		if !ok {
			t.Fatalf("%s: regions[%d] is %T, not an object", path, i, r)
		}
		region["dockerHost"], region["sshOpts"] = host.url(), host.opts()
	}
	fillPlaceholders(values)
	if b, err = yaml.Marshal(file); err != nil {
		t.Fatalf("render %s: %v", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	checkStackFile(t, path, stack)
}

// fillPlaceholders replaces, in every string under v, the committed
// placeholders with stacktest.Substitute's values; it returns v.
func fillPlaceholders(v any) any {
	switch v := v.(type) {
	case string:
		for _, p := range config.Placeholders() {
			v = strings.ReplaceAll(v, p, stacktest.Substitute(p))
		}
		return v
	case map[string]any:
		for k, e := range v {
			v[k] = fillPlaceholders(e)
		}
	case []any:
		for i, e := range v {
			v[i] = fillPlaceholders(e)
		}
	}
	return v
}

// checkStackFile validates the rewritten file with the fake secrets, as the
// program will under the engine.
func checkStackFile(t *testing.T, path, stack string) {
	t.Helper()
	raw, err := config.ReadStackFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for key, v := range previewSecrets(t) {
		raw[config.Namespace+":"+key] = v
	}
	if _, err := config.Parse(stack, raw); err != nil {
		t.Fatalf("the rewritten %s does not validate:\n%v", path, err)
	}
}

// loopbackSSH is an sshd on 127.0.0.1 logging in root with a test key, its
// host key pinned in a known_hosts file of its own.
type loopbackSSH struct {
	port       int
	key        string // the client's private key
	knownHosts string
}

// url is the dockerHost of a region on this host.
func (h loopbackSSH) url() string { return fmt.Sprintf("ssh://root@127.0.0.1:%d", h.port) }

// opts are the ssh(1) options that log in with the test key and accept only
// the pinned host key.
func (h loopbackSSH) opts() []string {
	return []string{"-i", h.key, "-o", "UserKnownHostsFile=" + h.knownHosts, "-o", "StrictHostKeyChecking=yes"}
}

// checkDocker runs `docker version` through the host the way the docker
// provider will, so a broken login fails here and not inside a preview.
func (h loopbackSSH) checkDocker(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(h.opts(), "-o", "BatchMode=yes", "-p", strconv.Itoa(h.port), "root@127.0.0.1", "docker", "version")
	out, err := exec.CommandContext(ctx, "ssh", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// startLoopbackSSH starts sshd on a free loopback port with keys made for
// this test; it stops with the test.
func startLoopbackSSH(t *testing.T) loopbackSSH {
	t.Helper()
	const sshd = "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		t.Skipf("no %s (Debian openssh-server): %v", sshd, err)
	}
	if os.Geteuid() != 0 {
		t.Skip("the loopback sshd logs in root to reach the Docker engine: run as root")
	}
	dir := t.TempDir()
	h := loopbackSSH{port: freeLoopbackPort(t), key: filepath.Join(dir, "client"), knownHosts: filepath.Join(dir, "known_hosts")}
	sshKeygen(t, h.key)
	sshKeygen(t, filepath.Join(dir, "host"))
	copyKeyFile(t, h.key+".pub", filepath.Join(dir, "authorized_keys"))
	hostKey, err := os.ReadFile(filepath.Join(dir, "host.pub"))
	if err != nil {
		t.Fatal(err)
	}
	entry := fmt.Sprintf("[127.0.0.1]:%d %s", h.port, hostKey)
	if err := os.WriteFile(h.knownHosts, []byte(entry), 0o600); err != nil {
		t.Fatal(err)
	}
	runSSHD(t, sshd, writeSSHDConfig(t, dir, h.port))
	awaitListener(t, fmt.Sprintf("127.0.0.1:%d", h.port), 10*time.Second)
	return h
}

// writeSSHDConfig writes a private sshd_config in dir: key logins of root
// on loopback only, nothing from the system's configuration.
func writeSSHDConfig(t *testing.T, dir string, port int) string {
	t.Helper()
	cfg := strings.Join([]string{
		"ListenAddress 127.0.0.1",
		"Port " + strconv.Itoa(port),
		"HostKey " + filepath.Join(dir, "host"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"PidFile " + filepath.Join(dir, "sshd.pid"),
	}, "\n") + "\n"
	path := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runSSHD runs sshd in the foreground with cfg, its log in a file beside
// cfg that the test prints if it fails; the test's cleanup kills it.
func runSSHD(t *testing.T, sshd, cfg string) {
	t.Helper()
	// The privilege-separation directory; Debian creates it at boot only.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(filepath.Dir(cfg), "sshd.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), sshd, "-D", "-e", "-f", cfg)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("sshd log:\n%s", tail(string(b), 40))
		}
	})
}

// sshKeygen makes an ed25519 key pair at path and path.pub.
func sshKeygen(t *testing.T, path string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "realprovider-test", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen %s: %v\n%s", path, err, out)
	}
}

// copyKeyFile copies src to dst, readable by its owner only.
func copyKeyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// freeLoopbackPort is a TCP port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// awaitListener waits until addr accepts TCP connections.
func awaitListener(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(t.Context(), "tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after %s: %v", addr, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
