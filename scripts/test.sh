#!/usr/bin/env bash
# Runs every check and test of freezer: the command the README and CI use.
# On a fresh Debian machine it first installs what the tests need (when run
# as root), then: gofmt, go vet, a CGO_ENABLED=0 build, and go test -race.
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
