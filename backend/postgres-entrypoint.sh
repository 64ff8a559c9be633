#!/bin/sh
# Entrypoint of postgres.Dockerfile. On the first start it initialises the
# cluster in $PGDATA (superuser POSTGRES_USER with POSTGRES_PASSWORD, database
# POSTGRES_DB); then it runs postgres in the foreground. When a pgBackRest
# repository is configured (PGBACKREST_REPO1_TYPE), every WAL segment is
# archived through `pgbackrest archive-push` (asynchronously, through the
# spool) and ARCHIVE_TIMEOUT (default 60s) bounds how long a commit waits to
# leave the host. Extra arguments are passed to postgres ("-c name=value").
#
# PG_ROLE (primary, the default, or standby) is the role the stack gives the
# region. `pgrole prepare` readies $PGDATA for it first: a standby is restored
# from the repository (retrying until a backup exists) or, when $PGDATA holds
# an old or fenced primary, re-seeded with a delta restore onto the latest
# timeline; a fenced primary is refused (exit 3); a standby told to be a
# primary starts as a standby (promotion is `pgrole promote`, never implicit).
# See backend/README.md, "Standby internals".
set -eu

: "${PGDATA:=/var/lib/postgresql/data/pgdata}"
: "${POSTGRES_USER:=postgres}"
export PGBACKREST_PG1_PATH="${PGBACKREST_PG1_PATH:-$PGDATA}"
export PGBACKREST_PG1_USER="${PGBACKREST_PG1_USER:-$POSTGRES_USER}"
export PGDATA POSTGRES_USER
: "${PG_ROLE:=primary}"
export PG_ROLE

case "$PG_ROLE" in
primary | standby) ;;
*)
	echo "postgres-entrypoint: PG_ROLE=$PG_ROLE: want primary or standby" >&2
	exit 2
	;;
esac
status=0
pgrole prepare || status=$?
if [ "$status" -ne 0 ]; then
	echo "postgres-entrypoint: not starting: pgrole prepare exited $status" >&2
	exit "$status"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ]; then
		echo "postgres-entrypoint: POSTGRES_PASSWORD is required to initialise $PGDATA" >&2
		exit 2
	fi
	mkdir -p "$PGDATA"
	chmod 0700 "$PGDATA"
	pwfile=$(mktemp) # /tmp: a private tmpfs; the password never reaches argv
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host=scram-sha-256 >/dev/null
	rm -f "$pwfile"
	printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
	if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
		echo "CREATE DATABASE \"$POSTGRES_DB\"" | postgres --single -D "$PGDATA" postgres >/dev/null
	fi
	echo "postgres-entrypoint: initialised $PGDATA"
fi
unset POSTGRES_PASSWORD

# track_commit_timestamp: a standby's replay lag is the age of the last
# commit it replayed (pgrole status, /health).
set -- -c "listen_addresses=${POSTGRES_LISTEN:-*}" -c unix_socket_directories=/var/run/postgresql \
	-c track_commit_timestamp=on -c hot_standby=on "$@"
if [ -n "${PGBACKREST_REPO1_TYPE:-}" ]; then
	set -- -c wal_level=replica -c archive_mode=on \
		-c "archive_command=pgbackrest --stanza=${PGBACKREST_STANZA:-main} archive-push %p" \
		-c "archive_timeout=${ARCHIVE_TIMEOUT:-60s}" "$@"
	echo "postgres-entrypoint: WAL archiving to a ${PGBACKREST_REPO1_TYPE} repository, stanza ${PGBACKREST_STANZA:-main}, archive_timeout ${ARCHIVE_TIMEOUT:-60s}"
fi
exec postgres -D "$PGDATA" "$@"
