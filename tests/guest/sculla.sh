#!/bin/sh
# Guest tests for the access-controlled scull devices (LDD3 chapter 6, region "sculla"):
# scullsingle, sculluid, scullwuid, scullpriv. See README.md, "scull".
# Run by the harness as /tests/sculla.sh; by hand: `sh /tests/sculla.sh`.
# shellcheck shell=sh
. "$(dirname "$0")/lib.sh"

T=ldd3test
F=/tmp/sculla.flag # flag files (world-writable /tmp: uid 1000 creates some)

# ------------------------------------------------------------------ helpers

# Every case starts on a freshly loaded scull, the four nodes open to everyone.
restore() {
	if mod_loaded scull; then rmmod scull || fail "restore: rmmod scull failed"; fi
	mod_load scull
	wait_for /dev/scullpriv
	chmod 0666 /dev/scullsingle /dev/sculluid /dev/scullwuid /dev/scullpriv
	rm -f "$F".* /tmp/sculla.out
}

acc_case() {
	test_case "$1" _acc_run "$2"
}
_acc_run() {
	restore
	"$1"
}

flagwait() {
	wait_for "$F.$1" 10
}

# hold DEV UID NAME: UID opens DEV (rdonly) in the background and keeps it open until
# the flag NAME.release exists; waits until it is open. Sets $held to its pid.
hold() {
	$T as-user "$2" $T run "$1" rdonly touch="$F.$3" waitfor="$F.$3.release" >/dev/null &
	held=$!
	flagwait "$3"
}

# release NAME PID: lets the holder go and waits for it.
release() {
	touch "$F.$1.release"
	wait_exit "$2" 10
	wait "$2" || fail "holder $1 failed"
}

opens() { # opens UID DEV [MODE]: an open by UID must succeed
	assert_eq opened "$($T as-user "$1" $T open-mode "$2" "${3:-rdonly}")" "open of $2 by uid $1"
}

# ------------------------------------------------------------------ cases

t_nodes() {
	grep -qE '^ *[0-9]+ sculla$' /proc/devices || fail "no 'sculla' region in /proc/devices"
	maj=$(stat -c %t /dev/scull0)
	m=8
	for d in scullsingle sculluid scullwuid scullpriv; do
		[ -c /dev/$d ] || fail "/dev/$d is not a character device"
		assert_eq "$maj" "$(stat -c %t /dev/$d)" "major of $d"
		assert_eq "$(printf %x $m)" "$(stat -c %T /dev/$d)" "minor of $d (hex)"
		m=$((m + 1))
	done
}

t_scull_ops() {
	# otherwise plain scull devices: read/write/llseek/ioctl, O_WRONLY truncates
	for d in scullsingle sculluid scullwuid; do
		assert_eq "write=5
seek=0
write=5
write=6
seek=6
read=world
seek=0
read=jello
size=11
ioctl ret=4000" "$($T run /dev/$d rdwr write=hello seek=0,SET write=jello \
			'write=text: world' seek=6,SET read=5 seek=0,SET read=5 size ioctl=QQUANTUM)" "$d"
		printf abc >/dev/$d
		assert_eq abc "$(cat /dev/$d)" "$d after O_WRONLY"
	done
}

t_single() {
	hold /dev/scullsingle 0 s1
	assert_fails_with EBUSY $T open-mode /dev/scullsingle rdonly
	assert_fails_with EBUSY $T open-mode /dev/scullsingle wronly
	assert_fails_with EBUSY $T as-user 1000 $T open-mode /dev/scullsingle rdonly
	release s1 $held
	opens 0 /dev/scullsingle
	# held by uid 1000: busy for root too
	hold /dev/scullsingle 1000 s2
	assert_fails_with EBUSY $T open-mode /dev/scullsingle rdwr
	assert_fails_with EBUSY $T as-user 1000 $T open-mode /dev/scullsingle rdonly
	release s2 $held
	opens 1000 /dev/scullsingle
	# the data stays between holders
	echo kept >/dev/scullsingle
	assert_eq kept "$($T as-user 1000 cat /dev/scullsingle)"
}

t_uid() {
	# held by uid 1000: the same uid may open again, uid 1001 not, root (CAP_DAC_OVERRIDE) may
	hold /dev/sculluid 1000 u1
	opens 1000 /dev/sculluid
	opens 1000 /dev/sculluid wronly
	assert_fails_with EBUSY $T as-user 1001 $T open-mode /dev/sculluid rdonly
	assert_fails_with EBUSY $T as-user 1001 $T open-mode /dev/sculluid rdonly,nonblock
	opens 0 /dev/sculluid
	release u1 $held
	# free again: uid 1001 takes it
	opens 1001 /dev/sculluid
	# held by root: uid 1000 is refused
	hold /dev/sculluid 0 u2
	assert_fails_with EBUSY $T as-user 1000 $T open-mode /dev/sculluid rdonly
	opens 0 /dev/sculluid
	release u2 $held
	opens 1000 /dev/sculluid
	# with a controlling terminal: the same rules
	hold /dev/sculluid 1000 u3
	assert_fails_with EBUSY $T as-user 1001 $T tty-run $T open-mode /dev/sculluid rdonly
	release u3 $held
}

t_wuid() {
	hold /dev/scullwuid 1000 w1
	h1=$held
	opens 1000 /dev/scullwuid
	opens 0 /dev/scullwuid
	assert_fails_with EAGAIN $T as-user 1001 $T open-mode /dev/scullwuid rdonly,nonblock
	# a signal (no SA_RESTART) while blocked: EINTR
	assert_fails_with EINTR $T as-user 1001 $T alarm 500 open-mode /dev/scullwuid rdonly
	# blocks until the last close by uid 1000, then succeeds
	$T as-user 1001 $T open-mode /dev/scullwuid rdonly >/tmp/sculla.out 2>&1 &
	w=$!
	hold /dev/scullwuid 1000 w2 # a second holder of the same uid
	wait_blocked $w open
	release w1 $h1
	sleep 1
	kill -0 $w 2>/dev/null || fail "uid 1001 did not wait for the last close: $(cat /tmp/sculla.out)"
	release w2 $held
	wait_exit $w 10
	wait $w || fail "blocked open failed: $(cat /tmp/sculla.out)"
	assert_eq opened "$(cat /tmp/sculla.out)" "open after the last close"
	# held by root: uid 1000 waits too (nonblocking: EAGAIN)
	hold /dev/scullwuid 0 w3
	assert_fails_with EAGAIN $T as-user 1000 $T open-mode /dev/scullwuid rdonly,nonblock
	release w3 $held
	opens 1000 /dev/scullwuid
}

t_priv_no_tty() {
	[ -c /dev/ptmx ] && grep -q ' /dev/pts devpts ' /proc/mounts || fail "no devpts at /dev/pts"
	assert_fails_with EINVAL $T tty-run --no-tty $T open-mode /dev/scullpriv rdonly
	assert_fails_with EINVAL $T as-user 1000 $T tty-run --no-tty $T open-mode /dev/scullpriv rdwr
}

t_priv_same_tty() {
	# the same terminal sees its data again on reopen; the device is a scull device
	assert_eq "one
one" "$($T tty-run sh -c 'echo one >/dev/scullpriv && cat /dev/scullpriv && cat /dev/scullpriv')"
	assert_eq "write=5
seek=1
read=ello
size=5
ioctl ret=4000" "$($T tty-run $T run /dev/scullpriv rdwr write=hello seek=1,SET read=4 size ioctl=QQUANTUM)"
	assert_eq "user
user" "$($T as-user 1000 $T tty-run sh -c 'echo user >/dev/scullpriv && cat /dev/scullpriv && cat /dev/scullpriv')" "uid 1000"
}

t_priv_two_ttys() {
	for u in 0 1000; do
		restore # fresh private devices (pty numbers are reused)
		# tty 1 writes, waits for tty 2 to write, reads its own data back
		$T as-user $u $T tty-run sh -c "echo one-$u >/dev/scullpriv; touch $F.a
			while [ ! -e $F.b ]; do usleep 20000; done; cat /dev/scullpriv" >/tmp/sculla.out 2>&1 &
		p=$!
		flagwait a
		got=$($T as-user $u $T tty-run --show sh -c "cat /dev/scullpriv; echo two-$u >/dev/scullpriv; cat /dev/scullpriv" 2>/tmp/sculla.tty2)
		touch $F.b
		wait_exit $p 10
		wait $p || fail "tty 1 failed: $(cat /tmp/sculla.out)"
		assert_eq "one-$u" "$(cat /tmp/sculla.out)" "uid $u: tty 1 reads its own data"
		assert_eq "two-$u" "$got" "uid $u: tty 2 ($(cat /tmp/sculla.tty2)) sees none of tty 1's"
	done
}

# scull_priv_max bounds the private devices: with 2, two terminals that hold theirs open
# leave none for a third (ENOSPC), which the same terminal's reopen does not need.
t_priv_bounded() {
	rmmod scull
	mod_load scull scull_priv_max=2
	wait_for /dev/scullpriv
	for n in a b; do
		$T tty-run sh -c "echo $n >/dev/scullpriv; touch $F.$n
			while [ ! -e $F.go ]; do usleep 20000; done; cat /dev/scullpriv" >/tmp/sculla.$n 2>&1 &
		eval "p_$n=\$!"
		flagwait $n
	done
	assert_fails_with ENOSPC $T tty-run $T open-mode /dev/scullpriv rdwr
	touch $F.go
	for n in a b; do
		eval "wait_exit \$p_$n 10"
		assert_eq "$n" "$(cat /tmp/sculla.$n)" "terminal $n keeps its device"
	done
	rm -f /tmp/sculla.a /tmp/sculla.b
}

acc_case nodes t_nodes
acc_case scull-ops t_scull_ops
acc_case single t_single
acc_case uid t_uid
acc_case wuid t_wuid
acc_case priv-no-tty t_priv_no_tty
acc_case priv-same-tty t_priv_same_tty
acc_case priv-two-ttys t_priv_two_ttys
acc_case priv-bounded t_priv_bounded
rm -f "$F".* /tmp/sculla.out /tmp/sculla.tty2
if mod_loaded scull; then rmmod scull || true; fi
