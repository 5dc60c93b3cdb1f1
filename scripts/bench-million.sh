#!/usr/bin/env bash
# A million files: plan, create and the catalog at the scale of a home folder, each figure beside
# a baseline of stock tools run in the same script on the same tree.
#
# Usage:
#   BENCH_MILLION=1 bash scripts/bench-million.sh
#
# It takes a while (generating the tree alone takes minutes), so it runs only when asked:
# without BENCH_MILLION=1 it says what it would do and exits 0.
#
# It generates BENCH_MILLION_FILES small text files (0–4 KiB, 100 to a folder, three levels deep;
# see scripts/bench/gentree.sh), or uses BENCH_MILLION_TREE (a folder it only reads and keeps),
# and runs, each as its own process under `/usr/bin/time -v`:
#   plan cold      freezer plan --filter default,frozen --json DIR, empty catalog: every file is
#                  read and hashed by --threads workers (page cache dropped first, when permitted)
#     baseline     find DIR -type f -print0 | xargs -0 -P THREADS -n 256 sha256sum (same drop)
#   plan warm      the same again: every sum comes from the hash cache; it FAILS if a file is read.
#                  Target < 30 s.
#     baseline     find DIR -type f -printf '%s %T@ %i\n' (the stat walk a warm plan cannot avoid)
#   create         freezer archive create --compression gzip --no-upload DIR (walk, plan, tar,
#                  per-file SHA-256, parallel gzip, a million file rows in the catalog).
#                  Target: peak RSS < 256 MiB.
#     baseline     tar cf - DIR | pigz -p THREADS > FILE
#   frozen         the warm plan again, now that the catalog holds the million files: every file
#                  is left out as frozen and its copy named. Target < 10 s beyond the warm plan
#                  (the frozen filter's own cost: one indexed query per 1,024 files).
# and prints every figure as a ratio to its baseline. The create's catalog and archive are then
# checked: the archive lists every file, the catalog counts them.
#
# Environment:
#   BENCH_MILLION=0          1 to run
#   BENCH_MILLION_FILES=1000000
#   BENCH_MILLION_TREE=      an existing tree to use instead of generating one
#   BENCH_THREADS=nproc      freezer --threads, xargs -P, pigz -p
#   BENCH_STRICT=0           1: exit 1 when a target is missed (a wrong result always exits 1)
#   TMPDIR                   where the work folder goes (about 3 × the tree); removed at exit
#
# Needs: go, GNU time (/usr/bin/time, Debian package `time`), pigz, tar, coreutils, findutils,
# mawk/gawk, grep, sed.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/bench/lib.sh"

N=${BENCH_MILLION_FILES:-1000000}
GIVEN=${BENCH_MILLION_TREE:-}
THREADS=${BENCH_THREADS:-$(nproc)}
STRICT=${BENCH_STRICT:-0}
CHUNK=8MiB
if [ $# -gt 0 ]; then
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	case $1 in -h | --help) exit 0 ;; *) exit 2 ;; esac
fi
if [ "${BENCH_MILLION:-0}" != 1 ]; then
	echo "bench-million.sh: a run takes many minutes and a few GiB; set BENCH_MILLION=1 to run it"
	exit 0
fi

bench_need_tools time sha256sum find xargs awk grep sed pigz tar wc
bench_init bench-million
bench_build

if [ -n "$GIVEN" ]; then
	TREE=$(cd "$GIVEN" && pwd)
	echo "using the tree $TREE"
else
	TREE=$BT/tree/million
	echo "generating $N files ..."
	gen_start=$(date +%s)
	bash "$REPO/scripts/bench/gentree.sh" small "$TREE" "$N"
	echo "  generated in $(($(date +%s) - gen_start)) s"
fi
FILES=$(find "$TREE" -type f | wc -l)
DIRS=$(find "$TREE" -type d | wc -l)
BYTES=$(bench_bytes_of_tree "$TREE")
PARENT=$(dirname "$TREE")
BASE=$(basename "$TREE")

bench_sim_start "$BT/sim"
PF=(--database "$BT/freezer.db" --data-dir "$BT/data" --threads "$THREADS")
"$FREEZER" "${FC[@]}" key create --name bench >/dev/null 2>"$BT/key.err"
"$FREEZER" "${FC[@]}" vault create million >/dev/null 2>"$BT/vault.err"

# hashing NAME — the numbers of the JSON summary's "hashing" object in H_*.
hashing() {
	local obj
	obj=$(tail -c 4000 "$BT/$1.out" | grep -oE '"hashing": *\{[^}]*\}' | tail -n 1) || true
	[ -n "$obj" ] || {
		echo "bench-million.sh: no \"hashing\" summary in the JSON of $1" >&2
		exit 1
	}
	H_OBJ=$obj
	H_CACHED=$(sed -E 's/.*"cached": *([0-9]+).*/\1/' <<<"$obj")
	H_READ=$(sed -E 's/.*"read": *([0-9]+).*/\1/' <<<"$obj")
	H_FAILED=$(sed -E 's/.*"failed": *([0-9]+).*/\1/' <<<"$obj")
}
# summary_files NAME KIND — files counted as KIND (selected, left_out) in the JSON summary.
summary_files() {
	tail -c 4000 "$BT/$1.out" | grep -oE "\"$2\": *\\{\"files\": *[0-9]+" | tail -n 1 | grep -oE '[0-9]+$'
}

echo
echo "== $FILES files ($(bench_mib "$BYTES") MiB) in $DIRS folders; threads $THREADS"
bench_drop_caches
DROP_PLAN=$DROPPED
bench_run plan-cold "$FREEZER" "${PF[@]}" plan --filter default,frozen --json "$TREE"
hashing plan-cold
echo "  cold hashing: $H_OBJ"
if [ "$H_READ" -ne "$FILES" ] || [ "$H_FAILED" -ne 0 ]; then
	echo "WRONG: the cold plan should read all $FILES files and fail none: $H_OBJ" >&2
	exit 1
fi
bench_drop_caches
DROP_BASE=$DROPPED
# shellcheck disable=SC2016 # $1.. are the bash -c script's own arguments
bench_run base-hash bash -c 'set -o pipefail; find "$1" -type f -print0 | xargs -0 -P "$2" -n 256 sha256sum >/dev/null' _ "$TREE" "$THREADS"

bench_run plan-warm "$FREEZER" "${PF[@]}" plan --filter default,frozen --json "$TREE"
hashing plan-warm
echo "  warm hashing: $H_OBJ"
if [ "$H_READ" -ne 0 ] || [ "$H_CACHED" -ne "$FILES" ]; then
	echo "FAIL: the warm plan read files although nothing changed: $H_OBJ" >&2
	exit 1
fi
bench_run base-stat bash -c "find \"\$1\" -type f -printf '%s %T@ %i\\n' >/dev/null" _ "$TREE"

# shellcheck disable=SC2016
bench_run base-create bash -c 'set -o pipefail; tar cf - -C "$1" "$2" | pigz -p "$3" >"$4"' _ "$PARENT" "$BASE" "$THREADS" "$BT/baseline.tar.gz"
rm -f "$BT/baseline.tar.gz"
bench_run create "$FREEZER" "${FC[@]}" archive create --vault million --name tree --compression gzip --no-upload "$TREE"

bench_run plan-frozen "$FREEZER" "${PF[@]}" plan --filter default,frozen --json "$TREE"
hashing plan-frozen
LEFT=$(summary_files plan-frozen left_out)
echo "  frozen plan: $LEFT files left out; hashing $H_OBJ"
if [ "$LEFT" -ne "$FILES" ] || [ "$H_READ" -ne 0 ]; then
	echo "WRONG: with the tree archived, every file should be left out as frozen without reading it ($LEFT of $FILES; $H_OBJ)" >&2
	exit 1
fi

echo
echo "== checks"
LOCAL=$BT/data/archives/million/tree
IN_TAR=$(tar tzf "$LOCAL" | grep -vc '/$')
CAT=$("$FREEZER" "${PF[@]}" archive files million/tree | grep -c . || true)
echo "  archive: $IN_TAR files in the tar; the catalog lists $CAT lines (a header and a line a file)"
[ "$IN_TAR" -eq "$FILES" ] && [ "$CAT" -eq $((FILES + 1)) ] || {
	echo "WRONG: the archive holds $IN_TAR files and the catalog lists $((CAT - 1)), the tree has $FILES" >&2
	exit 1
}

echo
echo "== results"
bench_end
echo "tree: $FILES files, $BYTES bytes ($(bench_mib "$BYTES") MiB), $DIRS folders"
echo "page cache dropped before the cold plan: $DROP_PLAN; before its baseline: $DROP_BASE"
echo
missed=0
row() { printf '%-40s %9s %12s %9s %6s  %s\n' "$@"; }
row run seconds "peak RSS MiB" "CPU s" "CPU%" "ratio / target"
printf '%s\n' "-----------------------------------------------------------------------------------------------"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
bench_res base-hash
BH=$R_WALL
bench_res plan-cold
row "plan, cold (--threads $THREADS)" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT" "$(ratio "$R_WALL" "$BH") × find|xargs -P$THREADS sha256sum"
bench_res base-hash
row "  baseline find|xargs -P$THREADS sha256sum" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT"
bench_res base-stat
BS=$R_WALL
bench_res plan-warm
WARM=$R_WALL
v=PASS
bench_lt "$R_WALL" 30 || {
	v=MISS
	missed=1
}
row "plan, warm (hash cache)" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT" "$(ratio "$R_WALL" "$BS") × stat walk; < 30 s $v"
bench_res base-stat
row "  baseline find -printf (stat walk)" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT"
bench_res base-create
BC=$R_WALL
bench_res create
v=PASS
bench_lt "$R_RSS" 256 || {
	v=MISS
	missed=1
}
row "create (gzip, no upload)" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT" "$(ratio "$R_WALL" "$BC") × tar|pigz; < 256 MiB $v"
bench_res base-create
row "  baseline tar|pigz -p$THREADS" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT"
bench_res plan-frozen
FROZEN=$R_WALL
EXTRA=$(awk -v a="$FROZEN" -v b="$WARM" 'BEGIN { printf "%.2f", a - b }')
v=PASS
bench_lt "$EXTRA" 10 || {
	v=MISS
	missed=1
}
row "plan, warm, all $FILES frozen" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT" "$(ratio "$R_WALL" "$WARM") × warm plan; +$EXTRA s < 10 s $v"
echo
if [ "$missed" = 1 ]; then
	echo "a target was missed (see MISS above)"
	if [ "$STRICT" = 1 ]; then exit 1; fi
else
	echo "all targets met"
fi
