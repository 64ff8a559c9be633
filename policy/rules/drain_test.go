package rules

import (
	"testing"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/policy/restype"
)

func TestContainersDrainBeforeKill(t *testing.T) {
	labelled := func(role string, props map[string]any) map[string]any {
		return with(props, "labels", []any{map[string]any{"label": labels.Role, "value": role}})
	}
	backend := with(goodContainer(), "destroyGraceSeconds", 30)
	proxy := labelled("proxy", map[string]any{"user": "65532:65532", "destroyGraceSeconds": 10,
		"envs": []any{"PROXY_HARD_STOP_AFTER=8s"}})
	tunnel := labelled("tunnel", map[string]any{"user": "65532:65532", "destroyGraceSeconds": 35,
		"envs": []any{"TUNNEL_GRACE_PERIOD=30s", secret{"TUNNEL_TOKEN=t"}}})
	tests := []struct {
		name  string
		props map[string]any
		want  [][]string
	}{
		{"backend covers its default drain", backend, nil},
		{"backend covers its set drain", with(backend, "envs", []any{"SHUTDOWN_DELAY=5s", "SHUTDOWN_TIMEOUT=20s", "PORT=8000"}), nil},
		{"backend without a grace period", with(backend, "destroyGraceSeconds", nil),
			[][]string{{`"backend"`, "destroyGraceSeconds 0", "backend's drain of 25s", "SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT", "at least 25"}}},
		{"backend grace shorter than a longer drain", with(backend, "envs", []any{"PORT=8000", "SHUTDOWN_TIMEOUT=1m"}),
			[][]string{{"destroyGraceSeconds 30", "drain of 65s", "at least 65"}}},
		{"backend with an unreadable drain", with(backend, "envs", []any{"PORT=8000", "SHUTDOWN_DELAY=soon"}),
			[][]string{{`SHUTDOWN_DELAY="soon"`}}},
		{"labelled backend", labelled("backend", with(backend, "destroyGraceSeconds", 10)), [][]string{{"at least 25"}}},
		{"grace not known yet", with(backend, "destroyGraceSeconds", computed), nil},
		{"a variable not known yet", with(backend, "destroyGraceSeconds", nil, "envs", []any{"PORT=8000", computed}), nil},
		{"proxy covers", proxy, nil},
		{"proxy without grace", with(proxy, "destroyGraceSeconds", nil), [][]string{{"proxy's drain of 8s", "PROXY_HARD_STOP_AFTER"}}},
		{"proxy with a longer hard stop", with(proxy, "envs", []any{"PROXY_HARD_STOP_AFTER=30s"}), [][]string{{"drain of 30s"}}},
		{"tunnel covers", tunnel, nil},
		{"tunnel short", with(tunnel, "destroyGraceSeconds", 5), [][]string{{"cloudflared's drain of 30s", "TUNNEL_GRACE_PERIOD"}}},
		{"postgres is not a serving container", labelled("postgres", map[string]any{"envs": []any{"PGDATA=/x"}}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := resource(t, restype.DockerContainer, "backend", tt.props)
			assertMessages(t, ContainersDrainBeforeKill(r, ctxFor(Production)), tt.want)
		})
	}
}
