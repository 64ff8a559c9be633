#!/usr/bin/env bash
# Benchmark of the region's proxy, on loopback, in one run: one backend
# replica (cmd/server, real PostgreSQL behind /health/ready) reached
#   direct     straight to the replica;
#   proxy      through HAProxy with backend/proxy/haproxy.cfg as the image
#              runs it (the replica found through DNS, health-checked, only
#              abnormal requests logged);
#   proxy-log  through the same configuration with every request logged
#              (`no option dontlog-normal`: the configuration before the
#              exporter took over the counting).
# For each: wrk (closed loop, max throughput) on /health/live in interleaved
# rounds, then /health/live at a fixed rate (open loop, bench/rate) for its
# p99. Prints a Markdown table for docs/PERFORMANCE.md.
#
# By default host binaries: haproxy is the host's Debian package (the
# image's), its log goes to a file. With PROXY_IMAGE set, both proxies run
# as containers of that image on the real Docker engine (host network,
# hardened as the program runs them; the every-request variant with its
# configuration mounted over the image's), their log shipped by the Docker
# daemon as in a region, and the table adds the CPU the daemon (dockerd and
# the container's containerd-shim) spent per request.
#
#   backend/bench/proxy.sh
#   docker build -f backend/proxy.Dockerfile -t helloagents-proxy backend/
#   PROXY_IMAGE=helloagents-proxy backend/bench/proxy.sh
#
# Needs: go, wrk, haproxy (apt-get install wrk haproxy) and the PostgreSQL 15
# programs (PG_BIN). Tunables: DURATION (10s per wrk run), ROUNDS (3),
# CONNECTIONS (32), THREADS (2), RATE (1000), RATE_DURATION (10s), LOG_LEVEL
# of the server (warn: its own access log would otherwise dominate both paths).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-1000}
RATE_DURATION=${RATE_DURATION:-10s}
LOG_LEVEL=${LOG_LEVEL:-warn}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
SERVER_PORT=${SERVER_PORT:-18180}
PG_PORT=${PG_PORT:-18182}
DNS_PORT=${DNS_PORT:-18153}
PROXY_PORT=${PROXY_PORT:-18100}
PROXY_LOG_PORT=${PROXY_LOG_PORT:-18110}

PROXY_IMAGE=${PROXY_IMAGE:-}

for tool in wrk haproxy curl; do
	command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install $tool" >&2; exit 1; }
done

# shellcheck source=pg.sh
source bench/pg.sh
bench_workdir proxy-bench

load=$(cut -d' ' -f1 /proc/loadavg)
echo "building server, rate and dns" >&2
go build -trimpath -ldflags "-X main.version=bench" -o "$work/server" ./cmd/server
go build -trimpath -o "$work/rate" ./bench/rate
go build -trimpath -o "$work/dns" ./bench/dns

start_pg "$PG_PORT"
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable" HOST=127.0.0.1 PORT=$SERVER_PORT \
	LOG_LEVEL=$LOG_LEVEL "$work/server" >"$work/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
"$work/dns" -addr "127.0.0.1:$DNS_PORT" -name backend -ip 127.0.0.1 2>"$work/dns.log" &
pids+=("$!")

# The configuration before this change logged every request.
sed 's/^    option dontlog-normal$/    no option dontlog-normal/' proxy/haproxy.cfg >"$work/haproxy-log.cfg"
grep -q '^    no option dontlog-normal$' "$work/haproxy-log.cfg" || { echo "haproxy.cfg has no 'option dontlog-normal' line to turn off" >&2; exit 1; }

# proxy_start NAME CONFIG PORT: haproxy -db with the image's variables, on
# loopback; its stdout (the log) goes to $work/NAME.log. With PROXY_IMAGE, a
# container of it instead (its log read back with docker logs at the end).
containers=()
trap 'if ((${#containers[@]})); then docker rm -f "${containers[@]}" >/dev/null 2>&1 || true; fi; bench_cleanup' EXIT
proxy_env() {
	echo PROXY_ADDR=127.0.0.1 PROXY_PORT="$1" PROXY_MONITOR_PORT=$(($1 + 1)) \
		PROXY_METRICS_ADDR=127.0.0.1 PROXY_METRICS_PORT=$(($1 + 2)) PROXY_BACKEND_HOST=backend \
		PROXY_BACKEND_PORT="$SERVER_PORT" PROXY_RESOLVER="127.0.0.1:$DNS_PORT" PROXY_HEALTH_PATH=/health/ready \
		PROXY_MAX_SERVERS=10 PROXY_HARD_STOP_AFTER=8s
}
proxy_start() {
	local name v
	if [[ -z $PROXY_IMAGE ]]; then
		# shellcheck disable=SC2046 # one word per variable
		env -i PATH="$PATH" $(proxy_env "$3") haproxy -db -f "$2" >"$work/$1.log" 2>"$work/$1.err" &
		pids+=("$!")
		started_pid=$!
		return
	fi
	name=proxy-bench-$1-$$
	local args=(run -d --name "$name" --network host --read-only --cap-drop ALL --security-opt no-new-privileges)
	for v in $(proxy_env "$3"); do args+=(-e "$v"); done
	if [[ $2 != proxy/haproxy.cfg ]]; then args+=(-v "$2:/etc/haproxy/haproxy.cfg:ro"); fi
	docker "${args[@]}" "$PROXY_IMAGE" >/dev/null
	containers+=("$name")
	started_pid=$(docker inspect -f '{{.State.Pid}}' "$name")
}
proxy_start proxy proxy/haproxy.cfg "$PROXY_PORT"
proxy_pid=$started_pid
proxy_start proxy-log "$work/haproxy-log.cfg" "$PROXY_LOG_PORT"
proxylog_pid=$started_pid
# The daemon's side of a container's log: dockerd and the container's shim.
daemon_pids() {
	if [[ -n $PROXY_IMAGE && -n $1 ]]; then
		echo "$(pgrep -x dockerd | head -1) $(ps -o ppid= -p "$1" | tr -d ' ')"
	fi
}

# Bounded wait: the replica ready, and each proxy answering through it (DNS
# resolved, first health check passed).
for _ in $(seq 200); do
	if [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SERVER_PORT/health/ready") == 200 ]] &&
		[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PROXY_PORT/health/ready") == 200 ]] &&
		[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PROXY_LOG_PORT/health/ready") == 200 ]]; then ready=1; break; fi
	sleep 0.1
done
[[ ${ready:-} ]] || { echo "server or proxies not ready" >&2; cat "$work/server.log" "$work/"*.err >&2 || true; exit 1; }

# wrk prints latencies as 1.23ms / 456.78us / 1.02s; convert to ms.
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.3f", v/1000; else if (v ~ /ms$/) printf "%.3f", v+0; else if (v ~ /s$/) printf "%.3f", v*1000; else print v }'; }
# CPU time (user+system, clock ticks) the processes have used so far.
ticks() {
	local p sum=0
	for p in "$@"; do [[ -n $p ]] && sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
	echo "$sum"
}
hz=$(getconf CLK_TCK)
per_req() { awk -v d="$1" -v hz="$hz" -v n="$2" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }'; }
# One wrk run; prints "req/s p50_ms p99_ms server_cpu_us/req proxy_cpu_us/req daemon_cpu_us/req".
wrk_once() { # name url proxy_pid(or empty)
	local out s0 s1 p0 p1 d0 d1 n daemon
	daemon=$(daemon_pids "$3")
	# shellcheck disable=SC2086 # one word per pid
	s0=$(ticks "$server_pid") p0=$(ticks "$3") d0=$(ticks $daemon)
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$2" >"$work/$1.wrk"
	# shellcheck disable=SC2086 # one word per pid
	s1=$(ticks "$server_pid") p1=$(ticks "$3") d1=$(ticks $daemon)
	out=$(cat "$work/$1.wrk")
	if grep -q "Non-2xx" <<<"$out"; then
		echo "$1: non-2xx answers" >&2; cat "$work/$1.wrk" >&2; exit 1
	fi
	n=$(awk '/requests in/ {print $1}' <<<"$out")
	echo "$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out") $(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")") $(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")") $(per_req $((s1 - s0)) "$n") $(per_req $((p1 - p0)) "$n") $(per_req $((d1 - d0)) "$n")"
}
url_of() {
	case $1 in
	direct) echo "http://127.0.0.1:$SERVER_PORT/health/live" ;;
	proxy) echo "http://127.0.0.1:$PROXY_PORT/health/live" ;;
	proxy-log) echo "http://127.0.0.1:$PROXY_LOG_PORT/health/live" ;;
	esac
}
pid_of() {
	case $1 in
	direct) echo "" ;;
	proxy) echo "$proxy_pid" ;;
	proxy-log) echo "$proxylog_pid" ;;
	esac
}
targets=(direct proxy proxy-log)
# The machine may be shared: interleaved rounds, and per target the round
# with the median throughput.
declare -A results rps p50 p99 scpu pcpu dcpu fixed
for round in $(seq "$ROUNDS"); do
	for target in "${targets[@]}"; do
		r=$(wrk_once "$target" "$(url_of "$target")" "$(pid_of "$target")")
		echo "round $round $target: $r (req/s p50_ms p99_ms server_cpu_us/req proxy_cpu_us/req daemon_cpu_us/req)" >&2
		results[$target]+="$r"$'\n'
	done
done
for target in "${targets[@]}"; do
	read -r "rps[$target]" "p50[$target]" "p99[$target]" "scpu[$target]" "pcpu[$target]" "dcpu[$target]" < <(sort -n <<<"${results[$target]}" | grep . | awk -v n="$ROUNDS" 'NR == int((n+1)/2)')
done
for target in "${targets[@]}"; do
	fixed[$target]=$("$work/rate" -url "$(url_of "$target")" -rate "$RATE" -duration "$RATE_DURATION") || true # errors are in the line
	echo "fixed rate $target: ${fixed[$target]}" >&2
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100*a/b }'; }
field() { tr ' ' '\n' <<<"${fixed[$1]}" | awk -F= -v k="$2" '$1 == k {print $2}'; }
# Request lines each proxy logged (httplog lines carry the quoted request).
logs_of() { if [[ -n $PROXY_IMAGE ]]; then docker logs "proxy-bench-$1-$$" 2>/dev/null; else cat "$work/$1.log"; fi; }
lines() { logs_of "$1" | grep -c '"GET ' || true; }
bytes() { logs_of "$1" | wc -c; }
# The HAProxy that ran: the image's with PROXY_IMAGE, else the host's.
if [[ -n $PROXY_IMAGE ]]; then
	haproxy_version=$(docker run --rm --entrypoint haproxy "$PROXY_IMAGE" -v | awk 'NR == 1 {print "HAProxy", $3, "(the image)"}')
	how="the proxies as containers of $PROXY_IMAGE on Docker $(docker version -f '{{.Server.Version}}') (host network, json-file log driver), the replica a host binary"
	dcol=" Docker daemon CPU per request (µs) |"
	dsep="---:|"
	d() { echo " ${dcpu[$1]} |"; }
else
	haproxy_version=$(haproxy -v | awk 'NR == 1 {print "HAProxy", $3}')
	how="host binaries (no containers)"
	dcol="" dsep="" 
	d() { :; }
fi
cat <<EOF

Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(uname -m)), $(go version | awk '{print $3}'), $haproxy_version, $how, wrk -t$THREADS -c$CONNECTIONS -d$DURATION on /health/live, median of $ROUNDS interleaved rounds, load average before: $load, server LOG_LEVEL=$LOG_LEVEL

| path | req/s | p50 (ms) | p99 (ms) | throughput vs direct | server CPU per request (µs) | HAProxy CPU per request (µs) |$dcol log lines written (whole run) |
|---|---:|---:|---:|---:|---:|---:|$dsep---:|
| direct to the replica | ${rps[direct]} | ${p50[direct]} | ${p99[direct]} | 100 % | ${scpu[direct]} | — |$(d direct) — |
| through the proxy (\`haproxy.cfg\`) | ${rps[proxy]} | ${p50[proxy]} | ${p99[proxy]} | $(ratio "${rps[proxy]}" "${rps[direct]}") | ${scpu[proxy]} | ${pcpu[proxy]} |$(d proxy) $(lines proxy) ($(bytes proxy) bytes) |
| through the proxy, every request logged | ${rps[proxy-log]} | ${p50[proxy-log]} | ${p99[proxy-log]} | $(ratio "${rps[proxy-log]}" "${rps[direct]}") | ${scpu[proxy-log]} | ${pcpu[proxy-log]} |$(d proxy-log) $(lines proxy-log) ($(bytes proxy-log) bytes) |

At a fixed $RATE req/s for $RATE_DURATION (open loop, bench/rate):

| path | p50 | p99 | max | errors | non-2xx | achieved |
|---|---:|---:|---:|---:|---:|---:|
| direct to the replica | $(field direct p50) | $(field direct p99) | $(field direct max) | $(field direct errors) | $(field direct non2xx) | $(field direct rate) |
| through the proxy | $(field proxy p50) | $(field proxy p99) | $(field proxy max) | $(field proxy errors) | $(field proxy non2xx) | $(field proxy rate) |
| through the proxy, every request logged | $(field proxy-log p50) | $(field proxy-log p99) | $(field proxy-log max) | $(field proxy-log errors) | $(field proxy-log non2xx) | $(field proxy-log rate) |
EOF
