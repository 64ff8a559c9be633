package stacks

import (
	"encoding/json"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/policy/restype"
	"github.com/helloagents/infra/stacks/config"
)

// TestSecretTableWiring sets every secret to a value of its own and follows
// it through the table: from its Config field to the Secrets component
// under the matching argument, with no argument left out. Both halves of
// the table (config.SecretTable, secretTable) have the same keys in the
// same order.
func TestSecretTableWiring(t *testing.T) {
	var keys []string
	for _, spec := range secretTable() {
		keys = append(keys, spec.key)
	}
	if !slices.Equal(keys, config.SecretKeys()) {
		t.Fatalf("secretTable keys %v, config.SecretTable %v", keys, config.SecretKeys())
	}
	var parsed config.Secrets
	for _, spec := range config.SecretTable() {
		*spec.Field(&parsed) = config.Secret("value-of-" + spec.Key)
	}
	var args components.SecretsArgs
	secretArgs(parsed, &args)
	covered := map[string]bool{}
	for _, spec := range secretTable() {
		want := "value-of-" + spec.key
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
	row := regexp.MustCompile("^\\| `" + config.Namespace + ":(\\w+)` \\|")
	cells := map[string][]string{}
	var order []string
	for line := range strings.Lines(readmeSection(t, "Configuration reference")) {
		line = strings.TrimSpace(line)
		if m := row.FindStringSubmatch(line); m != nil {
			order = append(order, m[1])
			cells[m[1]] = stacktest.SplitRow(line)
		}
	}
	if !slices.Equal(order, config.SecretKeys()) {
		t.Fatalf("README secrets rows %v, secretTable %v", order, config.SecretKeys())
	}
	columns := []struct {
		env  config.Environment
		cell int // | key | used for | dev | staging | production |
	}{{config.Dev, 2}, {config.Staging, 3}, {config.Production, 4}}
	required := map[string]func(config.Config) bool{}
	for _, spec := range config.SecretTable() {
		required[spec.Key] = spec.Required
	}
	for _, spec := range secretTable() {
		if got, want := containerVars(cells[spec.key][1]), spec.containers(); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
			t.Errorf("%s: README says the containers get it as %q, secretTable hands it out as %q", spec.key, got, want)
		}
		for _, col := range columns {
			cfg := config.Defaults(string(col.env), col.env)
			want := required[spec.key](cfg) && col.env.BehindCloudflare()
			if got := cells[spec.key][col.cell] == "required"; got != want {
				t.Errorf("%s in %s: README says %q, validation requires it: %v", spec.key, col.env, cells[spec.key][col.cell], want)
			}
		}
	}
}

// withMonitoringUsers sets the remote_write and SMTP settings whose
// usernames the monitoring passwords go with.
func withMonitoringUsers(t *testing.T, raw map[string]string) {
	t.Helper()
	m := map[string]any{}
	if text, ok := raw[config.FullKey(config.KeyMonitoring)]; ok {
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			t.Fatal(err)
		}
	}
	m["remoteWriteUrl"], m["remoteWriteUsername"] = "https://metrics.example.dev/api/v1/write", "rw-user"
	m["smtpSmarthost"], m["smtpFrom"], m["smtpUsername"] = "smtp.example.dev:587", "alerts@example.dev", "smtp-user"
	text, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	raw[config.FullKey(config.KeyMonitoring)] = string(text)
}

// containerVars lists a README cell's "`VARIABLE` (role, role)" entries.
func containerVars(cell string) []string {
	var out []string
	for _, m := range regexp.MustCompile("`([A-Z0-9_]+)` \\(([a-z, ]+)\\)").FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1]+" ("+m[2]+")")
	}
	return out
}

// containers renders spec.env and spec.inFile as the README writes them:
// each variable with the roles that read it, variables and roles sorted.
func (spec secretSpec) containers() []string {
	roles := map[string][]string{}
	for _, vars := range []map[labels.ContainerRole]string{spec.env, spec.inFile} {
		for role, name := range vars {
			roles[name] = append(roles[name], string(role))
		}
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(roles)) {
		slices.Sort(roles[name])
		out = append(out, name+" ("+strings.Join(roles[name], ", ")+")")
	}
	return out
}

// TestSecretsReachTheirContainers renders every stack with each secret set
// to a value of its own and follows the values into the containers: a
// secret is a secret entry "VARIABLE=value" in exactly the containers whose
// role its row names (not in dev for R2's keys, which dev never uses), or
// inside the secret file variable its row names (whether the file needs it
// is TestMonitoringSecretsInFiles's), and appears in no other container's
// variables.
func TestSecretsReachTheirContainers(t *testing.T) {
	values := map[string]string{}
	for _, k := range config.SecretKeys() {
		values[k] = "value-of-" + k
	}
	values[config.KeySentryDSN] = "https://value-of-sentryDsn@o1.ingest.sentry.io/1"
	values[config.KeyAlertWebhookURL] = "https://hooks.example.dev/value-of-alertWebhookUrl"
	for _, stack := range []string{"dev", "staging", "production"} {
		t.Run(stack, func(t *testing.T) {
			raw := stackRaw(t, stack)
			for k, v := range values {
				raw[config.FullKey(k)] = v
			}
			withMonitoringUsers(t, raw)
			cfg, err := config.Parse(stack, raw)
			if err != nil {
				t.Fatal(err)
			}
			m := runConfig(t, cfg)
			for _, c := range m.ByType(restype.DockerContainer) {
				checkSecretVars(t, cfg, c, values)
			}
		})
	}
}

// checkSecretVars compares container c's variables with the secret table.
func checkSecretVars(t *testing.T, cfg config.Config, c mocktest.Resource, values map[string]string) {
	t.Helper()
	got := map[string]string{} // value -> "VARIABLE" it is found under
	for _, e := range list(c.Inputs["envs"]) {
		name, v, _ := strings.Cut(mocktest.Unwrap(e).StringValue(), "=")
		for _, want := range values {
			if strings.Contains(v, want) {
				if !e.IsSecret() {
					t.Errorf("%s: %s carries a secret in a plain entry", c.Name, name)
				}
				got[want] = name
			}
		}
	}
	for _, spec := range secretTable() {
		value := values[spec.key]
		if file, ok := spec.inFile[labels.ContainerRole(role(c))]; ok {
			if got[value] != "" && got[value] != file {
				t.Errorf("%s (%s): %s under %q, want it only in %q", c.Name, role(c), spec.key, got[value], file)
			}
			continue
		}
		want, named := spec.env[labels.ContainerRole(role(c))]
		if named {
			_, named = spec.output(&components.Secrets{HasSentryDSN: true, HasAIAPIKey: true, HasAlertWebhookURL: true}, cfg)
		}
		switch {
		case named && got[value] != want:
			t.Errorf("%s (%s): %s under %q, want %q", c.Name, role(c), spec.key, got[value], want)
		case !named && got[value] != "":
			t.Errorf("%s (%s): has %s under %q; its row does not hand it to this role", c.Name, role(c), spec.key, got[value])
		}
	}
}
