#!/usr/bin/env bash
# Benchmark of the health endpoints, on loopback, in one run:
#   1. wrk (closed loop, max throughput) on a bare net/http handler (bench/bare),
#      the same with cmd/server's read/write/idle timeouts, /health/live and
#      /health/ready (real PostgreSQL), side by side;
#   2. /health/ready at a fixed 500 req/s (open loop, bench/rate) for its p99.
# Prints a Markdown table for docs/PERFORMANCE.md.
#
#   backend/bench/health.sh                       # starts a throwaway PostgreSQL 15
#   DATABASE_URL=postgres://... backend/bench/health.sh
#
# Needs: go, wrk (apt-get install wrk), and unless DATABASE_URL is given the
# PostgreSQL 15 programs (apt-get install postgresql-15; PG_BIN overrides
# their directory). Tunables: DURATION (10s per wrk run), ROUNDS (3), CONNECTIONS (32), THREADS (2),
# RATE (500), RATE_DURATION (10s), LOG_LEVEL of the server (info).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-500}
RATE_DURATION=${RATE_DURATION:-10s}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SERVER_PORT=${SERVER_PORT:-18080}
BARE_PORT=${BARE_PORT:-18081}
BARE_TIMEOUTS_PORT=${BARE_TIMEOUTS_PORT:-18083}
PG_PORT=${PG_PORT:-18082}

command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }

# shellcheck source=pg.sh
source bench/pg.sh
bench_workdir health-bench

load=$(cut -d' ' -f1 /proc/loadavg)
echo "building server and bare handler" >&2
go build -trimpath -ldflags "-X main.version=bench" -o "$work/server" ./cmd/server
go build -trimpath -o "$work/bare" ./bench/bare
go build -trimpath -o "$work/rate" ./bench/rate

if [[ -z ${DATABASE_URL:-} ]]; then
	start_pg "$PG_PORT"
	DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
fi

DATABASE_URL=$DATABASE_URL HOST=127.0.0.1 PORT=$SERVER_PORT LOG_LEVEL=${LOG_LEVEL:-info} \
	"$work/server" >"$work/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
"$work/bare" -addr "127.0.0.1:$BARE_PORT" 2>"$work/bare.log" &
bare_pid=$!
pids+=("$bare_pid")
"$work/bare" -timeouts -addr "127.0.0.1:$BARE_TIMEOUTS_PORT" 2>>"$work/bare.log" &
baret_pid=$!
pids+=("$baret_pid")

# Bounded wait for both servers (and the database behind /health/ready).
for _ in $(seq 100); do
	if [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SERVER_PORT/health/ready") == 200 ]] &&
		curl -sf -o /dev/null "http://127.0.0.1:$BARE_PORT/" &&
		curl -sf -o /dev/null "http://127.0.0.1:$BARE_TIMEOUTS_PORT/"; then ready=1; break; fi
	sleep 0.1
done
[[ ${ready:-} ]] || { echo "servers did not become ready" >&2; cat "$work/server.log" >&2; exit 1; }

# wrk prints latencies as 1.23ms / 456.78us / 1.02s; convert to ms.
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.3f", v/1000; else if (v ~ /ms$/) printf "%.3f", v+0; else if (v ~ /s$/) printf "%.3f", v*1000; else print v }'; }

declare -A rps p50 p99 cpu
# CPU time (user+system, clock ticks) the process has used so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# One wrk run against the process pid; prints "req/s p50_ms p99_ms cpu_us_per_request".
# CPU per request counts only the server's own CPU time, so it is much less
# sensitive than req/s to other work on a shared machine.
wrk_once() { # name url pid
	local out t0 t1 n
	t0=$(ticks "$3")
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$2" >"$work/$1.wrk"
	t1=$(ticks "$3")
	out=$(cat "$work/$1.wrk")
	if grep -q "Non-2xx" <<<"$out"; then
		echo "$1: non-2xx answers" >&2; cat "$work/$1.wrk" >&2
		grep -m5 "check failed" "$work/server.log" >&2 || true
		exit 1
	fi
	n=$(awk '/requests in/ {print $1}' <<<"$out")
	echo "$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out") $(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")") $(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")") $(awk -v d="$((t1 - t0))" -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')"
}
# The machine may be shared: run the three targets in interleaved rounds and
# keep, per target, the round with the median throughput.
declare -A results
for round in $(seq "$ROUNDS"); do
	for target in bare baret live ready; do
		case $target in
		bare) url="http://127.0.0.1:$BARE_PORT/health/live" pid=$bare_pid ;;
		baret) url="http://127.0.0.1:$BARE_TIMEOUTS_PORT/health/live" pid=$baret_pid ;;
		live) url="http://127.0.0.1:$SERVER_PORT/health/live" pid=$server_pid ;;
		ready) url="http://127.0.0.1:$SERVER_PORT/health/ready" pid=$server_pid ;;
		esac
		r=$(wrk_once "$target" "$url" "$pid")
		echo "round $round $target: $r (req/s p50_ms p99_ms server_cpu_us/req)" >&2
		results[$target]+="$r"$'\n'
	done
done
for target in bare baret live ready; do
	read -r rps[$target] p50[$target] p99[$target] cpu[$target] < <(sort -n <<<"${results[$target]}" | grep . | awk -v n="$ROUNDS" 'NR == int((n+1)/2)')
done

fixed=$("$work/rate" -url "http://127.0.0.1:$SERVER_PORT/health/ready" -rate "$RATE" -duration "$RATE_DURATION") || true # errors are in the line
echo "fixed rate: $fixed" >&2

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100*a/b }'; }
field() { tr ' ' '\n' <<<"$fixed" | awk -F= -v k="$1" '$1 == k {print $2}'; }

cat <<EOF

Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(uname -m)), $(go version | awk '{print $3}'), wrk -t$THREADS -c$CONNECTIONS -d$DURATION, median of $ROUNDS interleaved rounds, load average before: $load, server LOG_LEVEL=${LOG_LEVEL:-info}

| endpoint | req/s | p50 (ms) | p99 (ms) | throughput vs bare | server CPU per request (µs) | CPU vs bare |
|---|---:|---:|---:|---:|---:|---:|
| bare net/http handler | ${rps[bare]} | ${p50[bare]} | ${p99[bare]} | 100 % | ${cpu[bare]} | 100 % |
| bare handler + cmd/server's timeouts | ${rps[baret]} | ${p50[baret]} | ${p99[baret]} | $(ratio "${rps[baret]}" "${rps[bare]}") | ${cpu[baret]} | $(ratio "${cpu[baret]}" "${cpu[bare]}") |
| \`/health/live\` | ${rps[live]} | ${p50[live]} | ${p99[live]} | $(ratio "${rps[live]}" "${rps[bare]}") | ${cpu[live]} | $(ratio "${cpu[live]}" "${cpu[bare]}") |
| \`/health/ready\` (PostgreSQL) | ${rps[ready]} | ${p50[ready]} | ${p99[ready]} | $(ratio "${rps[ready]}" "${rps[bare]}") | ${cpu[ready]} | $(ratio "${cpu[ready]}" "${cpu[bare]}") |

\`/health/ready\` at a fixed $RATE req/s for $RATE_DURATION (open loop, bench/rate): p50 $(field p50), p99 $(field p99), max $(field max), errors $(field errors), non-2xx $(field non2xx), achieved $(field rate).
EOF
