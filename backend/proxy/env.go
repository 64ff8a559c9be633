package proxy

import (
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
	// EnvHardStopAfter bounds the soft stop (SIGUSR1): the container's
	// grace period must cover it (package drain).
	EnvHardStopAfter = drain.EnvProxyHardStop
)

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
		EnvHardStopAfter: drain.Format(drain.ProxyHardStop),
	}
}
