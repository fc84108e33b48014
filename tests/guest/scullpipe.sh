#!/bin/sh
# Guest tests for scullpipe0..3 (LDD3 chapter 6; README.md, "scull").
# Run by the harness as /tests/scullpipe.sh; by hand: `sh /tests/scullpipe.sh`
# (LDD3_CASES='poll*' sh /tests/scullpipe.sh runs a subset).
# shellcheck shell=sh
. "$(dirname "$0")/lib.sh"

T=ldd3test
P=/dev/scullpipe0
F=/tmp/scullpipe.flag # flag files for ldd3test touch=/waitfor= (world-writable /tmp)

# ------------------------------------------------------------------ helpers

# Every case starts on a freshly loaded scull: empty pipes, default sizes.
restore() {
	if mod_loaded scull; then rmmod scull || fail "restore: rmmod scull failed"; fi
	mod_load scull
	wait_for /dev/scullpipe3
	rm -f "$F".*
}

pipe_case() {
	test_case "$1" _pipe_run "$2"
}
_pipe_run() {
	restore
	"$1"
}

# wait_open PID DEV: waits (10 s) until process PID has DEV open.
wait_open() {
	_n=100
	until ls -l "/proc/$1/fd" 2>/dev/null | grep -q "$2\$"; do
		[ "$_n" -gt 0 ] || fail "process $1 did not open $2 within 10 s"
		_n=$((_n - 1))
		usleep 100000
	done
}

# wait_exit PID SECONDS: waits until PID is gone, else kills it and fails.
# still_running PID WHAT: PID must still be alive (i.e. blocked).
still_running() {
	kill -0 "$1" 2>/dev/null || fail "$2: process $1 exited, expected it to block"
}

# flagwait NAME: waits for the flag file $F.NAME.
flagwait() {
	wait_for "$F.$1" 10
}

xs() { # N bytes of 'x'
	head -c "$1" /dev/zero | tr '\0' x
}

# ------------------------------------------------------------------ cases

# Unread data that straddles the end of the ring comes out in one read, as from a kernel pipe.
t_read_across_wrap() {
	assert_eq "ret=0" "$($T ioctl /dev/scull0 P_IOCTSIZE 8)"
	# `hello` takes bytes 0-4 of the 8; once it is read, `abcd` goes to 5, 6, 7 and 0.
	assert_eq "write1=5 read1=hello write1=4 read1=abcd" \
		"$($T run $P rdwr write1=hello read1=5 write1=abcd read1=100 | tr '\n' ' ' | sed 's/ $//')"
	# and a read of fewer bytes than the first run still takes only what it asked for
	assert_eq "write1=6 read1=ab read1=cdef" \
		"$($T run $P rdwr write1=abcdef read1=2 read1=100 | tr '\n' ' ' | sed 's/ $//')"
}

# A reader whose buffer faults in slowly (userfaultfd) holds no lock, only the bytes it copies:
# meanwhile a writer, /proc/scullpipe and poll go on, and a second reader gets EAGAIN (and poll
# does not call the pipe readable for it). Bytes leave the pipe only once they reach the
# reader: nothing is lost or doubled.
t_stalled_read() {
	rm -f "$T_TMP/go"
	$T run $P wronly write1=abc touch=$F.w waitfor=$F.done >/tmp/sp.w 2>&1 &
	w=$!
	flagwait w
	$T stall-copy $P read 100 "$T_TMP/go" >"$T_TMP/stall.out" 2>&1 &
	p=$!
	wait_line "$T_TMP/stall.out" stalled
	within 5 $T run $P wronly write1=def
	within 5 cat /proc/scullpipe
	assert_contains "$(cat "$T_TMP/within.out")" "available 6" "/proc/scullpipe meanwhile"
	within 5 $T run $P rdonly,nonblock poll=0 try:read1=10
	assert_eq "poll=POLLOUT|POLLWRNORM
read1 errno=EAGAIN" "$(cat "$T_TMP/within.out")" "a second reader meanwhile"
	touch "$T_TMP/go"
	wait_exit $p 10
	assert_eq "stalled ret=3 data=abc" "$(tr '\n' ' ' <"$T_TMP/stall.out" | sed 's/ $//')" \
		"the stalled read"
	within 5 $T run $P rdonly,nonblock read1=10 try:read1=10
	assert_eq "read1=def
read1 errno=EAGAIN" "$(cat "$T_TMP/within.out")" "the rest, once"
	touch $F.done
	wait_exit $w 5
}

# A writer whose buffer faults in slowly holds no lock either, only the space it fills: the
# pipe shows nothing of its bytes until they are in, a second writer and a reader get EAGAIN,
# and then all of them arrive, once.
t_stalled_write() {
	rm -f "$T_TMP/go"
	$T stall-copy $P write 100 "$T_TMP/go" >"$T_TMP/stall.out" 2>&1 &
	p=$!
	wait_line "$T_TMP/stall.out" stalled
	within 5 cat /proc/scullpipe
	assert_contains "$(cat "$T_TMP/within.out")" "available 0" "/proc/scullpipe meanwhile"
	within 5 $T run $P rdwr,nonblock poll=0 try:write1=abc try:read1=10
	assert_eq "poll=none
write1 errno=EAGAIN
read1 errno=EAGAIN" "$(cat "$T_TMP/within.out")" "a second writer and a reader meanwhile"
	touch "$T_TMP/go"
	wait_exit $p 10
	assert_eq "stalled ret=100" "$(tr '\n' ' ' <"$T_TMP/stall.out" | sed 's/ $//')" "the stalled write"
	within 5 $T run $P rdonly,nonblock read1=200 try:read1=10
	assert_eq "read1=$(printf 'u%.0s' $(seq 100))
read1 errno=EAGAIN" "$(cat "$T_TMP/within.out")" "its bytes, once"
}

t_nodes() {
	grep -qE '^ *[0-9]+ scullp$' /proc/devices || fail "no 'scullp' region in /proc/devices"
	maj=$(stat -c %t /dev/scull0)
	for d in 0 1 2 3; do
		[ -c /dev/scullpipe$d ] || fail "/dev/scullpipe$d is not a character device"
		assert_eq "$maj" "$(stat -c %t /dev/scullpipe$d)" "major of scullpipe$d"
		assert_eq $((d + 4)) "$(stat -c %T /dev/scullpipe$d)" "minor of scullpipe$d (hex)"
	done
	[ ! -e /dev/scullpipe4 ] || fail "/dev/scullpipe4 exists"
}

t_transfer_8mib() {
	dd if=/dev/urandom of=/tmp/sp.src bs=1048576 count=8 2>/dev/null
	want=$(sha256sum </tmp/sp.src | cut -d' ' -f1)
	# 64 KiB writes, cat's reads
	cat $P >/tmp/sp.dst &
	r=$!
	wait_open $r $P
	dd if=/tmp/sp.src of=$P bs=65536 2>/dev/null
	wait_exit $r 60
	assert_eq "$want" "$(sha256sum </tmp/sp.dst | cut -d' ' -f1)" "sha256 through bs=65536"
	# odd sizes both ways
	dd if=$P of=/tmp/sp.dst bs=777 2>/dev/null &
	r=$!
	wait_open $r $P
	dd if=/tmp/sp.src of=$P bs=3001 2>/dev/null
	wait_exit $r 60
	assert_eq "$want" "$(sha256sum </tmp/sp.dst | cut -d' ' -f1)" "sha256 through bs=3001/777"
	rm -f /tmp/sp.src /tmp/sp.dst
}

t_blocked_reader_woken() {
	$T run $P rdonly read1=100 >/tmp/sp.out 2>&1 &
	r=$!
	wait_blocked $r read
	printf hello >$P
	wait_exit $r 10
	wait $r || fail "reader failed: $(cat /tmp/sp.out)"
	assert_eq "read1=hello" "$(cat /tmp/sp.out)"
	# a blocked writer (full pipe) woken by a reader
	assert_eq "write1=3999" "$($T run /dev/scullpipe1 wronly,nonblock write1=fill:0x78:5000)"
	$T run /dev/scullpipe1 wronly write=abc >/tmp/sp.out 2>&1 &
	w=$!
	wait_blocked $w write
	assert_eq "read1=xxxxxxxxxx" "$($T run /dev/scullpipe1 rdonly read1=10)"
	wait_exit $w 10
	wait $w || fail "writer failed: $(cat /tmp/sp.out)"
	assert_eq "write=3" "$(cat /tmp/sp.out)"
	# the reader took 10 from the start: 3989 x and abc are left, across the ring's wrap,
	# and one read returns them all
	assert_eq "read1=$(xs 3989)abc
read1 errno=EAGAIN" "$($T run /dev/scullpipe1 rdonly,nonblock read1=8000 try:read1=8000)"
}

t_read_interrupted() {
	# SIGALRM (no SA_RESTART) at 500 ms interrupts the blocked read: EINTR; the data
	# written afterwards is all there for the next read
	$T alarm 500 run $P rdonly try:read1=100 touch=$F.intr read=4 >/tmp/sp.out 2>&1 &
	r=$!
	flagwait intr
	printf data >$P
	wait_exit $r 10
	wait $r || fail "reader failed: $(cat /tmp/sp.out)"
	assert_eq "read1 errno=EINTR
touch
read=data" "$(cat /tmp/sp.out)"
	# a blocked write interrupted before writing anything: EINTR
	assert_eq "write1=3999" "$($T run $P wronly,nonblock write1=fill:0x78:5000)"
	assert_eq "write1 errno=EINTR" "$($T alarm 300 run $P wronly try:write1=hello)"
	# with room for 10 bytes: a partial count
	assert_eq "read1=xxxxxxxxxx" "$($T run $P rdonly read1=10)"
	assert_eq "write1=10" "$($T alarm 300 run $P wronly write1=fill:0x79:100)"
	# nothing lost: 3989 x then 10 y
	got=$($T run $P rdonly,nonblock drain)
	assert_eq "drain=x*3989+y*10" "$got" "pipe contents after the interrupted writes"
}

t_poll() {
	$T run $P rdonly poll=0 touch=$F.a waitfor=$F.b poll=0 read1=100 poll=0 \
		touch=$F.c waitfor=$F.d poll=0 poll=5000 >/tmp/sp.out 2>&1 &
	r=$!
	flagwait a
	$T run $P wronly poll=0 write=hello poll=0 touch=$F.b waitfor=$F.c >/tmp/sp.w 2>&1
	touch $F.d
	wait_exit $r 20
	wait $r || fail "reader failed: $(cat /tmp/sp.out)"
	# empty, no writer yet: writable only
	# data: readable too; drained: writable; the writer gone: POLLHUP
	assert_eq "poll=POLLOUT|POLLWRNORM
touch
waitfor
poll=POLLIN|POLLOUT|POLLRDNORM|POLLWRNORM
read1=hello
poll=POLLOUT|POLLWRNORM
touch
waitfor
poll=POLLOUT|POLLHUP|POLLWRNORM
poll=POLLOUT|POLLHUP|POLLWRNORM" "$(cat /tmp/sp.out)" "reader's polls"
	assert_eq "poll=POLLOUT|POLLWRNORM
write=5
poll=POLLIN|POLLOUT|POLLRDNORM|POLLWRNORM
touch
waitfor" "$(cat /tmp/sp.w)" "writer's polls"
	# full: readable, not writable; a poll with a timeout on an empty pipe times out
	assert_eq "write1=3999
poll=POLLIN|POLLRDNORM" "$($T run /dev/scullpipe1 rdwr,nonblock write1=fill:0x78:5000 poll=0)"
	# poll(1) on a fresh pipe as a standalone command
	assert_eq "POLLOUT|POLLWRNORM" "$($T poll /dev/scullpipe2 rdonly 1000)"
}

t_sigio() {
	$T sigio $P 2 10000 $F.ready >/tmp/sp.out 2>&1 &
	r=$!
	flagwait ready
	printf a >$P
	_n=100
	until grep -q "sigio 1" /tmp/sp.out; do
		[ "$_n" -gt 0 ] || fail "no first SIGIO: $(cat /tmp/sp.out)"
		_n=$((_n - 1))
		usleep 100000
	done
	printf bc >$P
	wait_exit $r 15
	wait $r || fail "sigio failed: $(cat /tmp/sp.out)"
	assert_eq "ready
sigio 1 data=a
sigio 2 data=bc" "$(cat /tmp/sp.out)"
	# a SIGIO per write of new data, as uid 1000 too
	chmod 0666 /dev/scullpipe1
	$T as-user 1000 $T sigio /dev/scullpipe1 1 10000 $F.ready2 >/tmp/sp.out 2>&1 &
	r=$!
	flagwait ready2
	$T as-user 1000 $T run /dev/scullpipe1 wronly write=x >/dev/null
	wait_exit $r 15
	wait $r || fail "sigio as uid 1000 failed: $(cat /tmp/sp.out)"
	assert_eq "ready
sigio 1 data=x" "$(cat /tmp/sp.out)" "uid 1000"
}

t_eof() {
	# FIFO-like: cat opened before the writer; its close is end of file
	cat $P >/tmp/sp.out &
	r=$!
	wait_open $r $P
	echo hi >$P
	wait_exit $r 10
	assert_eq hi "$(cat /tmp/sp.out)"
	# two writers: end of file only after the last one closes
	$T run $P rdonly read=100 >/tmp/sp.out 2>&1 &
	r=$!
	wait_open $r $P
	$T run $P wronly write=one touch=$F.w1 waitfor=$F.w2 >/dev/null &
	w=$!
	flagwait w1
	printf two >$P
	sleep 1
	still_running $r "reader while a writer is left"
	touch $F.w2
	wait_exit $w 10
	wait_exit $r 10
	wait $r || fail "reader failed: $(cat /tmp/sp.out)"
	assert_eq "read=onetwo" "$(cat /tmp/sp.out)"
	# unread data survives close and reopen; a reader opened after the last writer
	# does not see end of file (nonblocking: EAGAIN once empty)
	printf abc >$P
	printf def >$P
	assert_eq "read1=abcdef
read1 errno=EAGAIN" "$($T run $P rdonly,nonblock read1=100 try:read1=100)"
	$T run $P rdonly read1=100 >/tmp/sp.out 2>&1 &
	r=$!
	wait_blocked $r read
	kill $r
	wait_exit $r 5
}

t_nonblock() {
	# read of an empty pipe
	assert_fails_with EAGAIN $T run $P rdonly,nonblock read1=10
	assert_fails_with EAGAIN $T run $P rdwr,nonblock read1=10
	# write into room for 3999: partial count, then EAGAIN
	assert_eq "write1=3999
write1 errno=EAGAIN
poll=POLLIN|POLLRDNORM" "$($T run $P wronly,nonblock write1=fill:0x78:5000 try:write1=z poll=0)"
	# a read frees room: a nonblocking write fits that much again
	assert_eq "read1=xxxxx
write1=5" "$($T run $P rdwr,nonblock read1=5 write1=fill:0x79:9)"
	# the data read back nonblocking: all of it in one read, though it wraps around the ring
	assert_eq "read1=$(xs 3994)yyyyy
read1 errno=EAGAIN" "$($T run $P rdonly,nonblock read1=8000 try:read1=1)"
	# nonblocking reader: EAGAIN while a writer may come, end of file after it leaves
	$T run /dev/scullpipe1 rdonly,nonblock try:read1=10 touch=$F.a waitfor=$F.b \
		read1=10 read1=10 >/tmp/sp.out 2>&1 &
	r=$!
	flagwait a
	printf zz >/dev/scullpipe1
	touch $F.b
	wait_exit $r 10
	wait $r || fail "reader failed: $(cat /tmp/sp.out)"
	assert_eq "read1 errno=EAGAIN
touch
waitfor
read1=zz
read1=" "$(cat /tmp/sp.out)"
	# not seekable
	assert_fails_with ESPIPE $T seek $P 0 SET
	assert_fails_with ESPIPE $T seek $P 0 CUR
	assert_fails_with ESPIPE $T pread $P 0 10
	assert_fails_with ESPIPE $T pwrite $P 0 abc
}

t_stress_records() {
	out=$($T pipe-stress $P 4 4 5 records) || fail "pipe-stress records: $out"
	echo "$out"
	assert_contains "$out" "ok records="
	n=$(echo "$out" | sed -n 's/^ok records=\([0-9]*\) .*/\1/p')
	[ "$n" -gt 1000 ] || fail "only $n records in 5 s"
}

t_stress_bytes() {
	out=$($T pipe-stress /dev/scullpipe1 4 4 5 bytes) || fail "pipe-stress bytes: $out"
	echo "$out"
	assert_contains "$out" "ok bytes="
	n=$(echo "$out" | sed -n 's/^ok bytes=\([0-9]*\) .*/\1/p')
	[ "$n" -gt 1000000 ] || fail "only $n bytes in 5 s"
}

t_size_ioctl() {
	# set and queried through /dev/scull0 (the ioctl on a pipe: see pipe-ioctl)
	assert_eq "ret=4000" "$($T ioctl /dev/scull0 P_IOCQSIZE)"
	# pipe 2 holds data in a 4000-byte buffer before the change
	assert_eq "write1=10" "$($T run /dev/scullpipe2 wronly,nonblock write1=fill:0x61:10)"
	assert_eq "ret=0" "$($T ioctl /dev/scull0 P_IOCTSIZE 100)"
	assert_eq "ret=100" "$($T ioctl /dev/scull1 P_IOCQSIZE)" "module-wide"
	# an empty pipe takes the new size at its next open: 99 bytes fit
	assert_eq "write1=99" "$($T run /dev/scullpipe1 wronly,nonblock write1=fill:0x78:500)"
	# a pipe holding data keeps its size
	assert_eq "write1=3989" "$($T run /dev/scullpipe2 wronly,nonblock write1=fill:0x62:5000)"
	# once drained, its next open takes the new size
	assert_eq "drain=a*10+b*3989" "$($T run /dev/scullpipe2 rdonly,nonblock drain)"
	assert_eq "write1=99" "$($T run /dev/scullpipe2 wronly,nonblock write1=fill:0x78:500)"
	# a bigger size, and data through it
	assert_eq "ret=0" "$($T ioctl /dev/scull0 P_IOCTSIZE 100000)"
	assert_eq "write1=99999" "$($T run $P wronly,nonblock write1=fill:0x78:200000)"
	# only root may set it
	chmod 0666 /dev/scull0
	assert_fails_with EPERM $T as-user 1000 $T ioctl /dev/scull0 P_IOCTSIZE 50
	assert_eq "ret=100000" "$($T as-user 1000 $T ioctl /dev/scull0 P_IOCQSIZE)" "query as uid 1000"
}

# SPEC: the 'k' ioctls are shared by every scull device (the reference's pipe fops have
# scull_ioctl), so P_IOCQSIZE/P_IOCTSIZE must work on a pipe too.
t_pipe_ioctl() {
	assert_eq "ret=4000" "$($T ioctl $P P_IOCQSIZE)" "P_IOCQSIZE on $P"
	assert_eq "ret=0" "$($T ioctl $P P_IOCTSIZE 200)" "P_IOCTSIZE on $P"
	assert_eq "ret=200" "$($T ioctl /dev/scull0 P_IOCQSIZE)" "P_IOCQSIZE on scull0"
}

t_user() {
	# the pipe as uid 1000: writer and reader, blocking read woken
	chmod 0666 $P
	$T as-user 1000 $T run $P rdonly read1=100 >/tmp/sp.out 2>&1 &
	r=$!
	wait_open $r $P
	$T as-user 1000 $T run $P wronly write=user >/dev/null
	wait_exit $r 10
	assert_eq "read1=user" "$(cat /tmp/sp.out)"
}

t_rmmod_busy() {
	cat $P >/dev/null &
	r=$!
	wait_open $r $P
	if rmmod scull 2>/tmp/sp.err; then
		fail "rmmod scull succeeded while a reader is blocked"
	fi
	echo "rmmod: $(cat /tmp/sp.err)"
	mod_loaded scull || fail "scull not loaded after the refused rmmod"
	[ -c $P ] || fail "$P gone after the refused rmmod"
	still_running $r "blocked reader"
	# a blocked reader is killable (SIGTERM interrupts the wait)
	kill $r
	wait_exit $r 5
	mod_unload scull
	mod_loaded scull && fail "scull still loaded"
	:
}

pipe_case nodes t_nodes
pipe_case transfer-8mib t_transfer_8mib
pipe_case blocked-reader-woken t_blocked_reader_woken
pipe_case read-interrupted t_read_interrupted
pipe_case poll t_poll
pipe_case sigio t_sigio
pipe_case eof t_eof
pipe_case nonblock t_nonblock
pipe_case stress-4x4-records t_stress_records
pipe_case stress-4x4-bytes t_stress_bytes
pipe_case read-across-wrap t_read_across_wrap
pipe_case stalled-read t_stalled_read
pipe_case stalled-write t_stalled_write
pipe_case size-ioctl t_size_ioctl
pipe_case pipe-ioctl t_pipe_ioctl
pipe_case as-user t_user
pipe_case rmmod-busy t_rmmod_busy
rm -f "$F".* /tmp/sp.out /tmp/sp.w /tmp/sp.err
if mod_loaded scull; then rmmod scull || true; fi
