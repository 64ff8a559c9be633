# The region's PostgreSQL exporter: Debian's prometheus-postgres-exporter
# 0.11 with the platform's own queries (backend/pgexporter/queries.yaml:
# the WAL archive's age, a standby's replay lag). Build context: backend/.
#
#   docker build -f backend/pgexporter.Dockerfile -t helloagents-pgexporter backend/
#
# The base image is a build argument (a registry mirror, or a locally built
# base in tests, can substitute it). The exporter comes from Debian, pinned
# to its 0.11 series. Runs as a non-root user on a read-only root filesystem
# and writes nothing. The database it reads is DATA_SOURCE_NAME (a libpq
# URL; the exporter's own DATA_SOURCE_URI, DATA_SOURCE_USER and
# DATA_SOURCE_PASS_FILE work too), set by the container; the exporter logs
# it with the password removed.
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUNTIME_IMAGE}
ARG PGEXPORTER_VERSION=0.11.*
# policy-rc.d: the package's maintainer scripts must not start a daemon
# during the build.
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "prometheus-postgres-exporter=${PGEXPORTER_VERSION}" \
    && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d \
    && prometheus-postgres-exporter --version
COPY pgexporter/queries.yaml /etc/prometheus-postgres-exporter/queries.yaml
# The exporter's own variable for its listen address (its flag would win
# over it, so it is not a flag below): a test on the host network moves it.
ENV PG_EXPORTER_WEB_LISTEN_ADDRESS=:9187
USER 65532:65532
EXPOSE 9187
# SIGTERM: the exporter has nothing to flush and exits at once.
STOPSIGNAL SIGTERM
# The image has no curl: bash's /dev/tcp asks for the exporter's landing
# page, which answers without touching the database (a database that is
# down is pg_up 0 in /metrics, not an unhealthy exporter).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PG_EXPORTER_WEB_LISTEN_ADDRESS##*:} && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && read -r -t 2 proto code rest <&3 && [ \"$code\" = 200 ]"]
# No auto-discovery: the one database of DATA_SOURCE_NAME. The container's
# command adds flags.
ENTRYPOINT ["prometheus-postgres-exporter", \
    "--extend.query-path=/etc/prometheus-postgres-exporter/queries.yaml"]
