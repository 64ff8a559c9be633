// Command gen writes the HelloAgents Grafana dashboard, built from the
// platform's default objectives, to a file:
//
//	go generate ./dashboard                              # dashboard/helloagents.json
//	go run ./dashboard/gen -o dashboard/helloagents.json # the same, from the repository root
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/helloagents/infra/dashboard"
)

func main() {
	out := flag.String("o", "dashboard/helloagents.json", "the `file` to write")
	flag.Parse()
	b, err := dashboard.JSON(dashboard.DefaultArgs())
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
