package stacks

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
	"github.com/helloagents/infra/stacks/config"
)

// regionContainers returns region r's containers by role.
func regionContainers(m *mocktest.Monitor, r string) map[string][]mocktest.Resource {
	out := map[string][]mocktest.Resource{}
	for _, c := range m.ByType(restype.DockerContainer) {
		if strings.HasPrefix(c.Name, "db-"+r+"-") || strings.HasPrefix(c.Name, "backend-"+r+"-") ||
			strings.HasPrefix(c.Name, "proxy-"+r) || strings.HasPrefix(c.Name, "tunnel-"+r) {
			out[role(c)] = append(out[role(c)], c)
		}
	}
	return out
}

// envEntries splits a container's envs into plain entries and the secret
// ones (by value, for comparing them across regions).
func envEntries(c mocktest.Resource) (plain, secret []string) {
	for _, e := range list(c.Inputs["envs"]) {
		if e.IsSecret() {
			secret = append(secret, mocktest.Unwrap(e).StringValue())
		} else {
			plain = append(plain, e.StringValue())
		}
	}
	return plain, secret
}

// withPrefix keeps the entries that start with prefix, sorted.
func withPrefix(entries []string, prefix string) []string {
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

// TestStandbyTopology renders production with each region as the primary:
// the primary's Postgres runs as PG_ROLE=primary beside both backup jobs,
// every other region's as PG_ROLE=standby with none; every region gets the
// same repository settings (one repository per stack) and the same
// DATABASE_URL password; the load balancer tries the primary's pool first.
func TestStandbyTopology(t *testing.T) {
	for _, primary := range []string{"eu-west", "us-east"} {
		t.Run("primary "+primary, func(t *testing.T) {
			cfg, err := config.Parse("production", withFields(t, maps.Clone(stackRaw(t, "production")), config.KeyDatabase, map[string]any{"primaryRegion": primary}))
			if err != nil {
				t.Fatal(err)
			}
			m := runConfig(t, cfg)
			var repo, urls []string
			for _, r := range cfg.Regions {
				byRole := regionContainers(m, r.Name)
				checkDatabaseRole(t, r.Name, byRole, r.Name == primary)
				if len(byRole["postgres"]) != 1 {
					continue
				}
				plain, secret := envEntries(byRole["postgres"][0])
				repo = append(repo, strings.Join(append(withPrefix(plain, "PGBACKREST_"), withPrefix(secret, "PGBACKREST_")...), "\n"))
				for _, be := range byRole["backend"] {
					_, s := envEntries(be)
					urls = append(urls, strings.Join(withPrefix(s, "DATABASE_URL="), ""))
				}
			}
			if len(repo) != len(cfg.Regions) || repo[0] != repo[1] {
				t.Errorf("the regions' pgBackRest settings differ (one repository per stack):\n%s", strings.Join(repo, "\n---\n"))
			}
			if !strings.Contains(repo[0], "PGBACKREST_REPO1_PATH=/production/pgbackrest") ||
				!strings.Contains(repo[0], "PGBACKREST_REPO1_CIPHER_PASS=") || !strings.Contains(repo[0], "PGBACKREST_STANZA=main") {
				t.Errorf("repository settings:\n%s", repo[0])
			}
			slices.Sort(urls)
			if len(urls) != 4 || urls[0] == "" || urls[0] != urls[3] {
				t.Errorf("the backends' DATABASE_URLs differ (one password per stack): %q", urls)
			}
			checkPoolOrder(t, m, primary, cfg)
		})
	}
}

func checkDatabaseRole(t *testing.T, region string, byRole map[string][]mocktest.Resource, primary bool) {
	t.Helper()
	want, jobs := "PG_ROLE=standby", 0
	if primary {
		want, jobs = "PG_ROLE=primary", 1
	}
	if len(byRole["postgres"]) != 1 {
		t.Fatalf("region %s: %d postgres containers", region, len(byRole["postgres"]))
	}
	plain, _ := envEntries(byRole["postgres"][0])
	if got := withPrefix(plain, "PG_ROLE="); len(got) != 1 || got[0] != want {
		t.Errorf("region %s: postgres %v, want %s", region, got, want)
	}
	for _, job := range []string{"backup", "pgbackrest"} {
		if n := len(byRole[job]); n != jobs {
			t.Errorf("region %s (primary %v): %d %s job containers, want %d", region, primary, n, job, jobs)
		}
	}
}

// checkPoolOrder: the load balancer's pools start with the primary's, then
// the others in configured order; the fallback is the last.
func checkPoolOrder(t *testing.T, m *mocktest.Monitor, primary string, cfg config.Config) {
	t.Helper()
	lbs := m.ByType(restype.LoadBalancer)
	if len(lbs) != 1 {
		t.Fatalf("%d load balancers", len(lbs))
	}
	want := []string{"edge-" + primary + "-pool-id"}
	for _, r := range cfg.Regions {
		if r.Name != primary {
			want = append(want, "edge-"+r.Name+"-pool-id")
		}
	}
	got := mocktest.Strings(lbs[0].Inputs["defaultPoolIds"])
	if !slices.Equal(got, want) {
		t.Errorf("defaultPoolIds %v, want %v", got, want)
	}
	if fb := mocktest.Unwrap(lbs[0].Inputs["fallbackPoolId"]).StringValue(); fb != want[len(want)-1] {
		t.Errorf("fallbackPoolId %q, want %q", fb, want[len(want)-1])
	}
}

// TestStandbySingleRegionKeepsItsPassword: dev and staging (one region, only a
// primary) keep the password resource they had, through its alias, and
// their database runs as the primary with its backup jobs.
func TestStandbySingleRegionKeepsItsPassword(t *testing.T) {
	for _, tc := range []struct{ stack, region string }{{"dev", "local"}, {"staging", "eu-west"}} {
		t.Run(tc.stack, func(t *testing.T) {
			m, _, _ := runStack(t, tc.stack)
			pw, ok := m.Named(restype.RandomPassword, "secrets-db-password")
			if !ok {
				t.Fatal("no secrets-db-password")
			}
			if want := "secrets-db-password-" + tc.region; !slices.Equal(pw.Aliases, []string{want}) {
				t.Errorf("aliases %v, want [%s] (the URN the stack's state holds)", pw.Aliases, want)
			}
			checkDatabaseRole(t, tc.region, regionContainers(m, tc.region), true)
		})
	}
}
