package stacks

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/drain"
	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
	"github.com/helloagents/infra/stacks/config"
)

// TestEveryContainerDrainsBeforeKill: the docker provider deletes a
// container with `docker stop` and destroyGraceSeconds as its timeout
// (SIGKILL at once when unset). Every container of every stack must carry
// its role's grace period, as its stop timeout too, with the signal its
// image drains on; and a serving container's grace must cover the drain
// its own variables ask for.
func TestEveryContainerDrainsBeforeKill(t *testing.T) {
	drains := map[labels.ContainerRole]func(func(string) string) (time.Duration, error){
		labels.RoleBackend: drain.Server,
		labels.RoleProxy:   drain.Proxy,
		labels.RoleTunnel:  drain.Tunnel,
	}
	for _, stack := range []string{"dev", "staging", "production"} {
		t.Run(stack, func(t *testing.T) {
			cfg, err := config.Parse(stack, stackRaw(t, stack))
			if err != nil {
				t.Fatal(err)
			}
			seen := map[labels.ContainerRole]bool{}
			for _, c := range runConfig(t, cfg).ByType(restype.DockerContainer) {
				r := labels.ContainerRole(role(c))
				seen[r] = true
				stop := components.StopFor(r)
				grace := mocktest.Unwrap(c.Inputs["destroyGraceSeconds"]).NumberValue()
				timeout := mocktest.Unwrap(c.Inputs["stopTimeout"]).NumberValue()
				signal := mocktest.Unwrap(c.Inputs["stopSignal"]).StringValue()
				if int(grace) != stop.GraceSeconds() || int(timeout) != stop.GraceSeconds() || signal != stop.Signal {
					t.Errorf("%s (%s): destroyGraceSeconds %v, stopTimeout %v, stopSignal %q; want %d, %d, %q",
						c.Name, r, grace, timeout, signal, stop.GraceSeconds(), stop.GraceSeconds(), stop.Signal)
				}
				read, serving := drains[r]
				if !serving {
					continue
				}
				vars := plainEnv(c)
				d, err := read(func(k string) string { return vars[k] })
				if err != nil {
					t.Fatalf("%s: %v", c.Name, err)
				}
				for k := range stop.Env {
					if _, ok := vars[k]; !ok {
						t.Errorf("%s (%s): %s not set; the grace period is derived from it", c.Name, r, k)
					}
				}
				if time.Duration(grace)*time.Second < d+stop.Exit {
					t.Errorf("%s (%s): grace %vs does not cover its drain %s plus %s to exit", c.Name, r, grace, d, stop.Exit)
				}
			}
			for _, r := range []labels.ContainerRole{labels.RoleBackend, labels.RoleProxy, labels.RolePostgres, labels.RoleBackup,
				labels.RolePrometheus, labels.RoleAlertmanager, labels.RolePGExporter} {
				if !seen[r] {
					t.Errorf("no %s container rendered", r)
				}
			}
			if cfg.Environment.Local() == seen[labels.RoleTunnel] {
				t.Errorf("tunnel rendered = %v in %s", seen[labels.RoleTunnel], stack)
			}
		})
	}
}

// plainEnv is a container's plain variables.
func plainEnv(c mocktest.Resource) map[string]string {
	vars := map[string]string{}
	for _, e := range list(c.Inputs["envs"]) {
		if e.IsSecret() {
			continue
		}
		k, v, _ := strings.Cut(mocktest.Unwrap(e).StringValue(), "=")
		vars[k] = v
	}
	return vars
}

func TestStopForEveryRole(t *testing.T) {
	for _, r := range []labels.ContainerRole{labels.RoleBackend, labels.RolePostgres, labels.RoleBackup,
		labels.RolePITR, labels.RoleProxy, labels.RoleTunnel,
		labels.RolePrometheus, labels.RoleAlertmanager, labels.RolePGExporter} {
		s := components.StopFor(r)
		if s.Signal == "" || s.Drain <= 0 || s.Exit <= 0 || s.GraceSeconds() < int(s.Grace()/time.Second) {
			t.Errorf("%s: %+v", r, s)
		}
	}
	// The backend's grace is what its drain takes, plus exit: 5 s + 20 s + 5 s.
	if got := components.StopFor(labels.RoleBackend).GraceSeconds(); got != 30 {
		t.Errorf("backend grace %ds, want 30", got)
	}
}

// TestDeploymentGraceTable: the grace periods docs/DEPLOYMENT.md quotes
// are the ones StopFor sets.
func TestDeploymentGraceTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "DEPLOYMENT.md"))
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]labels.ContainerRole{"backend": labels.RoleBackend, "proxy": labels.RoleProxy,
		"cloudflared": labels.RoleTunnel, "postgres": labels.RolePostgres,
		"pgbackrest (pitrjob)": labels.RolePITR, "backup (pgbackup)": labels.RoleBackup,
		"prometheus": labels.RolePrometheus, "alertmanager": labels.RoleAlertmanager,
		"pgexporter (postgres exporter)": labels.RolePGExporter}
	row := regexp.MustCompile(`(?m)^\| ([a-z() ]+) \| (SIG[A-Z0-9]+)[^|]* \| [^|]+ \| (\d+) s \|$`)
	seen := map[labels.ContainerRole]bool{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		r, ok := roles[m[1]]
		if !ok {
			t.Errorf("DEPLOYMENT.md grace table: unknown role %q", m[1])
			continue
		}
		seen[r] = true
		s := components.StopFor(r)
		if m[2] != s.Signal || m[3] != strconv.Itoa(s.GraceSeconds()) {
			t.Errorf("DEPLOYMENT.md: %s stops with %s after %s s; StopFor says %s after %d s", m[1], m[2], m[3], s.Signal, s.GraceSeconds())
		}
	}
	if len(seen) != len(roles) {
		t.Errorf("DEPLOYMENT.md grace table has %d of the %d roles", len(seen), len(roles))
	}
}
