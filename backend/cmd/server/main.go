// Command server is the HelloAgents backend API.
//
//	server               serve HTTP (the default)
//	server healthcheck   probe /health/live on this host and exit 0 (healthy) or 1,
//	                     for Docker's HEALTHCHECK in an image without shell or curl
//	server version       print the build version
//
// Configuration comes from environment variables; see backend/README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// version is stamped at build time:
//
//	go build -ldflags "-X main.version=1.2.3" ./cmd/server
var version = "dev"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run dispatches the subcommand and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "server"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "server", "serve":
		return serve(ctx, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args, getenv, stderr)
	case "version":
		fmt.Fprintln(stdout, version)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q: want server (default), healthcheck or version\n", cmd)
		return 2
	}
}
