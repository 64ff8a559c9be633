# The region's reverse proxy: Debian's HAProxy 2.6 with backend/proxy/haproxy.cfg.
# Build context: backend/.
#
#   docker build -f backend/proxy.Dockerfile -t helloagents-proxy backend/
#
# The base image is a build argument (a registry mirror, or a locally built
# base in tests, can substitute it). HAProxy comes from Debian, pinned to its
# 2.6 series. Runs as a non-root user on a read-only root filesystem: the
# configuration writes nothing (no pidfile, no stats socket, logs to stdout).
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUNTIME_IMAGE}
ARG HAPROXY_VERSION=2.6.*
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "haproxy=${HAPROXY_VERSION}" \
    && rm -rf /var/lib/apt/lists/* \
    && haproxy -v
COPY proxy/haproxy.cfg /etc/haproxy/haproxy.cfg
# Defaults for the variables haproxy.cfg reads (names: backend/proxy/env.go).
# PROXY_RESOLVER is Docker's embedded DNS, which answers the network alias
# PROXY_BACKEND_HOST with the addresses of the running replicas.
ENV PROXY_ADDR=0.0.0.0 \
    PROXY_PORT=8000 \
    PROXY_MONITOR_PORT=8404 \
    PROXY_METRICS_ADDR=0.0.0.0 \
    PROXY_METRICS_PORT=8405 \
    PROXY_BACKEND_HOST=backend \
    PROXY_BACKEND_PORT=8000 \
    PROXY_RESOLVER=127.0.0.11:53 \
    PROXY_HEALTH_PATH=/health/ready \
    PROXY_MAX_SERVERS=10 \
    PROXY_CANARY_HOST=backend-canary \
    PROXY_MAX_CANARIES=2 \
    PROXY_STABLE_WEIGHT=1 \
    PROXY_CANARY_WEIGHT=0 \
    PROXY_HARD_STOP_AFTER=8s
USER 65532:65532
# PROXY_METRICS_PORT (8405, the Prometheus exporter) is for the region's
# private network only: not exposed, never published.
EXPOSE 8000
# Soft stop: stop accepting, finish what is in flight, then exit.
STOPSIGNAL SIGUSR1
# The image has no curl: bash's /dev/tcp asks the loopback-only monitor
# frontend (monitor-uri) whether HAProxy answers.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PROXY_MONITOR_PORT} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && read -r -t 2 proto code rest <&3 && [ \"$code\" = 200 ]"]
# -db: stay in the foreground; -W is not used, so SIGUSR1 reaches the one
# process that serves.
ENTRYPOINT ["haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
