package deptest

import (
	"slices"
	"strings"
	"testing"

	"github.com/helloagents/infra/backend/testkit"
)

// goCommand is GoCommand for a test: skipped without a go command, except
// in CI.
func goCommand(t *testing.T) string {
	t.Helper()
	gobin, ok, err := GoCommand(t.Context())
	switch {
	case err != nil:
		t.Fatal(err)
	case !ok:
		testkit.Missing(t, "no go command on PATH")
	}
	return gobin
}

// TestGuardedPackages: the operator commands that must build without the
// SDKs (README: verify and status build without them), `make validate`,
// and the stack configuration they read link no Pulumi package and no pgx;
// the fake backend of the tools' tests links no Pulumi package either.
func TestGuardedPackages(t *testing.T) {
	gobin := goCommand(t)
	both := []Rule{Pulumi, PGX}
	for _, tc := range []struct {
		pkg   string
		rules []Rule
	}{
		{"./verify", both},
		{"./infra/verify", both},
		{"./infra/status", both},
		{"./infra/doctor", both},
		{"./infra/validate", both},
		{"./stacks/config", both},
		// It answers through backend/health, as the real server does.
		{"./internal/fakebackend", []Rule{Pulumi}},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			t.Parallel()
			deps, err := Deps(t.Context(), gobin, "../..", tc.pkg)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range Violations(deps, tc.rules...) {
				t.Errorf("%s links %s", tc.pkg, v)
			}
		})
	}
}

// TestViolations: the guard's core over `go list -deps` output, with a
// planted Pulumi and a planted pgx dependency among allowed ones (and
// look-alikes that are allowed).
func TestViolations(t *testing.T) {
	clean := []Package{
		{Path: "fmt"},
		{Path: "github.com/pulumi-like/other"},
		{Path: "github.com/jackc/pgpassfile"},
		{Path: "github.com/helloagents/infra/stacks/config", Imports: []string{"fmt", "github.com/pulumi-like/other"}},
		{Path: "example.com/cmd", Imports: []string{"github.com/helloagents/infra/stacks/config"}},
	}
	planted := slices.Clone(clean)
	planted[3].Imports = append(slices.Clone(planted[3].Imports), "github.com/pulumi/pulumi/sdk/v3/go/pulumi")
	planted = append(planted,
		Package{Path: "github.com/pulumi/pulumi/sdk/v3/go/pulumi", Imports: []string{"github.com/pulumi/pulumi/sdk/v3/go/common"}},
		Package{Path: "github.com/pulumi/pulumi/sdk/v3/go/common"},
		Package{Path: "example.com/db", Imports: []string{"github.com/jackc/pgx/v5"}},
		Package{Path: "github.com/jackc/pgx/v5"},
	)
	type found struct{ prefix, packages, via string }
	for _, tc := range []struct {
		name  string
		deps  []Package
		rules []Rule
		want  []found
	}{
		{"clean", clean, []Rule{Pulumi, PGX}, nil},
		{"planted pulumi and pgx", planted, []Rule{Pulumi, PGX}, []found{
			{"github.com/pulumi/", "github.com/pulumi/pulumi/sdk/v3/go/common github.com/pulumi/pulumi/sdk/v3/go/pulumi",
				"github.com/helloagents/infra/stacks/config -> github.com/pulumi/pulumi/sdk/v3/go/pulumi"},
			{"github.com/jackc/pgx", "github.com/jackc/pgx/v5", "example.com/db -> github.com/jackc/pgx/v5"},
		}},
		{"only the rules asked for", planted, []Rule{PGX}, []found{
			{"github.com/jackc/pgx", "github.com/jackc/pgx/v5", "example.com/db -> github.com/jackc/pgx/v5"},
		}},
		{"no rules", planted, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []found
			for _, v := range Violations(tc.deps, tc.rules...) {
				if v.Rule.Why == "" || !strings.Contains(v.String(), v.Rule.Why) {
					t.Errorf("%v gives no reason", v)
				}
				got = append(got, found{v.Rule.Prefix, strings.Join(v.Packages, " "), strings.Join(v.Via, " ")})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Violations = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDepsSeesTheSDK runs the real `go list` on a package that does import
// the Pulumi SDK (components): the guard's positive control, since a guard
// whose `go list` call found nothing would pass everything.
func TestDepsSeesTheSDK(t *testing.T) {
	deps, err := Deps(t.Context(), goCommand(t), "../..", "./components")
	if err != nil {
		t.Fatal(err)
	}
	paths := make([]string, len(deps))
	for i, d := range deps {
		paths[i] = d.Path
	}
	if !slices.Contains(paths, "github.com/helloagents/infra/components") || !slices.Contains(paths, "fmt") {
		t.Fatalf("go list -deps ./components lists neither itself nor fmt: %q", paths)
	}
	v := Violations(deps, Pulumi)
	if len(v) != 1 || !slices.ContainsFunc(v[0].Via, func(s string) bool {
		return strings.HasPrefix(s, "github.com/helloagents/infra/components -> github.com/pulumi/")
	}) {
		t.Fatalf("components imports the Pulumi SDK, yet the guard reports %v", v)
	}
	t.Logf("components links %d Pulumi packages", len(v[0].Packages))
}
