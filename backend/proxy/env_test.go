package proxy

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/testkit"
)

// TestContract checks that the configuration, the Dockerfile and the
// constants name the same variables: every ${VAR} in haproxy.cfg is a
// constant with a default, and the Dockerfile's ENV sets each default.
func TestContract(t *testing.T) {
	cfg := read(t, "haproxy.cfg")
	dockerfile := read(t, "../proxy.Dockerfile")
	defaults := Defaults()

	used := map[string]bool{}
	ref := regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`)
	for line := range strings.Lines(cfg) {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range ref.FindAllStringSubmatch(line, -1) {
			used[m[1]] = true
		}
	}
	for name := range used {
		if _, ok := defaults[name]; !ok {
			t.Errorf("haproxy.cfg reads ${%s}, which has no constant and default in env.go", name)
		}
	}
	for name, value := range defaults {
		t.Run(name, func(t *testing.T) {
			if !used[name] {
				t.Errorf("haproxy.cfg does not read %s", name)
			}
			if !regexp.MustCompile(`(?m)^(ENV|\s+)\s*` + name + `=` + regexp.QuoteMeta(value) + `(\s|$)`).MatchString(dockerfile) {
				t.Errorf("proxy.Dockerfile does not set ENV %s=%s", name, value)
			}
		})
	}
}

// TestConfigValid runs `haproxy -c` (Debian's haproxy 2.6, the package the
// image installs) on haproxy.cfg with the image's defaults.
func TestConfigValid(t *testing.T) {
	bin := testkit.RequireTool(t, "haproxy", "apt-get install haproxy")
	tests := []struct {
		name      string
		overrides map[string]string
		wantErr   string
	}{
		{name: "defaults"},
		{name: "test values", overrides: map[string]string{
			EnvAddr: "127.0.0.1", EnvPort: "18000", EnvResolver: "127.0.0.1:15353", EnvMaxServers: "4",
			EnvMetricsAddr: "127.0.0.1", EnvMetricsPort: "18405",
		}},
		{name: "no resolver", overrides: map[string]string{EnvResolver: ""}, wantErr: "nameserver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := Defaults()
			for k, v := range tt.overrides {
				env[k] = v
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "-c", "-f", "haproxy.cfg")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			for _, k := range slices.Sorted(maps.Keys(env)) {
				cmd.Env = append(cmd.Env, k+"="+env[k])
			}
			out, err := cmd.CombinedOutput()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("haproxy -c: %v\n%s", err, out)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("haproxy -c accepted the configuration, want an error about %q\n%s", tt.wantErr, out)
			case tt.wantErr != "" && !strings.Contains(string(out), tt.wantErr):
				t.Fatalf("haproxy -c error does not mention %q:\n%s", tt.wantErr, out)
			}
		})
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
