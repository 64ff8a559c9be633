// Package proxy describes the region's reverse proxy image
// (backend/proxy.Dockerfile with haproxy.cfg in this directory): HAProxy 2.6
// from Debian, which sends each request to a ready backend replica, follows
// the replicas through Docker's DNS alias and retries a request that meets
// a stopping replica on another one. HAProxy's built-in Prometheus exporter
// answers GET /metrics on a private port (EnvMetricsPort); the log has only
// the abnormal requests (errors, retries, redispatches, 5xx).
//
// The Go side is only the contract: the names of the environment variables
// the configuration reads, with the image's defaults, so that the
// infrastructure program (which imports this module) and the tests set the
// same names.
package proxy
