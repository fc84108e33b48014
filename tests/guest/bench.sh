#!/bin/sh
# Throughput benchmark, run in the guest by `make bench` on the non-debug kernel.
# For each block size, writes BENCH_MB MiB with dd into a device, reads it back, and does the
# same with a tmpfs file in the same boot; a row gives MB/s (10^6 bytes/s, best of BENCH_REPS
# runs) and the ratio device/tmpfs. Absolute numbers measure the emulator (TCG) as much as the
# driver: compare ratios. Timing: `ldd3test time` (CLOCK_MONOTONIC), else /proc/uptime (10 ms).
# Rows go to the console and, prefixed with `bench `, to the results port; `make bench` prints
# them as a table.
#
# Adding a driver: load its module and call `bench_chardev NAME /dev/NODE` (any device that
# stores what is written and reads it back), or write a function that calls `row`.
. "$(dirname "$0")/lib.sh"

BENCH_MB=${BENCH_MB:-32}
BENCH_REPS=${BENCH_REPS:-3}
BLOCK_SIZES=${BLOCK_SIZES:-"4k 64k 1M"}
TMPFILE=/tmp/bench.dat

out() {
	echo "$*"
	if [ -n "${LDD3_RESULTS:-}" ]; then echo "bench $*" >>"$LDD3_RESULTS"; fi
}

bytes_of() {
	case "$1" in
	*k) echo $((${1%k} * 1024)) ;;
	*M) echo $((${1%M} * 1048576)) ;;
	*) echo "$1" ;;
	esac
}

if ldd3test time true 2>/dev/null | grep -q '^elapsed_ns '; then
	CLOCK="ldd3test time (CLOCK_MONOTONIC)"
	elapsed_ns() {
		_o=$(ldd3test time "$@" 2>/dev/null) || return 1
		echo "$_o" | sed -n 's/^elapsed_ns //p'
	}
else
	CLOCK="/proc/uptime (10 ms resolution: ldd3test not built)"
	elapsed_ns() {
		_t0=$(cut -d' ' -f1 /proc/uptime)
		"$@" 2>/dev/null || return 1
		_t1=$(cut -d' ' -f1 /proc/uptime)
		awk -v a="$_t0" -v b="$_t1" 'BEGIN { d = (b - a) * 1e9; if (d < 1e7) d = 1e7; printf "%d\n", d }'
	}
fi

# best_ns CMD...: the shortest of BENCH_REPS runs, in ns; empty when CMD fails.
best_ns() {
	_best=
	_i=0
	while [ "$_i" -lt "$BENCH_REPS" ]; do
		_ns=$(elapsed_ns "$@") || return 0
		if [ -z "$_best" ] || [ "$_ns" -lt "$_best" ]; then _best=$_ns; fi
		_i=$((_i + 1))
	done
	echo "$_best"
}

mbps() { # BYTES NS
	if [ -z "$2" ]; then echo error; else awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f\n", b * 1000 / t }'; fi
}

# row NAME OP BS MBPS TMPFS_MBPS
row() {
	_ratio=$(awk -v a="$4" -v b="$5" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')
	out "$(printf '%-10s %-5s bs=%-4s %9s MB/s    tmpfs %9s MB/s    ratio %s' "$1" "$2" "$3" "$4" "$5" "$_ratio")"
}

# The tmpfs baseline for one block size, measured once: sets TMPFS_WRITE and TMPFS_READ.
tmpfs_baseline() {
	eval "TMPFS_WRITE=\${tmpfs_w_$1:-} TMPFS_READ=\${tmpfs_r_$1:-}"
	[ -z "$TMPFS_WRITE" ] || return 0
	_bytes=$(bytes_of "$1")
	_count=$((BENCH_MB * 1048576 / _bytes))
	TMPFS_WRITE=$(mbps $((BENCH_MB * 1048576)) "$(best_ns dd if=/dev/zero of=$TMPFILE bs="$1" count=$_count)")
	TMPFS_READ=$(mbps $((BENCH_MB * 1048576)) "$(best_ns dd if=$TMPFILE of=/dev/null bs="$1")")
	rm -f $TMPFILE
	eval "tmpfs_w_$1=\$TMPFS_WRITE tmpfs_r_$1=\$TMPFS_READ"
}

# bench_chardev NAME DEVICE: write then read back BENCH_MB MiB at each block size.
bench_chardev() {
	for bs in $BLOCK_SIZES; do
		tmpfs_baseline "$bs"
		_bytes=$(bytes_of "$bs")
		_count=$((BENCH_MB * 1048576 / _bytes))
		_w=$(mbps $((BENCH_MB * 1048576)) "$(best_ns dd if=/dev/zero of="$2" bs="$bs" count=$_count)")
		_got=$(dd if="$2" bs="$bs" 2>/dev/null | wc -c)
		[ "$_got" = $((BENCH_MB * 1048576)) ] || out "warning: $2 holds $_got bytes after the write, expected $((BENCH_MB * 1048576))"
		_r=$(mbps $((BENCH_MB * 1048576)) "$(best_ns dd if="$2" of=/dev/null bs="$bs")")
		row "$1" write "$bs" "$_w" "$TMPFS_WRITE"
		row "$1" read "$bs" "$_r" "$TMPFS_READ"
	done
}

# bench_pipe NAME DEVICE: BENCH_MB MiB in 64 KiB writes from dd to a `cat` reader through
# DEVICE (the reader opens first, so it sees end of file when the writer closes), next to the
# same through a kernel pipe.
bench_pipe() {
	_bytes=$((BENCH_MB * 1048576))
	_count=$((BENCH_MB * 16))
	_dev=$(mbps $_bytes "$(best_ns sh -c "cat $2 >/dev/null & dd if=/dev/zero of=$2 bs=64k count=$_count 2>/dev/null; wait")")
	_ref=$(mbps $_bytes "$(best_ns sh -c "dd if=/dev/zero bs=64k count=$_count 2>/dev/null | cat >/dev/null")")
	_ratio=$(awk -v a="$_dev" -v b="$_ref" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }')
	out "$(printf '%-10s pipe  bs=64k  %9s MB/s    kernel pipe %9s MB/s    ratio %s' "$1" "$_dev" "$_ref" "$_ratio")"
}

out "kernel $(uname -r), $BENCH_MB MiB per run, best of $BENCH_REPS, clock: $CLOCK"

if [ -e "$LDD3_MODULES/scull.ko" ] && insmod "$LDD3_MODULES/scull.ko" scull_p_buffer=65536; then
	bench_chardev scull0 /dev/scull0
	bench_pipe scullpipe0 /dev/scullpipe0
	rmmod scull
else
	out "scull0: scull.ko not built or not loadable, no rows"
fi
# The other drivers' rows, each from a script of its own (no `.sh`: not a test script).
sh "$(dirname "$0")/bench-scullp"
sh "$(dirname "$0")/bench-snull"
