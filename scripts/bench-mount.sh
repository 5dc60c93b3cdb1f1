#!/usr/bin/env bash
# Mount benchmark: what a person or a file manager meets on a freezer mount, each figure a
# ratio against a baseline measured in the same run, on the same machine, moments apart.
#
# Usage:
#   bash scripts/bench-mount.sh
#
# It mounts `freezer --sim DIR mount --foreground MNT` as its own process and measures:
#   ls -l       `ls -l` of a vault of BENCH_MOUNT_ARCHIVES archives, against `ls -l` of a
#               tmpfs folder holding files of the same names. Target: ≤ 3×.
#   getfattr    `getfattr -d` over BENCH_MOUNT_XATTR_FILES archives, against tmpfs files
#               carrying the same extended attributes (restored from the mount's own dump,
#               and checked equal). Target: ≤ 3×. Beside it, the floor: a go-fuse filesystem
#               (scripts/bench/fusefloor) answering the same attributes from memory, so the
#               figure separates what freezer adds from what a FUSE round trip costs here.
#   cat         `cat` of a BENCH_MOUNT_SIZE_MB MiB liquid archive (made and uploaded
#               through .control/new-archive, compression=none), against `cat` of its local
#               copy; both from a warm page cache; the bytes are compared. Target: ≥ 0.7×.
#               Archives ask for 1 MiB reads (st_blksize), so cat reads them a MiB at a time
#               and the local file 128 KiB at a time: `dd bs=1M` of the local file is shown too.
#   events      how long after a retrieval job completes `getfattr` shows it: an archive is
#               disconnected, `retrieve tier=Expedited` written, and the state polled every
#               20 ms until it is no longer melting. The simulator completes Expedited jobs
#               2 s after they are requested, so the delay is (seen − request start − 2 s): an
#               upper bound. Three archives, the worst is reported. Target: < 2 s.
# Each timing is the fastest of BENCH_ROUNDS rounds, the two sides alternating.
#
# The vault of many archives is written straight into the catalog by
# scripts/bench/mountfixture (every other archive liquid with a small local copy, the others
# frozen): making ten thousand through the pipeline takes minutes, and a listing reads the
# same rows however they were made.
#
# Environment:
#   BENCH_MOUNT_ARCHIVES=10000     archives in the listed vault
#   BENCH_MOUNT_XATTR_FILES=1000   archives getfattr reads
#   BENCH_MOUNT_SIZE_MB=1024       size of the archive cat reads
#   BENCH_ROUNDS=5                 rounds per timing (the fastest counts)
#   BENCH_STRICT=0                 1: exit 1 when a target is missed
#   TMPDIR                         where the work folder goes (about 3 × the archive size);
#                                  removed at exit
#
# Needs: go, GNU time, coreutils, findutils, mawk/gawk, grep, sed, attr (getfattr, setfattr),
# /dev/fuse, and mount(2) (root) or fusermount3 (Debian package fuse3). The tmpfs baseline
# uses /dev/shm (or mounts a tmpfs as root).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/bench/lib.sh"
export LC_ALL=C

N=${BENCH_MOUNT_ARCHIVES:-10000}
NX=${BENCH_MOUNT_XATTR_FILES:-1000}
SIZE_MB=${BENCH_MOUNT_SIZE_MB:-1024}
ROUNDS=${BENCH_ROUNDS:-5}
STRICT=${BENCH_STRICT:-0}
if [ $# -gt 0 ]; then
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	case $1 in -h | --help) exit 0 ;; *) exit 2 ;; esac
fi
if [ "$NX" -gt "$N" ]; then
	echo "BENCH_MOUNT_XATTR_FILES ($NX) must not exceed BENCH_MOUNT_ARCHIVES ($N)" >&2
	exit 2
fi

bench_need_tools time getfattr setfattr ls cat cmp head awk grep sed xargs
[ -e /dev/fuse ] || {
	echo "no /dev/fuse: load the fuse kernel module (modprobe fuse)" >&2
	exit 1
}
bench_init bench-mount

MNT=$BT/mnt
MPID=
FPID=
FLOOR=
SHM=
# mounted DIR — whether something is mounted on DIR.
mounted() { awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo 2>/dev/null; }
# stop_fs PID DIR — stop a filesystem's process (SIGTERM unmounts) and make sure DIR is free.
stop_fs() {
	if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
		kill -TERM "$1" 2>/dev/null || true
		wait "$1" 2>/dev/null || true
	fi
	if [ -n "$2" ] && mounted "$2"; then
		umount -l "$2" 2>/dev/null || fusermount3 -uz "$2" 2>/dev/null || true
	fi
}
# wait_mounted DIR PID ERRFILE — wait up to 30 s for process PID to mount DIR; on failure show
# what it wrote to ERRFILE and end the script.
wait_mounted() {
	local _
	for _ in $(seq 300); do
		mounted "$1" && return 0
		kill -0 "$2" 2>/dev/null || {
			echo "the filesystem process for $1 stopped:" >&2
			cat "$3" >&2
			exit 1
		}
		sleep 0.1
	done
	echo "$1 not mounted after 30 s:" >&2
	cat "$3" >&2
	exit 1
}
bench_mount_cleanup() {
	local rc=$?
	stop_fs "$FPID" "$FLOOR"
	stop_fs "$MPID" "$MNT"
	if [ -n "$SHM" ]; then
		if mounted "$SHM"; then
			umount "$SHM" 2>/dev/null || true
		fi
		rm -rf "$SHM"
	fi
	(exit "$rc")
	bench_cleanup
}
trap bench_mount_cleanup EXIT

bench_build
echo "building the catalog fixture ..."
(cd "$REPO" && CGO_ENABLED=0 go build -o "$BT/mountfixture" ./scripts/bench/mountfixture)

# The baseline's tmpfs.
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ]; then
	SHM=$(mktemp -d /dev/shm/freezer-bench.XXXXXX)
elif [ "$(id -u)" = 0 ]; then
	SHM=$BT/tmpfs
	mkdir -p "$SHM"
	mount -t tmpfs -o size=64m tmpfs "$SHM"
else
	echo "no tmpfs for the baseline: /dev/shm is not a writable tmpfs, and mounting one needs root" >&2
	exit 1
fi

DB=$BT/catalog/freezer.db
DATA=$BT/data
mkdir -p "$BT/catalog" "$DATA" "$MNT" "$BT/work"
FZ=("$FREEZER" --database "$DB" --data-dir "$DATA" --sim "$BT/sim")

echo "writing $N archives into the catalog ..."
"$BT/mountfixture" -db "$DB" -data "$DATA" -vault bench -n "$N"

echo "mounting ..."
"${FZ[@]}" mount --foreground "$MNT" 2>"$BT/mount.err" &
MPID=$!
wait_mounted "$MNT" "$MPID" "$BT/mount.err"

# elapsed CMD... — wall seconds of CMD (its stdout discarded).
elapsed() {
	local s=$EPOCHREALTIME e
	"$@" >/dev/null
	e=$EPOCHREALTIME
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f", e - s }'
}
# fastest A B — the smaller of two times.
fastest() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.1f ms", a * 1000 }'; }

wait_tasks() {
	until ! grep -qE ' (queued|running) ' "$MNT/.control/status"; do sleep 0.2; done
	if grep -q ' failed ' "$MNT/.control/status"; then
		echo "a task failed:" >&2
		cat "$MNT/.control/status" >&2
		exit 1
	fi
}

# --- ls -l -------------------------------------------------------------------------------
echo "== ls -l of $N archives"
mkdir "$SHM/ls"
ls "$MNT/bench" >"$BT/names"
[ "$(wc -l <"$BT/names")" -eq "$N" ] || {
	echo "the vault lists $(wc -l <"$BT/names") archives, not $N" >&2
	exit 1
}
(cd "$SHM/ls" && xargs -a "$BT/names" touch)
ls -l "$MNT/bench" >/dev/null
ls -l "$SHM/ls" >/dev/null
LS_F= LS_B=
for _ in $(seq "$ROUNDS"); do
	LS_B=$(fastest "$(elapsed ls -l "$SHM/ls")" "$LS_B")
	LS_F=$(fastest "$(elapsed ls -l "$MNT/bench")" "$LS_F")
done
[ "$(ls -l "$MNT/bench" | wc -l)" -eq $((N + 1)) ] || {
	echo "ls -l of the mount does not show $N archives" >&2
	exit 1
}
LS_R=$(ratio "$LS_F" "$LS_B")
echo "freezer $(ms "$LS_F"), tmpfs $(ms "$LS_B"): ${LS_R}×"

# --- getfattr -d -------------------------------------------------------------------------
echo "== getfattr -d over $NX archives"
head -n "$NX" "$BT/names" >"$BT/xnames"
mkdir "$SHM/x"
(cd "$MNT/bench" && xargs -a "$BT/xnames" getfattr -d) >"$BT/fuse.dump"
(cd "$SHM/x" && xargs -a "$BT/xnames" touch && setfattr --restore="$BT/fuse.dump") || {
	echo "cannot set user.* attributes on tmpfs (kernel 6.6 or later is needed)" >&2
	exit 1
}
(cd "$SHM/x" && xargs -a "$BT/xnames" getfattr -d) >"$BT/tmpfs.dump"
cmp -s "$BT/fuse.dump" "$BT/tmpfs.dump" || {
	echo "the tmpfs copies do not carry the same attributes" >&2
	exit 1
}
[ "$(grep -c '^user.freezer.state=' "$BT/fuse.dump")" -eq "$NX" ] || {
	echo "getfattr did not show every archive's state" >&2
	exit 1
}
# The floor: a go-fuse filesystem answering the same files' attributes from memory
# (scripts/bench/fusefloor), mounted with freezer's options. Each getxattr and listxattr is a
# round trip to the filesystem's process, and getfattr -d makes two per attribute, so on a
# machine where a round trip costs tens of microseconds no FUSE filesystem gets near tmpfs.
FLOOR=$BT/floor
mkdir "$FLOOR"
(cd "$REPO" && CGO_ENABLED=0 go build -o "$BT/fusefloor" ./scripts/bench/fusefloor)
"$BT/fusefloor" -src "$SHM/x" "$FLOOR" 2>"$BT/floor.err" &
FPID=$!
wait_mounted "$FLOOR" "$FPID" "$BT/floor.err"
(cd "$FLOOR" && xargs -a "$BT/xnames" getfattr -d) >"$BT/floor.dump"
cmp -s "$BT/floor.dump" "$BT/tmpfs.dump" || {
	echo "the go-fuse floor does not show the same attributes:" >&2
	cat "$BT/floor.err" >&2
	exit 1
}
XA_F= XA_B= XA_0=
getfattr_in() { (cd "$1" && xargs -a "$BT/xnames" getfattr -d); }
for _ in $(seq "$ROUNDS"); do
	XA_B=$(fastest "$(elapsed getfattr_in "$SHM/x")" "$XA_B")
	XA_0=$(fastest "$(elapsed getfattr_in "$FLOOR")" "$XA_0")
	XA_F=$(fastest "$(elapsed getfattr_in "$MNT/bench")" "$XA_F")
done
stop_fs "$FPID" "$FLOOR"
FPID=
XA_R=$(ratio "$XA_F" "$XA_B")
XA_R0=$(ratio "$XA_F" "$XA_0")
echo "freezer $(ms "$XA_F"), tmpfs $(ms "$XA_B"): ${XA_R}×  ($(awk -v n="$(wc -l <"$BT/fuse.dump")" -v f="$NX" 'BEGIN { printf "%d", (n - 2 * f) / f }') attributes an archive)"
echo "go-fuse floor $(ms "$XA_0"): freezer ${XA_R0}× the floor, the floor $(ratio "$XA_0" "$XA_B")× tmpfs"

# --- cat ---------------------------------------------------------------------------------
echo "== cat of a $SIZE_MB MiB liquid archive"
mkdir -p "$BT/src"
head -c "$((SIZE_MB << 20))" /dev/urandom >"$BT/src/blob"
mkdir "$MNT/cat"
echo "cat/big $BT/src compression=none" >"$MNT/.control/new-archive"
wait_tasks
state=$(getfattr --absolute-names --only-values -n user.freezer.state "$MNT/cat/big")
[ "$state" = liquid ] || {
	echo "the archive is $state, not liquid" >&2
	exit 1
}
LOCAL=$DATA/archives/cat/big
cmp "$LOCAL" "$MNT/cat/big"
BYTES=$(stat -c %s "$LOCAL")
cat "$LOCAL" >/dev/null
CAT_F= CAT_B=
for _ in $(seq "$ROUNDS"); do
	CAT_B=$(fastest "$(elapsed cat "$LOCAL")" "$CAT_B")
	CAT_F=$(fastest "$(elapsed cat "$MNT/cat/big")" "$CAT_F")
done
CAT_R=$(ratio "$CAT_B" "$CAT_F")
# For reference: the local file read a MiB at a time, as cat reads the archive (it asks for
# 1 MiB reads through st_blksize; cat reads 128 KiB at a time from a file that does not).
DD_B=
for _ in $(seq "$ROUNDS"); do
	DD_B=$(fastest "$(elapsed dd if="$LOCAL" of=/dev/null bs=1M status=none)" "$DD_B")
done
echo "freezer $(bench_mbs "$BYTES" "$CAT_F") MB/s, local file $(bench_mbs "$BYTES" "$CAT_B") MB/s: ${CAT_R}× (local file with dd bs=1M: $(bench_mbs "$BYTES" "$DD_B") MB/s, $(ratio "$DD_B" "$CAT_F")×)"

# --- events ------------------------------------------------------------------------------
echo "== job completed → getfattr shows it"
mkdir -p "$BT/small"
echo "a small archive to retrieve" >"$BT/small/note.txt"
mkdir "$MNT/lat"
for i in 1 2 3; do echo "new-archive lat/s$i $BT/small"; done | cat >"$MNT/.control/ctl"
wait_tasks
for i in 1 2 3; do echo "disconnect lat/s$i"; done | cat >"$MNT/.control/ctl"
EV_WORST=0 EV_SEEN=
for i in 1 2 3; do
	t0=$EPOCHREALTIME
	echo "lat/s$i tier=Expedited" >"$MNT/.control/retrieve"
	while :; do
		s=$(getfattr --absolute-names --only-values -n user.freezer.state "$MNT/lat/s$i")
		[ "$s" != melting ] && break
		sleep 0.02
	done
	t1=$EPOCHREALTIME
	d=$(awk -v a="$t0" -v b="$t1" 'BEGIN { d = b - a - 2; printf "%.2f", d < 0 ? 0 : d }')
	EV_SEEN="$EV_SEEN $s after ${d}s;"
	EV_WORST=$(awk -v a="$d" -v b="$EV_WORST" 'BEGIN { print (a > b) ? a : b }')
done
wait_tasks
echo "seen:$EV_SEEN worst ${EV_WORST} s"

# --- figures -----------------------------------------------------------------------------
echo
echo "load at end: $(bench_uptime)"
miss=0
verdict() {
	if awk "BEGIN { exit !($1) }"; then
		echo ok
	else
		echo MISSED
	fi
}
V_LS=$(verdict "$LS_R <= 3")
V_XA=$(verdict "$XA_R <= 3")
V_CAT=$(verdict "$CAT_R >= 0.7")
V_EV=$(verdict "$EV_WORST < 2")
case "$V_LS $V_XA $V_CAT $V_EV" in *MISSED*) miss=1 ;; esac
printf '%-40s %-22s %-22s %-8s %s\n' "what" "freezer mount" "baseline" "ratio" "target"
printf '%-40s %-22s %-22s %-8s %s\n' "ls -l, $N archives" "$(ms "$LS_F")" "tmpfs $(ms "$LS_B")" "${LS_R}×" "≤ 3× $V_LS"
printf '%-40s %-22s %-22s %-8s %s\n' "getfattr -d, $NX archives" "$(ms "$XA_F")" "tmpfs $(ms "$XA_B")" "${XA_R}×" "≤ 3× $V_XA"
printf '%-40s %-22s %-22s %-8s %s\n' "  (floor: go-fuse answering from memory)" "" "floor $(ms "$XA_0")" "${XA_R0}×" ""
printf '%-40s %-22s %-22s %-8s %s\n' "cat, $SIZE_MB MiB liquid archive" "$(bench_mbs "$BYTES" "$CAT_F") MB/s" "local $(bench_mbs "$BYTES" "$CAT_B") MB/s" "${CAT_R}×" "≥ 0.7× $V_CAT"
printf '%-40s %-22s %-22s %-8s %s\n' "  (reference: local file, dd bs=1M)" "" "local $(bench_mbs "$BYTES" "$DD_B") MB/s" "$(ratio "$DD_B" "$CAT_F")×" ""
printf '%-40s %-22s %-22s %-8s %s\n' "job completed → getfattr shows it" "${EV_WORST} s (worst of 3)" "" "" "< 2 s $V_EV"
if [ "$miss" = 1 ] && [ "$STRICT" = 1 ]; then
	exit 1
fi
