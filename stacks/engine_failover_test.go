package stacks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/stacks"
	"github.com/helloagents/infra/stacks/config"
)

// productionConfig is the committed production stack with real-looking
// placeholders, the test secrets and database.primaryRegion set.
func productionConfig(t *testing.T, primary string) config.Config {
	t.Helper()
	raw, err := config.ReadStackFile(filepath.Join("..", "Pulumi.production.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stacktest.Fill(raw, config.Placeholders())
	maps.Copy(raw, stacktest.OperatorSecrets())
	db := map[string]any{}
	if err := json.Unmarshal([]byte(raw["helloagents:database"]), &db); err != nil {
		t.Fatal(err)
	}
	db["primaryRegion"] = primary
	b, _ := json.Marshal(db)
	raw["helloagents:database"] = string(b)
	cfg, err := config.Parse("production", raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestFailoverUnderEngine deploys the production program (two regions,
// primary eu-west) on the real engine with stand-in providers, then moves
// the primary to us-east over the same state and back. A failover may only
// replace the two Postgres containers (their role), move the backup jobs
// (and the pgbackup image they pull) to the new primary's region, and
// update the load balancer's pool order: no volume is replaced or deleted
// (the data volumes are protected), no backend replica, proxy or tunnel
// is touched.
func TestFailoverUnderEngine(t *testing.T) {
	dir := engineEnv(t, "failover-test")
	sim := &dockerSim{echoProvider: echoProvider{version: "4.10.0"}}
	cf := &dockerSim{echoProvider: echoProvider{version: "5.49.1"}}
	random := &dockerSim{echoProvider: echoProvider{version: "4.18.3"}}
	t.Setenv("PULUMI_DEBUG_PROVIDERS", fmt.Sprintf("docker:%d,cloudflare:%d,random:%d", serve(t, sim), serve(t, cf), serve(t, random)))
	cfg := productionConfig(t, "eu-west")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	stack, err := auto.UpsertStackInlineSource(ctx, "production", project, func(ctx *pulumi.Context) error {
		_, err := stacks.Platform(ctx, cfg)
		return err
	}, auto.WorkDir(filepath.Join(dir, "work")))
	if err != nil {
		t.Fatalf("create stack: %v", err)
	}
	up := func() []call {
		t.Helper()
		var out lockedBuilder
		if _, err := stack.Up(ctx, optup.ProgressStreams(&out), optup.ErrorProgressStreams(&out)); err != nil {
			t.Fatalf("up: %v\n%s", err, out.String())
		}
		return append(sim.take(), cf.take()...)
	}
	up()
	random.take()
	for _, move := range []struct{ from, to string }{{"eu-west", "us-east"}, {"us-east", "eu-west"}} {
		cfg = productionConfig(t, move.to)
		calls := up()
		t.Logf("failover %s -> %s: %v", move.from, move.to, calls)
		checkFailoverCalls(t, move.from, move.to, calls)
		if c := random.take(); len(c) != 0 {
			t.Errorf("the failover changed generated secrets: %v", c)
		}
	}
}

// checkFailoverCalls compares the provider calls of one failover with the
// only ones it may make, and checks each Postgres container is deleted
// before its successor starts on the same volume.
func checkFailoverCalls(t *testing.T, from, to string, calls []call) {
	t.Helper()
	var got []string
	for _, c := range calls {
		got = append(got, c.op+" "+c.urn.Name())
	}
	want := []string{
		"delete db-" + from + "-postgres", "create db-" + from + "-postgres",
		"delete db-" + to + "-postgres", "create db-" + to + "-postgres",
		"delete db-" + from + "-backup", "delete db-" + from + "-pgbackrest", "delete db-" + from + "-backup-image",
		"create db-" + to + "-backup", "create db-" + to + "-pgbackrest", "create db-" + to + "-backup-image",
		"update edge-lb",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("failover %s -> %s calls:\n%s\nwant exactly:\n%s", from, to, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	untouchable := regexp.MustCompile(`pgdata|pgspool|pgsocket|^backend-|^proxy-|^tunnel-|^backups`)
	for i, c := range calls {
		if untouchable.MatchString(c.urn.Name()) {
			t.Errorf("a failover touched %s (%s)", c.urn.Name(), c.op)
		}
		if c.op == "create" && strings.HasSuffix(c.urn.Name(), "-postgres") {
			del := slices.IndexFunc(calls, func(d call) bool { return d.op == "delete" && d.urn.Name() == c.urn.Name() })
			if del < 0 || del > i {
				t.Errorf("%s was created (call %d) before the old container was deleted (call %d): two servers on one volume", c.urn.Name(), i, del)
			}
		}
	}
}
