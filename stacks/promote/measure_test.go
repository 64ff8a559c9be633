package promote_test

import (
	"os"
	"testing"
	"time"

	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/stacks/operation"
	"github.com/helloagents/infra/stacks/promote"
	"github.com/helloagents/infra/verify"
)

// TestMeasure prints the figures of docs/DELIVERY.md: how much a
// promotion adds per region beyond `pulumi up`, and how long a gate takes
// to call a 503 region unhealthy. It asserts nothing about time and runs
// only when asked:
//
//	PROMOTE_MEASURE=1 go test -run TestMeasure -v ./stacks/promote
func TestMeasure(t *testing.T) {
	if os.Getenv("PROMOTE_MEASURE") == "" {
		t.Skip("set PROMOTE_MEASURE=1 to measure promotion overhead and gate detection time")
	}
	e := newEnv(t, threeRegions...)
	o := e.options()
	o.Log = nil
	o.Gates = operation.VerifyGates{} // the verify defaults: 3 retries, 20 latency requests
	start := time.Now()
	rep := promote.Run(t.Context(), e.stacks, o)
	total := time.Since(start)
	if rep.Outcome != promote.Promoted {
		t.Fatalf("outcome %s (%s)", rep.Outcome, rep.Reason)
	}
	var ups float64
	for _, r := range rep.Regions {
		ups += r.UpSeconds
		t.Logf("measure: region %-8s wave %.2fs = pulumi up %.2fs + config, journal and gates %.2fs",
			r.Region, r.Seconds, r.UpSeconds, r.Seconds-r.UpSeconds)
	}
	t.Logf("measure: whole promotion %.2fs, of which pulumi up %.2fs; the rest (source gate, config reads, waves' overhead) %.2fs",
		total.Seconds(), ups, total.Seconds()-ups)

	f := newFakeRegion(t, "down")
	f.set("x", down)
	url := f.srv.URL + "/x/health/ready"
	for _, c := range []struct {
		name string
		hc   healthcheck.Settings
	}{
		{"test settings (interval 50ms, timeout 300ms, retries 2)", healthcheck.Settings{
			Interval: 50 * time.Millisecond, Timeout: 300 * time.Millisecond, Retries: 2, ExpectedCodes: []int{200}}},
		{"interval 5s, timeout 2s, retries 3", healthcheck.Settings{
			Interval: 5 * time.Second, Timeout: 2 * time.Second, Retries: 3, ExpectedCodes: []int{200}}},
	} {
		start := time.Now()
		err := verify.Gate(t.Context(), url, c.hc, nil)
		if err == nil {
			t.Fatal("the gate passed a 503 region")
		}
		t.Logf("measure: 503 detected by the readiness gate in %s with %s", time.Since(start).Round(time.Millisecond), c.name)
	}
}
