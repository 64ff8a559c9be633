package rules

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/policy/restype"
)

// secretWords mark a property or env name as holding a secret.
var secretWords = []string{
	"password", "passwd", "passphrase", "pwd",
	"secret", "secrets", "token", "tokens",
	"key", "apikey", "privatekey", "dsn", "credential", "credentials",
}

// notSecretSuffixes end names that merely describe a secret (its name, size,
// kind...), not names that hold one: "keyName", "passwordLength".
var notSecretSuffixes = []string{"name", "names", "length", "version", "type", "arn", "ref", "file", "path", "ttl", "count", "algorithm"}

// SecretName reports whether a property or env var name marks its value as a
// secret: a word of it (split at _ - . and camelCase) is one of password,
// secret, token, key, DSN... or the name is DATABASE_URL (a connection string
// with credentials).
func SecretName(name string) bool {
	words := splitWords(name)
	if len(words) == 0 || slices.Contains(notSecretSuffixes, words[len(words)-1]) {
		return false
	}
	for i, w := range words {
		if slices.Contains(secretWords, w) {
			return true
		}
		if w == "database" && i+1 < len(words) && words[i+1] == "url" {
			return true
		}
	}
	return false
}

func splitWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	runes := []rune(name)
	for i, r := range runes {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		case unicode.IsUpper(r) && i > 0 && (unicode.IsLower(runes[i-1]) ||
			(i+1 < len(runes) && unicode.IsLower(runes[i+1]) && unicode.IsUpper(runes[i-1]))):
			flush()
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

// SecretsAreSecret requires every value whose name marks it as a secret to be
// a Pulumi secret, so it is encrypted in state and masked in output: container
// env entries ("KEY=VALUE" in `envs`) and any (nested) resource property. A
// value inside a secret list or object counts as secret. Messages never
// contain the value.
func SecretsAreSecret(r policyx.AnalyzerResource, _ Context) []string {
	if r.Type == "pulumi:pulumi:Stack" {
		return nil
	}
	var out []string
	if r.Type == restype.DockerContainer {
		for _, e := range containerEnv(r) {
			if e.Known && e.Value != "" && !e.Secret && SecretName(e.Key) {
				out = append(out, fmt.Sprintf("%s: env %s is set in plain text; wrap the value in pulumi.ToSecret (or read it with config.RequireSecret) so it is encrypted in state",
					label(r), e.Key))
			}
		}
	}
	for key, v := range r.Properties.AllStable {
		if r.Type == restype.DockerContainer && key == "envs" {
			continue
		}
		walkPlainSecrets(v, key, SecretName(key), func(path string) {
			out = append(out, fmt.Sprintf("%s: property %s is set in plain text; pass it as a Pulumi secret (pulumi.ToSecret / config.RequireSecret)",
				label(r), path))
		})
	}
	return out
}

// walkPlainSecrets calls report for every non-empty string under v that is
// named like a secret (marked) and not inside a secret value.
func walkPlainSecrets(v property.Value, path string, marked bool, report func(string)) {
	if v.Secret() || v.IsComputed() || v.IsNull() {
		return
	}
	switch {
	case v.IsString():
		if marked && v.AsString() != "" {
			report(path)
		}
	case v.IsMap():
		for k, child := range v.AsMap().AllStable {
			walkPlainSecrets(child, path+"."+k, marked || SecretName(k), report)
		}
	case v.IsArray():
		for i, child := range v.AsArray().All {
			walkPlainSecrets(child, fmt.Sprintf("%s[%d]", path, i), marked, report)
		}
	}
}
