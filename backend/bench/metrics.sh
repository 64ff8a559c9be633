#!/usr/bin/env bash
# The cost of the Prometheus metrics on /health/live, on loopback, in one run:
# the same server binary twice, METRICS_PORT unset (metrics off) and set
# (metrics on, scraped every SCRAPE_EVERY while it is under load), both
# against one throwaway PostgreSQL, driven by wrk (closed loop, max
# throughput) in interleaved rounds. Each round runs off, on, on, off (on,
# off, off, on in even rounds) back to back and averages each server's two
# runs, so both see the same background load on a shared machine and a load
# that rises or falls during the round favours neither. Per round: on's
# throughput as a share of off's; the result is the median of those shares,
# with the servers' CPU time per request beside it. Prints a Markdown table for docs/PERFORMANCE.md
# and exits 1 when the median share is below MIN_PERCENT.
#
#   backend/bench/metrics.sh                       # starts a throwaway PostgreSQL 15
#   DATABASE_URL=postgres://... backend/bench/metrics.sh
#
# Needs: go, wrk (apt-get install wrk), curl, and unless DATABASE_URL is given
# the PostgreSQL 15 programs (apt-get install postgresql-15; PG_BIN overrides
# their directory). Tunables: DURATION (5s per wrk run, 4 runs a round), ROUNDS (7),
# CONNECTIONS (32), THREADS (2), SCRAPE_EVERY (1s; Prometheus scrapes every
# 15s), MIN_PERCENT (90), LOG_LEVEL of the servers (info). CONTROL=1 runs
# the "on" server with metrics off too (and no scraper): an A/A run whose
# ratios are the noise floor of this comparison on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-7}
SCRAPE_EVERY=${SCRAPE_EVERY:-1}
MIN_PERCENT=${MIN_PERCENT:-90}
CONTROL=${CONTROL:-}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
OFF_PORT=${OFF_PORT:-18090}
ON_PORT=${ON_PORT:-18091}
METRICS_PORT=${METRICS_PORT:-18092}
PG_PORT=${PG_PORT:-18093}

command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 1; }

# shellcheck source=pg.sh
source bench/pg.sh
bench_workdir metrics-bench

load=$(cut -d' ' -f1 /proc/loadavg)
echo "building server" >&2
go build -trimpath -ldflags "-X main.version=bench" -o "$work/server" ./cmd/server

if [[ -z ${DATABASE_URL:-} ]]; then
	start_pg "$PG_PORT"
	DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
fi

# serve NAME PORT [VAR=value ...]: the server in the background ($! is its pid).
serve() {
	local name=$1 port=$2
	shift 2
	env DATABASE_URL="$DATABASE_URL" HOST=127.0.0.1 PORT="$port" LOG_LEVEL="${LOG_LEVEL:-info}" \
		APP_VERSION=bench IMAGE_FINGERPRINT=bench "$@" "$work/server" >"$work/$name.log" 2>&1 &
	pids+=("$!")
}
serve off "$OFF_PORT"
pid_off=$!
if [[ $CONTROL ]]; then
	echo "CONTROL=1: both servers without metrics (A/A)" >&2
	serve on "$ON_PORT"
	metrics_url="http://127.0.0.1:$ON_PORT/health/live" # stands in for the readiness check below; not scraped
else
	serve on "$ON_PORT" METRICS_PORT="$METRICS_PORT"
	metrics_url="http://127.0.0.1:$METRICS_PORT/metrics"
fi
pid_on=$!

for _ in $(seq 100); do
	if curl -sf -o /dev/null "http://127.0.0.1:$OFF_PORT/health/ready" &&
		curl -sf -o /dev/null "http://127.0.0.1:$ON_PORT/health/ready" &&
		curl -sf -o /dev/null "$metrics_url"; then ready=1; break; fi
	sleep 0.1
done
[[ ${ready:-} ]] || { echo "servers did not become ready" >&2; cat "$work/off.log" "$work/on.log" >&2; exit 1; }
# Metrics off means no listener: the off server must not serve them anywhere.
if curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$OFF_PORT/metrics" | grep -qv 404; then
	echo "metrics=off server answers /metrics" >&2
	exit 1
fi

# CPU time (user+system, clock ticks) the process has used so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# One wrk run on /health/live of server NAME; prints "req/s cpu_us_per_request".
# With metrics on, a scraper reads /metrics every SCRAPE_EVERY seconds
# meanwhile, so the run pays for the exposition too.
wrk_once() { # name port pid
	local out t0 t1 n scraper=
	if [[ $1 == on && ! $CONTROL ]]; then
		(while sleep "$SCRAPE_EVERY"; do curl -sf -o /dev/null "$metrics_url" || exit 1; done) &
		scraper=$!
	fi
	t0=$(ticks "$3")
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$2/health/live" >"$work/$1.wrk"
	t1=$(ticks "$3")
	if [[ $scraper ]]; then
		kill "$scraper" 2>/dev/null || { echo "scraper failed" >&2; exit 1; }
		wait "$scraper" 2>/dev/null || true
	fi
	out=$(cat "$work/$1.wrk")
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		echo "$1: errors" >&2; cat "$work/$1.wrk" >&2
		exit 1
	fi
	n=$(awk '/requests in/ {print $1}' <<<"$out")
	echo "$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out") $(awk -v d="$((t1 - t0))" -v hz="$hz" -v n="$n" 'BEGIN { printf "%.2f", d * 1e6 / hz / n }')"
}

rows=()
for round in $(seq "$ROUNDS"); do
	order=(off on on off)
	((round % 2)) || order=(on off off on)
	declare -A rps=([off]=0 [on]=0) cpu=([off]=0 [on]=0)
	for cfg in "${order[@]}"; do
		case $cfg in
		off) run=$(wrk_once off "$OFF_PORT" "$pid_off") ;;
		on) run=$(wrk_once on "$ON_PORT" "$pid_on") ;;
		esac
		read -r a c <<<"$run"
		rps[$cfg]=$(awk -v s="${rps[$cfg]}" -v a="$a" 'BEGIN { print s + a / 2 }')
		cpu[$cfg]=$(awk -v s="${cpu[$cfg]}" -v c="$c" 'BEGIN { print s + c / 2 }')
	done
	off_rps=$(printf %.0f "${rps[off]}") on_rps=$(printf %.0f "${rps[on]}")
	off_cpu=$(printf %.2f "${cpu[off]}") on_cpu=$(printf %.2f "${cpu[on]}")
	share=$(awk -v a="$on_rps" -v b="$off_rps" 'BEGIN { printf "%.1f", 100 * a / b }')
	cpu_share=$(awk -v a="$on_cpu" -v b="$off_cpu" 'BEGIN { printf "%.1f", 100 * a / b }')
	echo "round $round (${order[*]}): off $off_rps req/s $off_cpu µs/req, on $on_rps req/s $on_cpu µs/req: on/off $share %, CPU $cpu_share %" >&2
	rows+=("| $round | ${order[*]} | $off_rps | $on_rps | **$share %** | $off_cpu | $on_cpu | $cpu_share % |")
	shares+="$share"$'\n'
	cpu_shares+="$cpu_share"$'\n'
	offs+="$off_rps"$'\n'
	ons+="$on_rps"$'\n'
done

median() { grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m_share=$(median <<<"$shares" | xargs printf %.1f)
m_cpu=$(median <<<"$cpu_shares" | xargs printf %.1f)
scrapes=$(curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" | awk '$1 ~ /^helloagents_http_requests_total\{method="GET",route="\/health\/live",status_class="2xx"\}/ {printf "%.0f", $2}') || true
verdict=$(awk -v s="$m_share" -v min="$MIN_PERCENT" 'BEGIN { print (s >= min) ? "PASS" : "FAIL" }')

cat <<EOF

Run: $(date -u +%Y-%m-%dT%H:%MZ),${CONTROL:+ CONTROL=1 (A/A: both servers without metrics),} $(nproc) CPUs ($(uname -m)), $(go version | awk '{print $3}'), wrk -t$THREADS -c$CONNECTIONS -d$DURATION on \`/health/live\`, $ROUNDS rounds of off-on-on-off (on-off-off-on in even rounds), $(if [[ $CONTROL ]]; then echo "no metrics on either server"; else echo "metrics scraped every ${SCRAPE_EVERY}s during the metrics=on runs"; fi), load average before: $load, servers' LOG_LEVEL=${LOG_LEVEL:-info}

| round | order | off req/s (mean of 2) | on req/s (mean of 2) | on/off throughput | off CPU µs/req | on CPU µs/req | on/off CPU |
|---:|---|---:|---:|---:|---:|---:|---:|
$(printf '%s\n' "${rows[@]}")

Median of the rounds: metrics=on throughput **$m_share %** of metrics=off (target ≥ $MIN_PERCENT %: $verdict); median off $(median <<<"$offs" | xargs printf %.0f) req/s, on $(median <<<"$ons" | xargs printf %.0f) req/s; CPU per request on/off $m_cpu %. The metrics=on server counted ${scrapes:-no} \`/health/live\` requests (helloagents_http_requests_total).
EOF
[[ $verdict == PASS ]]
