#!/usr/bin/env bash
# Benchmark of pgBackRest as the platform runs it, on loopback, beside plain
# pg_basebackup on the same machine: for each database size in SIZES_MB
# (pgbench data, default "100 400") it times
#   1. pg_basebackup -Fp -X stream -c fast into an empty directory (baseline),
#   2. pgbackrest backup --type=full to versitygw over TLS (path style, region
#      auto, aes-256-cbc, lz4, process-max 2), as the backup job does,
#   3. pgbackrest restore of that backup into an empty directory (the restore
#      half of pgrecover; WAL replay comes on top and depends on the WAL),
# and prints a Markdown table for docs/PERFORMANCE.md. Throughput is the
# cluster size (sum of pg_database_size) over wall time.
#
#   backend/bench/pitr.sh                    # SIZES_MB="100 400"
#
# Needs: pgbackrest, openssl, the PostgreSQL 15 programs (PG_BIN) and
# versitygw (VERSITYGW, else bin/versitygw, else PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES_MB=${SIZES_MB:-100 400}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${PG_PORT:-18592}
S3_PORT=${S3_PORT:-18593}
VERSITYGW=${VERSITYGW:-}
if [[ -z $VERSITYGW ]]; then
	if [[ -x ../bin/versitygw ]]; then VERSITYGW=$(realpath ../bin/versitygw); else VERSITYGW=$(command -v versitygw || true); fi
fi
[[ -x $VERSITYGW ]] || { echo "versitygw not found: set VERSITYGW" >&2; exit 1; }
command -v pgbackrest >/dev/null || { echo "pgbackrest not found" >&2; exit 1; }

# shellcheck source=pg.sh
source bench/pg.sh
bench_workdir pitr-bench

# A CA-less self-signed certificate for localhost, trusted through the CA file.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod 644 "$work/cert.pem"
mkdir -p "$work/s3/bench"
AK=bench$RANDOM$RANDOM SK=secret$RANDOM$RANDOM$RANDOM
ROOT_ACCESS_KEY_ID=$AK ROOT_SECRET_ACCESS_KEY=$SK "$VERSITYGW" --port "127.0.0.1:$S3_PORT" --quiet --region auto \
	--cert "$work/cert.pem" --key "$work/key.pem" posix "$work/s3" &
pids+=($!)

export PGBACKREST_STANZA=bench PGBACKREST_PG1_PATH=$work/pg PGBACKREST_PG1_PORT=$PG_PORT
export PGBACKREST_PG1_SOCKET_PATH=$work/pg PGBACKREST_PG1_USER=postgres
export PGBACKREST_REPO1_TYPE=s3 PGBACKREST_REPO1_PATH=/bench PGBACKREST_REPO1_S3_BUCKET=bench
export PGBACKREST_REPO1_S3_ENDPOINT=localhost PGBACKREST_REPO1_STORAGE_PORT=$S3_PORT
export PGBACKREST_REPO1_S3_REGION=auto PGBACKREST_REPO1_S3_URI_STYLE=path
export PGBACKREST_REPO1_STORAGE_CA_FILE=$work/cert.pem PGBACKREST_REPO1_CIPHER_TYPE=aes-256-cbc
export PGBACKREST_REPO1_S3_KEY=$AK PGBACKREST_REPO1_S3_KEY_SECRET=$SK PGBACKREST_REPO1_CIPHER_PASS=bench-$RANDOM$RANDOM
export PGBACKREST_REPO1_RETENTION_FULL=1 PGBACKREST_COMPRESS_TYPE=lz4 PGBACKREST_PROCESS_MAX=2 PGBACKREST_START_FAST=y
export PGBACKREST_ARCHIVE_ASYNC=y PGBACKREST_SPOOL_PATH=$work/spool PGBACKREST_LOCK_PATH=$work/lock
export PGBACKREST_LOG_LEVEL_CONSOLE=warn PGBACKREST_LOG_LEVEL_FILE=off
mkdir -p "$work/spool" "$work/lock"
if [[ $(id -u) == 0 ]]; then chown postgres: "$work/spool" "$work/lock"; fi

start_pg "$PG_PORT" -c fsync=off -c wal_level=replica -c archive_mode=on \
	"-c archive_command='pgbackrest archive-push %p'" -c archive_timeout=10s
psql() { "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 "postgres://postgres@127.0.0.1:$PG_PORT/postgres" "$@"; }
as_pg pgbackrest stanza-create
as_pg pgbackrest check

secs() { date +%s.%N; }
rate() { awk -v mb="$1" -v s="$2" 'BEGIN { printf "%.1f", mb / s }'; }
rows=()
for size in $SIZES_MB; do
	# pgbench scale 1 is about 15 MB.
	scale=$(( (size + 14) / 15 ))
	psql -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
	as_pg "$PG_BIN/pgbench" -q -i -s "$scale" -h 127.0.0.1 -p "$PG_PORT" -U postgres bench >/dev/null 2>&1
	mb=$(psql -c "SELECT round(sum(pg_database_size(datname)) / 1048576.0) FROM pg_database")
	echo "cluster of $mb MB" >&2

	rm -rf "$work/base" && mkdir "$work/base" && { [[ $(id -u) != 0 ]] || chown postgres: "$work/base"; }
	t0=$(secs)
	as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U postgres -D "$work/base" -Fp -X stream -c fast
	t1=$(secs)
	as_pg pgbackrest backup --type=full
	t2=$(secs)
	rm -rf "$work/restore" && mkdir "$work/restore" && { [[ $(id -u) != 0 ]] || chown postgres: "$work/restore"; }
	chmod 700 "$work/restore"
	as_pg pgbackrest restore --pg1-path="$work/restore"
	t3=$(secs)
	repo_mb=$(du -sm "$work/s3/bench/bench/backup" | cut -f1)
	b=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
	f=$(awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }')
	r=$(awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }')
	rows+=("| $mb MB | $(printf %.1f "$b") s ($(rate "$mb" "$b") MB/s) | $(printf %.1f "$f") s ($(rate "$mb" "$f") MB/s) | $(printf %.1f "$r") s ($(rate "$mb" "$r") MB/s) | $repo_mb MB |")
done

echo
echo "| cluster | pg_basebackup (local copy) | pgBackRest full backup → S3/TLS | pgBackRest restore ← S3/TLS | repository size (lz4 + aes) |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
