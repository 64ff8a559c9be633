package rules

import (
	"strings"
	"testing"

	"github.com/helloagents/infra/policy/restype"
)

func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"password": true, "POSTGRES_PASSWORD": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true,
		"AI_API_KEY": true, "apiToken": true, "tunnelSecret": true, "TUNNEL_TOKEN": true, "SENTRY_DSN": true,
		"DATABASE_URL": true, "databaseUrl": true, "secrets": true, "privateKey": true, "sshPrivateKey": true,
		"passwordLength": false, "keyName": false, "secretName": false, "BACKUP_KEEP_LAST": false,
		"keepers": false, "monkey": false, "DATABASE_HOST": false, "SENTRY_ENVIRONMENT": false, "tokenizer": false,
		"PORT": false, "": false,
	} {
		if got := SecretName(name); got != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSecretsAreSecret(t *testing.T) {
	tests := []struct {
		name  string
		typ   string
		props map[string]any
		want  [][]string
	}{
		{"secret env entries", restype.DockerContainer, goodContainer(), nil},
		{"plain-text password", restype.DockerContainer, with(goodContainer(), "envs", []any{"PORT=8080", "POSTGRES_PASSWORD=hunter2"}),
			[][]string{{"env POSTGRES_PASSWORD is set in plain text", "pulumi.ToSecret"}}},
		{"plain-text DATABASE_URL", restype.DockerContainer, with(goodContainer(), "envs", []any{"DATABASE_URL=postgres://app:pw@db/app"}),
			[][]string{{"env DATABASE_URL"}}},
		{"whole env list secret", restype.DockerContainer, with(goodContainer(), "envs", secret{[]any{"POSTGRES_PASSWORD=x", "PORT=1"}}), nil},
		{"empty secret-named value", restype.DockerContainer, with(goodContainer(), "envs", []any{"SENTRY_DSN="}), nil},
		{"env value not known yet", restype.DockerContainer, with(goodContainer(), "envs", []any{computed}), nil},
		{"tunnel secret property", restype.Tunnel,
			map[string]any{"accountId": "a", "name": "eu", "secret": "c2VjcmV0"}, [][]string{{"property secret is set in plain text"}}},
		{"tunnel secret as secret", restype.Tunnel,
			map[string]any{"accountId": "a", "name": "eu", "secret": secret{"c2VjcmV0"}}, nil},
		{"nested registry password", restype.DockerImage, map[string]any{"imageName": "x", "registry": map[string]any{"server": "ghcr.io", "username": "u", "password": "p"}},
			[][]string{{"property registry.password"}}},
		{"pages secrets map", restype.PagesProject, map[string]any{"name": "web", "deploymentConfigs": map[string]any{"production": map[string]any{
			"secrets": map[string]any{"SESSION": "plain"}, "environmentVariables": map[string]any{"API_URL": "https://api"}}}},
			[][]string{{"deploymentConfigs.production.secrets.SESSION"}}},
		{"provider token from secret config", "pulumi:providers:cloudflare", map[string]any{"apiToken": secret{"tok"}}, nil},
		{"random password inputs", restype.RandomPassword, map[string]any{"length": 32, "special": false}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SecretsAreSecret(resource(t, tt.typ, "r", tt.props), ctxFor(Production))
			assertMessages(t, got, tt.want)
			for _, msg := range got {
				for _, leaked := range []string{"hunter2", "pw@", "c2VjcmV0", "plain\""} {
					if strings.Contains(msg, leaked) {
						t.Errorf("message leaks the value: %s", msg)
					}
				}
			}
		})
	}
}
