package config

import "testing"

// TestSecretTableFields sets every secret to a value of its own and checks
// each lands in its own Config field, and Get finds it by key (stacks hands
// the secrets to the Secrets component through Get).
func TestSecretTableFields(t *testing.T) {
	raw := map[string]string{}
	for _, k := range SecretKeys() {
		raw[full(k)] = "value-of-" + k
	}
	parsed := secrets(raw)
	for _, spec := range SecretTable() {
		want := "value-of-" + spec.Key
		if got := spec.Field(&parsed).Reveal(); got != want {
			t.Errorf("%s: parsed %q, want %q", spec.Key, got, want)
		}
		if got := parsed.Get(spec.Key).Reveal(); got != want {
			t.Errorf("Get(%q) = %q, want %q", spec.Key, got, want)
		}
	}
	if got := parsed.Get(KeyBackend); got != "" {
		t.Errorf("Get(%q) = %q; a key that names no secret has none", KeyBackend, got)
	}
}
