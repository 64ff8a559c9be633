// Package drain is the stop contract of the platform's serving images: the
// variable that bounds each one's shutdown, its default, and how to read
// the bound a container is given. The infrastructure program sets these
// variables and derives every container's grace period from them
// (components/stop.go); the policy pack refuses a container whose grace
// period is shorter than the drain its variables ask for.
//
// The docker provider deletes a container with `docker stop` using the
// resource's destroyGraceSeconds as the timeout, SIGKILL at once when it is
// unset; the container's own stop timeout is not used. So a drain only runs
// when the grace period covers it.
//
// It imports only the standard library: the program, the policy pack and
// the backend all read it.
package drain

import (
	"fmt"
	"time"
)

// The backend server (backend/Dockerfile, cmd/server). On SIGTERM it keeps
// serving for the delay with readiness 503, so that the proxy takes it out,
// then closes its listener and drains the requests in flight within the
// timeout.
const (
	EnvServerDelay   = "SHUTDOWN_DELAY"
	EnvServerTimeout = "SHUTDOWN_TIMEOUT"
	// ServerDelay covers the proxy's removal of a replica: two failed
	// readiness probes 1 s apart (backend/proxy/haproxy.cfg).
	ServerDelay = 5 * time.Second
	// ServerTimeout bounds the requests already accepted.
	ServerTimeout = 20 * time.Second
	// ServerExit is the time after the drain to close the database pool and
	// flush logs and Sentry.
	ServerExit = 5 * time.Second
)

// ServerGrace is the grace period a server with the default drain needs:
// delay, drain timeout and exit. The program gives the backend replicas
// this long (components.StopFor); the release test stops them with it.
const ServerGrace = ServerDelay + ServerTimeout + ServerExit

// The proxy (backend/proxy.Dockerfile, HAProxy). On SIGUSR1 it stops
// listening and finishes what is in flight, for at most hard-stop-after.
const (
	EnvProxyHardStop = "PROXY_HARD_STOP_AFTER"
	ProxyHardStop    = 8 * time.Second
)

// cloudflared (the tunnel connector). On SIGTERM it stops taking requests
// and waits for those in progress for at most its grace period.
const (
	EnvTunnelGrace = "TUNNEL_GRACE_PERIOD"
	TunnelGrace    = 30 * time.Second
)

// Server is the longest a backend server with these variables takes to
// stop: its delay plus its drain timeout. getenv returns "" for an unset
// variable, which means the default.
func Server(getenv func(string) string) (time.Duration, error) {
	delay, err := duration(getenv, EnvServerDelay, ServerDelay)
	if err != nil {
		return 0, err
	}
	timeout, err := duration(getenv, EnvServerTimeout, ServerTimeout)
	if err != nil {
		return 0, err
	}
	return delay + timeout, nil
}

// Proxy is the longest a proxy with these variables takes to stop.
func Proxy(getenv func(string) string) (time.Duration, error) {
	return duration(getenv, EnvProxyHardStop, ProxyHardStop)
}

// Tunnel is the longest a cloudflared with these variables takes to stop.
func Tunnel(getenv func(string) string) (time.Duration, error) {
	return duration(getenv, EnvTunnelGrace, TunnelGrace)
}

// Format writes d the way the images parse it (Go's time.ParseDuration,
// which HAProxy's and cloudflared's durations accept in whole seconds).
func Format(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

func duration(getenv func(string) string, key string, def time.Duration) (time.Duration, error) {
	v := getenv(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a non-negative duration such as %q", key, v, Format(def))
	}
	return d, nil
}
