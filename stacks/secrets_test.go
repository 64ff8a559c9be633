package stacks

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/helloagents/infra/components"
)

// TestSecretTableWiring sets every secret to a value of its own and follows
// it through the table: parsed into its Config field, then handed to the
// Secrets component under the matching argument, with no argument left out.
func TestSecretTableWiring(t *testing.T) {
	raw := map[string]string{}
	for _, k := range SecretKeys() {
		raw[full(k)] = "value-of-" + k
	}
	parsed := secrets(raw)
	var args components.SecretsArgs
	parsed.args(&args)
	covered := map[string]bool{}
	for _, spec := range secretTable() {
		want := "value-of-" + spec.key
		if got := spec.field(&parsed).Reveal(); got != want {
			t.Errorf("%s: parsed %q, want %q", spec.key, got, want)
		}
		if got := *spec.arg(&args); got != want {
			t.Errorf("%s: Secrets component gets %q, want %q", spec.key, got, want)
		}
		covered[want] = true
	}
	v := reflect.ValueOf(args)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Type.Kind() == reflect.String && f.Name != "Primary" && !covered[v.Field(i).String()] {
			t.Errorf("SecretsArgs.%s is fed by no row of secretTable (got %q)", f.Name, v.Field(i).String())
		}
	}
}

// TestSecretTableMatchesReadme checks the README's secrets table against
// secretTable: the same keys in the same order, and "required" in a
// staging or production column exactly where validation requires the
// secret of that environment's default config; dev requires none.
func TestSecretTableMatchesReadme(t *testing.T) {
	row := regexp.MustCompile("^\\| `" + Namespace + ":(\\w+)` \\|")
	cells := map[string][]string{}
	var order []string
	for line := range strings.Lines(readmeSection(t, "Configuration reference")) {
		line = strings.TrimSpace(line)
		if m := row.FindStringSubmatch(line); m != nil {
			order = append(order, m[1])
			cells[m[1]] = splitRow(line)
		}
	}
	if !slices.Equal(order, SecretKeys()) {
		t.Fatalf("README secrets rows %v, secretTable %v", order, SecretKeys())
	}
	columns := []struct {
		env  Environment
		cell int // | key | used for | dev | staging | production |
	}{{Dev, 2}, {Staging, 3}, {Production, 4}}
	backendVar := regexp.MustCompile("backend (?:and [a-z]+ )?`([A-Z_]+)`")
	for _, spec := range secretTable() {
		var got string
		if m := backendVar.FindStringSubmatch(cells[spec.key][1]); m != nil {
			got = m[1]
		}
		if got != spec.backendEnv {
			t.Errorf("%s: README says the backend gets it as %q, secretTable hands it to the backend as %q", spec.key, got, spec.backendEnv)
		}
		for _, col := range columns {
			cfg := Defaults(string(col.env), col.env)
			want := spec.required(cfg) && col.env.BehindCloudflare()
			if got := cells[spec.key][col.cell] == "required"; got != want {
				t.Errorf("%s in %s: README says %q, validation requires it: %v", spec.key, col.env, cells[spec.key][col.cell], want)
			}
		}
	}
}
