#!/bin/sh
# The helloagents-prometheus image's entrypoint (backend/prometheus.Dockerfile):
# Debian's Prometheus with the image's paths and the retention from the
# environment; arguments (the container's command) are more flags, for
# example --web.external-url. The admin API and the lifecycle endpoints
# (reload, quit over HTTP) stay off: a new configuration comes with a new
# container.
#
# PROMETHEUS_CONFIG and PROMETHEUS_RULES, when set, are the contents of
# prometheus.yml and rules.yml: they are written into /etc/prometheus
# (which must then be writable: the infrastructure program mounts a tmpfs
# of the image user there) at every start, readable by that user only, and
# removed from the environment Prometheus runs with. Unset, the image's
# own files are used.
set -eu
config_dir=/etc/prometheus
umask 077
write() {
	printf '%s' "$2" >"$config_dir/$1" 2>/dev/null || {
		echo "prometheus-entrypoint: cannot write $config_dir/$1: mount a tmpfs writable by uid $(id -u) at $config_dir" >&2
		exit 1
	}
}
if [ -n "${PROMETHEUS_CONFIG:-}" ]; then write prometheus.yml "$PROMETHEUS_CONFIG"; fi
if [ -n "${PROMETHEUS_RULES:-}" ]; then write rules.yml "$PROMETHEUS_RULES"; fi
unset PROMETHEUS_CONFIG PROMETHEUS_RULES
exec prometheus \
	--config.file=$config_dir/prometheus.yml \
	--storage.tsdb.path=/prometheus \
	--storage.tsdb.retention.time="${PROMETHEUS_RETENTION:-15d}" \
	--web.listen-address=:9090 \
	--web.console.templates=$config_dir/consoles \
	--web.console.libraries=$config_dir/console_libraries \
	"$@"
