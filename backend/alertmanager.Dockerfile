# The region's Alertmanager: Debian's prometheus-alertmanager 0.25 with a
# default configuration (backend/alertmanager/alertmanager.yml) that lets
# the image start alone. Build context: backend/.
#
#   docker build -f backend/alertmanager.Dockerfile -t helloagents-alertmanager backend/
#
# The base image is a build argument (a registry mirror, or a locally built
# base in tests, can substitute it). Alertmanager comes from Debian, pinned
# to its 0.25 series. One per region, no cluster (no gossip port). Runs as a
# non-root user on a read-only root filesystem: it writes only its
# notification log and silences to the data volume at /alertmanager. The
# configuration is /etc/alertmanager/alertmanager.yml; the infrastructure
# program passes its own in ALERTMANAGER_CONFIG, which the entrypoint
# writes into a tmpfs mounted at /etc/alertmanager (the docker provider's
# uploads cannot write into a container whose root filesystem is
# read-only). No VOLUME: the program names the volumes.
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUNTIME_IMAGE}
ARG ALERTMANAGER_VERSION=0.25.*
# policy-rc.d: the package's maintainer scripts must not start a daemon
# during the build.
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "prometheus-alertmanager=${ALERTMANAGER_VERSION}" \
    && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d /var/lib/prometheus \
    && mkdir -p /alertmanager /etc/alertmanager \
    && chown 65532:65532 /alertmanager \
    && chmod 0750 /alertmanager \
    && prometheus-alertmanager --version
COPY alertmanager/alertmanager.yml /etc/alertmanager/alertmanager.yml
COPY alertmanager/entrypoint.sh /usr/local/bin/alertmanager-entrypoint
# The data directory is the image user's: a fresh named volume mounted
# there takes its owner.
USER 65532:65532
WORKDIR /alertmanager
EXPOSE 9093
# SIGTERM: Alertmanager writes its notification log and silences to the
# data directory and exits.
STOPSIGNAL SIGTERM
# The image has no curl: bash's /dev/tcp asks Alertmanager whether it is ready.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9093 && printf 'GET /-/ready HTTP/1.0\\r\\n\\r\\n' >&3 && read -r -t 2 proto code rest <&3 && [ \"$code\" = 200 ]"]
# The entrypoint (alertmanager/entrypoint.sh) passes the paths above, the
# port and no clustering (--cluster.listen-address= empty: one Alertmanager
# per region); the container's command adds flags (for example
# --web.external-url).
ENTRYPOINT ["/usr/local/bin/alertmanager-entrypoint"]
