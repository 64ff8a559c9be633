package rules

import (
	"testing"

	"github.com/helloagents/infra/policy/restype"
)

func TestContainersRunAsNonRoot(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]any
		want  [][]string
	}{
		{"numeric uid:gid", goodContainer(), nil},
		{"numeric uid", with(goodContainer(), "user", "65532"), nil},
		{"not known yet", with(goodContainer(), "user", computed), nil},
		{"missing", with(goodContainer(), "user", nil), [][]string{{`"backend"`, `user ""`, "is empty", "numeric non-root uid"}}},
		{"empty", with(goodContainer(), "user", ""), [][]string{{`user ""`}}},
		{"root", with(goodContainer(), "user", "root"), [][]string{{`user "root"`, "is root"}}},
		{"uid 0", with(goodContainer(), "user", "0"), [][]string{{`user "0"`, "uid 0"}}},
		{"uid 0 with group", with(goodContainer(), "user", "0:1000"), [][]string{{`user "0:1000"`}}},
		{"root with group", with(goodContainer(), "user", "root:root"), [][]string{{"is root"}}},
		{"user name", with(goodContainer(), "user", "app"), [][]string{{`user "app"`, "user name"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := resource(t, restype.DockerContainer, "backend", tt.props)
			assertMessages(t, ContainersRunAsNonRoot(r, ctxFor(Production)), tt.want)
		})
	}
	other := resource(t, restype.DockerImage, "img", map[string]any{"user": "root"})
	if got := ContainersRunAsNonRoot(other, ctxFor(Production)); got != nil {
		t.Errorf("non-container judged: %v", got)
	}
}

func TestContainersLeastPrivilege(t *testing.T) {
	allowBind := DefaultSettings()
	allowBind.AllowedCapabilities = []string{"NET_BIND_SERVICE"}
	tests := []struct {
		name     string
		env      Env
		settings *Settings
		props    map[string]any
		want     [][]string
	}{
		{"hardened", Production, nil, goodContainer(), nil},
		{"privileged", Production, nil, with(goodContainer(), "privileged", true), [][]string{{"privileged is true", "remove `privileged`"}}},
		{"privileged in dev too", Dev, nil, with(goodContainer(), "privileged", true), [][]string{{"privileged is true"}}},
		{"added capability", Production, nil,
			with(goodContainer(), "capabilities", map[string]any{"adds": []string{"SYS_ADMIN"}, "drops": []string{"ALL"}}),
			[][]string{{`capabilities.adds contains "SYS_ADMIN"`, "allowedCapabilities"}}},
		{"allowed capability with CAP_ prefix", Production, &allowBind,
			with(goodContainer(), "capabilities", map[string]any{"adds": []string{"cap_net_bind_service"}}), nil},
		{"ALL is not NET_BIND_SERVICE", Production, &allowBind,
			with(goodContainer(), "capabilities", map[string]any{"adds": []string{"ALL"}}), [][]string{{`"ALL"`}}},
		{"host network in production", Production, nil, with(goodContainer(), "networkMode", "host"), [][]string{{`networkMode is "host" in production`}}},
		{"host pid in staging", Staging, nil, with(goodContainer(), "pidMode", "host"), [][]string{{`pidMode is "host" in staging`}}},
		{"host network in dev", Dev, nil, with(goodContainer(), "networkMode", "host"), nil},
		{"bridge network", Production, nil, with(goodContainer(), "networkMode", "bridge"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ctxFor(tt.env)
			if tt.settings != nil {
				c.Settings = *tt.settings
			}
			r := resource(t, restype.DockerContainer, "backend", tt.props)
			assertMessages(t, ContainersLeastPrivilege(r, c), tt.want)
		})
	}
}

func TestContainersReadOnlyRoot(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]any
		want  [][]string
	}{
		{"read-only", goodContainer(), nil},
		{"writable", with(goodContainer(), "readOnly", false), [][]string{{"readOnly is false", "tmpfs"}}},
		{"unset", with(goodContainer(), "readOnly", nil), [][]string{{"readOnly is false"}}},
		{"unknown", with(goodContainer(), "readOnly", computed), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := resource(t, restype.DockerContainer, "backend", tt.props)
			assertMessages(t, ContainersReadOnlyRoot(r, ctxFor(Staging)), tt.want)
		})
	}
}
