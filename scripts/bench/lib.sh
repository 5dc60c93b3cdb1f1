# shellcheck shell=bash
# Helpers shared by scripts/bench.sh, scripts/bench-sim.sh and scripts/bench-plan.sh.
# Sourced, never run. The caller sets `set -euo pipefail` before sourcing.
#
# What it gives:
#   bench_init NAME          temp folder in $BT (removed at exit, with any simulator stopped),
#                            repository root in $REPO, `uptime` printed
#   bench_need_tools CMD...  fail naming the Debian packages to install for missing commands
#   bench_build              CGO_ENABLED=0 build of freezer into $BT/freezer ($FREEZER)
#   bench_run NAME CMD...    run CMD as its own process under `/usr/bin/time -v`; its stdout and
#                            stderr go to $BT/NAME.out and $BT/NAME.err; then sets
#                            R_WALL (s), R_RSS (MiB), R_CPU (user+sys s), R_PCT (CPU %)
#                            and keeps them as $BT/NAME.res; a failing CMD ends the script
#   bench_sim_start / bench_sim_stop
#                            `freezer sim` as its own process under `/usr/bin/time -v`; sets
#                            $SIM_EP and $FC (the client flags); bench_sim_stop sends SIGTERM and
#                            fills R_* for the simulator
#   bench_sink_start / bench_sink_stop
#                            a loopback HTTP sink (perl) that reads request bodies and throws them
#                            away, for timing a plain send (curl -T) beside freezer's uploads;
#                            sets $SINK_URL
#   bench_drop_caches        drop the page cache when permitted; sets $DROPPED (yes/no + why)
#   bench_sim_hwm            the simulator's peak RSS so far (VmHWM), for figures per stage
#   bench_sim_cpu            the simulator's CPU seconds so far (user+sys), for figures per stage
#   small helpers: bench_mbs BYTES SECONDS, bench_mib BYTES, bench_lt/bench_le A B, bench_res NAME

TIME_BIN=${TIME_BIN:-/usr/bin/time}

bench_init() {
	REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	# A folder for everything: the tree, the catalog, the simulator's state. TMPDIR picks the
	# disk (the 2 GiB runs need about 10 GiB free there).
	BT=$(mktemp -d "${TMPDIR:-/tmp}/freezer-$1.XXXXXX")
	SIM_SHELL_PID=
	SIM_TIME_PID=
	SINK_PID=
	trap bench_cleanup EXIT
	trap 'echo "interrupted: cleaning up" >&2; exit 130' INT
	trap 'echo "terminated: cleaning up" >&2; exit 143' TERM
	echo "== $1 — $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, work folder $BT"
	echo "load at start: $(bench_uptime)"
}

bench_cleanup() {
	local rc=$?
	# The simulator may have started without the script learning its pid yet.
	if [ -z "${SIM_SHELL_PID:-}" ] && [ -n "${SIM_TIME_PID:-}" ] && [ -s "$BT/sim.pid" ]; then
		SIM_SHELL_PID=$(cat "$BT/sim.pid")
	fi
	if [ -n "${SIM_SHELL_PID:-}" ] && kill -0 "$SIM_SHELL_PID" 2>/dev/null; then
		kill -TERM "$SIM_SHELL_PID" 2>/dev/null || true
		wait "$SIM_TIME_PID" 2>/dev/null || true
	fi
	bench_sink_stop
	if [ -n "${BT:-}" ] && [ -d "$BT" ]; then
		rm -rf "$BT"
	fi
	exit "$rc"
}

# bench_need_tools CMD... — each CMD maps to the Debian package that provides it.
bench_need_tools() {
	local missing=() cmd pkg
	for cmd in "$@"; do
		case $cmd in
		time) pkg='time' ;;
		pigz) pkg=pigz ;;
		openssl) pkg=openssl ;;
		tar) pkg=tar ;;
		sha256sum | head | tail | sort | stat | df | du | dd | wc | nproc | cmp | cat | tee | sync) pkg=coreutils ;;
		curl) pkg=curl ;;
		perl) pkg=perl-base ;;
		find | xargs) pkg=findutils ;;
		awk) pkg=mawk ;;
		grep) pkg='grep' ;;
		sed) pkg='sed' ;;
		diff) pkg=diffutils ;;
		getfattr | setfattr) pkg=attr ;;
		fusermount3) pkg=fuse3 ;;
		*) pkg=$cmd ;;
		esac
		if [ "$cmd" = time ]; then
			# bash's `time` keyword is no substitute: it has no peak RSS.
			[ -x "$TIME_BIN" ] && "$TIME_BIN" --version 2>&1 | grep -q GNU && continue
		else
			command -v "$cmd" >/dev/null 2>&1 && continue
		fi
		missing+=("$pkg")
	done
	if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
		export PATH=$PATH:/usr/local/go/bin
	fi
	if [ ${#missing[@]} -gt 0 ]; then
		local uniq=() p q seen
		for p in "${missing[@]}"; do
			seen=
			for q in "${uniq[@]}"; do [ "$p" = "$q" ] && seen=1; done
			[ -n "$seen" ] || uniq+=("$p")
		done
		echo "missing tools: install the Debian packages ${uniq[*]} (as root: apt-get install -y ${uniq[*]})" >&2
		case " ${uniq[*]} " in *" time "*) echo "  (the package 'time' is GNU time, /usr/bin/time -v: the shell's time keyword has no peak RSS)" >&2 ;; esac
		exit 1
	fi
	command -v go >/dev/null 2>&1 || {
		echo "go is not installed: https://go.dev/doc/install (Go 1.26)" >&2
		exit 1
	}
}

bench_build() {
	FREEZER=$BT/freezer
	echo "building freezer (CGO_ENABLED=0) ..."
	(cd "$REPO" && CGO_ENABLED=0 go build -o "$FREEZER" ./cmd/freezer)
	echo "freezer: $("$FREEZER" version 2>/dev/null | head -1)"
}

# bench_parse_time FILE — reads a `/usr/bin/time -v` report into R_*.
bench_parse_time() {
	local f=$1
	R_WALL=$(awk -F': ' '/Elapsed \(wall clock\) time/ { n = split($NF, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; printf "%.2f", s }' "$f")
	R_RSS=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $NF / 1024 }' "$f")
	R_CPU=$(awk -F': ' '/User time \(seconds\)/ { u = $NF } /System time \(seconds\)/ { s = $NF } END { printf "%.2f", u + s }' "$f")
	R_PCT=$(awk -F': ' '/Percent of CPU this job got/ { sub("%", "", $NF); print $NF }' "$f")
	if [ -z "$R_WALL" ] || [ -z "$R_RSS" ]; then
		echo "cannot read the /usr/bin/time report $f:" >&2
		cat "$f" >&2
		exit 1
	fi
}

# bench_run NAME CMD... — CMD runs alone as one process (or one `bash -c` pipeline) under
# /usr/bin/time -v. The exact command is echoed so a figure can be reproduced by hand.
bench_run() {
	local name=$1
	shift
	printf '  %-28s %s\n' "$name" "$(bench_show_cmd "$@")"
	local rc=0
	"$TIME_BIN" -v -o "$BT/$name.time" "$@" >"$BT/$name.out" 2>"$BT/$name.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAILED (exit $rc): $name" >&2
		echo "command: $(bench_show_cmd "$@")" >&2
		echo "--- stderr (last 40 lines):" >&2
		tail -n 40 "$BT/$name.err" >&2
		echo "--- stdout (last 20 lines):" >&2
		tail -n 20 "$BT/$name.out" >&2
		exit 1
	fi
	bench_parse_time "$BT/$name.time"
	printf '%s %s %s %s\n' "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT" >"$BT/$name.res"
	printf '  %-28s %8ss  %8s MiB peak RSS  %7ss CPU (%s)\n' "" "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT"
}

# bench_res NAME — loads R_* of an earlier bench_run.
bench_res() {
	read -r R_WALL R_RSS R_CPU R_PCT <"$BT/$1.res"
}

# bench_show_cmd CMD... — the command as one line, with the work folder shortened to $BT.
bench_show_cmd() {
	local a s='' q="'" plain='^[][A-Za-z0-9_./:=,@%+$-]+$'
	for a in "$@"; do
		a=${a//$BT/\$BT}
		if [[ $a =~ $plain ]]; then
			s+="$a "
		else
			s+="$q${a//$q/$q\\$q$q}$q "
		fi
	done
	printf '%s' "${s% }"
}

# bench_sim_hwm — the simulator's peak RSS so far (VmHWM), in MiB.
bench_sim_hwm() {
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SIM_SHELL_PID/status" 2>/dev/null || echo "?"
}

# bench_sim_cpu — the simulator's CPU seconds so far (user + system).
bench_sim_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$SIM_SHELL_PID/stat" 2>/dev/null || echo 0
}

# bench_sim_start SIMDIR — serves the simulator on a free loopback port, under /usr/bin/time -v
# (the wrapper shell execs freezer, so the pid it writes is the simulator's own).
bench_sim_start() {
	local dir=$1
	mkdir -p "$dir"
	# shellcheck disable=SC2016
	"$TIME_BIN" -v -o "$BT/sim.time" bash -c 'echo $$ >"$0"; exec "$@"' "$BT/sim.pid" \
		"$FREEZER" sim --listen 127.0.0.1:0 --dir "$dir" --job-delay 0 >"$BT/sim.out" 2>"$BT/sim.err" &
	SIM_TIME_PID=$!
	local _
	for _ in $(seq 1 300); do
		if grep -q '^endpoint' "$BT/sim.out" 2>/dev/null; then
			break
		fi
		if ! kill -0 "$SIM_TIME_PID" 2>/dev/null; then
			echo "freezer sim exited at start:" >&2
			cat "$BT/sim.err" >&2
			exit 1
		fi
		sleep 0.1
	done
	SIM_EP=$(awk '$1 == "endpoint" { print $2 }' "$BT/sim.out")
	[ -n "$SIM_EP" ] || {
		echo "freezer sim printed no endpoint in 30 s" >&2
		cat "$BT/sim.err" >&2
		exit 1
	}
	SIM_SHELL_PID=$(cat "$BT/sim.pid")
	local ak sk region
	ak=$(awk '$1 == "access-key" { print $2 }' "$BT/sim.out")
	sk=$(awk '$1 == "secret-key" { print $2 }' "$BT/sim.out")
	region=$(awk '$1 == "region" { print $2 }' "$BT/sim.out")
	echo "simulator: $SIM_EP (pid $SIM_SHELL_PID), state in ${dir//$BT/\$BT}"
	# The secret in the environment, as the README advises (on the command line every process
	# would warn that ps shows it).
	export AWS_SECRET_ACCESS_KEY=$sk
	# shellcheck disable=SC2034 # FC is for the calling script
	FC=(--endpoint "$SIM_EP" --region "$region" --access-key "$ak"
		--database "$BT/freezer.db" --data-dir "$BT/data" --threads "$THREADS" --chunk-size "$CHUNK")
}

# bench_sim_stop — SIGTERM, wait, and R_* become the simulator's figures.
bench_sim_stop() {
	kill -TERM "$SIM_SHELL_PID"
	local rc=0
	wait "$SIM_TIME_PID" || rc=$?
	SIM_SHELL_PID=
	SIM_TIME_PID=
	if [ "$rc" -ne 0 ]; then
		echo "WARNING: freezer sim exited with status $rc on SIGTERM; its log's end:" >&2
		tail -n 20 "$BT/sim.err" >&2
	fi
	bench_parse_time "$BT/sim.time"
	printf '%s %s %s %s\n' "$R_WALL" "$R_RSS" "$R_CPU" "$R_PCT" >"$BT/sim.res"
}

# bench_sink_start — an HTTP/1.1 server on a free loopback port that reads each request's body
# (Content-Length) and answers 200, one connection at a time: what a plain `curl -T FILE` needs.
bench_sink_start() {
	# shellcheck disable=SC2016 # perl's own variables
	perl -e '
use strict; use IO::Socket::INET;
my $l = IO::Socket::INET->new(Listen => 4, LocalAddr => "127.0.0.1", LocalPort => 0, ReuseAddr => 1)
	or die "sink: listen: $!\n";
$| = 1;
print $l->sockport, "\n";
while (my $c = $l->accept) {
	my ($len, $line, $buf) = (0);
	while (defined($line = <$c>)) {
		last if $line =~ /^\r?$/;
		$len = $1 if $line =~ /^content-length:\s*(\d+)/i;
	}
	while ($len > 0) {
		my $n = read($c, $buf, $len > 1048576 ? 1048576 : $len);
		last if !$n;
		$len -= $n;
	}
	print $c "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	close $c;
}' >"$BT/sink.out" 2>"$BT/sink.err" &
	SINK_PID=$!
	local _ port=
	for _ in $(seq 1 100); do
		port=$(head -n 1 "$BT/sink.out" 2>/dev/null || true)
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ] || {
		echo "the loopback sink did not start:" >&2
		cat "$BT/sink.err" >&2
		exit 1
	}
	# shellcheck disable=SC2034 # SINK_URL is for the calling script
	SINK_URL=http://127.0.0.1:$port/
}

bench_sink_stop() {
	if [ -n "${SINK_PID:-}" ]; then
		kill "$SINK_PID" 2>/dev/null || true
		wait "$SINK_PID" 2>/dev/null || true
		SINK_PID=
	fi
}

# bench_drop_caches — so that "cold" means the files come from the disk.
bench_drop_caches() {
	sync
	if [ "$(id -u)" = 0 ] && { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
		# shellcheck disable=SC2034 # DROPPED is for the calling script
		DROPPED=yes
	else
		# shellcheck disable=SC2034
		DROPPED="no (not permitted: run as root outside a restricted container for cold figures)"
	fi
}

bench_bytes_of_tree() {
	find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }'
}

# bench_mbs BYTES SECONDS — decimal MB/s.
bench_mbs() {
	awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / s / 1e6; else print "-" }'
}

bench_mib() {
	awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'
}

# bench_lt A B — true when A < B (decimals).
bench_lt() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'
}

bench_le() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'
}

bench_end() {
	echo "load at end:   $(bench_uptime)"
}

bench_uptime() {
	uptime 2>/dev/null || echo "load average (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
}
