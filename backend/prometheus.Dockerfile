# The region's Prometheus: Debian's prometheus 2.42 with a default
# configuration (backend/prometheus/) that lets the image start alone.
# Build context: backend/.
#
#   docker build -f backend/prometheus.Dockerfile -t helloagents-prometheus backend/
#
# The base image is a build argument (a registry mirror, or a locally built
# base in tests, can substitute it). Prometheus comes from Debian, pinned to
# its 2.42 series. Runs as a non-root user on a read-only root filesystem:
# it writes only to the data volume at /prometheus. The configuration is
# /etc/prometheus/prometheus.yml with its rules in /etc/prometheus/rules.yml;
# the infrastructure program passes its own in PROMETHEUS_CONFIG and
# PROMETHEUS_RULES, which the entrypoint writes into a tmpfs mounted at
# /etc/prometheus (the docker provider's uploads cannot write into a
# container whose root filesystem is read-only). No VOLUME: the program
# names the volumes.
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUNTIME_IMAGE}
ARG PROMETHEUS_VERSION=2.42.*
# policy-rc.d: the package's maintainer scripts must not start a daemon
# during the build. The web UI (Debian's build serves the classic one, with
# Debian's JavaScript packages) loads moment-timezone-with-data.min.js, not
# the 210 MB of per-zone data beside it.
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "prometheus=${PROMETHEUS_VERSION}" \
    && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d /var/lib/prometheus \
    && rm -rf /usr/share/javascript/moment-timezone/data \
    && mkdir -p /prometheus \
    && chown 65532:65532 /prometheus \
    && chmod 0750 /prometheus \
    && prometheus --version
COPY prometheus/prometheus.yml prometheus/rules.yml /etc/prometheus/
COPY prometheus/entrypoint.sh /usr/local/bin/prometheus-entrypoint
# How long samples are kept (Prometheus's --storage.tsdb.retention.time).
ENV PROMETHEUS_RETENTION=15d
# The data directory is the image user's: a fresh named volume mounted
# there takes its owner.
USER 65532:65532
WORKDIR /prometheus
EXPOSE 9090
# SIGTERM: Prometheus stops scraping, finishes rule evaluation and closes
# the TSDB (head and WAL flushed) before it exits.
STOPSIGNAL SIGTERM
# The image has no curl: bash's /dev/tcp asks Prometheus whether it is
# ready (503 while it replays its WAL at start, hence the start period).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9090 && printf 'GET /-/ready HTTP/1.0\\r\\n\\r\\n' >&3 && read -r -t 2 proto code rest <&3 && [ \"$code\" = 200 ]"]
ENTRYPOINT ["/usr/local/bin/prometheus-entrypoint"]
