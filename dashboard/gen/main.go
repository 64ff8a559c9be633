// Command gen writes the HelloAgents Grafana dashboard to a file. Without
// flags it is the committed dashboard/helloagents.json, built from the
// platform's default SLO and alert thresholds:
//
//	go generate ./dashboard                              # dashboard/helloagents.json
//	go run ./dashboard/gen -o dashboard/helloagents.json # the same, from the repository root
//
// A stack whose helloagents:slo differs needs its own (the SLO panels read
// the recorded series of its period and draw its objectives):
//
//	go run ./dashboard/gen -o /tmp/staging.json -availability 0.995 -period 168h
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/helloagents/infra/dashboard"
)

func main() {
	a := dashboard.DefaultArgs()
	out := flag.String("o", "dashboard/helloagents.json", "the `file` to write")
	flag.Float64Var(&a.SLO.Availability, "availability", a.SLO.Availability, "the availability objective (slo.availability)")
	flag.DurationVar(&a.SLO.Period, "period", a.SLO.Period, "the SLO period (slo.period)")
	flag.Float64Var(&a.SLO.ErrorRatio, "error-ratio", a.SLO.ErrorRatio, "the error ratio objective (slo.errorRatio)")
	flag.DurationVar(&a.SLO.LatencyP95, "latency-p95", a.SLO.LatencyP95, "the P95 latency objective (slo.latencyP95)")
	flag.DurationVar(&a.StandbyMaxLag, "standby-max-lag", a.StandbyMaxLag, "where the standby replay lag turns red")
	flag.DurationVar(&a.WALArchiveMaxAge, "wal-archive-max-age", a.WALArchiveMaxAge, "where the WAL archive age turns red")
	flag.Parse()
	b, err := dashboard.JSON(a)
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
