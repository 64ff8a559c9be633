package prometheus

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/testkit"
)

// TestEntrypoint runs entrypoint.sh with a stand-in prometheus that prints
// its arguments: the image's paths, the retention from the environment
// (default 15d), the container's command appended, and never the
// lifecycle or admin API.
func TestEntrypoint(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "prometheus"), []byte("#!/bin/sh\nprintf '%s\\n' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	always := []string{
		"--config.file=" + ConfigPath,
		"--storage.tsdb.path=" + DataDir,
		"--web.listen-address=:9090",
	}
	tests := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{name: "default retention", want: []string{"--storage.tsdb.retention.time=" + DefaultRetention}},
		{name: "retention from the environment", env: []string{EnvRetention + "=90d"}, want: []string{"--storage.tsdb.retention.time=90d"}},
		{name: "empty retention is the default", env: []string{EnvRetention + "="}, want: []string{"--storage.tsdb.retention.time=" + DefaultRetention}},
		{name: "command appended", args: []string{"--web.external-url=https://prometheus.example.com/"},
			want: []string{"--storage.tsdb.retention.time=" + DefaultRetention, "--web.external-url=https://prometheus.example.com/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", append([]string{"entrypoint.sh"}, tt.args...)...)
			cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin"}, tt.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("entrypoint.sh: %v\n%s", err, out)
			}
			got := strings.Split(strings.TrimSpace(string(out)), "\n")
			for _, want := range append(always, tt.want...) {
				if !slices.Contains(got, want) {
					t.Errorf("prometheus arguments %q lack %q", got, want)
				}
			}
			if len(tt.args) > 0 && got[len(got)-1] != tt.args[len(tt.args)-1] {
				t.Errorf("last argument %q, want the command's %q", got[len(got)-1], tt.args[len(tt.args)-1])
			}
			for _, arg := range got {
				if strings.HasPrefix(arg, "--web.enable-lifecycle") || strings.HasPrefix(arg, "--web.enable-admin-api") {
					t.Errorf("prometheus started with %s", arg)
				}
			}
		})
	}
}

// TestDockerfileDefaults checks that the Dockerfile sets the retention
// default and copies the files where the constants say.
func TestDockerfileDefaults(t *testing.T) {
	b, err := os.ReadFile("../prometheus.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := string(b)
	for _, re := range []string{
		`(?m)^ENV ` + EnvRetention + `=` + regexp.QuoteMeta(DefaultRetention) + `$`,
		`(?m)^COPY prometheus/prometheus.yml prometheus/rules.yml ` + regexp.QuoteMeta(ConfigDir) + `/$`,
		`(?m)^USER 65532:65532$`,
		`/dev/tcp/127.0.0.1/9090 .*GET ` + regexp.QuoteMeta(ReadyPath) + ` `,
	} {
		if !regexp.MustCompile(re).MatchString(dockerfile) {
			t.Errorf("prometheus.Dockerfile does not match %s", re)
		}
	}
}

// TestDefaultConfig checks the image's default configuration and rule file
// with promtool (Debian's prometheus package, the one the image installs).
func TestDefaultConfig(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	// The configuration names the rule file by its path in the image.
	dir := t.TempDir()
	cfg, err := os.ReadFile("prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), RulesPath) {
		t.Fatalf("prometheus.yml does not name %s", RulesPath)
	}
	rules, err := os.ReadFile("rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "rules.yml")
	for name, content := range map[string][]byte{
		"prometheus.yml": []byte(strings.ReplaceAll(string(cfg), RulesPath, local)),
		"rules.yml":      rules,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"check", "config", filepath.Join(dir, "prometheus.yml")},
		{"check", "rules", local},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, promtool, args...).CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// requireTool finds a program: a skip when it is missing, a failure under CI.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p := testkit.RequireTool(t, name, "apt-get install "+pkg)
	return p
}

// TestEntrypointWritesFiles runs entrypoint.sh (its configuration
// directory moved to a temporary one) with EnvConfig and EnvRules set: it
// writes them byte for byte, readable by their owner only, and starts
// Prometheus without them in its environment; with the directory not
// writable it refuses to start and says what to mount.
func TestEntrypointWritesFiles(t *testing.T) {
	bin, dir := t.TempDir(), t.TempDir()
	stub := "#!/bin/sh\nenv | grep -c '^PROMETHEUS_\\(CONFIG\\|RULES\\)=' || true\n"
	if err := os.WriteFile(filepath.Join(bin, "prometheus"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	script := entrypointIn(t, dir)
	files := map[string]string{
		EnvConfig: "global:\n  scrape_interval: 15s\n# a % and a \\n stay as they are\n",
		EnvRules:  "groups: []\n",
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", script)
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", EnvConfig + "=" + files[EnvConfig], EnvRules + "=" + files[EnvRules]}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("entrypoint.sh: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "0" {
		t.Errorf("prometheus ran with %s of the file variables in its environment, want none", got)
	}
	for file, v := range map[string]string{filepath.Base(ConfigPath): EnvConfig, filepath.Base(RulesPath): EnvRules} {
		p := filepath.Join(dir, file)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != files[v] {
			t.Errorf("%s = %q, want %s's %q", file, b, v, files[v])
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", file, fi.Mode().Perm(), err)
		}
	}

	// A directory that is not there (as on a read-only root without the
	// tmpfs) stops the start with the fix.
	script = entrypointIn(t, filepath.Join(dir, "missing"))
	cmd = exec.CommandContext(ctx, "sh", script)
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", EnvConfig + "=x"}
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "mount a tmpfs") {
		t.Errorf("entrypoint.sh with an unwritable directory: %v, %q; want a failure naming the tmpfs", err, out)
	}
}

// entrypointIn is a copy of entrypoint.sh whose configuration directory is
// dir.
func entrypointIn(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile("entrypoint.sh")
	if err != nil {
		t.Fatal(err)
	}
	line := "config_dir=" + ConfigDir + "\n"
	if !strings.Contains(string(b), line) {
		t.Fatalf("entrypoint.sh does not set %q", line)
	}
	p := filepath.Join(t.TempDir(), "entrypoint.sh")
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), line, "config_dir="+dir+"\n", 1)), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
