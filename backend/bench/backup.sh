#!/usr/bin/env bash
# Benchmark of pgbackup, on loopback, in one run: a generated database of about
# SIZE_MB MB (default 200), then
#   1. plain `pg_dump -Fc > file` (the baseline), and `pg_dump -Fc | cat > file`
#      (the same dump written through a pipe, as pgbackup reads it),
#   2. `pgbackup backup` to a real S3 server (versitygw, posix backend),
#   3. `pgbackup backup` to a file:// destination,
# each ROUNDS times interleaved (median time, highest RSS), with wall time and peak RSS from
# /usr/bin/time -v. Throughput is the database size (pg_database_size) over
# wall time. Prints a Markdown table for docs/PERFORMANCE.md.
#
#   backend/bench/backup.sh                 # SIZE_MB=200 ROUNDS=4
#   SIZE_MB=50 backend/bench/backup.sh      # memory must not grow with size
#
# Needs: go, /usr/bin/time (apt-get install time), the PostgreSQL 15 programs
# (PG_BIN, default /usr/lib/postgresql/15/bin) and versitygw (VERSITYGW, else
# bin/versitygw, else PATH; build it with
# GOBIN=$PWD/bin go install github.com/versity/versitygw/cmd/versitygw@v1.8.0).
# Peak RSS of pgbackup is its own (pg_dump is a child: /usr/bin/time reports the
# larger of the two, so the pg_dump row is shown for comparison).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB=${SIZE_MB:-200}
ROUNDS=${ROUNDS:-4}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${PG_PORT:-18492}
S3_PORT=${S3_PORT:-18493}
PART_MB=${PART_MB:-16}

VERSITYGW=${VERSITYGW:-}
if [[ -z $VERSITYGW ]]; then
	if [[ -x ../bin/versitygw ]]; then VERSITYGW=$(realpath ../bin/versitygw); else VERSITYGW=$(command -v versitygw || true); fi
fi
[[ -x $VERSITYGW ]] || { echo "versitygw not found: set VERSITYGW (see the header)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time not found: apt-get install time" >&2; exit 1; }

# shellcheck source=pg.sh
source bench/pg.sh
bench_workdir backup-bench

echo "building pgbackup" >&2
go build -trimpath -o "$work/pgbackup" ./cmd/pgbackup

start_pg "$PG_PORT" -c fsync=off
DB="postgres://postgres@127.0.0.1:$PG_PORT/bench?sslmode=disable"
psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql "postgres://postgres@127.0.0.1:$PG_PORT/postgres" -c "CREATE DATABASE bench"

echo "generating about $SIZE_MB MB" >&2
rows=$((SIZE_MB * 4000))
# Text that compresses (repeated hashes) and bytes that do not, like real rows.
psql "$DB" -c "CREATE TABLE events AS SELECT g AS id, now() - g * interval '1 second' AS at,
	md5(g::text) AS name, repeat(md5((g % 1000)::text), 3) AS body,
	decode(md5(g::text) || md5((g * 7)::text), 'hex') AS blob
	FROM generate_series(1, $rows) g; ALTER TABLE events ADD PRIMARY KEY (id)"
psql "$DB" -c "VACUUM ANALYZE events"
db_bytes=$(psql "$DB" -At -c "SELECT pg_database_size('bench')")
db_mb=$(awk -v b="$db_bytes" 'BEGIN { printf "%.0f", b / 1e6 }')
echo "database: $db_mb MB" >&2

echo "starting versitygw on 127.0.0.1:$S3_PORT" >&2
mkdir -p "$work/s3"
AK=bench$RANDOM$RANDOM SK=benchsecret$RANDOM$RANDOM$RANDOM
ROOT_ACCESS_KEY_ID=$AK ROOT_SECRET_ACCESS_KEY=$SK "$VERSITYGW" --port "127.0.0.1:$S3_PORT" --quiet posix "$work/s3" >"$work/s3.log" 2>&1 &
pids+=($!)
mkdir -p "$work/s3/bench" # a bucket of the posix backend is a directory
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null && break
	sleep 0.1
done

# once NAME CMD...: runs CMD once under /usr/bin/time; appends "seconds maxrss_kb" to $work/NAME.
once() {
	local name=$1; shift
	# Start each run with no dirty pages waiting for writeback (the data
	# generation and the previous runs leave hundreds of MB), or whichever run
	# comes first pays for the flush.
	sync
	/usr/bin/time -v -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" "$work/time" >&2; exit 1; }
	local wall rss
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/time")
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time")
	echo "  $name: ${wall}s, peak RSS ${rss} kB" >&2
	echo "$wall $rss" >>"$work/$name"
}
# median NAME: "seconds maxrss_kb" of the median-time run (the highest RSS of all runs).
median() {
	local rss
	rss=$(awk '$2 > m { m = $2 } END { print m }' "$work/$1")
	echo "$(sort -n "$work/$1" | sed -n "$(((ROUNDS + 1) / 2))p" | cut -d' ' -f1) $rss"
}

export DATABASE_URL=$DB PG_BIN
s3env=(env BACKUP_DESTINATION=s3://bench/pg BACKUP_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
	AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK" BACKUP_S3_PART_SIZE_MB="$PART_MB")
fileenv=(env BACKUP_DESTINATION="file://$work/files")

echo "warm-up: one unmeasured pg_dump" >&2
"$PG_BIN/pg_dump" -Fc -d "$DB" >/dev/null
# Rounds interleave the runs, and rotate which goes first, so that load from
# elsewhere and whatever a run leaves behind (page cache, writeback) hit all alike.
runs=(pg_dump pg_dump-pipe pgbackup-s3 pgbackup-file)
run_one() {
	case $1 in
	pg_dump) once pg_dump sh -c "'$PG_BIN/pg_dump' -Fc -d '$DB' > '$work/plain.dump'" ;;
	pg_dump-pipe) once pg_dump-pipe sh -c "'$PG_BIN/pg_dump' -Fc -d '$DB' | cat > '$work/piped.dump'" ;;
	pgbackup-s3) once pgbackup-s3 "${s3env[@]}" "$work/pgbackup" backup ;;
	pgbackup-file) once pgbackup-file "${fileenv[@]}" "$work/pgbackup" backup ;;
	esac
}
for r in $(seq "$ROUNDS"); do
	echo "round $r" >&2
	for i in 0 1 2 3; do run_one "${runs[$(((i + r - 1) % 4))]}"; done
done
dump_bytes=$(stat -c %s "$work/plain.dump")
read -r t_dump rss_dump < <(median pg_dump)
read -r t_pipe rss_pipe < <(median pg_dump-pipe)
read -r t_s3 rss_s3 < <(median pgbackup-s3)
read -r t_file rss_file < <(median pgbackup-file)

mbps() { awk -v b="$db_bytes" -v t="$1" 'BEGIN { printf "%.1f", b / 1e6 / t }'; }
ratio() { awk -v a="$t_dump" -v t="$1" 'BEGIN { printf "%.2f", a / t }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

cat <<EOF

database $db_mb MB (pg_database_size), dump $(awk -v b="$dump_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB, $ROUNDS rounds (median time, highest RSS), part size $PART_MB MiB, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)

| run | wall (s) | throughput (DB MB/s) | ratio to pg_dump | peak RSS (MiB) |
|---|---|---|---|---|
| \`pg_dump -Fc > file\` | $t_dump | $(mbps "$t_dump") | 1.00 | $(mb "$rss_dump") |
| \`pg_dump -Fc \| cat > file\` | $t_pipe | $(mbps "$t_pipe") | $(ratio "$t_pipe") | $(mb "$rss_pipe") |
| \`pgbackup backup\` → S3 (versitygw) | $t_s3 | $(mbps "$t_s3") | $(ratio "$t_s3") | $(mb "$rss_s3") |
| \`pgbackup backup\` → file:// | $t_file | $(mbps "$t_file") | $(ratio "$t_file") | $(mb "$rss_file") |
EOF
