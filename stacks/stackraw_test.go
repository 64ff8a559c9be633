package stacks

import (
	"encoding/json"
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

// withFields lays fields over the object at key of raw (the committed stack
// file's), a null deleting a field.
func withFields(t *testing.T, raw map[string]string, key string, fields map[string]any) map[string]string {
	t.Helper()
	obj := map[string]any{}
	if text, ok := raw[config.FullKey(key)]; ok {
		if err := json.Unmarshal([]byte(text), &obj); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range fields {
		if v == nil {
			delete(obj, k)
			continue
		}
		obj[k] = v
	}
	text, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	raw[config.FullKey(key)] = string(text)
	return raw
}
