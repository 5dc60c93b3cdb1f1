#!/usr/bin/env bash
# Pipeline benchmark: how fast and how lean freezer's archive pipeline is, against a baseline of
# stock tools measured in the same run on the same data.
#
# Usage:
#   bash scripts/bench.sh [DIR]          # or: make bench [DIR=/some/folder]
#
# Without DIR it generates a tree of about BENCH_SIZE_MB MiB in its work folder: a few thousand
# small text-like files in nested folders, large text-like files and large random files
# (see scripts/bench/gentree.sh). DIR itself is only read.
#
# Each stage runs as its own process under `/usr/bin/time -v` (wall time, peak RSS, CPU):
#   create            freezer archive create --compression gzip --filter none --no-upload DIR
#                     (walk, tar, per-file SHA-256, parallel gzip, local file written atomically)
#   encrypt+hash      freezer archive hash V/A   (the upload's encryption and hashing alone)
#   upload            freezer archive upload V/A (encrypt once, hash, parallel multipart upload to
#                     a `freezer sim` the script starts on a free loopback port)
#   download          freezer archive disconnect V/A and archive retrieve --tier Expedited V/A
#                     (untimed: the job), then, timed, archive retrieve --wait V/A (ranged parallel
#                     download with tree-hash checks, decrypt, SHA-256 check, install; the
#                     SHA-256 recorded at create makes a decompression check needless)
#   extract           freezer archive extract V/A DEST (then every file is compared by SHA-256)
# and beside them, on the same data, the baselines:
#   baseline          bash -c 'tar cf - DIR | pigz -p T | openssl enc -aes-256-cbc -K .. -iv .. |
#                     sha256sum'
#   send              curl -T ENC to a loopback sink that reads and drops the bytes (ENC: the local
#                     archive encrypted by openssl, the size of what freezer uploads)
#   dl-base           bash -c 'openssl enc -d -aes-256-cbc .. -in ENC | tee FILE | sha256sum;
#                     sync FILE' (decrypt, write, hash, fsync: a download's local work with stock
#                     tools, without the network)
#   inflate           bash -c 'pigz -dc LOCAL | tar tf -': the decompression check alone, which
#                     is sequential: the floor of a download of this archive were its SHA-256
#                     unknown (found in an inventory), when freezer decompresses it instead
# and prints the ratios:
#   RATIO     (create + encrypt+hash seconds) / baseline seconds, target ≤ 1.00
#   UPLOAD    upload CPU seconds / (encrypt+hash + send CPU seconds), target ≤ 1.00 (one
#             encryption, no work beyond the hashing pass and the send); and upload MB/s, target
#             ≥ 300 with 2 threads
#   DOWNLOAD  download seconds / dl-base seconds (and / inflate seconds), and download MB/s, target
#             ≥ 250 with 2 threads
# MB/s are decimal megabytes per second: of the tree's file bytes for create, extract and the
# baseline; of the encrypted archive's bytes for the others. Peak RSS is in MiB. The sizes of
# freezer's local archive and of `tar | pigz` of the same tree are printed side by side.
# A wrong result (retrieved bytes differ, a restored file differs or is missing) fails the run.
#
# Environment:
#   BENCH_SIZE_MB=1024     size of the generated tree (ignored with DIR)
#   BENCH_THREADS=nproc    freezer --threads and pigz -p
#   BENCH_CHUNK=8MiB       freezer --chunk-size (multipart part size)
#   BENCH_REPEAT=1         run baseline, create and encrypt+hash this many times, interleaved,
#                          each create with a fresh catalog; the table shows the fastest of each
#   BENCH_COMPONENTS=1     also time the stock tools one by one (tar alone, tar|pigz, openssl enc,
#                          sha256sum of the archive, per-file sha256sum, write+fsync), to see
#                          where the time goes; 0 to skip
#   BENCH_2GIB=0           1: also build a 2 GiB archive (random bytes, --compression none) and
#                          take it through every stage; target: peak RSS < 100 MiB in each
#   BENCH_MILLION=0        1: afterwards, the million-small-files case (scripts/bench-million.sh:
#                          plan and create of 1,000,000 files, peak RSS), when that script exists
#   BENCH_STRICT=0         1: exit 1 when a target is missed (a wrong result always exits 1)
#   TMPDIR                 where the work folder goes (needs about 4 × the tree, plus 11 GiB
#                          with BENCH_2GIB=1); it is removed at exit
#
# A real tree: give it as DIR, for example the Go distribution (about 15,000 files):
#   bash scripts/bench.sh "$(go env GOROOT)"
#
# Needs: go, GNU time (/usr/bin/time, Debian package `time`), pigz, openssl, tar, coreutils,
# findutils, mawk/gawk, curl, perl. `bash scripts/test.sh` as root installs all but `time`.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/bench/lib.sh"

THREADS=${BENCH_THREADS:-$(nproc)}
CHUNK=${BENCH_CHUNK:-8MiB}
SIZE_MB=${BENCH_SIZE_MB:-1024}
REPEAT=${BENCH_REPEAT:-1}
COMPONENTS=${BENCH_COMPONENTS:-1}
BIG=${BENCH_2GIB:-0}
MILLION=${BENCH_MILLION:-0}
STRICT=${BENCH_STRICT:-0}

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
	usage
	exit 0
fi
if [ $# -gt 1 ]; then
	usage >&2
	exit 2
fi
if [ $# -eq 1 ] && [ ! -d "$1" ]; then
	echo "bench.sh: $1 is not a folder" >&2
	exit 2
fi

bench_need_tools time pigz openssl tar sha256sum find xargs awk sort cmp stat df head tee sync curl perl
bench_init bench

# Room for the tree, the local archive, the simulator's copy, the retrieved copy, the openssl
# copies and the restored tree; the 2 GiB run needs five copies of 2 GiB on top.
need_mb=$((SIZE_MB * 6 + 256))
if [ $# -eq 1 ]; then
	need_mb=$(($(du -sm "$1" | awk '{ print $1 }') * 6 + 256))
fi
[ "$BIG" = 1 ] && need_mb=$((need_mb + 11 * 1024))
avail_mb=$(df -Pm "$BT" | awk 'NR == 2 { print $4 }')
if [ "$avail_mb" -lt "$need_mb" ]; then
	echo "bench.sh: $avail_mb MiB free under $BT, about $need_mb MiB needed (set TMPDIR to a roomier disk)" >&2
	exit 1
fi

bench_build

if [ $# -eq 1 ]; then
	SRC=$(cd "$1" && pwd)
	ORIGIN="folder $SRC"
else
	SRC=$BT/tree/bench-tree
	echo "generating a ${SIZE_MB} MiB tree ..."
	bash "$REPO/scripts/bench/gentree.sh" mixed "$SRC" "$SIZE_MB"
	ORIGIN="generated tree of ${SIZE_MB} MiB"
fi
PARENT=$(dirname "$SRC")
BASE=$(basename "$SRC")
TREE_BYTES=$(bench_bytes_of_tree "$SRC")
TREE_FILES=$(find "$SRC" -type f | wc -l)
[ "$TREE_FILES" -gt 0 ] || {
	echo "bench.sh: $SRC holds no files" >&2
	exit 1
}

# The manifest every restored file is checked against. Reading the tree here also puts it in the
# page cache, so freezer and the baseline both read it from memory.
echo "hashing the tree for the final check ($TREE_FILES files, $(bench_mib "$TREE_BYTES") MiB) ..."
manifest() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}
shape() {
	(cd "$1" && find . \( -type d -o -type l \) -printf '%y %p %l\n' | LC_ALL=C sort)
}
manifest "$SRC" >"$BT/src.sha256"
shape "$SRC" >"$BT/src.shape"

bench_sim_start "$BT/sim"
KEY=$(openssl rand -hex 32)
IV=$(openssl rand -hex 16)

# new_catalog R — a fresh catalog with its key and the vault, so that no run profits from an
# earlier one's hash cache.
new_catalog() {
	local i
	for i in "${!FC[@]}"; do
		[ "${FC[$i]}" = --database ] && FC[i + 1]="$BT/catalog-$1.db"
	done
	"$FREEZER" "${FC[@]}" key create --name "bench-$1" >/dev/null 2>"$BT/key-$1.err"
	"$FREEZER" "${FC[@]}" vault create "bench$1" >/dev/null 2>"$BT/vault-$1.err"
}

echo
echo "== pipeline: $ORIGIN, $TREE_FILES files, $(bench_mib "$TREE_BYTES") MiB; threads $THREADS, chunk $CHUNK"
for r in $(seq 1 "$REPEAT"); do
	# baseline first, then freezer: the same page cache and nearly the same load for both.
	# shellcheck disable=SC2016 # $1.. are the bash -c script's own arguments
	bench_run "baseline-$r" bash -c 'set -o pipefail; tar cf - -C "$1" "$2" | pigz -p "$3" | openssl enc -aes-256-cbc -K "$4" -iv "$5" | sha256sum' \
		_ "$PARENT" "$BASE" "$THREADS" "$KEY" "$IV"
	new_catalog "$r"
	bench_run "create-$r" "$FREEZER" "${FC[@]}" archive create --vault "bench$r" --name tree --compression gzip --filter none --no-upload "$SRC"
	bench_run "hash-$r" "$FREEZER" "${FC[@]}" archive hash "bench$r/tree"
done
V=bench$REPEAT
LOCAL=$BT/data/archives/$V/tree
[ -f "$LOCAL" ] || {
	echo "bench.sh: no local archive at $LOCAL after archive create" >&2
	exit 1
}
LOCAL_BYTES=$(stat -c %s "$LOCAL")
read -r ARCH_BYTES _ PARTS _ TREEHASH <"$BT/hash-$REPEAT.out" || true
case $ARCH_BYTES in
'' | *[!0-9]*)
	echo "bench.sh: cannot read 'archive hash' output: $(cat "$BT/hash-$REPEAT.out")" >&2
	exit 1
	;;
esac
LOCAL_SHA=$(sha256sum "$LOCAL" | awk '{ print $1 }')

SIM0=$(bench_sim_cpu)
bench_run upload "$FREEZER" "${FC[@]}" archive upload "$V/tree"
SIM_UP=$(awk -v a="$SIM0" -v b="$(bench_sim_cpu)" 'BEGIN { printf "%.2f", b - a }')

# The same number of bytes, sent alone: curl to a sink that drops them.
ENC=$BT/archive.enc
openssl enc -aes-256-cbc -K "$KEY" -iv "$IV" -in "$LOCAL" -out "$ENC"
bench_sink_start
bench_run send curl -sS -o /dev/null -H 'Expect:' -T "$ENC" "$SINK_URL"
bench_sink_stop

"$FREEZER" "${FC[@]}" archive disconnect "$V/tree" >/dev/null 2>"$BT/disconnect.err"
[ ! -e "$LOCAL" ] || {
	echo "bench.sh: archive disconnect left $LOCAL in place" >&2
	exit 1
}
# The job first (untimed; the simulator completes it within 0.1 s), then the download alone.
"$FREEZER" "${FC[@]}" archive retrieve --tier Expedited "$V/tree" >"$BT/request.out" 2>"$BT/request.err"
sleep 1
SIM0=$(bench_sim_cpu)
bench_run download "$FREEZER" "${FC[@]}" archive retrieve --wait "$V/tree"
SIM_DOWN=$(awk -v a="$SIM0" -v b="$(bench_sim_cpu)" 'BEGIN { printf "%.2f", b - a }')
[ -f "$LOCAL" ] || {
	echo "WRONG: archive retrieve --wait succeeded but left no local archive at $LOCAL" >&2
	exit 1
}
if [ "$(sha256sum "$LOCAL" | awk '{ print $1 }')" != "$LOCAL_SHA" ]; then
	echo "WRONG: the retrieved local archive differs from the one created (sha256 $LOCAL_SHA before)" >&2
	exit 1
fi
# Its local work with stock tools: decrypt, write, hash, fsync.
# shellcheck disable=SC2016 # $1.. are the bash -c script's own arguments
bench_run dl-base bash -c 'set -o pipefail; openssl enc -d -aes-256-cbc -K "$1" -iv "$2" -in "$3" | tee "$4" | sha256sum >"$5" && sync "$4"' \
	_ "$KEY" "$IV" "$ENC" "$BT/dl-base.out.file" "$BT/dl-base.sha256"
cmp -s "$BT/dl-base.out.file" "$LOCAL" || {
	echo "bench.sh: the baseline's decrypted copy differs from the local archive" >&2
	exit 1
}
rm -f "$ENC" "$BT/dl-base.out.file"
# The floor of a download that must decompress to check (no SHA-256 recorded: an archive found in
# an inventory): the check is sequential (gzip has no index).
# shellcheck disable=SC2016 # $1.. are the bash -c script's own arguments
bench_run inflate bash -c 'set -o pipefail; pigz -dc "$1" | tar -tf - >/dev/null' _ "$LOCAL"
bench_run extract "$FREEZER" "${FC[@]}" archive extract "$V/tree" "$BT/restore"

# Correctness: the restored tree is the source tree, file by file.
check_restore() {
	local got=$1/$BASE
	if [ ! -d "$got" ]; then
		echo "WRONG: archive extract made no $BASE folder in the destination; it holds:" >&2
		ls -la "$1" >&2
		exit 1
	fi
	manifest "$got" >"$BT/restore.sha256"
	shape "$got" >"$BT/restore.shape"
	if ! cmp -s "$BT/src.sha256" "$BT/restore.sha256"; then
		echo "WRONG: restored files differ from $SRC (sha256 manifests, < source > restored):" >&2
		diff "$BT/src.sha256" "$BT/restore.sha256" | head -n 20 >&2 || true
		exit 1
	fi
	if ! cmp -s "$BT/src.shape" "$BT/restore.shape"; then
		echo "WRONG: restored folders or symbolic links differ from $SRC (< source > restored):" >&2
		diff "$BT/src.shape" "$BT/restore.shape" | head -n 20 >&2 || true
		exit 1
	fi
}
check_restore "$BT/restore"
echo "  check: retrieved archive identical to the created one; all $TREE_FILES restored files match by SHA-256"
rm -rf "$BT/restore"

# Where the time goes: the stock tools one at a time, on the same data.
if [ "$COMPONENTS" = 1 ]; then
	echo
	echo "== components (stock tools, one at a time)"
	# shellcheck disable=SC2016 # $1.. are the bash -c script's own arguments
	bench_run c-tar bash -c 'set -o pipefail; tar cf - -C "$1" "$2" | cat >/dev/null' _ "$PARENT" "$BASE"
	# shellcheck disable=SC2016 # $1.. are the bash -c script's own arguments
	bench_run c-tar-pigz bash -c 'set -o pipefail; tar cf - -C "$1" "$2" | pigz -p "$3" | wc -c' _ "$PARENT" "$BASE" "$THREADS"
	bench_run c-openssl openssl enc -aes-256-cbc -K "$KEY" -iv "$IV" -in "$LOCAL" -out /dev/null
	bench_run c-sha256-archive sha256sum "$LOCAL"
	# shellcheck disable=SC2016 # $1.. are the bash -c script's own arguments
	bench_run c-sha256-files bash -c 'find "$1" -type f -print0 | xargs -0 -r sha256sum >/dev/null' _ "$SRC"
	bench_run c-write-fsync dd if="$LOCAL" of="$BT/copy" bs=1M conv=fsync status=none
	rm -f "$BT/copy"
	PIGZ_BYTES=$(tr -d ' ' <"$BT/c-tar-pigz.out")
else
	# Untimed: only the size, to set beside freezer's.
	PIGZ_BYTES=$(tar cf - -C "$PARENT" "$BASE" | pigz -p "$THREADS" | wc -c)
fi

# The 2 GiB archive: memory must not grow with the archive.
if [ "$BIG" = 1 ]; then
	echo
	echo "== 2 GiB archive (random bytes, --compression none, encrypted)"
	rm -f "$BT"/data/archives/bench*/tree
	mkdir -p "$BT/big/bench-2gib"
	head -c $((2048 * 1048576)) /dev/urandom >"$BT/big/bench-2gib/random.bin"
	BIG_SHA=$(sha256sum "$BT/big/bench-2gib/random.bin" | awk '{ print $1 }')
	bench_run big-create "$FREEZER" "${FC[@]}" archive create --vault "$V" --name big --compression none --filter none --no-upload "$BT/big/bench-2gib"
	bench_run big-hash "$FREEZER" "${FC[@]}" archive hash "$V/big"
	read -r BIG_ARCH_BYTES _ <"$BT/big-hash.out"
	bench_run big-upload "$FREEZER" "${FC[@]}" archive upload "$V/big"
	"$FREEZER" "${FC[@]}" archive disconnect "$V/big" >/dev/null 2>"$BT/big-disconnect.err"
	bench_run big-download "$FREEZER" "${FC[@]}" archive retrieve --wait --tier Expedited "$V/big"
	rm -f "$BT/big/bench-2gib/random.bin"
	bench_run big-extract "$FREEZER" "${FC[@]}" archive extract "$V/big" "$BT/big-restore"
	if [ "$(sha256sum "$BT/big-restore/bench-2gib/random.bin" | awk '{ print $1 }')" != "$BIG_SHA" ]; then
		echo "WRONG: the restored 2 GiB file differs from the original" >&2
		exit 1
	fi
	echo "  check: the restored 2 GiB file matches by SHA-256"
	rm -rf "$BT/big-restore" "$BT/big"
fi

bench_sim_stop

# ---- the table
missed=0
best() { # best STAGE — the fastest of the repeats into R_*; the highest RSS
	local r w=999999 rss=0 cpu=0 pct=
	for r in $(seq 1 "$REPEAT"); do
		bench_res "$1-$r"
		if bench_lt "$R_WALL" "$w"; then w=$R_WALL cpu=$R_CPU pct=$R_PCT; fi
		if bench_lt "$rss" "$R_RSS"; then rss=$R_RSS; fi
	done
	R_WALL=$w R_RSS=$rss R_CPU=$cpu R_PCT=$pct
}
row() { # row LABEL BYTES
	printf '%-44s %9s %9s %12s %9s %6s\n' "$1" "$R_WALL" "$(bench_mbs "$2" "$R_WALL")" "$R_RSS" "$R_CPU" "$R_PCT"
}
header() {
	printf '%-44s %9s %9s %12s %9s %6s\n' stage seconds MB/s "peak RSS MiB" "CPU s" "CPU%"
	printf '%s\n' "--------------------------------------------------------------------------------------------"
}
echo
echo "== results"
bench_end
echo "tree: $ORIGIN — $TREE_FILES files, $TREE_BYTES bytes ($(bench_mib "$TREE_BYTES") MiB)"
echo "local archive (tar+gzip): $LOCAL_BYTES bytes ($(bench_mib "$LOCAL_BYTES") MiB); uploaded (encrypted): $ARCH_BYTES bytes in $PARTS parts of $CHUNK, tree hash $TREEHASH"
echo "tar | pigz -p $THREADS of the same tree: $PIGZ_BYTES bytes ($(bench_mib "$PIGZ_BYTES") MiB); freezer's local archive / pigz's = $(awk -v a="$LOCAL_BYTES" -v b="$PIGZ_BYTES" 'BEGIN { printf "%.3f", a / b }')"
echo "threads $THREADS; best of $REPEAT for baseline, create and encrypt+hash; MB/s = 10^6 bytes/s"
echo
header
best create
CREATE_S=$R_WALL
row "create (walk, tar, SHA-256, gzip, write)" "$TREE_BYTES"
best hash
HASH_S=$R_WALL HASH_CPU=$R_CPU
row "encrypt + tree hash" "$ARCH_BYTES"
bench_res upload
row "upload (encrypt, hash, send to sim)" "$ARCH_BYTES"
UP_S=$R_WALL UP_CPU=$R_CPU
bench_res download
row "download + verify + decrypt" "$ARCH_BYTES"
DL_S=$R_WALL
bench_res extract
row "extract (restore for the check)" "$TREE_BYTES"
bench_res sim
printf '%-44s %9s %9s %12s %9s %6s\n' "freezer sim (whole run)" "$R_WALL" - "$R_RSS" "$R_CPU" "$R_PCT"
printf '%-44s %9s %9s %12s %9s %6s\n' "  of which during upload / download" - - - "$SIM_UP/$SIM_DOWN" -
best baseline
BASE_S=$R_WALL
row "baseline tar|pigz|openssl enc|sha256sum" "$TREE_BYTES"
bench_res send
row "send alone (curl -T to a loopback sink)" "$ARCH_BYTES"
SEND_CPU=$R_CPU
bench_res dl-base
row "dl-base openssl -d|tee FILE|sha256sum; sync" "$ARCH_BYTES"
DLB_S=$R_WALL
bench_res inflate
row "inflate pigz -dc | tar t (no-SHA-256 floor)" "$ARCH_BYTES"
INF_S=$R_WALL
if [ "$COMPONENTS" = 1 ]; then
	printf '%s\n' "-- components"
	bench_res c-tar
	row "  tar alone" "$TREE_BYTES"
	bench_res c-tar-pigz
	row "  tar | pigz" "$TREE_BYTES"
	bench_res c-openssl
	row "  openssl enc -aes-256-cbc of the archive" "$LOCAL_BYTES"
	bench_res c-sha256-archive
	row "  sha256sum of the archive" "$LOCAL_BYTES"
	bench_res c-sha256-files
	row "  sha256sum of every file (find|xargs)" "$TREE_BYTES"
	bench_res c-write-fsync
	row "  write + fsync an archive-sized file" "$LOCAL_BYTES"
fi
echo
RATIO=$(awk -v a="$CREATE_S" -v b="$HASH_S" -v c="$BASE_S" 'BEGIN { printf "%.2f", (a + b) / c }')
verdict=PASS
bench_le "$RATIO" 1.00 || {
	verdict=MISS
	missed=1
}
echo "RATIO (create + encrypt+hash) / baseline = ($CREATE_S + $HASH_S) / $BASE_S = $RATIO   target ≤ 1.00   $verdict"

# target VALUE OP LIMIT — V becomes PASS or MISS (and a miss is remembered).
target() {
	V=PASS
	if ! awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN { exit !((op == "<=") ? a <= b : a >= b) }'; then
		V=MISS
		missed=1
	fi
}
UP_RATIO=$(awk -v u="$UP_CPU" -v h="$HASH_CPU" -v s="$SEND_CPU" 'BEGIN { printf "%.2f", u / (h + s) }')
UP_MBS=$(bench_mbs "$ARCH_BYTES" "$UP_S")
target "$UP_RATIO" "<=" 1.00
echo "UPLOAD   CPU upload / (encrypt+hash + send) = $UP_CPU / ($HASH_CPU + $SEND_CPU) = $UP_RATIO   target ≤ 1.00   $V"
echo "UPLOAD   the simulator took $SIM_UP CPU s meanwhile (it hashes every part twice and syncs it to disk)"
if [ "$THREADS" = 2 ]; then
	target "$UP_MBS" ">=" 300
	echo "UPLOAD   $UP_MBS MB/s   target ≥ 300 with 2 threads   $V"
fi
DL_RATIO=$(awk -v a="$DL_S" -v b="$DLB_S" 'BEGIN { printf "%.2f", a / b }')
DL_MBS=$(bench_mbs "$ARCH_BYTES" "$DL_S")
echo "DOWNLOAD seconds download / dl-base = $DL_S / $DLB_S = $DL_RATIO   (dl-base has no network and no tree hash)"
echo "DOWNLOAD seconds download / inflate = $DL_S / $INF_S = $(awk -v a="$DL_S" -v b="$INF_S" 'BEGIN { printf "%.2f", a / b }')   (the check of an archive without a recorded SHA-256)"
if [ "$THREADS" = 2 ]; then
	target "$DL_MBS" ">=" 250
	echo "DOWNLOAD $DL_MBS MB/s   target ≥ 250 with 2 threads   $V"
fi

if [ "$BIG" = 1 ]; then
	echo
	echo "2 GiB archive: $BIG_ARCH_BYTES bytes uploaded; target: peak RSS < 100 MiB in every stage"
	header
	for s in create:"create" hash:"encrypt + tree hash" upload:"upload" download:"download + verify + decrypt" extract:"extract"; do
		bench_res "big-${s%%:*}"
		v=PASS
		bench_lt "$R_RSS" 100 || {
			v=MISS
			missed=1
		}
		b=$BIG_ARCH_BYTES
		row "${s#*:}  [$v]" "$b"
	done
fi

if [ "$MILLION" = 1 ]; then
	echo
	echo "== a million small files (scripts/bench-million.sh)"
	if [ -f "$REPO/scripts/bench-million.sh" ]; then
		BENCH_MILLION=1 BENCH_THREADS=$THREADS bash "$REPO/scripts/bench-million.sh" || missed=1
	else
		echo "scripts/bench-million.sh is not in this tree yet; nothing run"
	fi
fi
echo
if [ "$missed" = 1 ]; then
	echo "some targets were missed (see MISS above)"
	if [ "$STRICT" = 1 ]; then exit 1; fi
else
	echo "all targets met"
fi
