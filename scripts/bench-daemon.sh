#!/usr/bin/env bash
# Daemon benchmark: how long after Glacier finishes a retrieval job the archive is installed
# by `freezer daemon`, and how small a slim catalog is beside the full one.
#
# Usage:
#   bash scripts/bench-daemon.sh
#
# Against a `freezer sim` process (jobs complete at once):
#   catalog    BENCH_DAEMON_FILES small files (scripts/bench/gentree.sh) go into one archive
#              (`archive create`, the catalog records every file and the hash cache), then
#              `freezer catalog slim`; prints both sizes (the full one checkpointed: no -wal).
#   retrieval  one archive of BENCH_DAEMON_MB MiB of random bytes (unencrypted tar would be the
#              same work minus decryption: it is encrypted, as backups are), disconnected; a
#              daemon runs; another process asks for the retrieval without waiting. From the
#              catalog: job completed (Glacier's CompletionDate) → download task created (the
#              daemon heard) → task finished → job executed (installed). The script checks the
#              installed file's SHA-256 against the one recorded at upload.
#
# Environment:
#   BENCH_DAEMON_FILES=100000   files in the catalog benchmark
#   BENCH_DAEMON_MB=1024        size of the retrieved archive
#   BENCH_THREADS=4 BENCH_CHUNK=8MiB   the daemon's --threads and --chunk-size
#   TMPDIR                      where the work folder goes (needs about 3× the archive); removed at exit
#
# Needs: go, GNU time, python3 (reads the catalog with its sqlite3 module), coreutils, awk.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/bench/lib.sh"

N=${BENCH_DAEMON_FILES:-100000}
MB=${BENCH_DAEMON_MB:-1024}
THREADS=${BENCH_THREADS:-4}
CHUNK=${BENCH_CHUNK:-8MiB}
if [ $# -gt 0 ]; then
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	[ "$1" = -h ] || [ "$1" = --help ]
	exit $?
fi

bench_need_tools time python3 sha256sum head awk grep
bench_init bench-daemon
bench_build
bench_sim_start "$BT/sim"
F=("$FREEZER" "${FC[@]}" --sns-topic "arn:aws:sns:us-east-1:123456789012:freezer-jobs"
	--queue "$SIM_EP/123456789012/freezer-jobs")

# sql DB QUERY — one query's rows, tab-separated.
sql() {
	python3 - "$1" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
for row in db.execute(sys.argv[2]):
    print("\t".join(str(c) for c in row))
PY
}

"${F[@]}" -q vault create bench
"${F[@]}" -q key create --name bench >/dev/null

echo "== catalog: $N files"
bash "$REPO/scripts/bench/gentree.sh" small "$BT/tree" "$N"
bench_run create-many "${F[@]}" -q archive create --vault bench --name many --compression gzip "$BT/tree"
rm -rf "$BT/tree"
bench_run slim "${F[@]}" catalog slim "$BT/slim.db"
full=$(stat -c %s "$BT/freezer.db")
slim=$(stat -c %s "$BT/slim.db")
# Before the first query: a read-only reader (python's sqlite3 with mode=ro) leaves a -wal behind.
[ -e "$BT/freezer.db-wal" ] && echo "WARNING: the catalog still has a write-ahead log; its size is not all in the file" >&2
files=$(sql "$BT/freezer.db" "SELECT count(*) FROM archive_files")
printf 'catalog with %s files: full %s bytes (%.1f MiB), slim %s bytes (%.1f KiB): %.0f times smaller (slim written in %ss)\n' \
	"$files" "$full" "$(awk "BEGIN{print $full/1048576}")" "$slim" "$(awk "BEGIN{print $slim/1024}")" \
	"$(awk "BEGIN{print $full/$slim}")" "$R_WALL"

echo "== retrieval: $MB MiB archive"
mkdir -p "$BT/big"
head -c "$((MB << 20))" /dev/urandom >"$BT/big/random.bin"
bench_run create-big "${F[@]}" -q archive create --vault bench --name big --compression none "$BT/big"
rm -rf "$BT/big"
"${F[@]}" -q archive disconnect bench/big

# The wrapper shell execs freezer, so the pid it writes is the daemon's own (SIGTERM goes to it,
# not to GNU time).
# shellcheck disable=SC2016
"$TIME_BIN" -v -o "$BT/daemon.time" bash -c 'echo $$ >"$0"; exec "$@"' "$BT/daemon.pid" \
	"${F[@]}" daemon >"$BT/daemon.out" 2>"$BT/daemon.err" &
DAEMON_TIME=$!
for _ in $(seq 1 100); do
	grep -q 'daemon started' "$BT/daemon.err" && break
	sleep 0.1
done
"${F[@]}" -q archive retrieve bench/big
for _ in $(seq 1 1200); do
	state=$(sql "$BT/freezer.db" "SELECT executed FROM jobs WHERE action = 'ArchiveRetrieval' AND executed != ''")
	[ -n "$state" ] && break
	sleep 0.5
done
[ -n "$state" ] || {
	echo "the daemon did not install the archive in 10 minutes; its log:" >&2
	tail -n 30 "$BT/daemon.err" >&2
	exit 1
}
kill -TERM "$(cat "$BT/daemon.pid")"
wait "$DAEMON_TIME" || true
bench_parse_time "$BT/daemon.time"

read -r completed executed < <(sql "$BT/freezer.db" \
	"SELECT completed, executed FROM jobs WHERE action = 'ArchiveRetrieval'" | tr '\t' ' ')
read -r created started finished < <(sql "$BT/freezer.db" \
	"SELECT created, started, finished FROM tasks WHERE kind = 'download' AND state = 'done'" | tr '\t' ' ')
python3 - "$completed" "$created" "$started" "$finished" "$executed" <<'PY'
import sys
from datetime import datetime
t = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in sys.argv[1:]]
d = lambda a, b: (t[b] - t[a]).total_seconds()
print(f"job completed → daemon started the download: {d(0, 1):.2f} s")
print(f"download, verify, decrypt (task ran):        {d(2, 3):.2f} s")
print(f"job completed → archive installed:           {d(0, 4):.2f} s")
PY
read -r path sha < <(sql "$BT/freezer.db" "SELECT local_path, sha256 FROM archives WHERE name = 'big'" | tr '\t' ' ')
got=$(sha256sum "$path" | awk '{print $1}')
[ "$got" = "$sha" ] || {
	echo "FAIL: installed file SHA-256 $got, recorded $sha" >&2
	exit 1
}
echo "installed file verified (SHA-256 as recorded at upload); daemon peak RSS ${R_RSS} MiB, CPU ${R_CPU} s"
bench_sim_stop
