#!/usr/bin/env bash
# Planning benchmark: `freezer plan` over a tree of many small files, cold (empty catalog and
# hash cache: every file is read and hashed) and warm (second run, nothing changed: no file may
# be read), against `find | xargs sha256sum` on the same tree.
#
# Usage:
#   bash scripts/bench-plan.sh           # or: make bench-plan
#
# It generates BENCH_PLAN_FILES small text files (0–4 KiB, 100 to a folder, three levels deep;
# see scripts/bench/gentree.sh) and runs, each as its own process under `/usr/bin/time -v`:
#   cold          freezer plan --filter default,frozen --json DIR   (fresh catalog; page cache
#                 dropped first)
#   warm          the same again, page cache warm; its JSON summary must say "read": 0, or the
#                 script FAILS. Target: < 3 s.
#   warm, cold page cache
#                 the same after dropping the page cache (catalog warm, disk cold), for reference
#   baseline cold find DIR -type f -print0 | xargs -0 sha256sum > /dev/null   (page cache
#                 dropped first, as for freezer's cold run), and the same with xargs -P THREADS
#                 -n 256 (as many hashing processes as freezer has --threads)
#   baseline warm the same with the page cache warm, and `find DIR -type f -printf '%s %T@\n'`
#                 (the stat walk a warm plan cannot avoid), for reference
# Dropping the page cache (sync; echo 3 > /proc/sys/vm/drop_caches) needs root; the output says
# when it was not permitted, and then "cold" only means "empty catalog".
#
# Environment:
#   BENCH_PLAN_FILES=100000   number of files
#   BENCH_THREADS=nproc       freezer --threads
#   BENCH_STRICT=0            1: exit 1 when the warm target is missed (a warm run that read
#                             a file always exits 1)
#   TMPDIR                    where the work folder goes; removed at exit
#
# Needs: go, GNU time (/usr/bin/time, Debian package `time`), coreutils, findutils, mawk/gawk,
# grep, sed.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/bench/lib.sh"

N=${BENCH_PLAN_FILES:-100000}
THREADS=${BENCH_THREADS:-$(nproc)}
STRICT=${BENCH_STRICT:-0}
if [ $# -gt 0 ]; then
	case $1 in
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
fi

bench_need_tools time sha256sum find xargs awk grep sed df
bench_init bench-plan
bench_build

TREE=$BT/tree/plan-tree
echo "generating $N files ..."
gen_start=$(date +%s)
bash "$REPO/scripts/bench/gentree.sh" small "$TREE" "$N"
echo "  generated in $(($(date +%s) - gen_start)) s"
FILES=$(find "$TREE" -type f | wc -l)
BYTES=$(bench_bytes_of_tree "$TREE")
DIRS=$(find "$TREE" -type d | wc -l)
[ "$FILES" -eq "$N" ] || {
	echo "bench-plan.sh: generated $FILES files, wanted $N" >&2
	exit 1
}
PF=(--database "$BT/plan.db" --data-dir "$BT/data" --threads "$THREADS")

# hashing NAME — the JSON summary's "hashing" object of a plan run, and its numbers in H_*.
hashing() {
	local obj
	obj=$(grep -oE '"hashing": *\{[^}]*\}' "$BT/$1.out" | tail -n 1) || true
	if [ -z "$obj" ]; then
		echo "bench-plan.sh: no \"hashing\" summary in the JSON of $1; its end:" >&2
		tail -c 600 "$BT/$1.out" >&2
		exit 1
	fi
	H_OBJ=$obj
	H_CACHED=$(sed -E 's/.*"cached": *([0-9]+).*/\1/' <<<"$obj")
	H_READ=$(sed -E 's/.*"read": *([0-9]+).*/\1/' <<<"$obj")
	H_FAILED=$(sed -E 's/.*"failed": *([0-9]+).*/\1/' <<<"$obj")
}
selected_files() {
	grep -oE '"selected": *\{"files": *[0-9]+' "$BT/$1.out" | tail -n 1 | grep -oE '[0-9]+$'
}

echo
echo "== plan of $FILES files ($(bench_mib "$BYTES") MiB) in $DIRS folders; threads $THREADS"
bench_drop_caches
DROP_COLD=$DROPPED
echo "  page cache dropped: $DROP_COLD"
bench_run plan-cold "$FREEZER" "${PF[@]}" plan --filter default,frozen --json "$TREE"
hashing plan-cold
echo "  cold hashing: $H_OBJ"
if [ "$H_READ" -ne "$FILES" ] || [ "$H_FAILED" -ne 0 ]; then
	echo "WRONG: the cold plan should read all $FILES files and fail none: $H_OBJ" >&2
	exit 1
fi
SEL=$(selected_files plan-cold)
[ "$SEL" = "$FILES" ] || {
	echo "WRONG: the cold plan selected $SEL files of $FILES (no filter should leave any out here)" >&2
	exit 1
}

bench_run plan-warm "$FREEZER" "${PF[@]}" plan --filter default,frozen --json "$TREE"
hashing plan-warm
echo "  warm hashing: $H_OBJ"
if [ "$H_READ" -ne 0 ] || [ "$H_FAILED" -ne 0 ] || [ "$H_CACHED" -ne "$FILES" ]; then
	echo "FAIL: the warm plan read files although nothing changed (want \"read\": 0, \"cached\": $FILES): $H_OBJ" >&2
	echo "command: $(bench_show_cmd "$FREEZER" "${PF[@]}" plan --filter default,frozen --json "$TREE")" >&2
	exit 1
fi
cmp -s <(grep -v '"hashing"' "$BT/plan-cold.out") <(grep -v '"hashing"' "$BT/plan-warm.out") ||
	echo "  note: the warm plan's entries differ from the cold plan's (beyond hashing counts)"

bench_drop_caches
DROP_WCC=$DROPPED
bench_run plan-warm-coldcache "$FREEZER" "${PF[@]}" plan --filter default,frozen --json "$TREE"
hashing plan-warm-coldcache
echo "  warm (cold page cache) hashing: $H_OBJ"
if [ "$H_READ" -ne 0 ]; then
	echo "FAIL: the warm plan with a cold page cache read files although nothing changed: $H_OBJ" >&2
	exit 1
fi

bench_drop_caches
DROP_BASE=$DROPPED
# shellcheck disable=SC2016 # $1.. are the bash -c script's own arguments
bench_run baseline-cold bash -c 'set -o pipefail; find "$1" -type f -print0 | xargs -0 sha256sum >/dev/null' _ "$TREE"
bench_drop_caches
# shellcheck disable=SC2016 # $1.. are the bash -c script's own arguments
bench_run baseline-cold-par bash -c 'set -o pipefail; find "$1" -type f -print0 | xargs -0 -P "$2" -n 256 sha256sum >/dev/null' _ "$TREE" "$THREADS"
# shellcheck disable=SC2016 # $1.. are the bash -c script's own arguments
bench_run baseline-warm bash -c 'set -o pipefail; find "$1" -type f -print0 | xargs -0 sha256sum >/dev/null' _ "$TREE"
bench_run statwalk-warm bash -c "find \"\$1\" -type f -printf '%s %T@\\n' >/dev/null" _ "$TREE"

echo
echo "== results"
bench_end
echo "tree: $FILES files, $BYTES bytes ($(bench_mib "$BYTES") MiB), $DIRS folders"
echo "page cache dropped before cold: $DROP_COLD; before warm-cold-cache: $DROP_WCC; before baseline cold: $DROP_BASE"
echo
missed=0
printf '%-44s %9s %12s %9s %6s  %s\n' run seconds "peak RSS MiB" "CPU s" "CPU%" target
printf '%s\n' "----------------------------------------------------------------------------------------------"
bench_res plan-cold
COLD=$R_WALL
printf '%-44s %9s %12s %9s %6s\n' "freezer plan, cold (empty catalog)" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT"
bench_res plan-warm
v=PASS
bench_lt "$R_WALL" 3 || {
	v=MISS
	missed=1
}
printf '%-44s %9s %12s %9s %6s  %s\n' "freezer plan, warm (read 0 files)" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT" "< 3 s  $v"
bench_res plan-warm-coldcache
printf '%-44s %9s %12s %9s %6s\n' "freezer plan, warm catalog, cold page cache" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT"
bench_res baseline-cold
BCOLD=$R_WALL
printf '%-44s %9s %12s %9s %6s\n' "baseline find|xargs sha256sum, cold" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT"
bench_res baseline-cold-par
BPAR=$R_WALL
printf '%-44s %9s %12s %9s %6s\n' "baseline find|xargs -P$THREADS sha256sum, cold" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT"
bench_res baseline-warm
printf '%-44s %9s %12s %9s %6s\n' "baseline find|xargs sha256sum, warm" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT"
bench_res statwalk-warm
SWALK=$R_WALL
printf '%-44s %9s %12s %9s %6s\n' "find -printf size+mtime (stat walk), warm" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT"
bench_res plan-warm
WARM=$R_WALL
echo
echo "cold plan / cold baseline = $COLD / $BCOLD = $(awk -v a="$COLD" -v b="$BCOLD" 'BEGIN { printf "%.2f", a / b }')"
echo "cold plan / cold baseline with -P$THREADS = $COLD / $BPAR = $(awk -v a="$COLD" -v b="$BPAR" 'BEGIN { printf "%.2f", a / b }')"
echo "warm plan / stat walk = $WARM / $SWALK = $(awk -v a="$WARM" -v b="$SWALK" 'BEGIN { printf "%.2f", a / b }')"
echo
if [ "$missed" = 1 ]; then
	echo "the warm target was missed (see MISS above)"
	if [ "$STRICT" = 1 ]; then exit 1; fi
else
	echo "all targets met"
fi
