#!/bin/sh
# Allocation failures on purpose (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC): each case sweeps one
# operation with /proc/<pid>/fail-nth (`ldd3test nth N OP ...`): the 1st, 2nd, 3rd...
# allocation of the one system call fails, until a call runs without reaching its Nth: every
# allocation on the path failed once. After each failure the case checks that the call failed
# with an expected errno (or succeeded in full), that nothing was left behind or lost, and at
# the end that the module unloads; the final kmemleak scan of `make check` covers leaks.
# The count of failures per path goes to the results as `# faults PATH N` (and the console).
#
# fail-nth counts only in task context. snull's receive runs in the sender's task (netif_rx
# mode: the peer "interrupt" is raised from start_xmit) or in a NAPI poll, which is softirq
# context where nothing can be targeted at one task; the NAPI case therefore makes sn1's NAPI
# threaded (/sys/class/net/sn1/threaded), which runs the same poll in a kernel thread, and
# arms that thread's fail-nth.
. "$(dirname "$0")/lib.sh"

IP=/sbin/ip
DBG=/sys/kernel/debug
MAX_NTH=${MAX_NTH:-20000}
PORT=7777

# --- fault injection settings -----------------------------------------------------------------

fi_attr() { # FAILTYPE FILE VALUE
	echo "$3" >"$DBG/$1/$2" || { echo "cannot set $1/$2"; return 1; }
}

# Only fail-nth injects: probability 0 (no random failures anywhere), failures limited to
# tasks with make-it-fail (none), no messages (verbose=0: no "FAULT_INJECTION" lines or
# stacks in the kernel log). Sleeping allocations and order-0 pages count too.
fi_setup() {
	[ -d "$DBG/failslab" ] || mount -t debugfs debugfs "$DBG" 2>/dev/null || true
	for t in failslab fail_page_alloc; do
		[ -d "$DBG/$t" ] || return 1
		fi_attr $t probability 0 && fi_attr $t task-filter Y && fi_attr $t verbose 0 &&
			fi_attr $t interval 1 && fi_attr $t times -1 && fi_attr $t space 0 &&
			fi_attr $t ignore-gfp-wait N || return 1
	done
	fi_attr fail_page_alloc ignore-gfp-highmem N && fi_attr fail_page_alloc min-order 0
}

# Back to the kernel's defaults.
fi_restore() {
	for t in failslab fail_page_alloc; do
		[ -d "$DBG/$t" ] || continue
		fi_attr $t probability 0
		fi_attr $t task-filter N
		fi_attr $t ignore-gfp-wait Y
		fi_attr $t verbose 2
	done
	fi_attr fail_page_alloc ignore-gfp-highmem Y
	fi_attr fail_page_alloc min-order 1
}

# --- the sweep --------------------------------------------------------------------------------

# sweep PATH ERRNOS CHECK OP ARGS...: runs `ldd3test nth N OP ARGS...` for N = 1, 2, ... (or
# 1, 1 + STEP, 1 + 2 STEP, ... when SWEEP_STEP is set) until
# the call ran without its Nth allocation failing (it must then succeed). A failed call must
# give one of ERRNOS (space separated names). CHECK is called after every call with N and the
# result (`ok ...`, `errno=NAME`, `sigbus`), and once more with `final` and the last result.
# Sets SWEPT to the number of failures injected; prints it and records `# faults PATH N`.
sweep() {
	_s_path=$1 _s_errnos=$2 _s_check=$3
	shift 3
	_s_n=1 _s_did=0
	_s_errs=
	while :; do
		_s_line=$(ldd3test nth "$_s_n" "$@") || fail "$_s_path: ldd3test nth $_s_n $*: $_s_line"
		_s_res=${_s_line#injected=* result=}
		case "$_s_line" in
		"injected=no result=ok"*) break ;;
		"injected=no "*) fail "$_s_path: no failure injected at $_s_n, yet the call gave $_s_res" ;;
		"injected=yes "*) ;;
		*) fail "$_s_path: nth $_s_n: unexpected output '$_s_line'" ;;
		esac
		case "$_s_res" in
		errno=*)
			case " $_s_errnos " in
			*" ${_s_res#errno=} "*) ;;
			*) fail "$_s_path: allocation $_s_n failed the call with ${_s_res#errno=}, expected one of: $_s_errnos" ;;
			esac
			case " $_s_errs " in *" ${_s_res#errno=} "*) ;; *) _s_errs="$_s_errs ${_s_res#errno=}" ;; esac
			;;
		esac
		"$_s_check" "$_s_n" "$_s_res"
		_s_n=$((_s_n + ${SWEEP_STEP:-1}))
		_s_did=$((_s_did + 1))
		[ "$_s_n" -le "$MAX_NTH" ] || fail "$_s_path: still failing after $MAX_NTH allocations"
	done
	"$_s_check" final "$_s_res"
	SWEPT=$_s_did
	echo "faults $_s_path: $SWEPT allocations failed one at a time${SWEEP_STEP:+ (every ${SWEEP_STEP}th point; the path has fewer than $_s_n)} (errnos:${_s_errs:- none}), then it succeeded"
	if [ -n "${LDD3_RESULTS:-}" ]; then echo "# faults $_s_path $SWEPT" >>"$LDD3_RESULTS"; fi
}

# --- what a module leaves behind ----------------------------------------------------------------

# Everything of a module that user space can see: its /dev nodes, /proc files, classes, net
# devices and /sys/module entry.
traces() { # MODULE
	case "$1" in
	scull) _pat='scull[0-9a-z]*' ;;
	scullp) _pat='scullp[0-9]*' ;;
	snull) _pat='sn[0-9]*' ;;
	esac
	# shellcheck disable=SC2086
	for f in /dev/$_pat /proc/$_pat /sys/class/$1 /sys/class/net/$_pat /sys/module/$1; do
		[ -e "$f" ] && echo "$f"
	done
	mod_loaded "$1" && echo "/proc/modules: $1"
	true
}

# insmod_check MODULE N RESULT: after a failed insmod nothing of the module may be left; a
# successful one (even with a failure injected) must give the whole module, which then unloads.
insmod_check() {
	_m=${INSMOD_MODULE}
	case "$2" in
	errno=*)
		_left=$(traces "$_m")
		[ -z "$_left" ] || fail "insmod $_m with allocation $1 failed (${2#errno=}) but left: $(echo $_left)"
		;;
	ok*)
		assert_eq "$INSMOD_TRACES" "$(traces "$_m" | tr '\n' ' ')" "what insmod $_m (allocation $1 failed) made"
		insmod_works "$_m"
		rmmod "$_m" || fail "rmmod $_m after insmod with allocation $1 failed"
		[ -z "$(traces "$_m")" ] || fail "rmmod $_m left: $(traces "$_m" | tr '\n' ' ')"
		;;
	*) fail "insmod $_m: $2" ;;
	esac
}

insmod_works() { # MODULE: the module is usable
	case "$1" in
	scull)
		echo hello >/dev/scull3
		assert_eq hello "$(cat /dev/scull3)" "scull3 after insmod"
		;;
	scullp)
		ldd3test pwrite /dev/scullp3 0 pattern:5000 >/dev/null
		assert_eq "ok 5000" "$(ldd3test mapcmp /dev/scullp3)" "scullp3 mapping after insmod"
		;;
	snull)
		$IP link set sn0 up && $IP link set sn1 up
		assert_eq 1 "$(cat /sys/class/net/sn0/carrier)" "sn0 carrier"
		;;
	esac
}

insmod_sweep() { # MODULE
	INSMOD_MODULE=$1
	if mod_loaded "$1"; then mod_unload "$1"; fi
	# What a normal load shows, to compare with.
	mod_load "$1"
	INSMOD_TRACES=$(traces "$1" | tr '\n' ' ')
	mod_unload "$1"
	[ -z "$(traces "$1")" ] || fail "rmmod $1 left: $(traces "$1" | tr '\n' ' ')"
	# A load passes a thousand or more allocation points (the module loader, sysfs, the
	# driver), each failure costing a load (and, when the load survives it, a check and an
	# unload) of about a second under TCG: every INSMOD_STEP-th point only (all with
	# INSMOD_STEP=1, e.g. by hand in `make run`: INSMOD_STEP=1 sh /tests/faults.sh).
	# ENOBUFS: a net device's registration can also end that way (seen at a failure point past
	# register_netdev; the networking core maps some allocation failures to it).
	# EBUSY (scull) and EINVAL (snull) were each seen once in a sweep, from kernel paths not
	# traced yet (EBUSY is what the module loader answers while a module of the same name is
	# still going away). The check that nothing is left behind applies to them all the same.
	case $1 in snull) _i_errnos="ENOMEM ENOBUFS EBUSY EINVAL" ;; *) _i_errnos="ENOMEM EBUSY" ;; esac
	SWEEP_STEP=${INSMOD_STEP:-10} sweep "insmod-$1" "$_i_errnos" insmod_check insmod "$LDD3_MODULES/$1.ko"
}

case_insmod_scull() { insmod_sweep scull; }
case_insmod_scullp() { insmod_sweep scullp; }
case_insmod_snull() { insmod_sweep snull; }

# --- scull ------------------------------------------------------------------------------------

# Small blocks (quantum 1000, qset 4: a list item per 4000 bytes), so that one write allocates
# quanta, qset arrays and list items.
SCULL_GEOMETRY="scull_quantum=1000 scull_qset=4"
OLD=10000 # bytes on the device before the write (pattern)
NEW=20000 # bytes the write adds

scull_fresh() {
	if mod_loaded scull; then mod_unload scull; fi
	# shellcheck disable=SC2086
	mod_load scull $SCULL_GEOMETRY
}

# The device holds exactly pattern:SIZE.
holds_pattern() { # DEV SIZE WHAT
	assert_eq "$2" "$(ldd3test size "$1")" "$3: size of $1"
	[ "$2" -eq 0 ] || ldd3test check "$1" 0 "$2" "pattern:$2" >/dev/null || fail "$3: $1 does not hold pattern:$2"
}

# Data on the device must be intact after a failed open.
open_check() { # N RESULT (OPEN_DEV holds pattern:OLD)
	holds_pattern "$OPEN_DEV" "$OLD" "open with allocation $1 failed"
}

case_open_scull() {
	scull_fresh
	OPEN_DEV=/dev/scull0
	ldd3test run /dev/scull0 wronly write=pattern:$OLD >/dev/null
	sweep open-scull0 ENOMEM open_check open /dev/scull0 rdwr
	mod_unload scull
}

# write_check N RESULT: WRITE_DEV held pattern:OLD; a write at OLD of pattern bytes stored COUNT
# of them (all, or a prefix when an allocation failed after some progress) or none (errno).
# Then the device is reset for the next round.
write_check() {
	case "$2" in
	ok*) _c=${2#ok } ;;
	*) _c=0 ;;
	esac
	[ "$_c" -le "$NEW" ] || fail "write stored $_c bytes of $NEW"
	[ "$1" = final ] && assert_eq "$NEW" "$_c" "the write without a failure"
	holds_pattern "$WRITE_DEV" $((OLD + _c)) "write with allocation $1 failed ($2)"
	if [ "$_c" -gt 0 ] && [ "$_c" -lt "$NEW" ]; then WRITE_PARTIAL=$((WRITE_PARTIAL + 1)); fi
	ldd3test run "$WRITE_DEV" wronly write=pattern:$OLD >/dev/null
}

write_sweep() { # PATH DEV
	WRITE_DEV=$2 WRITE_PARTIAL=0
	ldd3test run "$WRITE_DEV" wronly write=pattern:$OLD >/dev/null
	sweep "$1" ENOMEM write_check write "$WRITE_DEV" rdwr $OLD pattern:$NEW
	echo "$1: $WRITE_PARTIAL of them ended the write early with a partial count"
}

case_write_scull() {
	scull_fresh
	write_sweep write-scull0 /dev/scull0
	mod_unload scull
}

# --- scullpipe ----------------------------------------------------------------------------------

pipe_size() { # the buffer size /proc/scullpipe shows for scullpipe0
	awk '/Buffer: size/ { sub(",", "", $3); print $3; exit }' /proc/scullpipe
}

# pipe_open_check N RESULT: a reader opened before the (failed) writer open must not see end of
# file, nor lose the data in the pipe.
pipe_open_check() {
	_o=$(ldd3test run /dev/scullpipe0 rdonly,nonblock read1=5 try:read1=10 | tr '\n' ' ')
	assert_eq "read1=hello read1 errno=EAGAIN " "$_o" "a reader after an open with allocation $1 failed"
	printf hello >/dev/scullpipe0
}

case_open_scullpipe() {
	scull_fresh
	# Data in the pipe survives failed opens.
	printf hello >/dev/scullpipe0
	sweep open-scullpipe0 ENOMEM pipe_open_check open /dev/scullpipe0 rdonly,nonblock
	assert_eq "read1=hello" "$(ldd3test run /dev/scullpipe0 rdonly,nonblock read1=10)" "the pipe after the sweep"
	mod_unload scull
}

# A reader open while a writer's open fails: the pipe has had no writer, so the reader must
# still get EAGAIN (not end of file) from an empty pipe, and poll must not say POLLHUP.
READER_OUT=/tmp/faults.reader
pipe_writer_check() {
	: >/tmp/faults.go
	wait_exit "$READER_PID" 10
	_o=$(tr '\n' ' ' <$READER_OUT)
	case "$2" in
	errno=*)
		# The pipe never had a writer: an empty pipe is EAGAIN, not end of file.
		assert_contains "$_o" "read1 errno=EAGAIN" "a reader open while a writer open failed at allocation $1"
		case "$_o" in *POLLHUP*) fail "poll says POLLHUP to a reader after a writer open failed at allocation $1: $_o" ;; esac
		;;
	esac
	[ "$1" = final ] || reader_start
}

reader_start() {
	rm -f /tmp/faults.ready /tmp/faults.go
	ldd3test run /dev/scullpipe0 rdonly,nonblock touch=/tmp/faults.ready waitfor=/tmp/faults.go \
		try:read1=10 poll=0 >$READER_OUT 2>&1 &
	READER_PID=$!
	wait_for /tmp/faults.ready 10
}

case_open_scullpipe_writer() {
	scull_fresh
	reader_start
	sweep open-scullpipe0-writer ENOMEM pipe_writer_check open /dev/scullpipe0 wronly,nonblock
	mod_unload scull
}

pipe_write_check() { # N RESULT: one write of 1000 bytes into an empty pipe
	case "$2" in
	"ok 1000") assert_eq "readhex=$PIPE_HEX" "$(ldd3test run /dev/scullpipe0 rdonly,nonblock readhex=1000)" \
		"the pipe after the write (allocation $1 failed)" ;;
	errno=*) assert_eq "read1 errno=EAGAIN" "$(ldd3test run /dev/scullpipe0 rdonly,nonblock try:read1=10)" \
		"the pipe after a failed write" ;;
	*) fail "write of 1000 bytes into an empty pipe gave $2" ;;
	esac
}

case_write_scullpipe() {
	scull_fresh
	PIPE_HEX=$(printf '5a%.0s' $(seq 1000))
	sweep write-scullpipe0 ENOMEM pipe_write_check write /dev/scullpipe0 wronly,nonblock 0 fill:0x5a:1000
	# The bytes go straight from user space into the ring: a write allocates nothing.
	[ "$SWEPT" = 0 ] || fail "a write to scullpipe0 allocated $SWEPT times"
	mod_unload scull
}

# SCULL_P_IOCTSIZE sets the buffer size of later opens; the reopen allocates it (only when the
# pipe is empty: data in the pipe keeps its buffer). A failed allocation keeps the old buffer.
# (The open may fail after the resize: kvmalloc falls back to vmalloc when kmalloc fails, and a
# later allocation of the open fails; the pipe is empty, so the new size loses nothing.)
resize_check() { # N RESULT
	case "$2" in
	errno=*)
		_sz=$(pipe_size)
		[ "$_sz" = "$RESIZE_OLD" ] || [ "$_sz" = "$RESIZE_WANT" ] ||
			fail "buffer size $_sz after a reopen with allocation $1 failed (old $RESIZE_OLD, asked $RESIZE_WANT)"
		;;
	ok) assert_eq "$RESIZE_WANT" "$(pipe_size)" "buffer size after the reopen (allocation $1 failed)" ;;
	*) fail "reopen: $2" ;;
	esac
}

case_resize_scullpipe() {
	scull_fresh
	: </dev/scullpipe0 # allocates the default buffer
	RESIZE_OLD=$(pipe_size)
	RESIZE_WANT=$((RESIZE_OLD * 4))
	ldd3test ioctl /dev/scullpipe0 P_IOCTSIZE $RESIZE_WANT >/dev/null
	# The ioctl's own open and this one allocated nothing new: the pipe is empty, so the next
	# open resizes.
	sweep resize-scullpipe0 ENOMEM resize_check open /dev/scullpipe0 rdonly,nonblock
	# The new buffer works: fill it up to its capacity.
	_n=$((RESIZE_WANT - 1))
	assert_eq "write=$_n" "$(ldd3test run /dev/scullpipe0 rdwr,nonblock write=fill:0x5a:$_n)" "fill the resized pipe"
	assert_eq "read=$(printf 'Z%.0s' $(seq $_n))" "$(ldd3test run /dev/scullpipe0 rdonly,nonblock read=$_n)" "read the resized pipe"
	mod_unload scull
}

# --- scullp -------------------------------------------------------------------------------------

scullp_fresh() {
	if mod_loaded scullp; then mod_unload scullp; fi
	mod_load scullp
}

case_open_scullp() {
	scullp_fresh
	OPEN_DEV=/dev/scullp0
	ldd3test run /dev/scullp0 wronly write=pattern:$OLD >/dev/null
	sweep open-scullp0 ENOMEM open_check open /dev/scullp0 rdwr
	mod_unload scullp
}

case_write_scullp() {
	scullp_fresh
	write_sweep write-scullp0 /dev/scullp0
	mod_unload scullp
}

read_check() { # N RESULT: a read of the whole device (pattern:OLD) into /tmp/faults.read
	case "$2" in
	"ok $OLD") ldd3test check /tmp/faults.read 0 $OLD pattern:$OLD >/dev/null || fail "read with allocation $1 failed gave wrong data" ;;
	errno=*) ;;
	*) fail "read of $OLD bytes with allocation $1 failed gave $2" ;;
	esac
	holds_pattern /dev/scullp0 $OLD "read with allocation $1 failed"
}

case_read_scullp() {
	scullp_fresh
	ldd3test run /dev/scullp0 wronly write=pattern:$OLD >/dev/null
	sweep read-scullp0 ENOMEM read_check read /dev/scullp0 $OLD /tmp/faults.read
	mod_unload scullp
}

MAPLEN=65536
# After a failed mmap the device is intact and no mapping is counted: truncation (an O_WRONLY
# open, refused with EBUSY while mapped) still works at the end.
mmap_check() { # N RESULT
	case "$2" in
	"ok $MAPLEN" | errno=*) ;;
	*) fail "mmap with allocation $1 failed gave $2" ;;
	esac
	holds_pattern /dev/scullp0 $MAPLEN "mmap with allocation $1 failed"
}

case_mmap_scullp() {
	scullp_fresh
	ldd3test run /dev/scullp0 wronly write=pattern:$MAPLEN >/dev/null
	sweep mmap-scullp0 "ENOMEM" mmap_check mmap /dev/scullp0 $MAPLEN
	assert_eq opened "$(ldd3test open-mode /dev/scullp0 wronly)" "truncation after the mmap sweep (no mapping left counted)"
	mod_unload scullp
}

# Page faults on a mapping: a failed page-table or driver allocation either retries the fault
# (the bytes are right) or is a SIGBUS; never wrong data.
fault_check() { # N RESULT
	case "$2" in
	"ok $MAPLEN") ;;
	sigbus) FAULT_SIGBUS=$((FAULT_SIGBUS + 1)) ;;
	*) fail "faults with allocation $1 failed gave $2" ;;
	esac
	holds_pattern /dev/scullp0 $MAPLEN "faults with allocation $1 failed"
}

case_fault_scullp() {
	scullp_fresh
	FAULT_SIGBUS=0
	ldd3test run /dev/scullp0 wronly write=pattern:$MAPLEN >/dev/null
	sweep fault-scullp0 "" fault_check fault /dev/scullp0 $MAPLEN
	echo "fault-scullp0: $FAULT_SIGBUS of them were a SIGBUS"
	assert_eq opened "$(ldd3test open-mode /dev/scullp0 wronly)" "truncation after the fault sweep (no mapping left counted)"
	mod_unload scullp
}

# --- snull ----------------------------------------------------------------------------------------

stat_of() { # DEV NAME
	cat "/sys/class/net/$1/statistics/$2"
}

snull_fresh() { # [PARAM=VALUE...]
	if mod_loaded snull; then mod_unload snull; fi
	mod_load snull timeout=1000 "$@"
	for d in sn0 sn1; do
		echo 1 >/proc/sys/net/ipv6/conf/$d/disable_ipv6 2>/dev/null || true
	done
	$IP addr add 192.168.0.1/24 dev sn0
	$IP addr add 192.168.1.2/24 dev sn1
	$IP link set sn0 up
	$IP link set sn1 up
	# The first datagram makes the route and neighbour entries: not part of the sweep.
	assert_contains "$(ldd3test nth 1000000 send 192.168.0.2 $PORT 200)" "result=ok 200 received=yes" "a first datagram"
}

# Every frame sn0 sent reached sn1 or was counted as dropped there.
check_wire() {
	assert_eq "$(stat_of sn0 tx_packets)" "$(($(stat_of sn1 rx_packets) + $(stat_of sn1 rx_dropped)))" "sn0 tx_packets = sn1 rx_packets + rx_dropped"
}

# send_check N RESULT: a datagram not sent (errno), sent and received, or sent and lost at
# snull's receive allocation: then sn1 counted one more rx_dropped.
send_check() {
	_d=$(stat_of sn1 rx_dropped)
	case "$2" in
	"ok 200 received=yes") ;;
	"ok 200 received=no") SEND_LOST=$((SEND_LOST + 1)) ;;
	errno=*) ;;
	*) fail "datagram with allocation $1 failed: $2" ;;
	esac
	[ "$1" = final ] && assert_eq "ok 200 received=yes" "$2" "the datagram without a failure"
	assert_eq $((SEND_DROPPED0 + SEND_LOST)) "$_d" "sn1 rx_dropped (lost datagrams: $SEND_LOST)"
	check_wire
}

case_tx_snull() {
	snull_fresh
	SEND_LOST=0 SEND_DROPPED0=$(stat_of sn1 rx_dropped)
	# The sender is pinned to one CPU, but a page-fragment refill on the receive side comes
	# every few dozen frames and shifts the points after it by one, which can make the sweep
	# step over the receive allocation: up to three sweeps, each one at every point.
	for _try in 1 2 3; do
		sweep tx-snull "ENOBUFS ENOMEM" send_check send 192.168.0.2 $PORT 200
		[ "$SEND_LOST" -eq 0 ] || break
		echo "tx-snull: sweep $_try did not reach snull's receive allocation"
	done
	echo "tx-snull: $SEND_LOST datagrams lost at sn1's receive (rx_dropped), the others refused by sendto"
	[ "$SEND_LOST" -gt 0 ] || fail "no failure hit snull's receive allocation in three sweeps"
	mod_unload snull
}

case_rx_snull_napi() {
	snull_fresh use_napi=1
	echo 1 >/sys/class/net/sn1/threaded
	_pid=
	for c in /proc/[0-9]*/comm; do
		case "$(cat "$c" 2>/dev/null)" in napi/sn1-*) _pid=${c#/proc/} _pid=${_pid%/comm} ;; esac
	done
	[ -n "$_pid" ] || fail "no NAPI thread for sn1 after threaded=1"
	echo "sn1's NAPI thread: $_pid ($(cat /proc/$_pid/comm))"
	assert_contains "$(ldd3test nth 1000000 send 192.168.0.2 $PORT 200)" "result=ok 200 received=yes" "a datagram through the NAPI thread"
	SEND_LOST=0 SEND_DROPPED0=$(stat_of sn1 rx_dropped)
	# The poll allocates from per-CPU NAPI caches (napi_alloc_skb): the thread allocates
	# only when one runs dry (the sk_buff cache every 16 skbs, the fragment cache every few
	# dozen frames), so most datagrams reach no allocation and end the sweep at once. Sweep
	# again, one datagram each time, until a refill is hit: up to 100 sweeps.
	_try=0 _swept=0 _results=${LDD3_RESULTS:-}
	LDD3_RESULTS=
	while [ "$SEND_LOST" -eq 0 ] && [ "$_try" -lt 100 ]; do
		sweep rx-snull-napi "" send_check --task "$_pid" send 192.168.0.2 $PORT 200
		_try=$((_try + 1)) _swept=$((_swept + SWEPT))
	done
	LDD3_RESULTS=$_results
	if [ -n "$LDD3_RESULTS" ]; then echo "# faults rx-snull-napi $_swept" >>"$LDD3_RESULTS"; fi
	echo "rx-snull-napi: $SEND_LOST datagrams lost at sn1's receive (rx_dropped) in $_try sweeps"
	[ "$SEND_LOST" -gt 0 ] || fail "no failure hit snull's receive allocation in the NAPI poll in $_try sweeps"
	mod_unload snull
}

# tcp_check N RESULT: one write(2) on a new TCP connection through sn0 (TSO on: one super-frame),
# all or some of its bytes taken and every byte taken received, in order, on the other end; a
# super-frame that start_xmit dropped (no memory for the copy of its headers) was sent again.
tcp_check() {
	case "$2" in
	errno=*) ;;
	"ok "*)
		_w=${2#ok } _w=${_w%% *}
		assert_eq "ok $_w received=$_w intact=yes" "$2" "tcp-send with allocation $1"
		;;
	*) fail "tcp-send with allocation $1: $2" ;;
	esac
	[ "$1" = final ] && assert_eq "ok 8192 received=8192 intact=yes" "$2" "the write without a failure"
	check_wire
}

# snull takes a TCP super-frame by reference, copying only its headers, in start_xmit (in the
# sender's task): a failure there drops the frame (tx_super_dropped), and TCP's retransmission
# (from a timer, where nothing is injected) brings it.
case_tso_snull() {
	snull_fresh
	_drops0=$(estat sn0 tx_super_dropped)
	_super0=$(estat sn0 tx_super_frames)
	sweep tso-snull "ENOMEM ENOBUFS" tcp_check tcp-send 192.168.0.2 $PORT 8192
	_drops=$(($(estat sn0 tx_super_dropped) - _drops0))
	_super=$(($(estat sn0 tx_super_frames) - _super0))
	echo "tso-snull: $_super super-frames sent, $_drops dropped by sn0's start_xmit and sent again"
	[ "$_super" -gt 0 ] || fail "no super-frames: the write did not go out in one"
	[ "$_drops" -gt 0 ] || fail "no failure hit the copy of a super-frame's headers"
	mod_unload snull
}

# --- main -----------------------------------------------------------------------------------------

if ! fi_setup; then
	test_case setup skip "no fault injection in this kernel (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)"
	exit 0
fi
[ -e /proc/self/fail-nth ] || { test_case setup skip "no /proc/self/fail-nth"; exit 0; }

test_case insmod-scull case_insmod_scull
test_case insmod-scullp case_insmod_scullp
test_case insmod-snull case_insmod_snull
test_case open-scull0 case_open_scull
test_case write-scull0 case_write_scull
test_case open-scullpipe0 case_open_scullpipe
test_case open-scullpipe0-writer case_open_scullpipe_writer
test_case write-scullpipe0 case_write_scullpipe
test_case resize-scullpipe0 case_resize_scullpipe
test_case open-scullp0 case_open_scullp
test_case write-scullp0 case_write_scullp
test_case read-scullp0 case_read_scullp
test_case mmap-scullp0 case_mmap_scullp
test_case fault-scullp0 case_fault_scullp
test_case tx-snull case_tx_snull
test_case rx-snull-napi case_rx_snull_napi
test_case tso-snull case_tso_snull

fi_restore
for m in scull scullp snull; do
	if mod_loaded $m; then rmmod $m; fi
done
true
