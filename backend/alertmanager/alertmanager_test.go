package alertmanager

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

// TestDefaultConfig checks the image's default configuration with amtool
// (Debian's prometheus-alertmanager package, the one the image installs).
func TestDefaultConfig(t *testing.T) {
	amtool := testkit.RequireTool(t, "amtool", "apt-get install prometheus-alertmanager")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, amtool, "check-config", "alertmanager.yml").CombinedOutput(); err != nil {
		t.Errorf("amtool check-config: %v\n%s", err, out)
	}
}

// TestDockerfile checks that the Dockerfile puts the default configuration
// where the constants say, starts through the entrypoint and runs as
// non-root.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../alertmanager.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`(?m)^COPY alertmanager/alertmanager.yml ` + regexp.QuoteMeta(ConfigPath) + `$`,
		`(?m)^COPY alertmanager/entrypoint.sh /usr/local/bin/alertmanager-entrypoint$`,
		`(?m)^ENTRYPOINT \["/usr/local/bin/alertmanager-entrypoint"\]$`,
		`(?m)^USER 65532:65532$`,
		`/dev/tcp/127.0.0.1/9093 .*GET ` + regexp.QuoteMeta(ReadyPath) + ` `,
	} {
		if !regexp.MustCompile(re).Match(b) {
			t.Errorf("alertmanager.Dockerfile does not match %s", re)
		}
	}
}

// TestEntrypoint runs entrypoint.sh (its configuration directory moved to
// a temporary one) with a stand-in prometheus-alertmanager that prints its
// arguments and whether EnvConfig is in its environment: the image's
// paths, its port and no clustering, the container's command appended;
// EnvConfig written byte for byte, readable by its owner only, and not
// passed on; unset, the image's file is used as it is.
func TestEntrypoint(t *testing.T) {
	bin, dir := t.TempDir(), t.TempDir()
	stub := "#!/bin/sh\nprintf '%s\\n' \"$@\"\necho \"config-in-env=${" + EnvConfig + "+yes}\"\n"
	if err := os.WriteFile(filepath.Join(bin, "prometheus-alertmanager"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("entrypoint.sh")
	if err != nil {
		t.Fatal(err)
	}
	line := "config_dir=" + ConfigDir + "\n"
	if !strings.Contains(string(b), line) {
		t.Fatalf("entrypoint.sh does not set %q", line)
	}
	script := filepath.Join(t.TempDir(), "entrypoint.sh")
	if err := os.WriteFile(script, []byte(strings.Replace(string(b), line, "config_dir="+dir+"\n", 1)), 0o755); err != nil {
		t.Fatal(err)
	}
	const cfg = "route:\n  receiver: x # 100% \\n as is\n"
	for _, tc := range []struct {
		name string
		env  []string
	}{{"configuration given", []string{EnvConfig + "=" + cfg}}, {"image's configuration", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			_ = os.Remove(filepath.Join(dir, filepath.Base(ConfigPath)))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", script, "--web.external-url=https://alertmanager.example.com/")
			cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin"}, tc.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("entrypoint.sh: %v\n%s", err, out)
			}
			got := strings.Split(strings.TrimSpace(string(out)), "\n")
			want := []string{
				"--config.file=" + filepath.Join(dir, filepath.Base(ConfigPath)),
				"--storage.path=" + DataDir,
				"--web.listen-address=:9093",
				"--cluster.listen-address=",
				"--web.external-url=https://alertmanager.example.com/",
				"config-in-env=",
			}
			if !slices.Equal(got, want) {
				t.Errorf("prometheus-alertmanager ran with %q, want %q", got, want)
			}
			written, err := os.ReadFile(filepath.Join(dir, filepath.Base(ConfigPath)))
			switch {
			case tc.env == nil && !os.IsNotExist(err):
				t.Errorf("without %s the entrypoint wrote %q (%v)", EnvConfig, written, err)
			case tc.env != nil && string(written) != cfg:
				t.Errorf("written configuration %q (%v), want %q", written, err, cfg)
			case tc.env != nil:
				if fi, err := os.Stat(filepath.Join(dir, filepath.Base(ConfigPath))); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("mode %v (%v), want 0600", fi.Mode().Perm(), err)
				}
			}
		})
	}
}
