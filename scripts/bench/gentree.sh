#!/usr/bin/env bash
# Generates benchmark trees. Used by scripts/bench.sh and scripts/bench-plan.sh; runs alone too.
#
#   bash scripts/bench/gentree.sh mixed DIR SIZE_MB [SMALL_FILES]
#       about SIZE_MB MiB, like a home folder: SMALL_FILES (default 3000, fewer for small trees)
#       text-like files of 256 B–32 KiB in docs/N/N/ (prose, logs, CSV: gzip shrinks them to
#       about a third); the rest half in large text-like files (text/, up to 64 MiB each, gzip
#       about a third) and half in large random files (media/, like photos and video: gzip
#       cannot shrink them).
#   bash scripts/bench/gentree.sh small DIR N
#       N small text files (0–4 KiB, each different) in DIR/aNN/bNN/cNN/, 100 to a folder.
#
# The content is pseudo-random from a fixed seed (the random files come from /dev/urandom).
# Nothing outside DIR is written.
set -euo pipefail

# text_awk: awk functions that make text-like lines (a made-up vocabulary, so that gzip finds
# the redundancy of real prose, logs and tables but not long repeats).
read -r -d '' TEXT_AWK <<'AWK' || true
function mkvocab(   i, j, w, n) {
	split("ka lo mi ne ru sa te vi do ba fe gu hi jo ke la mo nu pe qui ra si to u ve wa xe yo ze an er in on us", syl, " ")
	for (i = 1; i <= 3000; i++) {
		w = ""; n = 1 + int(rand() * 4)
		for (j = 0; j < n; j++) w = w syl[1 + int(rand() * 35)]
		vocab[i] = w
	}
}
function word() { return vocab[1 + int(rand() * rand() * 3000)] }
function line(   t, n, i, s) {
	t = rand()
	if (t < 0.5) {
		n = 6 + int(rand() * 12); s = word()
		for (i = 1; i < n; i++) s = s " " word()
		return s "."
	}
	if (t < 0.8)
		return sprintf("2024-%02d-%02d %02d:%02d:%02d.%03d %s [%s] %s %s id=%d took=%dms", 1 + int(rand() * 12), 1 + int(rand() * 28), int(rand() * 24), int(rand() * 60), int(rand() * 60), int(rand() * 1000), rand() < 0.9 ? "INFO" : "WARN", word(), word(), word(), int(rand() * 100000), int(rand() * 5000))
	return sprintf("%d,%s,%s,%.2f,%d,%s", int(rand() * 1000000), word(), word(), rand() * 10000, int(rand() * 100), rand() < 0.5 ? "yes" : "no")
}
AWK

mixed() {
	local dir=$1 size_mb=$2 nsmall=${3:-}
	local total=$((size_mb * 1048576))
	if [ -z "$nsmall" ]; then
		# ~16 KiB a file; small files take at most a tenth of a small tree.
		nsmall=$((total / 10 / 16384))
		[ "$nsmall" -le 3000 ] || nsmall=3000
		[ "$nsmall" -ge 10 ] || nsmall=10
	fi
	mkdir -p "$dir/docs" "$dir/text" "$dir/media"

	# Small files: each its own text, written by one awk process.
	local i j
	for i in 0 1 2 3 4 5 6 7 8 9; do for j in 0 1 2 3 4 5 6 7 8 9; do mkdir -p "$dir/docs/$i/$j"; done; done
	awk -v n="$nsmall" -v dir="$dir/docs" "$TEXT_AWK"'
	BEGIN {
		srand(42); mkvocab(); split("txt md csv log conf", ext, " ")
		for (f = 0; f < n; f++) {
			path = sprintf("%s/%d/%d/file-%05d.%s", dir, int(f / 10) % 10, f % 10, f, ext[1 + int(f / 100) % 5])
			want = 256 + int(rand() * rand() * 32512); got = 0
			while (got < want) { l = line(); print l > path; got += length(l) + 1 }
			close(path); bytes += got
		}
		print bytes
	}' >"$dir/.small-bytes"
	local small
	small=$(cat "$dir/.small-bytes")
	rm -f "$dir/.small-bytes"

	# Large files: a 16 MiB text corpus, repeated from a different offset in each text file
	# (gzip's window is 32 KiB, so repeats 16 MiB apart cost it as much as fresh text).
	local rest=$((total - small))
	[ "$rest" -gt 0 ] || return 0
	local half=$((rest / 2))
	local max=$((64 * 1048576))
	local corpus=$dir/text/.corpus
	awk "$TEXT_AWK"'BEGIN { srand(7); mkvocab(); while (got < 16777216) { l = line(); print l; got += length(l) + 1 } }' >"$corpus"
	local n=$(((half + max - 1) / max)) k size off
	size=$((half / n))
	for k in $(seq 1 "$n"); do
		off=$((k * 1048573 % 16000000 + 1))
		{ tail -c +"$off" "$corpus"; while :; do cat "$corpus" || break; done; } 2>/dev/null |
			head -c "$size" >"$dir/text/report-$k.log" || true
		[ "$(stat -c %s "$dir/text/report-$k.log")" -eq "$size" ] || {
			echo "gentree: could not write $dir/text/report-$k.log" >&2
			exit 1
		}
	done
	rm -f "$corpus"
	local rnd=$((rest - half))
	n=$(((rnd + max - 1) / max))
	size=$((rnd / n))
	for k in $(seq 1 "$n"); do
		head -c "$size" /dev/urandom >"$dir/media/video-$k.bin"
	done
}

small() {
	local dir=$1 n=$2
	local a b c
	local ndirs=$(((n + 99) / 100))
	# aNN/bNN/cNN: ten b and ten c folders per a, as many a as needed.
	local dirs=()
	for ((k = 0; k < ndirs; k++)); do
		a=$((k / 100)) b=$((k / 10 % 10)) c=$((k % 10))
		dirs+=("$dir/a$(printf %02d $a)/b$b/c$c")
	done
	printf '%s\0' "${dirs[@]}" | xargs -0 mkdir -p
	awk -v n="$n" -v dir="$dir" "$TEXT_AWK"'
	BEGIN {
		srand(11); mkvocab()
		for (f = 0; f < n; f++) {
			k = int(f / 100)
			path = sprintf("%s/a%02d/b%d/c%d/f%05d.txt", dir, int(k / 100), int(k / 10) % 10, k % 10, f)
			# every file differs: its number first, then 0-4 KiB of text
			printf "file %d\n", f > path
			want = int(rand() * 4096); got = 0
			while (got < want) { l = line(); print l > path; got += length(l) + 1 }
			close(path)
		}
	}'
}

case ${1:-} in
mixed) mixed "$2" "$3" "${4:-}" ;;
small) small "$2" "$3" ;;
*)
	echo "usage: $0 mixed DIR SIZE_MB [SMALL_FILES] | small DIR N" >&2
	exit 2
	;;
esac
