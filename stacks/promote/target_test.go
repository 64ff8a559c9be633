package promote

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/internal/stacktest/fixture"
	"github.com/helloagents/infra/stacks/config"
)

// TestFirstPromotionNeedsARelease proves promotion never takes the committed
// placeholder digest as a rollback target: a target that was never released
// is refused with the steps of an explicit first release.
func TestFirstPromotionNeedsARelease(t *testing.T) {
	raw, err := config.ReadStackFile(filepath.Join("..", "..", "Pulumi.production.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(raw, fixture.Secrets())
	_, err = readTarget("production", raw)
	if err == nil {
		t.Fatal("a never-released target was accepted")
	}
	for _, want := range []string{
		`stack "production" has never been released: the committed placeholder digest is still in helloagents:regions[0].image, helloagents:regions[1].image, helloagents:backup.image, helloagents:backend.proxyImage, helloagents:database.image, helloagents:monitoring.prometheusImage, helloagents:monitoring.alertmanagerImage, helloagents:monitoring.pgexporterImage`,
		"nothing to roll back to",
		"pulumi stack output backendImage / backupImage / proxyImage / postgresImage / prometheusImage / alertmanagerImage / pgexporterImage --stack staging",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}

	stacktest.Fill(raw, config.Placeholders())
	tgt, err := readTarget("production", raw)
	if err != nil {
		t.Fatalf("released target refused: %v", err)
	}
	if len(tgt.Regions) != 2 || config.IsPlaceholder(tgt.Regions[0].Image) {
		t.Errorf("target = %+v", tgt)
	}
}
