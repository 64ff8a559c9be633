package alertmanager

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// TestDefaultConfig checks the image's default configuration with amtool
// (Debian's prometheus-alertmanager package, the one the image installs).
func TestDefaultConfig(t *testing.T) {
	amtool, err := exec.LookPath("amtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("amtool not found (apt-get install prometheus-alertmanager): %v", err)
		}
		t.Skip("amtool not installed (apt-get install prometheus-alertmanager); set CI=1 to make this a failure")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, amtool, "check-config", "alertmanager.yml").CombinedOutput(); err != nil {
		t.Errorf("amtool check-config: %v\n%s", err, out)
	}
}

// TestDockerfile checks that the Dockerfile puts the configuration and the
// data where the constants say, runs without clustering and as non-root.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../alertmanager.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{
		`(?m)^COPY alertmanager/alertmanager.yml ` + regexp.QuoteMeta(ConfigPath) + `$`,
		`"--config.file=` + regexp.QuoteMeta(ConfigPath) + `"`,
		`"--storage.path=` + regexp.QuoteMeta(DataDir) + `"`,
		`"--web.listen-address=:9093"`,
		`"--cluster.listen-address="\]`,
		`(?m)^USER 65532:65532$`,
		`/dev/tcp/127.0.0.1/9093 .*GET ` + regexp.QuoteMeta(ReadyPath) + ` `,
	} {
		if !regexp.MustCompile(re).Match(b) {
			t.Errorf("alertmanager.Dockerfile does not match %s", re)
		}
	}
}
