#!/bin/sh
# The benchmark, run in the guest by `make bench` on the non-debug kernel (tests/guest/init,
# mode bench). Not a test: `make check` runs only /tests/*.sh, and this lives in /tests/bench.
#
# BENCH_ROUNDS rounds; in each, every row is measured on each side in turn (A B A B ...):
# this project's driver, then right after it the kernel's own equivalent, then (with the C
# reference's modules in /modules/ldd3-c, from `make bench LDD3_C=...`) the C driver, loaded
# while the rust one is not (same module, node and interface names), then (with modules in
# /modules/base, from `make bench BENCH_BASE=REV`) this project's driver at revision REV, the
# same way: the rust/base table then says what the changes since REV did. The tables (lib.sh,
# `report`) give for each row the median of each side and the median and min-max of the
# per-round ratios. Under TCG a single run varies by +-20% with the host's load; the medians of
# ratios taken within a round are what tells a few percent apart.
#
# Sizes, from the environment or the kernel command line (make bench passes BENCH_ROUNDS):
#   ldd3.bench_rounds= (7)  ldd3.bench_mb= (32: MiB per read/write figure)
#   ldd3.bench_pkts= (200000)  ldd3.bench_tcp_s= (6)  ldd3.bench_map_mb= (64)
#   ldd3.bench_map_passes= (16: mappings of bench_map_mb faulted in per figure)
#   ldd3.bench_only=scull,scullp,snull (the groups to run)  ldd3.bench_napi=0|1 (snull)
#   ldd3.bench_profile=0|1 (make bench PROFILE=1: after the rounds, each group that has a
#   `<group>_profile_round` runs its rows once more under perf, rust then C)
# By hand in a `make run` guest: `sh /tests/bench/bench.sh` (its figures are from the debug
# kernel there, which says little).
B=$(dirname "$0")
. "$B/lib.sh"
. "$B/scull"
. "$B/scullp"
. "$B/snull"

for arg in $(cat /proc/cmdline); do
	case "$arg" in
	ldd3.bench_rounds=*) BENCH_ROUNDS=${arg#*=} ;;
	ldd3.bench_mb=*) BENCH_MB=${arg#*=} ;;
	ldd3.bench_pkts=*) BENCH_PKTS=${arg#*=} ;;
	ldd3.bench_tcp_s=*) BENCH_TCP_S=${arg#*=} ;;
	ldd3.bench_map_mb=*) MAP_MB=${arg#*=} ;;
	ldd3.bench_map_passes=*) MAP_PASSES=${arg#*=} ;;
	ldd3.bench_only=*) BENCH_ONLY=${arg#*=} ;;
	ldd3.bench_napi=*) SNULL_NAPI=${arg#*=} ;;
	ldd3.bench_profile=*) BENCH_PROFILE=${arg#*=} ;;
	esac
done
BENCH_ROUNDS=${BENCH_ROUNDS:-7}
BENCH_MB=${BENCH_MB:-32}
BENCH_PKTS=${BENCH_PKTS:-200000}
BENCH_TCP_S=${BENCH_TCP_S:-6}
MAP_MB=${MAP_MB:-64}
MAP_PASSES=${MAP_PASSES:-16}
BENCH_ONLY=${BENCH_ONLY:-scull,scullp,snull}
SNULL_NAPI=${SNULL_NAPI:-0}
BENCH_PROFILE=${BENCH_PROFILE:-0}
BLOCK_SIZES=${BLOCK_SIZES:-"4k 64k 1M"}
LDD3_MODULES=${LDD3_MODULES:-/modules}
LDD3_C_MODULES=${LDD3_C_MODULES:-/modules/ldd3-c}
LDD3_BASE_MODULES=${LDD3_BASE_MODULES:-/modules/base}
GROUPS=$(echo "$BENCH_ONLY" | tr , ' ')
rm -f "$SAMPLES"

WITH_C=
if ls "$LDD3_C_MODULES"/*.ko >/dev/null 2>&1; then
	WITH_C=1
	out "C reference: $(cd "$LDD3_C_MODULES" && echo *.ko)$([ -s "$LDD3_C_MODULES/skipped.txt" ] && printf '; skipped: %s' "$(tr '\n' ' ' <"$LDD3_C_MODULES/skipped.txt")")"
else
	out "C reference: none (make bench LDD3_C=/path/to/ldd3 adds it)"
fi
WITH_BASE=
if ls "$LDD3_BASE_MODULES"/*.ko >/dev/null 2>&1; then
	WITH_BASE=1
	out "base: this project's $(cd "$LDD3_BASE_MODULES" && echo *.ko) at revision $(cat "$LDD3_BASE_MODULES/REVISION" 2>/dev/null || echo '?') (make bench BENCH_BASE=)"
fi
for m in scull scullp snull; do
	if grep -q "^$m " /proc/modules; then rmmod $m; fi
done

t0=$(cut -d' ' -f1 /proc/uptime)
case " $GROUPS " in *" snull "*) snull_setup ;; esac
r=1
while [ "$r" -le "$BENCH_ROUNDS" ]; do
	echo "ldd3: bench round $r of $BENCH_ROUNDS (at $(cut -d' ' -f1 /proc/uptime) s)"
	for g in $GROUPS; do
		"${g}_round" rust "$r"
		[ -z "$WITH_C" ] || "${g}_round" c "$r"
		[ -z "$WITH_BASE" ] || "${g}_round" base "$r"
	done
	r=$((r + 1))
done
secs=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.0f", b - a }')
if [ "$BENCH_PROFILE" = 1 ]; then
	for g in $GROUPS; do
		command -v "${g}_profile_round" >/dev/null || continue
		"${g}_profile_round" rust
		[ -z "$WITH_C" ] || "${g}_profile_round" c
	done
fi
# After the profiles: snull's profile runs over the veth pair too.
case " $GROUPS " in *" snull "*) snull_teardown ;; esac

out "kernel $(uname -r); $BENCH_ROUNDS rounds in $secs s; read/write $BENCH_MB MiB per figure (ldd3test iobench), faults over $MAP_PASSES x $MAP_MB MiB, pktgen $BENCH_PKTS frames, iperf3 ${BENCH_TCP_S} s; snull use_napi=$SNULL_NAPI"
out "figures: medians over the rounds; ratio: median (min-max) of the per-round ratios, higher is better for rust"
report "$WITH_C" "$WITH_BASE" | while IFS= read -r line; do out "$line"; done
