package stacks

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/stacks/config"
)

// testSecrets are what an operator sets with `pulumi config set --secret`.
var testSecrets = map[string]string{
	"helloagents:cloudflareApiToken": "cf-token-SECRET",
	"helloagents:r2AccessKeyId":      "r2-id-SECRET",
	"helloagents:r2SecretAccessKey":  "r2-key-SECRET",
	"helloagents:sentryDsn":          "https://abc@o1.ingest.sentry.io/1",
	"helloagents:aiApiKey":           "ai-key-SECRET",
	"helloagents:registryPassword":   "registry-SECRET",
}

// stackRaw returns the committed stack file's config with its placeholders
// replaced by real-looking values, plus the test secrets (none for dev).
// package config's tests have the same helper; a test file cannot be shared.
func stackRaw(t testing.TB, stack string) map[string]string {
	t.Helper()
	raw, err := config.ReadStackFile(filepath.Join("..", "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stacktest.Fill(raw, config.Placeholders())
	if stack != "dev" {
		maps.Copy(raw, testSecrets)
	}
	return raw
}

// readmeSection returns the text of README.md's "## <title>" section.
func readmeSection(t *testing.T, title string) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(text), "\n## "+title+"\n")
	if !ok {
		t.Fatalf("README.md has no %q section", "## "+title)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	return section
}

// splitRow splits a Markdown table row into its trimmed cells.
func splitRow(line string) []string {
	cells := strings.Split(strings.Trim(line, "|"), "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
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
