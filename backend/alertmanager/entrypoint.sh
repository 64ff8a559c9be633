#!/bin/sh
# The helloagents-alertmanager image's entrypoint
# (backend/alertmanager.Dockerfile): Debian's Alertmanager with the image's
# paths, its port and no clustering (--cluster.listen-address empty: one
# Alertmanager per region, no gossip port); arguments (the container's
# command) are more flags, for example --web.external-url. Alertmanager
# refuses a flag given twice, so a command must repeat none of these.
#
# ALERTMANAGER_CONFIG, when set, is the content of alertmanager.yml: it is
# written into /etc/alertmanager (which must then be writable: the
# infrastructure program mounts a tmpfs of the image user there) at every
# start, readable by that user only, and removed from the environment
# Alertmanager runs with. Unset, the image's own file is used.
set -eu
config_dir=/etc/alertmanager
umask 077
if [ -n "${ALERTMANAGER_CONFIG:-}" ]; then
	printf '%s' "$ALERTMANAGER_CONFIG" >"$config_dir/alertmanager.yml" 2>/dev/null || {
		echo "alertmanager-entrypoint: cannot write $config_dir/alertmanager.yml: mount a tmpfs writable by uid $(id -u) at $config_dir" >&2
		exit 1
	}
fi
unset ALERTMANAGER_CONFIG
exec prometheus-alertmanager \
	--config.file=$config_dir/alertmanager.yml \
	--storage.path=/alertmanager \
	--web.listen-address=:9093 \
	--cluster.listen-address= \
	"$@"
