#!/usr/bin/env bash
# Runs every check and test of freezer: the command the README and CI use.
# On a fresh Debian machine it first installs what the tests need (when run
# as root), then: gofmt, go vet, a CGO_ENABLED=0 build, and go test -race;
# then the GUI helper's module: go vet, its cgo build, and its headless
# tests (CGO_ENABLED=0).
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools the tests call for real: openssl (the recovery recipe), tar, gzip,
# bzip2, pigz and zstd (archives made by other tools), gcc (the race
# detector needs cgo), fusermount3 (mounting as a normal user) and
# getfattr/setfattr (the mount tests read extended attributes as a script
# would); GNU time for the benchmark scripts.
need=()
for pair in openssl:openssl tar:tar gzip:gzip bzip2:bzip2 pigz:pigz zstd:zstd gcc:gcc fusermount3:fuse3 getfattr:attr; do
	cmd=${pair%%:*} pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
# GNU time measures the benchmarks' peak memory (the shell's time keyword cannot).
[ -x /usr/bin/time ] || need+=(time)
# The GUI helper (gui-helper/, Fyne) builds with cgo against X11 and OpenGL
# headers; its end-to-end test mounts freezer (fuse3 for fusermount3).
if command -v dpkg-query >/dev/null 2>&1; then
	for pkg in pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev fuse3; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
	done
fi
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing: ${need[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
	else
		echo "missing tools: install the Debian packages ${need[*]} (or run this as root)" >&2
		exit 1
	fi
fi

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH=$PATH:/usr/local/go/bin
fi
command -v go >/dev/null 2>&1 || { echo "go is not installed: https://go.dev/doc/install (Go 1.26)" >&2; exit 1; }

go mod download

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== go vet"
go vet ./...

echo "== CGO_ENABLED=0 build"
CGO_ENABLED=0 go build -o /dev/null ./cmd/freezer

echo "== go test -race"
go test -race -timeout 60m "$@" ./...

# The GUI helper is a module of its own (cgo stays out of the core binary).
# Its first cgo build takes about 4 minutes (go-gl), then seconds.
echo "== gui-helper: go vet, cgo build of freezer-gui, headless tests"
(
	cd gui-helper
	go mod download
	CGO_ENABLED=0 go vet ./...
	CGO_ENABLED=1 go build -o /dev/null ./cmd/freezer-gui
	# Fyne reads the locale from the environment and warns about a bare "C".
	LC_ALL=en_US.UTF-8 CGO_ENABLED=0 go test -timeout 20m ./...
)
