#!/usr/bin/env bash
# Takes PNG screenshots of the GUI helper's dialogs: the real freezer-gui
# binary in a real window under Xvfb, on a real freezer mount of the
# simulator (or, with --demo, on the helper's made-up demo data).
#
#   bash gui-helper/scripts/screenshots.sh [--demo] [OUTDIR]
#
# OUTDIR defaults to gui-helper/screenshots. As root on Debian it installs
# what it needs when missing (the Fyne build packages, xvfb, imagemagick,
# fuse3).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$here/.." && pwd)
demo=no
if [ "${1:-}" = "--demo" ]; then demo=yes; shift; fi
out=${1:-$here/screenshots}
mkdir -p "$out"
out=$(cd "$out" && pwd)

need=()
for pair in Xvfb:xvfb import:imagemagick xdotool:xdotool gcc:gcc pkg-config:pkg-config fusermount3:fuse3; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
# `convert` may be a stand-in that is not ImageMagick's.
convert -version 2>/dev/null | grep -q ImageMagick || need+=(imagemagick)
for pkg in libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev; do
	dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing: ${need[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	else
		echo "missing: install the Debian packages ${need[*]}" >&2
		exit 1
	fi
fi

work=$(mktemp -d)
pids=()
mnt=""
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -n "$mnt" ] && mountpoint -q "$mnt" 2>/dev/null; then umount "$mnt" 2>/dev/null || umount -l "$mnt" || true; fi
	rm -rf "$work" /tmp/freezer-screenshots
}
trap cleanup EXIT

echo "== building freezer-gui (cgo; the first build takes minutes)"
(cd "$here" && CGO_ENABLED=1 go build -o "$work/freezer-gui" ./cmd/freezer-gui)
gui=("$work/freezer-gui")

if [ "$demo" = yes ]; then
	gui+=(--demo)
	tree=/home/me/proj
	archive=photos/holiday-2024
else
	echo "== mounting freezer on the simulator"
	(cd "$repo" && CGO_ENABLED=0 go build -o "$work/freezer" ./cmd/freezer)
	home=$work/home mnt=$work/mnt
	mkdir -p "$home" "$mnt"
	F=("$work/freezer" --sim "$work/sim" --database "$home/freezer.db" --data-dir "$home/data")
	(cd "$home" && HOME=$home XDG_CONFIG_HOME=$home/config XDG_DATA_HOME=$home/share \
		exec "${F[@]}" mount --foreground "$mnt") >"$work/mount.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 300); do
		[ -e "$mnt/.control/status.json" ] && break
		kill -0 "${pids[0]}" 2>/dev/null || { cat "$work/mount.log" >&2; echo "freezer mount ended" >&2; exit 1; }
		sleep 0.2
	done
	[ -e "$mnt/.control/status.json" ] || { cat "$work/mount.log" >&2; echo "no mount after 60 s" >&2; exit 1; }
	gui+=(--mount "$mnt")

	# Something to show: a tree with a photo already frozen in an archive,
	# backup files, keys and an exclusion.
	base=/tmp/freezer-screenshots
	rm -rf "$base"
	mkdir -p "$base/pictures" "$base/proj/docs" "$base/proj/cache"
	head -c 250000 /dev/urandom >"$base/pictures/photo.jpg"
	head -c 11000 /dev/urandom >"$base/pictures/sea.jpg"
	cp "$base/pictures/photo.jpg" "$base/proj/photo.jpg"
	printf 'the project\n' >"$base/proj/README.md"
	head -c 11912 /dev/urandom | base64 >"$base/proj/main.go"
	head -c 5000 /dev/urandom >"$base/proj/main.o"
	printf 'old notes\n' >"$base/proj/notes.txt~"
	head -c 8100 /dev/urandom | base64 >"$base/proj/docs/design.txt"
	head -c 7900 /dev/urandom | base64 >"$base/proj/docs/draft.bak"
	head -c 40960 /dev/urandom >"$base/proj/cache/index.bin"
	ctl() { printf '%s\n' "$2" >"$mnt/.control/$1"; }
	ctl ctl 'vault create photos'
	ctl ctl 'vault create projects'
	ctl new-key 'name="home backups"'
	cat "$repo/testdata/keys/valid-aes-128-cbc.json" >"$mnt/.control/keys/import"
	ctl ctl "exclude add $base/proj/cache"
	ctl settings 'region eu-west-1'
	exec 3<>"$mnt/.control/new-archive"
	printf 'photos/holiday-2024 %s description="photos from Crete"\n' "$base/pictures" >&3
	task=$(head -n1 <&3 | sed -n 's/.*task=\([0-9]*\).*/\1/p')
	exec 3>&-
	for _ in $(seq 1 150); do
		tr -d ' \n\t' <"$mnt/.control/status.json" | grep -q "\"id\":$task,[^}]*\"state\":\"done\"" && break
		sleep 0.2
	done
	tree=$base/proj
	archive=photos/holiday-2024
fi

echo "== taking screenshots"
Xvfb -displayfd 4 -screen 0 1280x960x24 -nolisten tcp 4>"$work/display" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$work/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$work/display")"
export FYNE_THEME=light LC_ALL=en_US.UTF-8

# settle waits until the screen shows a window and stays the same (at most
# 60 s); the screen is then in $work/$1-full.png.
settle() {
	local name=$1 pid=$2 prev="" cur="" steady=0
	for _ in $(seq 1 60); do
		sleep 1
		if ! kill -0 "$pid" 2>/dev/null; then cat "$work/$name.log" >&2; echo "freezer-gui ended early ($name)" >&2; exit 1; fi
		import -display "$DISPLAY" -window root "$work/$name-full.png"
		# A black screen means no window yet; the same pixels thrice, drawn.
		[ "$(convert "$work/$name-full.png" -format '%[fx:mean>0.01]' info:)" = 1 ] || continue
		cur=$(convert "$work/$name-full.png" rgb:- | md5sum)
		if [ "$cur" = "$prev" ]; then steady=$((steady + 1)); else steady=0; fi
		prev=$cur
		[ "$steady" -ge 2 ] && return 0
	done
	echo "freezer-gui: the window never settled ($name)" >&2
	exit 1
}

shot() { # NAME [--then XDOTOOL-ARGS --] ARGS...
	local name=$1 then=()
	shift
	if [ "${1:-}" = --then ]; then
		shift
		while [ "$1" != -- ]; do then+=("$1"); shift; done
		shift
	fi
	"${gui[@]}" "$@" >"$work/$name.log" 2>&1 &
	local pid=$!
	settle "$name" "$pid"
	if [ ${#then[@]} -gt 0 ]; then
		xdotool "${then[@]}"
		settle "$name" "$pid"
	fi
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	# The window sits at the top left of a black screen: keep the window.
	convert "$work/$name-full.png" -bordercolor black -border 1 -trim +repage -strip "$out/$name.png"
	echo "$out/$name.png"
}
shot archive-dialog new-archive "$tree"
shot archive-existing archive "$archive"
shot settings-aws settings AWS
# The manual's double click on a key shows its JSON (a throwaway key).
shot settings-encryption --then mousemove 80 139 click --repeat 2 --delay 80 1 -- settings Encryption
shot settings-exclusions settings Exclusions
