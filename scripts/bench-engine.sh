#!/usr/bin/env bash
# Engine benchmark: the read view and change events.
#
#   listing   a vault of 10,000 archives (half with a retrieval job) listed with
#             their states from the read view — a view's first listing, a listing
#             of the unchanged vault, and one after another connection changed an
#             archive — beside the raw scan of the same rows (the baseline);
#             target < 50 ms
#   events    the delay from a commit in another process to the event reaching a
#             subscriber in this one, median and worst of the runs; target < 1 s
#
# Usage: bash scripts/bench-engine.sh      (BENCH_COUNT=N runs each benchmark N times)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${BENCH_COUNT:-3}
out=$(go test -run '^$' -bench 'BenchmarkViewArchives|BenchmarkRawArchiveScan|BenchmarkEventDelay' \
	-benchtime 20x -count "$count" ./control)
echo "$out" | grep -E '^Benchmark' || { echo "$out"; exit 1; }
echo "$out" | awk '
/^BenchmarkViewArchives\/first/ { for (i = 1; i <= NF; i++) if ($(i+1) == "ms/listing") { f = (f == "" || $i < f) ? $i : f } }
/^BenchmarkViewArchives\/unchanged/ { for (i = 1; i <= NF; i++) if ($(i+1) == "ms/listing") { v = (v == "" || $i < v) ? $i : v } }
/^BenchmarkViewArchives\/one-changed/ { for (i = 1; i <= NF; i++) if ($(i+1) == "ms/listing") { c = (c == "" || $i < c) ? $i : c } }
/^BenchmarkRawArchiveScan/ { for (i = 1; i <= NF; i++) if ($(i+1) == "ms/listing") { r = (r == "" || $i < r) ? $i : r } }
/^BenchmarkEventDelay/ { for (i = 1; i <= NF; i++) { if ($(i+1) == "ms-median") m = (m == "" || $i > m) ? $i : m; if ($(i+1) == "ms-max") x = (x == "" || $i > x) ? $i : x } }
END {
	printf "listing 10,000 archives from the read view: %s ms unchanged, %s ms after another process changed one, %s ms the first time (raw scan of the rows %s ms: ratios %.2f, %.2f, %.2f); target < 50 ms\n", v, c, f, r, v / r, c / r, f / r
	printf "commit in another process to event: median %s ms, worst %s ms; target < 1000 ms\n", m, x
}'
