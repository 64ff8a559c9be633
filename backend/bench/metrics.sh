#!/usr/bin/env bash
# The cost of the Prometheus metrics on /health/live: the real handler
# (middleware, info access log) with metrics off and on, side by side in one
# `go test -bench` run (httpapi's BenchmarkLiveMetrics, RunParallel on every
# CPU), COUNT runs of each; then benchstat's comparison and the throughput of
# metrics=on as a share of metrics=off (from the medians; with ROUNDS, the
# median of the rounds' pairs). Exit 1 when that share is below MIN_PERCENT.
#
#   backend/bench/metrics.sh                  # COUNT=6 BENCHTIME=1s MIN_PERCENT=90
#   ROUNDS=6 COUNT=1 backend/bench/metrics.sh # on a busy machine: interleaved
#
# One `go test -bench -count=6` runs the 6 off runs, then the 6 on runs: a
# build starting on a shared machine in between skews the ratio. ROUNDS=n
# runs the compiled test n times instead, each round off and on back to back
# (off first in odd rounds, on first in even ones), so both see the same
# background; benchstat pools the rounds alike.
#
# Needs: go. benchstat is taken from PATH, or else run through the module
# proxy (go run golang.org/x/perf/cmd/benchstat@latest, BENCHSTAT_VERSION to
# pin another); without either only the medians are printed.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-6}
BENCHTIME=${BENCHTIME:-1s}
MIN_PERCENT=${MIN_PERCENT:-90}
BENCHSTAT_VERSION=${BENCHSTAT_VERSION:-latest}
ROUNDS=${ROUNDS:-1}

out=$(mktemp -t metrics-bench.XXXXXX)
bin=$(mktemp -t httpapi-test.XXXXXX)
trap 'rm -f "$out" "$bin"' EXIT

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs" >&2
if ((ROUNDS == 1)); then
	go test ./httpapi -run '^$' -bench '^BenchmarkLiveMetrics$' -benchmem \
		-benchtime "$BENCHTIME" -count "$COUNT" | tee "$out"
else
	go test -c -o "$bin" ./httpapi
	for round in $(seq "$ROUNDS"); do
		order=(off on)
		((round % 2)) || order=(on off)
		for cfg in "${order[@]}"; do
			(cd httpapi && "$bin" -test.run '^$' -test.bench "^BenchmarkLiveMetrics\$/^metrics=$cfg\$" -test.benchmem \
				-test.benchtime "$BENCHTIME" -test.count "$COUNT") | tee -a "$out"
		done
	done
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

echo
if command -v benchstat >/dev/null; then
	benchstat -col /metrics "$out"
elif ! go run "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION" -col /metrics "$out"; then
	echo "benchstat unavailable: medians only" >&2
fi

# values CONFIG UNIT: the UNIT values of BenchmarkLiveMetrics/metrics=CONFIG, in run order.
values() {
	awk -v cfg="/metrics=$1(-[0-9]+)?$" -v unit="$2" '$1 ~ cfg { for (i = 2; i < NF; i++) if ($(i + 1) == unit) print $i }' "$out"
}
# median: the median of the numbers on stdin.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2 + 0] + v[NR / 2 + 1]) / 2 }'
}
off=$(values off ns/op | median)
on=$(values on ns/op | median)
cpu_off=$(values off cpu-ns/op | median || echo 0)
cpu_on=$(values on cpu-ns/op | median || echo 0)
# The k-th off run against the k-th on run: with ROUNDS they ran back to
# back, under the same background load.
paired=$(paste <(values off ns/op) <(values on ns/op) | awk '{ print 100 * $1 / $2 }' | median)
echo
awk -v off="$off" -v on="$on" -v coff="$cpu_off" -v con="$cpu_on" -v paired="$paired" -v rounds="$ROUNDS" -v n="$((ROUNDS * COUNT))" -v min="$MIN_PERCENT" 'BEGIN {
	printf "medians of %d runs: metrics=off %.0f ns/op (%.0f req/s), metrics=on %.0f ns/op (%.0f req/s): on is %.1f %% of off\n", n, off, 1e9 / off, on, 1e9 / on, 100 * off / on
	if (coff > 0 && con > 0) printf "CPU per request: off %.0f ns, on %.0f ns (%+.1f %%)\n", coff, con, 100 * (con - coff) / coff
	printf "median of the %d paired runs (on/off throughput): %.1f %%\n", n, paired
	pct = (rounds > 1) ? paired : 100 * off / on
	printf "throughput with metrics on: %.1f %% of off (%s; target >= %s %%): %s\n", pct, (rounds > 1) ? "paired" : "medians", min, (pct >= min) ? "PASS" : "FAIL"
	exit (pct >= min) ? 0 : 1
}'
