# shellcheck shell=bash
# Shared by the benchmark scripts (source it): a scratch work directory that
# is removed on exit together with every process in pids and the throwaway
# PostgreSQL cluster start_pg creates in it.
#
#   bench_workdir NAME           sets work and pids, installs the EXIT trap
#   start_pg PORT [-c opt ...]   initdb + pg_ctl start in $work/pg on 127.0.0.1:PORT
# Needs PG_BIN (the PostgreSQL 15 programs).

# PostgreSQL refuses to run as root.
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

bench_workdir() {
	work=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$work"
	pids=()
	trap bench_cleanup EXIT
}

bench_cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [[ -f $work/pg/PG_VERSION ]]; then as_pg "$PG_BIN/pg_ctl" -D "$work/pg" stop -m immediate >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}

start_pg() {
	local port=$1
	shift
	echo "starting PostgreSQL on 127.0.0.1:$port" >&2
	mkdir -p "$work/pg"
	if [[ $(id -u) == 0 ]]; then chown postgres: "$work/pg"; fi
	as_pg "$PG_BIN/initdb" -D "$work/pg" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
	as_pg "$PG_BIN/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w \
		-o "-p $port -k $work/pg -c listen_addresses=127.0.0.1 $*" start >/dev/null
}
