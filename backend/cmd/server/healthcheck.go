package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/server"
)

// healthcheck probes this host's server (PORT, default 8000) on path
// (default /health/live) and returns 0 when it answers 200, 1 otherwise.
// It reads only HOST and PORT so that it works even when the rest of the
// configuration would not validate.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	path := health.LivePath
	if len(args) > 0 {
		path = args[0]
	}
	if !strings.HasPrefix(path, "/") {
		fmt.Fprintf(stderr, "healthcheck: path %q must start with /\n", path)
		return 1
	}
	port := strings.TrimSpace(getenv(server.EnvPort))
	if port == "" {
		port = strconv.Itoa(server.DefaultPort)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		fmt.Fprintf(stderr, "healthcheck: PORT=%q is invalid: want a TCP port number from 1 to 65535\n", port)
		return 1
	}
	url := "http://" + net.JoinHostPort(probeHost(getenv(server.EnvHost)), port) + path

	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %s: %v\n", url, err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: %s answered HTTP %d\n", url, resp.StatusCode)
		return 1
	}
	return 0
}

// probeHost is where the server can be reached from inside its own
// container: loopback when it listens on every interface.
func probeHost(host string) string {
	host = strings.Trim(strings.TrimSpace(host), "[]")
	switch host {
	case "", "0.0.0.0":
		return "127.0.0.1"
	case "::":
		return "::1"
	}
	return host
}
