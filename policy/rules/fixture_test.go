package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// secret marks a fixture value as a Pulumi secret.
type secret struct{ v any }

// computed is a fixture value not known yet (preview).
var computed = struct{ computed bool }{true}

func value(t *testing.T, v any) property.Value {
	t.Helper()
	switch v := v.(type) {
	case secret:
		return value(t, v.v).WithSecret(true)
	case struct{ computed bool }:
		return property.New(property.Computed)
	case string:
		return property.New(v)
	case bool:
		return property.New(v)
	case int:
		return property.New(float64(v))
	case float64:
		return property.New(v)
	case []any:
		vals := make([]property.Value, len(v))
		for i, x := range v {
			vals[i] = value(t, x)
		}
		return property.New(vals)
	case []string:
		vals := make([]property.Value, len(v))
		for i, x := range v {
			vals[i] = property.New(x)
		}
		return property.New(vals)
	case map[string]any:
		m := map[string]property.Value{}
		for k, x := range v {
			m[k] = value(t, x)
		}
		return property.New(m)
	case nil:
		return property.New(property.Null)
	}
	t.Fatalf("fixture value %v of type %T", v, v)
	return property.Value{}
}

func resource(t *testing.T, typ, name string, props map[string]any) policyx.AnalyzerResource {
	t.Helper()
	return policyx.AnalyzerResource{
		Type:       typ,
		Name:       name,
		URN:        fmt.Sprintf("urn:pulumi:test::helloagents::%s::%s", typ, name),
		Properties: value(t, props).AsMap(),
	}
}

// goodContainer returns the inputs of a backend container that passes every
// container rule; tests mutate a copy.
func goodContainer() map[string]any {
	return map[string]any{
		"image":        "ghcr.io/helloagents/backend@sha256:" + strings.Repeat("a", 64),
		"name":         "backend-eu-west-0",
		"user":         "10001:10001",
		"readOnly":     true,
		"privileged":   false,
		"restart":      "on-failure",
		"capabilities": map[string]any{"drops": []string{"ALL"}},
		"healthcheck": map[string]any{
			"tests":    []string{"CMD", "/server", "healthcheck"},
			"interval": "30s", "timeout": "5s", "retries": 3, "startPeriod": "10s",
		},
		"envs": []any{
			"PORT=8080",
			"HOST=0.0.0.0",
			secret{"DATABASE_URL=postgres://app:pw@postgres-eu-west:5432/app"},
			secret{"AI_API_KEY=sk-123"},
			"CORS_ALLOWED_ORIGINS=https://app.example.dev,https://www.example.dev",
		},
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// assertMessages checks that got has exactly len(want) messages and that the
// i-th contains every fragment of want[i].
func assertMessages(t *testing.T, got []string, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, frags := range want {
		for _, f := range frags {
			if !strings.Contains(got[i], f) {
				t.Errorf("violation %d %q does not mention %q", i, got[i], f)
			}
		}
	}
}

func ctxFor(env Env) Context {
	return Context{Env: env, Settings: DefaultSettings()}
}
