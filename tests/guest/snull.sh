#!/bin/sh
# snull (LDD3 chapter 17): sn0 and sn1 looped into each other, with the book's addressing:
#   sn0 192.168.0.1/24 (remote0 192.168.0.2 is sn1 seen through the flip)
#   sn1 192.168.1.2/24 (remote1 192.168.1.1 is sn0 seen through the flip)
# iproute2 and ethtool are called as /sbin/ip and /sbin/ethtool (busybox applets come first).
. "$(dirname "$0")/lib.sh"

IP=/sbin/ip
ETHTOOL=/sbin/ethtool
FLOOD_PORT=9
TCP_PORT=5001

# --- helpers ----------------------------------------------------------------------------------

stat_of() { # DEV NAME
	cat "/sys/class/net/$1/statistics/$2"
}


fresh() { # [PARAM=VALUE...]: (re)load snull
	if mod_loaded snull; then mod_unload snull; fi
	mod_load snull "$@"
	[ -d /sys/class/net/sn0 ] || fail "no sn0 after insmod"
	[ -d /sys/class/net/sn1 ] || fail "no sn1 after insmod"
}

no_ipv6() { # before link-up, so that only what the test sends is counted
	for d in sn0 sn1; do
		if [ -e /proc/sys/net/ipv6/conf/$d/disable_ipv6 ]; then
			echo 1 >/proc/sys/net/ipv6/conf/$d/disable_ipv6
		fi
	done
}

setup_ip() {
	$IP addr add 192.168.0.1/24 dev sn0
	$IP addr add 192.168.1.2/24 dev sn1
	$IP link set sn0 up
	$IP link set sn1 up
}

setup_ifconfig() {
	ifconfig sn0 192.168.0.1 netmask 255.255.255.0 up
	ifconfig sn1 192.168.1.2 netmask 255.255.255.0 up
}

# ping_ok ADDR COUNT [PING ARGS...]: COUNT echoes, all answered. Each echo goes out as soon as
# the last reply came back (-A), not a second later, unless the caller gives an interval (-i).
ping_ok() {
	_a=$1 _n=$2
	shift 2
	case " $* " in *" -i "*) _pace= ;; *) _pace=-A ;; esac
	_o=$(ping -c "$_n" -W 5 $_pace "$@" "$_a" 2>&1) || fail "ping $* $_a failed: $(echo "$_o" | tail -n 2 | tr '\n' ' ')"
	assert_contains "$_o" "$_n packets transmitted, $_n packets received, 0% packet loss" "ping $* $_a"
}

all_pings() {
	ping_ok 192.168.0.2 3
	ping_ok 192.168.1.1 3
	# Full frames: 1472 + 8 + 20 + 14 = 1514 bytes.
	ping_ok 192.168.0.2 3 -s 1472
	ping_ok 192.168.1.1 3 -s 1472
}

# The stats invariant: whatever one side sent, the other received (or dropped).
check_wire() {
	assert_eq "$(stat_of sn0 tx_packets)" "$(($(stat_of sn1 rx_packets) + $(stat_of sn1 rx_dropped)))" "sn0 tx_packets = sn1 rx_packets + rx_dropped"
	assert_eq "$(stat_of sn1 tx_packets)" "$(($(stat_of sn0 rx_packets) + $(stat_of sn0 rx_dropped)))" "sn1 tx_packets = sn0 rx_packets + rx_dropped"
	assert_eq "$(estat sn0 tx_interrupts)" "$(($(stat_of sn0 tx_packets) - $(estat sn0 tx_lockups)))" "sn0 tx_interrupts"
	assert_eq "$(estat sn1 rx_interrupts)" "$(stat_of sn0 tx_packets)" "sn1 rx_interrupts"
	assert_eq "$(estat sn0 rx_interrupts)" "$(stat_of sn1 tx_packets)" "sn0 rx_interrupts"
}

# --- cases ------------------------------------------------------------------------------------

t_load() {
	fresh
	assert_eq 00:53:4e:55:4c:30 "$(cat /sys/class/net/sn0/address)" "sn0 MAC"
	assert_eq 00:53:4e:55:4c:31 "$(cat /sys/class/net/sn1/address)" "sn1 MAC"
	for d in sn0 sn1; do
		assert_eq 1 "$(cat /sys/class/net/$d/type)" "$d type (ARPHRD_ETHER)"
		assert_eq 1500 "$(cat /sys/class/net/$d/mtu)" "$d mtu"
		assert_eq ff:ff:ff:ff:ff:ff "$(cat /sys/class/net/$d/broadcast)" "$d broadcast"
		# IFF_BROADCAST | IFF_NOARP | IFF_MULTICAST, down.
		assert_eq 0x1082 "$(cat /sys/class/net/$d/flags)" "$d flags"
		assert_eq down "$(cat /sys/class/net/$d/operstate)" "$d operstate"
		assert_contains "$($IP link show $d)" "NOARP" "ip link show $d"
	done
	mod_unload snull
	[ ! -e /sys/class/net/sn0 ] || fail "sn0 still there after rmmod"
	[ ! -e /sys/class/net/sn1 ] || fail "sn1 still there after rmmod"
}

t_params() {
	if mod_loaded snull; then mod_unload snull; fi
	# Out of range (README: pool_size 1..=1024, timeout >= 1, lockup >= 0): EINVAL, and the
	# kernel log names the parameter and its range.
	for p in pool_size=0:1..=1024 pool_size=1025:1..=1024 pool_size=-1:1..=1024 \
		pool_size=2147483647:1..=1024 timeout=0:1..=2147483647 timeout=-5:1..=2147483647 \
		lockup=-1:0..=2147483647; do
		_range=${p#*:}
		p=${p%%:*}
		kmsg "insmod snull $p"
		_o=$(insmod "$LDD3_MODULES/snull.ko" "$p" 2>&1) && fail "insmod snull $p succeeded"
		assert_contains "$_o" "Invalid argument" "insmod snull $p"
		assert_contains "$(dmesg | sed -n '/ldd3-test: insmod snull '"$p"'$/,$p')" \
			"snull: $p is out of range $_range" "kernel log after insmod snull $p"
		! mod_loaded snull || fail "snull loaded with $p"
		[ ! -e /sys/class/net/sn0 ] || fail "sn0 left behind by insmod $p"
	done
	# Not even an int: the kernel's parameter parser refuses it.
	_o=$(insmod "$LDD3_MODULES/snull.ko" pool_size=4294967296 2>&1) && fail "insmod snull pool_size=4294967296 succeeded"
	assert_contains "$_o" "Invalid argument" "insmod snull pool_size=4294967296"
	! mod_loaded snull || fail "snull loaded with pool_size=4294967296"
	for p in pool_size=1 pool_size=1024; do
		fresh "$p"
		setup_ip
		ping_ok 192.168.0.2 2
		ping_ok 192.168.0.2 2 -s 1472
		mod_unload snull
	done
}

t_ping() { # NAPI
	fresh use_napi="$1"
	# IPv6 frames sent while the peer is still down are lost on the wire, uncounted on the
	# other side: without IPv6, check_wire holds exactly.
	no_ipv6
	setup_ip
	all_pings
	# Replies come from the remote addresses, i.e. the flip happened both ways.
	assert_contains "$(ping -c 1 -W 5 192.168.0.2)" "bytes from 192.168.0.2:" "reply source"
	assert_contains "$(ping -c 1 -W 5 192.168.1.1)" "bytes from 192.168.1.1:" "reply source"
	check_wire
	mod_unload snull
}

t_ifconfig() { # NAPI
	fresh use_napi="$1"
	setup_ifconfig
	assert_contains "$($IP -4 addr show sn0)" "inet 192.168.0.1/24" "sn0 address"
	assert_contains "$($IP -4 addr show sn1)" "inet 192.168.1.2/24" "sn1 address"
	assert_contains "$(ifconfig sn0)" "HWaddr 00:53:4E:55:4C:30" "ifconfig sn0"
	assert_contains "$(ifconfig sn0)" "UP BROADCAST RUNNING NOARP MULTICAST  MTU:1500" "ifconfig sn0"
	all_pings
	mod_unload snull
}

t_ipv6_passes() {
	fresh
	setup_ip
	# sn1's link-local address, reached from sn0: IPv6 must cross the wire unchanged (the
	# IPv4 flip would corrupt its addresses and the ICMPv6 checksum).
	[ -e /proc/sys/net/ipv6/conf/sn0 ] || skip "no IPv6 in this kernel"
	_n=0
	while $IP -6 addr show dev sn1 | grep -q tentative || ! $IP -6 addr show dev sn1 | grep -q 'fe80::253:4eff:fe55:4c31'; do
		[ $_n -lt 50 ] || fail "sn1 link-local address not ready: $($IP -6 addr show dev sn1)"
		_n=$((_n + 1))
		usleep 100000
	done
	while $IP -6 addr show dev sn0 | grep -q tentative; do
		[ $_n -lt 100 ] || fail "sn0 link-local address not ready"
		_n=$((_n + 1))
		usleep 100000
	done
	_o=$(ping6 -c 3 -W 5 -I sn0 fe80::253:4eff:fe55:4c31 2>&1) || fail "ping6 failed: $_o"
	assert_contains "$_o" "3 packets transmitted, 3 packets received, 0% packet loss" "ping6"
	# IPv4 still works next to it.
	ping_ok 192.168.0.2 2
	mod_unload snull
}

t_mtu() {
	fresh
	setup_ip
	for m in 68 576 1500; do
		$IP link set sn0 mtu $m
		$IP link set sn1 mtu $m
		assert_eq $m "$(cat /sys/class/net/sn0/mtu)" "sn0 mtu"
		assert_eq $m "$(cat /sys/class/net/sn1/mtu)" "sn1 mtu"
		# A full frame at this MTU, and a larger ping fragmented to fit. (At MTU 68 a 1472-byte
		# ping becomes 31 fragments whose reassembled truesize exceeds the receive buffer
		# busybox ping sets for itself, ~20 KB: the kernel drops the reply at the socket.)
		ping_ok 192.168.0.2 2 -s $((m - 28))
		if [ $m -ge 576 ]; then
			ping_ok 192.168.1.1 2 -s 1472
		else
			ping_ok 192.168.1.1 2 -s 200
		fi
	done
	for m in 67 1501 0 65535; do
		_o=$($IP link set sn0 mtu $m 2>&1) && fail "ip link set sn0 mtu $m succeeded"
		assert_eq 1500 "$(cat /sys/class/net/sn0/mtu)" "sn0 mtu after refusing $m"
		_o=$(ifconfig sn0 mtu $m 2>&1) && fail "ifconfig sn0 mtu $m succeeded"
		assert_contains "$_o" "Invalid argument" "ifconfig sn0 mtu $m"
		assert_eq 1500 "$(cat /sys/class/net/sn0/mtu)" "sn0 mtu after refusing $m"
	done
	# Busybox ifconfig inside the range.
	ifconfig sn0 mtu 1000
	assert_eq 1000 "$(cat /sys/class/net/sn0/mtu)" "sn0 mtu by ifconfig"
	ping_ok 192.168.0.2 2
	mod_unload snull
}

# The counters of DEV: `ip -s link` and sysfs agree and equal PACKETS and BYTES each way.
counters_are() { # DEV PACKETS BYTES
	for dir in rx tx; do
		assert_eq "$2" "$(stat_of "$1" ${dir}_packets)" "$1 ${dir}_packets"
		assert_eq "$3" "$(stat_of "$1" ${dir}_bytes)" "$1 ${dir}_bytes"
		assert_eq 0 "$(stat_of "$1" ${dir}_errors)" "$1 ${dir}_errors"
		assert_eq 0 "$(stat_of "$1" ${dir}_dropped)" "$1 ${dir}_dropped"
	done
	# ip -s link: the line after "RX:" / "TX:" is "bytes packets errors dropped ...".
	_s=$($IP -s link show "$1")
	_rx=$(echo "$_s" | awk '/^ *RX:/ { getline; print $1, $2, $3, $4; exit }')
	_tx=$(echo "$_s" | awk '/^ *TX:/ { getline; print $1, $2, $3, $4; exit }')
	assert_eq "$3 $2 0 0" "$_rx" "ip -s link show $1 RX bytes packets errors dropped"
	assert_eq "$3 $2 0 0" "$_tx" "ip -s link show $1 TX bytes packets errors dropped"
}

t_counters() { # NAPI
	fresh use_napi="$1"
	no_ipv6
	setup_ip
	counters_are sn0 0 0
	counters_are sn1 0 0
	# 5 echoes of 56 bytes: 5 frames of 14 + 20 + 8 + 56 = 98 bytes each way.
	ping_ok 192.168.0.2 5
	counters_are sn0 5 490
	counters_are sn1 5 490
	# 3 more from sn1's side, full frames of 1514 bytes.
	ping_ok 192.168.1.1 3 -s 1472
	counters_are sn0 8 $((490 + 3 * 1514))
	counters_are sn1 8 $((490 + 3 * 1514))
	assert_eq 8 "$(estat sn0 tx_interrupts)" "sn0 tx_interrupts"
	assert_eq 8 "$(estat sn0 rx_interrupts)" "sn0 rx_interrupts"
	assert_eq 8 "$(estat sn1 tx_interrupts)" "sn1 tx_interrupts"
	assert_eq 8 "$(estat sn1 rx_interrupts)" "sn1 rx_interrupts"
	for d in sn0 sn1; do
		for c in tx_lockups tx_timeouts pool_exhausted; do
			assert_eq 0 "$(estat $d $c)" "$d $c"
		done
	done
	# Down and up again: counters survive.
	$IP link set sn0 down
	$IP link set sn0 up
	$IP addr add 192.168.0.1/24 dev sn0 2>/dev/null || true
	counters_are sn0 8 $((490 + 3 * 1514))
	mod_unload snull
}

t_ethtool() {
	fresh
	_i=$($ETHTOOL -i sn0)
	assert_eq snull "$(echo "$_i" | sed -n 's/^driver: //p')" "ethtool -i driver"
	assert_eq 1.0 "$(echo "$_i" | sed -n 's/^version: //p')" "ethtool -i version"
	_s=$($ETHTOOL -S sn1 | tr -s ' ' | sed 's/^ //')
	assert_eq "NIC statistics:
rx_interrupts: 0
tx_interrupts: 0
tx_lockups: 0
tx_timeouts: 0
pool_exhausted: 0
tx_fragmented: 0
tx_checksummed: 0
tx_super_frames: 0
tx_super_dropped: 0" "$_s" "ethtool -S sn1"
	no_ipv6
	setup_ip
	assert_contains "$($ETHTOOL sn0)" "Link detected: yes" "ethtool sn0"
	ping_ok 192.168.0.2 4
	assert_eq 4 "$(estat sn0 tx_interrupts)" "sn0 tx_interrupts"
	assert_eq 4 "$(estat sn1 rx_interrupts)" "sn1 rx_interrupts"
	assert_eq 4 "$(estat sn1 tx_interrupts)" "sn1 tx_interrupts"
	assert_eq 4 "$(estat sn0 rx_interrupts)" "sn0 rx_interrupts"
	mod_unload snull
}

t_mac() {
	fresh
	# Down: allowed, by ip and by ifconfig.
	$IP link set sn0 address 00:53:4e:55:4c:40
	assert_eq 00:53:4e:55:4c:40 "$(cat /sys/class/net/sn0/address)" "sn0 MAC after ip"
	ifconfig sn0 hw ether 00:53:4e:55:4c:42
	assert_eq 00:53:4e:55:4c:42 "$(cat /sys/class/net/sn0/address)" "sn0 MAC after ifconfig"
	# Multicast and all-zero addresses are refused.
	_o=$($IP link set sn0 address 01:53:4e:55:4c:30 2>&1) && fail "multicast MAC accepted"
	assert_contains "$_o" "Cannot assign requested address" "ip link set sn0 address 01:..."
	_o=$($IP link set sn0 address 00:00:00:00:00:00 2>&1) && fail "zero MAC accepted"
	assert_contains "$_o" "Cannot assign requested address" "ip link set sn0 address 00:..."
	assert_eq 00:53:4e:55:4c:42 "$(cat /sys/class/net/sn0/address)" "sn0 MAC after refusals"
	$IP link set sn0 address 00:53:4e:55:4c:30
	# Up: EBUSY, and the address stays.
	setup_ip
	_o=$($IP link set sn0 address 00:53:4e:55:4c:44 2>&1) && fail "MAC change accepted while up"
	assert_contains "$_o" "Device or resource busy" "ip link set sn0 address while up"
	_o=$(ifconfig sn1 hw ether 00:53:4e:55:4c:45 2>&1) && fail "MAC change accepted while up (ifconfig)"
	assert_contains "$_o" "Device or resource busy" "ifconfig sn1 hw ether while up"
	assert_eq 00:53:4e:55:4c:30 "$(cat /sys/class/net/sn0/address)" "sn0 MAC"
	assert_eq 00:53:4e:55:4c:31 "$(cat /sys/class/net/sn1/address)" "sn1 MAC"
	ping_ok 192.168.0.2 2
	mod_unload snull
}

t_lockup() { # NAPI
	fresh lockup=5 use_napi="$1"
	no_ipv6
	setup_ip
	# 12 echoes: sn0 and sn1 each send 12 frames, losing the TX interrupt of the 5th and 10th.
	ping_ok 192.168.0.2 12 -i 0.2
	sleep 1
	for d in sn0 sn1; do
		assert_eq 12 "$(stat_of $d tx_packets)" "$d tx_packets"
		assert_eq 12 "$(stat_of $d rx_packets)" "$d rx_packets"
		assert_eq 2 "$(estat $d tx_lockups)" "$d tx_lockups"
		assert_eq 2 "$(estat $d tx_timeouts)" "$d tx_timeouts"
		assert_eq 2 "$(stat_of $d tx_errors)" "$d tx_errors"
		assert_eq 10 "$(estat $d tx_interrupts)" "$d tx_interrupts"
	done
	assert_contains "$(dmesg | grep 'sn0: transmit timeout' | tail -n 1)" "sn0: transmit timeout" "kernel log"
	# Recovered: traffic flows again (the 15th frame locks up once more, and recovers).
	ping_ok 192.168.0.2 3
	ping_ok 192.168.1.1 3 -s 1472
	sleep 1
	assert_eq 18 "$(stat_of sn0 tx_packets)" "sn0 tx_packets"
	assert_eq 3 "$(estat sn0 tx_timeouts)" "sn0 tx_timeouts"
	assert_eq 3 "$(stat_of sn0 tx_errors)" "sn0 tx_errors"
	check_wire
	mod_unload snull
}

# Floods sn0 -> sn1 with 60-byte frames from two senders (both CPUs) plus adaptive pings, then
# checks that the pool ran dry, nothing was lost or leaked, and the interfaces still work.
t_pool_flood() { # NAPI POOL
	# A watchdog of 1 s (not 5 jiffies): with one buffer the queue is stopped during every
	# transmission, and a vCPU preempted there for 20 ms (TCG on a busy host) would count as a
	# transmit timeout.
	fresh use_napi="$1" pool_size="$2" timeout=250
	no_ipv6
	setup_ip
	ldd3test udp-flood 192.168.0.2 $FLOOD_PORT 18 4 >"$T_TMP/f1" &
	_f1=$!
	ldd3test udp-flood 192.168.0.2 $FLOOD_PORT 18 4 >"$T_TMP/f2" &
	_f2=$!
	ping -A -c 300 -s 1472 192.168.1.1 >"$T_TMP/p" 2>&1 &
	_p=$!
	wait $_f1 || fail "flood 1 failed"
	wait $_f2 || fail "flood 2 failed"
	wait $_p || true
	echo "flood: $(cat "$T_TMP/f1") / $(cat "$T_TMP/f2"); $(tail -n 2 "$T_TMP/p" | head -n 1)"
	sleep 1
	_ex=$(estat sn0 pool_exhausted)
	echo "sn0: tx_packets $(stat_of sn0 tx_packets) pool_exhausted $_ex; sn1 pool_exhausted $(estat sn1 pool_exhausted)"
	[ "$_ex" -gt 0 ] || fail "sn0 pool never ran out (pool_exhausted 0) under the flood"
	check_wire
	for d in sn0 sn1; do
		assert_eq 0 "$(stat_of $d tx_errors)" "$d tx_errors"
		assert_eq 0 "$(stat_of $d rx_errors)" "$d rx_errors"
		assert_eq 0 "$(estat $d tx_timeouts)" "$d tx_timeouts"
	done
	# Every buffer came back: the queues run and pings go through.
	ping_ok 192.168.0.2 5
	ping_ok 192.168.1.1 5 -s 1472
	mod_unload snull
}

t_rmmod_flood() { # NAPI
	fresh use_napi="$1"
	setup_ip
	ldd3test udp-flood 192.168.0.2 $FLOOD_PORT 18 60 >/dev/null 2>&1 &
	_f1=$!
	ldd3test udp-flood 192.168.1.1 $FLOOD_PORT 1472 60 >/dev/null 2>&1 &
	_f2=$!
	ping -A -w 60 192.168.0.2 >/dev/null 2>&1 &
	_p=$!
	sleep 2
	_before=$(stat_of sn0 tx_packets)
	[ "$_before" -gt 100 ] || fail "the flood did not start: sn0 tx_packets $_before"
	mod_unload snull
	! mod_loaded snull || fail "snull still loaded"
	[ ! -e /sys/class/net/sn0 ] || fail "sn0 still there after rmmod"
	[ ! -e /sys/class/net/sn1 ] || fail "sn1 still there after rmmod"
	kill $_f1 $_f2 $_p 2>/dev/null || true
	wait $_f1 $_f2 $_p 2>/dev/null || true
	# And it comes back.
	fresh use_napi="$1"
	setup_ip
	ping_ok 192.168.0.2 2
	mod_unload snull
}

t_tcp() { # NAPI
	fresh use_napi="$1"
	no_ipv6
	setup_ip
	head -c 4194304 /dev/urandom >"$T_TMP/tx"
	rm -f "$T_TMP/rx" "$T_TMP/fifo"
	mkfifo "$T_TMP/fifo"
	# The server listens on every address; sn1's 192.168.1.2 is reached from sn0 as
	# 192.168.0.2. Its stdin is a FIFO held open, so it never half-closes on its own.
	nc -l -p $TCP_PORT <"$T_TMP/fifo" >"$T_TMP/rx" &
	_srv=$!
	exec 3>"$T_TMP/fifo"
	_n=0
	until netstat -ltn 2>/dev/null | grep -q ":$TCP_PORT "; do
		[ $_n -lt 50 ] || fail "nc did not listen"
		_n=$((_n + 1))
		usleep 100000
	done
	nc 192.168.0.2 $TCP_PORT <"$T_TMP/tx" || fail "nc client failed"
	wait $_srv || fail "nc server failed"
	exec 3>&-
	assert_eq "$(wc -c <"$T_TMP/tx")" "$(wc -c <"$T_TMP/rx")" "bytes received"
	assert_eq "$(sha256sum <"$T_TMP/tx")" "$(sha256sum <"$T_TMP/rx")" "sha256"
	rm -f "$T_TMP/tx" "$T_TMP/rx" "$T_TMP/fifo"
	[ "$(stat_of sn0 tx_bytes)" -gt 4194304 ] || fail "sn0 tx_bytes $(stat_of sn0 tx_bytes): the data did not go through sn0"
	# Partly in super-frames (TSO): how many depends on the pace TCP finds (at a slow pace it
	# sends segments one or two at a time) and on how nc writes; offloads checks they come.
	echo "tcp: sn0 sent $(stat_of sn0 tx_packets) frames, $(estat sn0 tx_super_frames) of them super-frames"
	assert_eq 0 "$(estat sn0 tx_super_dropped)" "sn0 tx_super_dropped"
	check_wire
	mod_unload snull
}

# ethtool -k DEV FEATURE: on or off (with " [fixed]" if it cannot be changed).
feature() {
	_v=$($ETHTOOL -k "$1" | sed -n "s/^[[:space:]]*$2: //p")
	[ -n "$_v" ] || fail "ethtool -k $1 has no $2"
	echo "$_v"
}

# csum_ok MODE BYTES [--gro]: MODE (csum-check udp, udp-corked, tcp) sends BYTES from sn0 to
# sn1's 192.168.1.2 (as 192.168.0.2); every frame sn1 receives must carry a right TCP/UDP
# checksum. The receiving stack trusts snull (CHECKSUM_UNNECESSARY), so only a capture shows
# them; sn1's GRO is off for it (a merged packet carries only the pseudo-header sum), unless
# --gro, which counts merged packets apart. Leaves the output in $_o.
csum_ok() {
	_o=$(ldd3test csum-check "$1" 192.168.0.2 $TCP_PORT "$2" sn1 $3 2>&1) || fail "csum-check $1 $2 $3: $_o"
	echo "csum-check $1 $2 $3: $_o"
	assert_contains "$_o" " bad=0 " "csum-check $1 $2 $3"
	assert_contains "$_o" " received=$2" "csum-check $1 $2 $3"
}

# Scatter-gather and checksum offload: on by default and toggleable; with them the stack
# hands over fragmented skbs with the checksum left to the device, which snull's copy fills
# in; without them it does both itself. Either way the checksums on the wire are right
# (after the address flip too: the book's 192.168.0.1 -> 192.168.0.2 changes the
# pseudo-header sum by 0x200, which the "hardware" fixes up).
t_offloads() { # NAPI
	fresh use_napi="$1"
	for d in sn0 sn1; do
		assert_eq on "$(feature $d scatter-gather)" "$d scatter-gather"
		assert_eq on "$(feature $d tx-checksumming)" "$d tx-checksumming"
		assert_eq on "$(feature $d tx-checksum-ip-generic)" "$d tx-checksum-ip-generic"
		assert_eq on "$(feature $d tx-scatter-gather)" "$d tx-scatter-gather"
		assert_eq on "$(feature $d highdma)" "$d highdma"
		assert_eq on "$(feature $d tcp-segmentation-offload)" "$d tcp-segmentation-offload"
	done
	no_ipv6
	setup_ip
	$ETHTOOL -K sn1 gro off >/dev/null || fail "ethtool -K sn1 gro off"
	# Segments only (the stack's GSO), until the TSO part at the end.
	$ETHTOOL -K sn0 tso off >/dev/null || fail "ethtool -K sn0 tso off"
	assert_eq off "$(feature sn0 tcp-segmentation-offload)" "sn0 tcp-segmentation-offload after -K"
	# One datagram: linear, its checksum left to the device.
	csum_ok udp 1400
	assert_eq 1 "$(estat sn0 tx_checksummed)" "sn0 tx_checksummed after one datagram"
	assert_eq 0 "$(estat sn0 tx_fragmented)" "sn0 tx_fragmented after one datagram"
	# A datagram built with MSG_MORE: its pieces in page fragments, checksummed by the stack.
	csum_ok udp-corked 1400
	assert_eq 1 "$(estat sn0 tx_fragmented)" "sn0 tx_fragmented after a corked datagram"
	assert_eq 1 "$(estat sn0 tx_checksummed)" "sn0 tx_checksummed after a corked datagram"
	# TCP: segments in page fragments (GSO), checksums left to the device.
	_frag=$(estat sn0 tx_fragmented)
	_sum=$(estat sn0 tx_checksummed)
	csum_ok tcp 1048576
	_frag=$(($(estat sn0 tx_fragmented) - _frag))
	_sum=$(($(estat sn0 tx_checksummed) - _sum))
	echo "tcp: sn0 sent $_frag fragmented, $_sum checksummed by the copy"
	# 1 MiB is at least 719 full segments.
	[ "$_frag" -ge 700 ] || fail "only $_frag fragmented frames for 1 MiB of TCP"
	[ "$_sum" -ge 700 ] || fail "only $_sum frames checksummed by the copy for 1 MiB of TCP"
	# Off: the stack linearises and checksums; snull's counters stand still, checksums are
	# still right.
	$ETHTOOL -K sn0 sg off tx off >/dev/null || fail "ethtool -K sn0 sg off tx off"
	assert_eq off "$(feature sn0 scatter-gather)" "sn0 scatter-gather after -K"
	# TSO needs both: it cannot be turned on without them.
	$ETHTOOL -K sn0 tso on >/dev/null 2>&1 || true
	assert_eq off "$(feature sn0 tcp-segmentation-offload)" "sn0 tcp-segmentation-offload without sg"
	# Not wanted either, or it comes back with sg below.
	$ETHTOOL -K sn0 tso off >/dev/null || fail "ethtool -K sn0 tso off"
	assert_eq off "$(feature sn0 tx-checksumming)" "sn0 tx-checksumming after -K"
	_frag=$(estat sn0 tx_fragmented)
	_sum=$(estat sn0 tx_checksummed)
	csum_ok udp 1400
	csum_ok tcp 262144
	assert_eq "$_frag" "$(estat sn0 tx_fragmented)" "sn0 tx_fragmented with sg off"
	assert_eq "$_sum" "$(estat sn0 tx_checksummed)" "sn0 tx_checksummed with tx off"
	# And on again.
	$ETHTOOL -K sn0 sg on tx on >/dev/null || fail "ethtool -K sn0 sg on tx on"
	assert_eq on "$(feature sn0 scatter-gather)" "sn0 scatter-gather after -K on"
	csum_ok tcp 262144
	[ "$(estat sn0 tx_checksummed)" -gt "$_sum" ] || fail "no checksum offload after tx on"
	# GRO on sn1: in a NAPI poll segments of one flow are merged (napi_gro_receive); through
	# netif_rx never.
	$ETHTOOL -K sn1 gro on >/dev/null || fail "ethtool -K sn1 gro on"
	csum_ok tcp 1048576 --gro
	_merged=$(echo "$_o" | sed -n 's/.* merged=\([0-9]*\) .*/\1/p')
	if [ "$1" = 1 ]; then
		[ "$_merged" -gt 0 ] || fail "no TCP segments merged by GRO on sn1 (NAPI)"
	else
		assert_eq 0 "$_merged" "packets merged by GRO without NAPI"
	fi
	# TSO: the stack hands over TCP super-frames, which go whole to sn1 with the sum of their
	# pseudo-header (as GRO-merged packets do, counted apart by csum-check), their addresses
	# flipped; the segments below MSS-size (the ends of writes, ACKs) still carry right
	# checksums. sn1's GRO off again, so that every long packet is one of sn0's super-frames.
	$ETHTOOL -K sn1 gro off >/dev/null || fail "ethtool -K sn1 gro off"
	$ETHTOOL -K sn0 tso on >/dev/null || fail "ethtool -K sn0 tso on"
	assert_eq on "$(feature sn0 tcp-segmentation-offload)" "sn0 tcp-segmentation-offload after -K on"
	_super=$(estat sn0 tx_super_frames)
	csum_ok tcp 1048576 --gro
	_super=$(($(estat sn0 tx_super_frames) - _super))
	_merged=$(echo "$_o" | sed -n 's/.* merged=\([0-9]*\) .*/\1/p')
	echo "tso: sn0 sent $_super super-frames, sn1 saw $_merged long packets"
	[ "$_super" -gt 0 ] || fail "no super-frames with TSO on"
	assert_eq "$_super" "$_merged" "super-frames sent by sn0 and long packets seen on sn1"
	# 1 MiB in super-frames of under 64 KiB is at least 17 of them.
	[ "$_super" -ge 17 ] || fail "only $_super super-frames for 1 MiB"
	assert_eq 0 "$(estat sn0 tx_super_dropped)" "sn0 tx_super_dropped"
	check_wire
	mod_unload snull
}

# The packet fuzzer (ldd3test fuzz-net, README): 20 s of raw frames, malformed IPv4, IPv6,
# UDP and ICMP while MTU, MAC and links churn; it checks every errno, the counters and a final
# ping itself. The seed is new each run and printed (rerun one with the same seed); its parity
# picks NAPI or netif_rx.
t_fuzz() {
	_seed=$(($(date +%s) % 1000000))
	_napi=$((_seed % 2))
	echo "fuzz-net seed $_seed, use_napi=$_napi"
	# A watchdog of 1 s: a vCPU stalled by TCG must not look like a transmit timeout.
	fresh use_napi=$_napi timeout=250
	setup_ip
	_rc=0
	ldd3test fuzz-net --seed "$_seed" --seconds 20 >"$T_TMP/fuzz" 2>&1 || _rc=$?
	cat "$T_TMP/fuzz"
	[ "$_rc" -eq 0 ] || fail "fuzz-net --seed $_seed (use_napi=$_napi) exit $_rc: $(grep -m 3 FAIL "$T_TMP/fuzz" | tr '\n' ' ')"
	assert_eq "seed=$_seed" "$(head -n 1 "$T_TMP/fuzz")" "first line"
	assert_contains "$(tail -n 1 "$T_TMP/fuzz")" "fuzz-net: ok (seed=$_seed)" "last line"
	# Afterwards, the book's pings still work both ways, full-size too.
	all_pings
	mod_unload snull
}

t_cleanup() {
	if mod_loaded snull; then mod_unload snull; fi
	! mod_loaded snull
}

test_case load t_load
test_case params t_params
for napi in 0 1; do
	test_case ping-ip-napi$napi t_ping $napi
	test_case ping-ifconfig-napi$napi t_ifconfig $napi
	test_case counters-napi$napi t_counters $napi
	test_case lockup-napi$napi t_lockup $napi
	test_case pool-flood-napi$napi t_pool_flood $napi $((napi + 1))
	test_case rmmod-flood-napi$napi t_rmmod_flood $napi
	test_case tcp-napi$napi t_tcp $napi
	test_case offloads-napi$napi t_offloads $napi
done
test_case ipv6-passes t_ipv6_passes
test_case mtu t_mtu
test_case ethtool t_ethtool
test_case mac t_mac
test_case fuzz t_fuzz
test_case cleanup t_cleanup
