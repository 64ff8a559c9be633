package verify_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/internal/fakebackend"
	"github.com/helloagents/infra/verify"
)

// A region that is not ready: the gate probes it Retries times, Interval
// apart, and names the URL and the last answer.
func ExampleGate() {
	backend := fakebackend.NewHandler()
	backend.SetComponent(fakebackend.Database, health.Unhealthy, "Database connection failed")
	region := httptest.NewServer(backend)
	defer region.Close()

	hc := healthcheck.Default()
	hc.Interval, hc.StartPeriod = 10*time.Millisecond, 0
	err := verify.Gate(context.Background(), region.URL+"/health/ready", hc, nil)
	fmt.Println(err != nil)
	// Output: true
}

// Run returns a report of every check; Passed is the verdict, and Failed
// says why.
func ExampleRun() {
	rep := verify.Run(context.Background(), verify.Options{API: "http://127.0.0.1:1", Retries: verify.NoRetries})
	fmt.Println(rep.Passed())
	for _, c := range rep.Checks[:1] {
		fmt.Println(c.Group, c.Name, c.Status)
	}
	// Output:
	// false
	// health GET /health fail
}
