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
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found (apt-get install %s): %v", name, pkg, err)
		}
		t.Skipf("%s not installed (apt-get install %s); set CI=1 to make this a failure", name, pkg)
	}
	return p
}
