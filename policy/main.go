// Command policy is the HelloAgents CrossGuard policy pack. The Pulumi engine
// starts it (runtime: go), reads the port it prints and speaks the analyzer
// gRPC protocol to it; see docs/POLICY.md.
package main

import (
	"fmt"
	"os"

	"github.com/helloagents/infra/policy/pack"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

func main() {
	if err := policyx.Main(pack.FromContext); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
