#!/bin/sh
# The helloagents-prometheus image's entrypoint (backend/prometheus.Dockerfile):
# Debian's Prometheus with the image's paths and the retention from the
# environment; arguments (the container's command) are more flags, for
# example --web.external-url. The admin API and the lifecycle endpoints
# (reload, quit over HTTP) stay off: a new configuration comes with a new
# container.
set -eu
exec prometheus \
	--config.file=/etc/prometheus/prometheus.yml \
	--storage.tsdb.path=/prometheus \
	--storage.tsdb.retention.time="${PROMETHEUS_RETENTION:-15d}" \
	--web.listen-address=:9090 \
	--web.console.templates=/etc/prometheus/consoles \
	--web.console.libraries=/etc/prometheus/console_libraries \
	"$@"
