# Helpers of the guest benchmark (tests/guest/bench/bench.sh sources this; busybox ash).
#
# A figure is a rate (higher is better): MB/s (10^6 bytes/s), pages/s, packets/s, Mbit/s.
# Every row is measured once per round on each side: "rust" (this project's driver), "ref" (the
# kernel's own equivalent: a tmpfs file, a shared tmpfs mapping, a kernel pipe, a veth pair)
# and, with C modules in /modules/ldd3-c, "c" (the C reference), with modules in /modules/base,
# "base" (this project at another revision, `make bench BENCH_BASE=`). `sample` records one
# figure; `report` prints, for each row, the median of each side over the rounds and the median
# and the spread (min-max) of the per-round ratios rust/ref, rust/C and rust/base. A ratio is taken within a
# round, from figures measured a few seconds apart, so slow phases of the host (TCG runs as
# fast as the host lets it) cancel out of it; the spread shows how far they did not.
# shellcheck shell=sh

SAMPLES=${SAMPLES:-/tmp/bench.samples}
SHM=/dev/shm/bench.dat
IP=/sbin/ip
T=ldd3test

# out LINE: to the console and, as `bench LINE`, to the results port (the table of make bench).
out() {
	echo "$*"
	if [ -n "${LDD3_RESULTS:-}" ]; then echo "bench $*" >>"$LDD3_RESULTS"; fi
}

# note LINE: to the console (stderr: a note from inside $(...) is not taken for a figure) and,
# as `# LINE`, to the results port (kept in results.txt only).
note() {
	echo "$*" >&2
	if [ -n "${LDD3_RESULTS:-}" ]; then echo "# $*" >>"$LDD3_RESULTS"; fi
}

# sample ROW SIDE ROUND VALUE UNIT [REFNAME [NS_PER_CALL]]: record one figure. An empty or
# non-numeric VALUE (a failed run) is reported and not recorded.
sample() {
	case "$4" in
	'' | *[!0-9.]*)
		note "sample $1 | $2 | round $3: no figure (${4:-failed}), not counted"
		return 0
		;;
	esac
	echo "$1|$2|$3|$4|$5|${6:-}|${7:-}" >>"$SAMPLES"
	if [ -n "${LDD3_RESULTS:-}" ]; then echo "sample $1|$2|$3|$4|$5|${6:-}|${7:-}" >>"$LDD3_RESULTS"; fi
}

bytes_of() {
	case "$1" in
	*k) echo $((${1%k} * 1024)) ;;
	*M) echo $((${1%M} * 1048576)) ;;
	*) echo "$1" ;;
	esac
}

# iob write|rewrite|read PATH BS MIB: one `ldd3test iobench` run; prints
# `MB_PER_S NS_PER_CALL`, or nothing when it failed or moved other than MIB MiB.
iob() {
	if [ "$1" != read ]; then
		_o=$($T iobench "$1" "$2" "$3" "$4M" 2>&1)
	else
		_o=$($T iobench read "$2" "$3" 2>&1)
	fi || {
		note "iobench $1 $2 bs=$3: $_o"
		return 0
	}
	_b=$(echo "$_o" | sed -n 's/^bytes=\([0-9]*\) .*/\1/p')
	if [ "$_b" != $(($4 * 1048576)) ]; then
		note "iobench $1 $2 bs=$3: moved '$_b' bytes, expected $(($4 * 1048576)): $_o"
		return 0
	fi
	echo "$_o" | sed -n 's/.* mb_per_s=\([0-9.]*\) ns_per_call=\([0-9]*\).*/\1 \2/p'
}

# io_sample ROW SIDE ROUND REFNAME IOB-ARGS...: `iob`, recorded as a sample in MB/s.
io_sample() {
	_row=$1 _side=$2 _round=$3 _ref=$4
	shift 4
	# shellcheck disable=SC2046
	set -- $(iob "$@")
	sample "$_row" "$_side" "$_round" "${1:-}" MB/s "$_ref" "${2:-}"
}

# profile NAME CMD...: CMD under perf (`make bench PROFILE=1`: /usr/bin/perf in the guest),
# sampled on the cpu-clock (TCG has no PMU), kernel and user; then its hottest symbols, as
# `profile NAME | PERCENT SYMBOL` lines to the results port (build/bench/profile.txt).
PERF=/usr/bin/perf
PROFILE_DATA=/tmp/perf.data
profile() {
	_name=$1
	shift
	[ -x $PERF ] || return 0
	$PERF record -q -e cpu-clock -F 20000 -o $PROFILE_DATA -- "$@" >/dev/null 2>&1 || {
		note "profile $_name: perf record failed"
		return 0
	}
	profile_report "$_name"
}

# profile_wide NAME SECONDS FUNC ARGS...: the whole system under perf for the first SECONDS
# of the shell function FUNC (for work that kernel threads and softirqs do, as pktgen's), then
# its hottest symbols as `profile` prints them.
profile_wide() {
	_name=$1 _s=$2
	shift 2
	[ -x $PERF ] || return 0
	$PERF record -a -q -e cpu-clock -F 20000 -o $PROFILE_DATA -- sleep "$_s" >/dev/null 2>&1 &
	_perf=$!
	"$@" >/dev/null
	wait $_perf || {
		note "profile $_name: perf record failed"
		return 0
	}
	profile_report "$_name"
}

# profile_report NAME: the report of $PROFILE_DATA (see `profile`), then it goes.
profile_report() {
	_name=$1
	$PERF report -i $PROFILE_DATA --stdio --no-children --sort dso,sym --percent-limit 0.7 2>/dev/null |
		sed -n 's/^ *\([0-9.]*%\) *\(.*\)$/\1 \2/p' | head -n "${PROFILE_TOP:-30}" |
		while IFS= read -r _l; do
			echo "profile $_name | $_l"
			if [ -n "${LDD3_RESULTS:-}" ]; then echo "profile $_name | $_l" >>"$LDD3_RESULTS"; fi
		done
	# The hottest instructions of the module's own code (symbol+offset: objdump the .ko), after
	# a line with the modules' share of all samples (`module ip 100.00% of 1234 samples, 5.6% of
	# all`): what the driver's own code (its C helpers included) costs, beside the other's.
	$PERF script -i $PROFILE_DATA -F ip,sym,symoff,dso 2>/dev/null |
		awk '{ all++ } /\(\[[a-z0-9_]*\]\)$/ && !/kernel.kallsyms/ { n[$2]++; t++ }
			END { if (t) printf "100.00%% of %d samples, %.1f%% of all\n", t, 100 * t / all
				for (k in n) printf "%5.2f%% %s\n", 100 * n[k] / t, k }' |
		sort -rn | head -n "$((${PROFILE_TOP_IPS:-15} + 1))" |
		while IFS= read -r _l; do
			echo "profile $_name | module ip $_l"
			if [ -n "${LDD3_RESULTS:-}" ]; then echo "profile $_name | module ip $_l" >>"$LDD3_RESULTS"; fi
		done
	rm -f $PROFILE_DATA
}

# mknod_from_proc NAME DIR MINOR:NODE...: the C reference makes no /dev nodes (its scull_load
# script would); make them in DIR from NAME's major number in /proc/devices.
mknod_from_proc() {
	_name=$1 _dir=$2
	shift 2
	_major=$(awk -v n="$_name" '$2 == n { print $1; exit }' /proc/devices)
	[ -n "$_major" ] || {
		note "$_name: not in /proc/devices"
		return 1
	}
	mkdir -p "$_dir"
	for _mn in "$@"; do
		rm -f "$_dir/${_mn#*:}"
		mknod "$_dir/${_mn#*:}" c "$_major" "${_mn%%:*}" || return 1
	done
}

# within_5s CMD...: CMD every 0.1 s until it succeeds, for up to 5 s; fails if it never did.
within_5s() {
	_i=0
	until "$@"; do
		[ "$_i" -lt 50 ] || return 1
		usleep 100000
		_i=$((_i + 1))
	done
}

# wait_node PATH: wait up to 5 s for a device node made by devtmpfs.
wait_node() { within_5s [ -e "$1" ]; }

# side_module SIDE NAME: the path of module NAME.ko of SIDE (rust, base or c); fails if that
# side has none.
side_module() {
	case "$1" in
	rust) _dir=$LDD3_MODULES ;;
	base) _dir=$LDD3_BASE_MODULES ;;
	*) _dir=$LDD3_C_MODULES ;;
	esac
	[ -e "$_dir/$2.ko" ] && echo "$_dir/$2.ko"
}

# wait_gone PATH: wait up to 5 s for devtmpfs to remove a device node of an unloaded module
# (it does so in a thread of its own), so that the next module's node is not taken for it.
wait_gone() { within_5s [ ! -e "$1" ]; }

# unload MODULE: rmmod, retried for a second (a file closed by a process just ended).
unload() {
	_i=0
	while grep -q "^$1 " /proc/modules; do
		rmmod "$1" 2>/dev/null && return 0
		_i=$((_i + 1))
		[ "$_i" -lt 10 ] || {
			note "rmmod $1 failed"
			return 1
		}
		usleep 100000
	done
}

# report [WITH_C [WITH_BASE]]: the tables, from $SAMPLES, against the reference and (if set)
# the C and the base. One line per row, in the order rows were first measured.
report() {
	awk -F'|' -v with_c="${1:-}" -v with_base="${2:-}" '
	function median(list,    n, a, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++) {
			t = a[i] + 0
			for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]
			a[j + 1] = t
		}
		if (n == 0) return ""
		if (n % 2) return a[(n + 1) / 2]
		return (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function minmax(list,    n, a, i, lo, hi) {
		n = split(list, a, " ")
		lo = hi = a[1] + 0
		for (i = 2; i <= n; i++) { if (a[i] + 0 < lo) lo = a[i] + 0; if (a[i] + 0 > hi) hi = a[i] + 0 }
		return sprintf("%.2f-%.2f", lo, hi)
	}
	function count(list,    a) { return split(list, a, " ") }
	function ns(list,    m) { m = median(list); return m == "" ? "" : sprintf("%.0f", m) }
	function fig(v) { return v == "" ? "-" : (v >= 100 ? sprintf("%.0f", v) : sprintf("%.1f", v)) }
	# ratios ROW A B: the per-round ratios A/B, for the rounds that have both.
	function ratios(row, a, b,    r, s) {
		s = ""
		for (r = 1; r <= maxround; r++)
			if ((row, a, r) in v && (row, b, r) in v && v[row, b, r] > 0)
				s = s " " sprintf("%.4f", v[row, a, r] / v[row, b, r])
		return s
	}
	# table OTHER LABEL: rust against side OTHER, named LABEL.
	function table(other, label,    i, row, rc) {
		print ""
		printf "%-22s %-7s %9s %9s %6s %-11s %2s %8s %8s\n", "row", "unit", "rust", label, "rust/" label, "(min-max)", "n", "ns/call", label
		for (i = 1; i <= nrows; i++) {
			row = rows[i]
			rc = ratios(row, "rust", other)
			printf "%-22s %-7s %9s %9s %6s %-11s %2s %8s %8s\n", row, unit[row], fig(median(vals[row, "rust"])),
				fig(median(vals[row, other])), rc == "" ? "-" : sprintf("%.2f", median(rc)), rc == "" ? "" : "(" minmax(rc) ")",
				count(rc), ns(nspc[row, "rust"]), ns(nspc[row, other])
		}
	}
	{
		row = $1; side = $2; r = $3 + 0
		if (!(row in seen)) { seen[row] = 1; rows[++nrows] = row }
		v[row, side, r] = $4; unit[row] = $5
		if ($6 != "") refname[row] = $6
		vals[row, side] = vals[row, side] " " $4
		if ($7 != "") nspc[row, side] = nspc[row, side] " " $7
		if (r > maxround) maxround = r
	}
	END {
		printf "%-22s %-7s %9s  %-11s %9s %6s %-11s %2s %8s %8s\n", "row", "unit", "rust", "reference", "", "ratio", "(min-max)", "n", "ns/call", "ref"
		for (i = 1; i <= nrows; i++) {
			row = rows[i]
			rr = ratios(row, "rust", "ref")
			printf "%-22s %-7s %9s  %-11s %9s %6s %-11s %2s %8s %8s\n", row, unit[row], fig(median(vals[row, "rust"])),
				refname[row], fig(median(vals[row, "ref"])), rr == "" ? "-" : sprintf("%.2f", median(rr)),
				rr == "" ? "" : "(" minmax(rr) ")", count(rr), ns(nspc[row, "rust"]), ns(nspc[row, "ref"])
		}
		if (with_c != "") table("c", "C")
		if (with_base != "") table("base", "base")
	}
' "$SAMPLES"
}

# elapsed_ns CMD...: wall time of CMD in ns (ldd3test time, CLOCK_MONOTONIC); empty on failure.
elapsed_ns() {
	_o=$($T time "$@" 2>/dev/null) || return 0
	echo "$_o" | sed -n 's/^elapsed_ns //p'
}

# mbps BYTES NS: 10^6 bytes per second; empty without NS.
mbps() {
	[ -n "$2" ] && awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f\n", b * 1000 / t }'
}
