package rules

import (
	"testing"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/policy/restype"
)

func TestHealthChecksConfigured(t *testing.T) {
	tests := []struct {
		name  string
		typ   string
		props map[string]any
		want  [][]string
	}{
		{"backend with healthcheck", restype.DockerContainer, goodContainer(), nil},
		{"backend without healthcheck", restype.DockerContainer, with(goodContainer(), "healthcheck", nil), [][]string{{"backend container has no healthcheck"}}},
		{"healthcheck NONE", restype.DockerContainer, with(goodContainer(), "healthcheck", map[string]any{"tests": []string{"NONE"}}), [][]string{{"no healthcheck"}}},
		{"healthcheck not known yet", restype.DockerContainer, with(goodContainer(), "healthcheck", computed), nil},
		{"backup job needs none", restype.DockerContainer, backupJob("db", "s3://b/p", "7"), nil},
		{"postgres is not the backend", restype.DockerContainer, postgresProps("db"), nil},
		// The label decides: a cache with a PORT variable is not the
		// backend, and a labelled backend needs its healthcheck whatever
		// its variables.
		{"labelled cache with PORT is not the backend", restype.DockerContainer,
			with(with(goodContainer(), "healthcheck", nil), "labels", []any{map[string]any{"label": labels.Role, "value": "cache"}}), nil},
		{"labelled backend without healthcheck", restype.DockerContainer,
			with(with(with(goodContainer(), "healthcheck", nil), "envs", []string{"X=1"}), "labels",
				[]any{map[string]any{"label": labels.Role, "value": "backend"}}), [][]string{{"backend container has no healthcheck"}}},
		{"pool with monitor", restype.LoadBalancerPool, map[string]any{"accountId": "a", "name": "eu", "monitor": "mon-1"}, nil},
		{"pool with monitor not known yet", restype.LoadBalancerPool, map[string]any{"accountId": "a", "name": "eu", "monitor": computed}, nil},
		{"pool without monitor", restype.LoadBalancerPool, map[string]any{"accountId": "a", "name": "eu"}, [][]string{{"pool has no monitor"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertMessages(t, HealthChecksConfigured(resource(t, tt.typ, "r", tt.props), ctxFor(Production)), tt.want)
		})
	}
}
