#!/bin/sh
# `make soak`: $LDD3_SOAK_CYCLES (default 1000; SOAK_CYCLES=N on the host) load/use/unload
# cycles of each module, each unload racing a busy user:
#   scull   write and read back scull0, then rmmod while a process opens scull0 in a loop
#   scullp  write scullp0, compare a mapping with read(), then rmmod while another process
#           maps and compares it in a loop
#   snull   addresses, links up, one ping, then rmmod while a UDP flood goes through sn0
# A racing rmmod must remove the module or fail with EAGAIN/EBUSY (never hang: 60 s limit);
# the user's failures must be those of a module going away (ENOENT, ENXIO, ENODEV).
# Reports, per module, the cycles and seconds (`ok soak/MODULE`, `# report soak ...`), and the
# active slab objects (/proc/slabinfo) before and after, with the caches that grew most.
# kmemleak is scanned by /init before (boot's suspects cleared) and after the cycles.
LDD3_TEST_TIMEOUT=${LDD3_TEST_TIMEOUT:-86400} # per module: no limit of its own
. "$(dirname "$0")/lib.sh"

CYCLES=${LDD3_SOAK_CYCLES:-1000}
IP=/sbin/ip
SOAK_MODULES=${SOAK_MODULES:-scull scullp snull} # /init: from ldd3.tests

report() { # LINE: to the console and, as `# report LINE`, to the results
	echo "ldd3: $*"
	if [ -n "${LDD3_RESULTS:-}" ]; then echo "# report $*" >>"$LDD3_RESULTS"; fi
}

# Active objects per slab cache, "NAME COUNT" lines.
slab_counts() {
	awk 'NR > 2 { print $1, $2 }' /proc/slabinfo
}

slab_total() { # FILE
	awk '{ s += $2 } END { print s }' "$1"
}

# rmmod MODULE once while something uses it: removed, or refused with EAGAIN/EBUSY.
racing_rmmod() { # MODULE
	_r=$(timeout 60 ldd3test rmmod "$1" 2>&1) || true
	case "$_r" in
	removed) RACE_REMOVED=$((RACE_REMOVED + 1)) ;;
	*errno=EAGAIN* | *errno=EBUSY*) RACE_REFUSED=$((RACE_REFUSED + 1)) ;;
	*) fail "cycle $i: rmmod $1 during use: $_r" ;;
	esac
}

# The module goes: at once, or after retries for a user that holds it for a moment.
final_rmmod() { # MODULE
	_t=0
	while mod_loaded "$1"; do
		_r=$(timeout 60 ldd3test rmmod "$1" 2>&1) || true
		case "$_r" in
		removed) ;;
		*errno=EAGAIN* | *errno=EBUSY*)
			_t=$((_t + 1))
			[ "$_t" -lt 100 ] || fail "cycle $i: rmmod $1 still refused after 100 tries: $_r"
			usleep 10000
			;;
		*) fail "cycle $i: rmmod $1: $_r" ;;
		esac
	done
}

# The racing user's report: only the errors of a device that went away.
user_ok() { # OUTPUT
	for _w in $1; do
		case "$_w" in
		opened=* | ENOENT=* | ENXIO=* | ENODEV=*) ;;
		*) fail "cycle $i: the racing user saw $_w ($1)" ;;
		esac
	done
}

cycle_scull() {
	mod_load scull
	ldd3test run /dev/scull0 wronly write=pattern:20000 >/dev/null
	ldd3test check /dev/scull0 0 20000 pattern:20000 >/dev/null || fail "cycle $i: scull0 data"
	rm -f /tmp/soak.stop
	ldd3test open-loop /dev/scull0 30 rdonly /tmp/soak.stop >/tmp/soak.user 2>&1 &
	_u=$!
	usleep 50000 # the opener is under way
	racing_rmmod scull
	: >/tmp/soak.stop
	wait "$_u" || fail "cycle $i: the opener failed: $(cat /tmp/soak.user)"
	user_ok "$(cat /tmp/soak.user)"
	final_rmmod scull
}

cycle_scullp() {
	mod_load scullp
	ldd3test run /dev/scullp0 wronly write=pattern:65536 >/dev/null
	assert_eq "ok 65536" "$(ldd3test mapcmp /dev/scullp0)" "cycle $i: scullp0 mapping"
	rm -f /tmp/soak.stop
	(
		n=0
		while [ ! -e /tmp/soak.stop ] && [ $n -lt 1000 ]; do
			ldd3test mapcmp /dev/scullp0 >/dev/null 2>/tmp/soak.err || break
			n=$((n + 1))
		done
		echo "opened=$n"
	) >/tmp/soak.user 2>&1 &
	_u=$!
	usleep 50000
	racing_rmmod scullp
	: >/tmp/soak.stop
	wait "$_u"
	# The mapper stops at its first error, which must be the device going away.
	if [ -s /tmp/soak.err ]; then
		grep -qE 'errno=(ENOENT|ENXIO|ENODEV)' /tmp/soak.err || fail "cycle $i: the mapper: $(cat /tmp/soak.err)"
	fi
	final_rmmod scullp
}

cycle_snull() {
	mod_load snull timeout=1000
	for d in sn0 sn1; do
		echo 1 >/proc/sys/net/ipv6/conf/$d/disable_ipv6 2>/dev/null || true
	done
	$IP addr add 192.168.0.1/24 dev sn0 && $IP addr add 192.168.1.2/24 dev sn1 &&
		$IP link set sn0 up && $IP link set sn1 up || fail "cycle $i: setting up sn0/sn1"
	ping -c 1 -W 5 192.168.0.2 >/tmp/soak.ping 2>&1 || fail "cycle $i: ping: $(tail -n 2 /tmp/soak.ping)"
	ldd3test udp-flood 192.168.0.2 9 200 30 >/tmp/soak.user 2>&1 &
	_u=$!
	usleep 20000
	racing_rmmod snull
	final_rmmod snull
	kill "$_u" 2>/dev/null || true
	wait "$_u" 2>/dev/null || true
	[ ! -e /sys/class/net/sn0 ] || fail "cycle $i: sn0 still there after rmmod"
}

soak() { # MODULE
	RACE_REMOVED=0 RACE_REFUSED=0
	if mod_loaded "$1"; then mod_unload "$1"; fi
	t0=$(_t_uptime)
	i=1
	while [ "$i" -le "$CYCLES" ]; do
		"cycle_$1"
		if [ $((i % 50)) -eq 0 ]; then echo "ldd3: soak $1: $i cycles, $(_t_since "$t0") s"; fi
		i=$((i + 1))
	done
	secs=$(_t_since "$t0")
	report "soak $1: $CYCLES cycles in $secs s ($(awk -v s="$secs" -v n="$CYCLES" 'BEGIN { printf "%.3f", s / n }') s per cycle); racing rmmod: $RACE_REMOVED removed, $RACE_REFUSED refused (EAGAIN/EBUSY)"
}

slab_counts >/tmp/soak.slab0
for m in $SOAK_MODULES; do
	test_case "$m" soak "$m"
done
# Freed objects reach the slabs after an RCU grace period or two.
sleep 2
slab_counts >/tmp/soak.slab1
a=$(slab_total /tmp/soak.slab0) b=$(slab_total /tmp/soak.slab1)
report "soak slab: active objects $a before, $b after ($((b - a)))"
grow=$(awk 'NR == FNR { before[$1] = $2; next } { d = $2 - before[$1]; if (d != 0) print d, $1 }' \
	/tmp/soak.slab0 /tmp/soak.slab1 | sort -rn | head -n 5 | awk '{ printf "%s%s %+d", (NR > 1 ? ", " : ""), $2, $1 }')
report "soak slab: largest changes: ${grow:-none}"
# kmemleak: two scans 5 s apart (see /init) find what the cycles leaked; /init scans again and
# prints the report, which fails kernel-log-clean.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	report "soak kmemleak: $(grep -c '^unreferenced object' /sys/kernel/debug/kmemleak) unreferenced objects after the cycles"
fi
true
