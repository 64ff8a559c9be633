package proxy

import (
	"fmt"
	"math"
	"strconv"

	"github.com/helloagents/infra/backend/drain"
	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/server"
)

// Environment variables read by haproxy.cfg. The image sets every one of
// them (Defaults); a container overrides what differs.
const (
	// EnvAddr is the address the public frontend binds (IPv4).
	EnvAddr = "PROXY_ADDR"
	// EnvPort is the public frontend's port; unprivileged, the proxy is not root.
	EnvPort = "PROXY_PORT"
	// EnvMonitorPort is the loopback-only port of the proxy's own liveness
	// endpoint (GET /healthz), asked by the image's HEALTHCHECK.
	EnvMonitorPort = "PROXY_MONITOR_PORT"
	// EnvMetricsAddr is the address the Prometheus exporter's frontend
	// binds (IPv4): the container's private interface, never published.
	EnvMetricsAddr = "PROXY_METRICS_ADDR"
	// EnvMetricsPort is the exporter's port; it serves GET /metrics only.
	EnvMetricsPort = "PROXY_METRICS_PORT"
	// EnvBackendHost is the DNS name whose A records are the replicas: the
	// replicas' network alias.
	EnvBackendHost = "PROXY_BACKEND_HOST"
	// EnvBackendPort is the port every replica listens on.
	EnvBackendPort = "PROXY_BACKEND_PORT"
	// EnvResolver is the DNS server (ip:port) asked for EnvBackendHost:
	// Docker's embedded DNS in a container network.
	EnvResolver = "PROXY_RESOLVER"
	// EnvHealthPath is the replicas' readiness path; 200 means send traffic.
	EnvHealthPath = "PROXY_HEALTH_PATH"
	// EnvMaxServers is how many replicas the proxy can track at once; a
	// release runs old and new replicas side by side, so keep it at least
	// twice the replica count.
	EnvMaxServers = "PROXY_MAX_SERVERS"
	// EnvCanaryHost is the DNS name whose A records are the canary
	// replicas of a release being judged; it does not resolve without one.
	EnvCanaryHost = "PROXY_CANARY_HOST"
	// EnvMaxCanaries is how many canary replicas the proxy can track.
	EnvMaxCanaries = "PROXY_MAX_CANARIES"
	// EnvStableWeight and EnvCanaryWeight are the HAProxy weight (0..256)
	// of each stable and each canary server: see Weights.
	EnvStableWeight = "PROXY_STABLE_WEIGHT"
	EnvCanaryWeight = "PROXY_CANARY_WEIGHT"
	// EnvHardStopAfter bounds the soft stop (SIGUSR1): the container's
	// grace period must cover it (package drain).
	EnvHardStopAfter = drain.EnvProxyHardStop
)

// CanaryHost is the canary replicas' network alias (EnvCanaryHost's
// default): the stable replicas answer to EnvBackendHost's.
const CanaryHost = "backend-canary"

// MaxWeight is HAProxy's largest server weight.
const MaxWeight = 256

// Weights are the per-server weights (EnvStableWeight, EnvCanaryWeight)
// that send percent of the requests to canaries canary replicas beside
// stable stable ones: round-robin by weight gives the canary group
// canaries*c / (canaries*c + stable*s) of them. The weights are the
// smallest integers with that ratio; when they exceed MaxWeight, the two
// weights of 1..MaxWeight whose share is nearest (the best HAProxy can do). Percent 0 sends the
// canaries nothing.
func Weights(percent, stable, canaries int) (stableWeight, canaryWeight int, err error) {
	if percent < 0 || percent >= 100 {
		return 0, 0, fmt.Errorf("canary weight is %d%%: must be 0 to 99", percent)
	}
	if stable < 1 || canaries < 1 {
		return 0, 0, fmt.Errorf("canary weights need at least one stable and one canary replica, not %d and %d", stable, canaries)
	}
	if percent == 0 {
		return 1, 0, nil
	}
	s, c := (100-percent)*canaries, percent*stable
	g := gcd(s, c)
	s, c = s/g, c/g
	if max(s, c) > MaxWeight {
		s, c = nearest(percent, stable, canaries)
	}
	return s, c, nil
}

// nearest are the weights of 1..MaxWeight whose canary share is nearest
// percent (the smallest canary weight of equally near ones).
func nearest(percent, stable, canaries int) (stableWeight, canaryWeight int) {
	target := float64(percent) / 100
	bestErr := math.Inf(1)
	for c := 1; c <= MaxWeight; c++ {
		// share = canaries×c / (canaries×c + stable×s): solve for s.
		exact := float64(canaries*c) * (1 - target) / (target * float64(stable))
		for _, s := range []int{int(math.Floor(exact)), int(math.Ceil(exact))} {
			s = min(max(s, 1), MaxWeight)
			share := float64(canaries*c) / float64(canaries*c+stable*s)
			if e := math.Abs(share - target); e < bestErr-1e-15 {
				bestErr, stableWeight, canaryWeight = e, s, c
			}
		}
	}
	return stableWeight, canaryWeight
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// MetricsPath is the exporter's path on EnvMetricsPort.
const MetricsPath = "/metrics"

// Defaults are the values backend/proxy.Dockerfile sets for each variable.
func Defaults() map[string]string {
	return map[string]string{
		EnvAddr:          "0.0.0.0",
		EnvPort:          strconv.Itoa(server.DefaultPort),
		EnvMonitorPort:   "8404",
		EnvMetricsAddr:   "0.0.0.0",
		EnvMetricsPort:   "8405",
		EnvBackendHost:   "backend",
		EnvBackendPort:   strconv.Itoa(server.DefaultPort),
		EnvResolver:      "127.0.0.11:53",
		EnvHealthPath:    health.ReadyPath,
		EnvMaxServers:    "10",
		EnvCanaryHost:    CanaryHost,
		EnvMaxCanaries:   "2",
		EnvStableWeight:  "1",
		EnvCanaryWeight:  "0",
		EnvHardStopAfter: drain.Format(drain.ProxyHardStop),
	}
}
