package stacks

import (
	"path/filepath"
	"testing"

	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/stacks/config"
)

// stackRaw is the committed stack file, filled, with the operator's secrets
// outside dev (stacktest.Stack).
func stackRaw(t testing.TB, stack string) map[string]string {
	return stacktest.Stack(t, "..", stack, config.ReadStackFile, config.Placeholders())
}

// readmeSection is README.md's "## <title>" section.
func readmeSection(t *testing.T, title string) string {
	return stacktest.ReadmeSection(t, filepath.Join("..", "README.md"), title)
}

// withFields lays fields over the object at key (short form) of raw.
func withFields(t *testing.T, raw map[string]string, key string, fields map[string]any) map[string]string {
	return stacktest.WithFields(t, raw, config.FullKey(key), fields)
}
