#!/usr/bin/env bash
# Simulator memory benchmark: the peak RSS of `freezer sim` while a 2 GiB archive goes up to it
# and comes back down, and the client's peak RSS in each stage.
#
# Usage:
#   bash scripts/bench-sim.sh            # or: make bench-sim
#
# It starts `freezer sim --listen 127.0.0.1:0 --job-delay 0` under `/usr/bin/time -v`, makes a
# file of random bytes (head -c from /dev/urandom), and runs, each as its own process under
# `/usr/bin/time -v`:
#   create     freezer archive create --compression none --filter none --no-upload (encrypted
#              with a fresh default key, as every archive)
#   upload     freezer archive upload V/A            (multipart, parallel)
#   download   freezer archive disconnect V/A, then archive retrieve --wait --tier Expedited V/A
# then stops the simulator with SIGTERM and prints its peak RSS (target < 64 MiB), the peak it
# had reached after the upload (VmHWM), and the client's figures (target < 100 MiB a stage).
# The retrieved local archive must be byte-identical to the created one, or the run fails.
#
# Environment:
#   BENCH_SIM_SIZE_MB=2048  size of the random file
#   BENCH_THREADS=nproc     freezer --threads (parallel parts)
#   BENCH_CHUNK=8MiB        freezer --chunk-size
#   BENCH_STRICT=0          1: exit 1 when a target is missed
#   TMPDIR                  where the work folder goes (about 4 × the size); removed at exit
#
# Needs: go, GNU time (/usr/bin/time, Debian package `time`), openssl, coreutils, mawk/gawk.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/bench/lib.sh"

THREADS=${BENCH_THREADS:-$(nproc)}
CHUNK=${BENCH_CHUNK:-8MiB}
SIZE_MB=${BENCH_SIM_SIZE_MB:-2048}
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

bench_need_tools time openssl sha256sum head stat df awk
bench_init bench-sim
need_mb=$((SIZE_MB * 4 + 256))
avail_mb=$(df -Pm "$BT" | awk 'NR == 2 { print $4 }')
if [ "$avail_mb" -lt "$need_mb" ]; then
	echo "bench-sim.sh: $avail_mb MiB free under $BT, about $need_mb MiB needed (set TMPDIR to a roomier disk)" >&2
	exit 1
fi
bench_build

mkdir -p "$BT/src/bench-sim"
echo "writing $SIZE_MB MiB of random bytes ..."
head -c $((SIZE_MB * 1048576)) /dev/urandom >"$BT/src/bench-sim/random.bin"

bench_sim_start "$BT/sim"
HWM_START=$(bench_sim_hwm)
"$FREEZER" "${FC[@]}" key create --name bench >/dev/null 2>"$BT/key.err"
"$FREEZER" "${FC[@]}" vault create bench >/dev/null 2>"$BT/vault.err"

echo
echo "== $SIZE_MB MiB archive through the simulator; threads $THREADS, chunk $CHUNK"
bench_run create "$FREEZER" "${FC[@]}" archive create --vault bench --name big --compression none --filter none --no-upload "$BT/src/bench-sim"
rm -f "$BT/src/bench-sim/random.bin"
LOCAL=$BT/data/archives/bench/big
LOCAL_BYTES=$(stat -c %s "$LOCAL")
LOCAL_SHA=$(sha256sum "$LOCAL" | awk '{ print $1 }')
bench_run upload "$FREEZER" "${FC[@]}" archive upload bench/big
HWM_UP=$(bench_sim_hwm)
"$FREEZER" "${FC[@]}" archive disconnect bench/big >/dev/null 2>"$BT/disconnect.err"
bench_run download "$FREEZER" "${FC[@]}" archive retrieve --wait --tier Expedited bench/big
HWM_DOWN=$(bench_sim_hwm)
if [ "$(sha256sum "$LOCAL" | awk '{ print $1 }')" != "$LOCAL_SHA" ]; then
	echo "WRONG: the retrieved local archive differs from the one created" >&2
	exit 1
fi
echo "  check: the retrieved archive is byte-identical to the created one"
bench_sim_stop
SIM_WALL=$R_WALL SIM_RSS=$R_RSS SIM_CPU=$R_CPU SIM_PCT=$R_PCT

echo
echo "== results"
bench_end
echo "archive: $LOCAL_BYTES bytes local ($(bench_mib "$LOCAL_BYTES") MiB), compression none, encrypted; MB/s = 10^6 bytes/s"
echo
missed=0
printf '%-36s %9s %9s %12s %9s %6s  %s\n' process seconds MB/s "peak RSS MiB" "CPU s" "CPU%" target
printf '%s\n' "----------------------------------------------------------------------------------------------------"
v=PASS
bench_lt "$SIM_RSS" 64 || {
	v=MISS
	missed=1
}
printf '%-36s %9s %9s %12s %9s %6s  %s\n' "freezer sim (whole run)" "$SIM_WALL" - "$SIM_RSS" "$SIM_CPU" "$SIM_PCT" "< 64 MiB  $v"
printf '%-36s %9s %9s %12s\n' "  sim peak RSS at start" "" "" "$HWM_START"
printf '%-36s %9s %9s %12s\n' "  sim peak RSS after upload" "" "" "$HWM_UP"
printf '%-36s %9s %9s %12s\n' "  sim peak RSS after download" "" "" "$HWM_DOWN"
for s in create:"client: create" upload:"client: upload" download:"client: download+verify+decrypt"; do
	bench_res "${s%%:*}"
	v=PASS
	bench_lt "$R_RSS" 100 || {
		v=MISS
		missed=1
	}
	printf '%-36s %9s %9s %12s %9s %6s  %s\n' "${s#*:}" "$R_WALL" "$(bench_mbs "$LOCAL_BYTES" "$R_WALL")" "$R_RSS" "$R_CPU" "$R_PCT" "< 100 MiB  $v"
done
echo
if [ "$missed" = 1 ]; then
	echo "some targets were missed (see MISS above)"
	if [ "$STRICT" = 1 ]; then exit 1; fi
else
	echo "all targets met"
fi
