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

	"github.com/helloagents/infra/backend/server"
)

// version is stamped at build time:
//
//	go build -ldflags "-X main.version=1.2.3" ./cmd/server
var version = "dev"

const usage = `usage: server [command]

commands:
  server        serve HTTP (the default; also "serve")
  healthcheck   probe /health/live on this host (HOST, PORT) and exit 0 when it answers 200,
                for Docker's HEALTHCHECK; an optional argument names another path
  version       print the build version
  help          this text (also -h, --help)

Configuration is the environment: DATABASE_URL (required), HOST, PORT, LOG_LEVEL,
APP_VERSION, AI_API_KEY, SANDBOX_POOL_URL, CORS_ALLOWED_ORIGINS, SENTRY_DSN,
SENTRY_ENVIRONMENT, SENTRY_TRACES_SAMPLE_RATE, HEALTH_CHECK_TIMEOUT, SHUTDOWN_DELAY,
SHUTDOWN_TIMEOUT, STANDBY_MAX_LAG, METRICS_PORT, IMAGE_FINGERPRINT;
see backend/README.md.

METRICS_PORT (1..65535, not PORT; unset: no metrics) serves Prometheus metrics at
GET /metrics on HOST:METRICS_PORT, a listener apart from the API's; IMAGE_FINGERPRINT
labels their helloagents_build_info.

exit status: 0 stopped cleanly (server), healthy (healthcheck), or help;
1 invalid configuration, a failure to serve, or unhealthy (healthcheck);
2 unknown command or unexpected arguments
`

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
	case "server", server.CmdServe:
		// Decided before the configuration is read or a port opened: an
		// argument here is a mistake (a flag the server does not have).
		if len(args) > 0 {
			fmt.Fprintf(stderr, "%s: unexpected arguments %q: configuration is the environment\n\n%s", cmd, args, usage)
			return 2
		}
		return serve(ctx, getenv, stdout, stderr)
	case server.CmdHealthcheck:
		return healthcheck(ctx, args, getenv, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	case server.CmdVersion:
		fmt.Fprintln(stdout, version)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q: want server (default), healthcheck or version\n\n%s", cmd, usage)
		return 2
	}
}
