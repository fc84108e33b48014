#!/bin/sh
# Guest tests for scull0..3 (LDD3 chapter 3; what they check is listed in README.md, "scull").
# Run by the harness as /tests/scull.sh; by hand: `sh /tests/scull.sh`
# (LDD3_CASES='ioctl*' sh /tests/scull.sh runs a subset).
# shellcheck shell=sh
. "$(dirname "$0")/lib.sh"

T=ldd3test
DEFAULT_QUANTUM=4000
DEFAULT_QSET=1000
DEFAULT_PIPE=4000
MAX_SIZE=67108864 # scull_max_size default, 64 MiB

# ------------------------------------------------------------------ helpers

# Loads scull with PARAMS (none: defaults) and waits for its nodes.
load_scull() {
	mod_load scull "$@"
	wait_for /dev/scull0
}

unload_scull() {
	mod_unload scull
	mod_loaded scull && fail "scull still in /proc/modules after rmmod"
	[ ! -e /dev/scull0 ] || fail "/dev/scull0 still there after rmmod"
}

# Puts scull back in its default state: loaded with default params, module-wide
# values reset, every device truncated. Run at the start of every case.
restore() {
	if ! mod_loaded scull || [ ! -e /dev/scull3 ] || [ -e "$T_TMP/params-changed" ]; then
		if mod_loaded scull; then rmmod scull || fail "restore: rmmod scull failed"; fi
		load_scull
		rm -f "$T_TMP/params-changed"
	fi
	$T ioctl /dev/scull0 RESET >/dev/null
	$T ioctl /dev/scull0 P_IOCTSIZE $DEFAULT_PIPE >/dev/null
	for d in 0 1 2 3; do
		: >/dev/scull$d
	done
}

# scull_case NAME FUNC: a test case run on a freshly restored scull.
scull_case() {
	test_case "$1" _scull_run "$2"
}
_scull_run() {
	restore
	"$1"
}

size_of() {
	$T size "$1"
}

# ------------------------------------------------------------------ cases

t_nodes() {
	for d in 0 1 2 3; do
		[ -c /dev/scull$d ] || fail "/dev/scull$d is not a character device"
	done
	[ ! -e /dev/scull4 ] || fail "/dev/scull4 exists"
	grep -qE '^ *[0-9]+ scull$' /proc/devices || fail "no 'scull' region in /proc/devices"
	# one major for all four, minors 0..3
	maj=$(stat -c %t /dev/scull0)
	for d in 0 1 2 3; do
		assert_eq "$maj" "$(stat -c %t /dev/scull$d)" "major of scull$d"
		assert_eq "$d" "$(stat -c %T /dev/scull$d)" "minor of scull$d"
	done
}

# The nodes are usable by any user by default (scull_mode=0666); scull_mode sets other bits.
t_node_mode() {
	for n in scull0 scull3 scullpipe0 scullsingle scullpriv; do
		assert_eq 666 "$(stat -c %a /dev/$n)" "mode of /dev/$n"
	done
	as_user sh -c 'echo hi from a user >/dev/scull0'
	assert_eq "hi from a user" "$(as_user cat /dev/scull0)" "a normal user's echo and cat"
	unload_scull
	: >"$T_TMP/params-changed"
	load_scull scull_mode=0640
	assert_eq 640 "$(stat -c %a /dev/scull0)" "mode with scull_mode=0640"
	assert_eq 640 "$(stat -c %a /dev/scullpipe1)" "mode of scullpipe1 with scull_mode=0640"
	assert_fails_with EACCES $T as-user 1000 $T run /dev/scull0 wronly write=x
	unload_scull
	# only permission bits
	if insmod "$LDD3_MODULES/scull.ko" scull_mode=04666 2>/dev/null; then
		rmmod scull
		fail "insmod scull.ko scull_mode=04666 succeeded"
	fi
	mod_loaded scull && fail "scull loaded after insmod scull_mode=04666 failed"
	return 0
}

# kill -9 ends a huge write into tiny quanta at once (it allocates a block per 16 bytes, millions
# of them in one call, with the device locked), and the device is usable again at once.
t_kill_huge_write() {
	unload_scull
	: >"$T_TMP/params-changed"
	load_scull scull_quantum=16 scull_qset=4
	dd if=/dev/zero of=/dev/scull0 bs=32M count=1 2>/dev/null &
	w=$!
	sleep 2 # dd has filled its buffer and is in the write, a few seconds from its end
	kill -9 $w
	wait_exit $w 5
	s=$(size_of /dev/scull0)
	[ "$s" -gt 0 ] && [ "$s" -lt 33554432 ] || fail "size $s after the killed write: expected a part"
	assert_eq 0 $((s % 16)) "the killed write stops at a quantum boundary"
	echo after >/dev/scull1
	assert_eq after "$(cat /dev/scull1)" "another device"
	assert_eq "Device 0: qset 4, q 16, sz $s" "$(grep -m 1 '^Device 0:' /proc/scullmem)" "/proc/scullmem"
}

# The issue's reproduction: quantum 16, qset 4 (64 bytes per list item), one byte 32 MiB in.
# Its 524289 list items take 12 MiB, more than kmalloc alone gives (it warned): now a kvmalloc
# array. 1-byte quanta, one per item, spend 48 bytes of index per byte: a byte at 60 MiB
# would need 2.8 GiB of list, past the bound (scull_max_size), so it is ENOSPC and changes
# nothing.
t_tiny_geometry_index() {
	unload_scull
	: >"$T_TMP/params-changed"
	load_scull scull_quantum=16 scull_qset=4
	dd if=/dev/zero of=/dev/scull0 bs=1 count=1 seek=33554432 2>/dev/null
	assert_eq 33554433 "$(size_of /dev/scull0)" "size after the far write"
	assert_eq "  ... 523289 more items" "$(grep 'more items' /proc/scullseq | head -n 1)" \
		"/proc/scullseq lists 1000 items of a device"
	assert_eq "ret=0" "$($T ioctl /dev/scull1 SCULL_IOCTQUANTUM 1)"
	assert_eq "ret=0" "$($T ioctl /dev/scull1 SCULL_IOCTQSET 1)"
	printf abc >/dev/scull1 # O_WRONLY: truncated, and now 1-byte quanta, one per item
	assert_fails_with ENOSPC $T pwrite /dev/scull1 62914560 text:x
	assert_eq abc "$(cat /dev/scull1)" "the refused write changed nothing"
	assert_eq "Device 1: qset 1, q 1, sz 3" "$(grep '^Device 1:' /proc/scullmem)" "/proc/scullmem"
}

# A read or write whose user buffer faults in slowly (userfaultfd) holds no lock of the device:
# meanwhile other readers, writers, llseek and /proc go on; then the stalled call completes.
t_stalled_copy() {
	printf 'stalled read' >/dev/scull0
	rm -f "$T_TMP/go"
	$T stall-copy /dev/scull0 read 100 "$T_TMP/go" >"$T_TMP/stall.out" 2>&1 &
	p=$!
	wait_line "$T_TMP/stall.out" stalled
	within 5 cat /dev/scull0
	assert_eq "stalled read" "$(cat "$T_TMP/within.out")" "another reader meanwhile"
	within 5 $T pwrite /dev/scull0 0 text:S
	within 5 $T seek /dev/scull0 0 END
	assert_eq 12 "$(cat "$T_TMP/within.out")" "llseek meanwhile"
	within 5 cat /proc/scullmem
	assert_contains "$(cat "$T_TMP/within.out")" "Device 0: qset 1000, q 4000, sz 12" "/proc/scullmem"
	touch "$T_TMP/go"
	wait_exit $p 10
	# The read copies straight from the device's block, with no lock: its copy may have
	# loaded the first bytes before its store faulted (x86's word-by-word copy retries the
	# store with the value it had loaded), or load them again after the fault: the old byte
	# or the one written meanwhile, as for a read of a file in the page cache.
	_got=$(tr '\n' ' ' <"$T_TMP/stall.out" | sed 's/ $//')
	case "$_got" in
	"stalled ret=12 data=stalled read" | "stalled ret=12 data=Stalled read") ;;
	*) fail "the stalled read: expected 'stalled ret=12 data=[sS]talled read', got '$_got'" ;;
	esac

	rm -f "$T_TMP/go"
	$T stall-copy /dev/scull0 write 10000 "$T_TMP/go" >"$T_TMP/stall.out" 2>&1 &
	p=$!
	wait_line "$T_TMP/stall.out" stalled
	within 5 cat /dev/scull0
	assert_eq "Stalled read" "$(cat "$T_TMP/within.out")" "a reader while the write waits"
	touch "$T_TMP/go"
	wait_exit $p 10
	assert_eq "stalled ret=10000" "$(tr '\n' ' ' <"$T_TMP/stall.out" | sed 's/ $//')" "the stalled write"
	assert_eq 10000 "$(size_of /dev/scull0)" "size after the write"
	assert_eq 10000 "$(tr -cd u </dev/scull0 | wc -c)" "the written bytes"
}

# A user buffer that faults part way: the bytes before the fault are copied and counted, the
# device's bytes after them are left as they were (the copy goes straight into the quantum).
t_torn_copies() {
	assert_eq "write=12345" "$($T run /dev/scull0 wronly write=pattern:12345)"
	# 5000 good bytes of an 8000-byte write at 1000, across the quantum at 4000
	assert_eq "ret=5000" "$($T torn write /dev/scull0 1000 5000 8000)" "write faulting after 5000 bytes"
	assert_eq 12345 "$(size_of /dev/scull0)" "size after the torn write"
	assert_eq "ok 1000" "$($T check /dev/scull0 0 1000 pattern:1000)" "bytes before the write"
	assert_eq "ok 5000" "$($T check /dev/scull0 1000 5000 fill:0x77:5000)" "bytes written"
	assert_eq "ok 6345" "$($T check /dev/scull0 6000 6345 pattern:6345)" "bytes after the fault"
	# a buffer that faults at once: EFAULT, nothing stored, not even past the end
	assert_eq "errno=EFAULT" "$($T torn write /dev/scull0 20000 0 100)" "write faulting at once"
	assert_eq 12345 "$(size_of /dev/scull0)" "size after the failed write"
	# past scull_max_size the position is refused before the buffer is looked at
	assert_eq "errno=EFBIG" "$($T torn write /dev/scull0 67108864 0 100)" "write past the bound"
	# reads: the bytes up to the fault, across the quantum at 4000
	assert_eq "ret=10 data=wwwwwwwwww" "$($T torn read /dev/scull0 3995 10 100)" "read faulting after 10 bytes"
	assert_eq "errno=EFAULT" "$($T torn read /dev/scull0 0 0 100)" "read faulting at once"
}

t_roundtrip() {
	for d in 0 1 2 3; do
		echo "hello scull$d" >/dev/scull$d
	done
	# each device keeps its own data
	for d in 0 1 2 3; do
		assert_eq "hello scull$d" "$(cat /dev/scull$d)" "cat /dev/scull$d"
		assert_eq 13 "$(size_of /dev/scull$d)" "size of scull$d"
	done
	# a second cat reads the same again; a second echo replaces (O_WRONLY truncates)
	assert_eq "hello scull2" "$(cat /dev/scull2)" "second cat"
	echo bye >/dev/scull2
	assert_eq bye "$(cat /dev/scull2)" "after rewrite"
	# an empty device reads as empty
	: >/dev/scull3
	assert_eq 0 "$(wc -c </dev/scull3)" "empty device"
}

t_dd_8mib() {
	dd if=/dev/urandom of="$T_TMP/rand" bs=1048576 count=8 2>/dev/null
	assert_eq 8388608 "$(wc -c <"$T_TMP/rand")" "random file size"
	dd if="$T_TMP/rand" of=/dev/scull0 bs=65536 2>/dev/null
	assert_eq 8388608 "$(size_of /dev/scull0)" "size after dd"
	dd if=/dev/scull0 of="$T_TMP/back" bs=65536 2>/dev/null
	assert_eq "$(sha256sum <"$T_TMP/rand" | cut -d' ' -f1)" \
		"$(sha256sum <"$T_TMP/back" | cut -d' ' -f1)" "sha256 of 8 MiB back from scull0"
	# odd block sizes both ways (not multiples of the quantum)
	dd if="$T_TMP/rand" of=/dev/scull1 bs=3001 2>/dev/null
	dd if=/dev/scull1 of="$T_TMP/back1" bs=7777 2>/dev/null
	assert_eq "$(md5sum <"$T_TMP/rand" | cut -d' ' -f1)" \
		"$(md5sum <"$T_TMP/back1" | cut -d' ' -f1)" "md5 through bs=3001/7777"
	# one big 1 MiB block
	dd if="$T_TMP/rand" of=/dev/scull2 bs=1048576 count=1 2>/dev/null
	head -c 1048576 "$T_TMP/rand" >"$T_TMP/first"
	assert_file_eq "$T_TMP/first" /dev/scull2
	rm -f "$T_TMP/rand" "$T_TMP/back" "$T_TMP/back1" "$T_TMP/first"
}

t_quantum_boundary() {
	# default quantum 4000: pattern bytes depend on their absolute offset
	assert_eq "write=12345" "$($T run /dev/scull0 wronly write=pattern:12345)"
	assert_eq 12345 "$(size_of /dev/scull0)" "size"
	assert_eq "ok 12345" "$($T check /dev/scull0 0 12345 pattern:12345)"
	assert_eq "ok 20" "$($T check /dev/scull0 3990 20 pattern:20)" "across 4000"
	assert_eq "ok 2" "$($T check /dev/scull0 7999 2 pattern:2)" "across 8000"
	assert_eq "ok 8000" "$($T check /dev/scull0 2000 8000 pattern:8000)" "across two quanta"
	# one read at a boundary returns 1..N bytes (short I/O is legal), never more
	n=$($T pread --once --count /dev/scull0 3990 20)
	if [ "$n" -lt 1 ] || [ "$n" -gt 20 ]; then
		fail "one read across 4000 returned $n bytes"
	fi
	# reads past the end
	assert_eq 45 "$($T pread --count /dev/scull0 12300 100)" "read crossing the end"
	assert_eq 0 "$($T pread --once --count /dev/scull0 12345 10)" "read at the end"
	assert_eq 0 "$($T pread --once --count /dev/scull0 99999 10)" "read past the end"
	# an unaligned write across a boundary, into the middle of existing data
	assert_eq 10 "$($T pwrite /dev/scull0 3995 fill:0x41:10)"
	assert_eq "ok 3995" "$($T check /dev/scull0 0 3995 pattern:3995)"
	assert_eq "ok 10" "$($T check /dev/scull0 3995 10 fill:0x41:10)"
	assert_eq "ok 8340" "$($T check /dev/scull0 4005 8340 pattern:8340)"
	assert_eq 12345 "$(size_of /dev/scull0)" "size after overwrite"

	# quantum 16, qset 4 (64 bytes per list item), taken at the next truncation
	assert_eq "ret=0" "$($T ioctl /dev/scull0 TQUANTUM 16)"
	assert_eq "ret=0" "$($T ioctl /dev/scull0 TQSET 4)"
	: >/dev/scull0
	assert_eq "write=1000" "$($T run /dev/scull0 rdwr write=pattern:1000)"
	assert_eq "ok 1000" "$($T check /dev/scull0 0 1000 pattern:1000)"
	assert_eq "ok 2" "$($T check /dev/scull0 15 2 pattern:2)" "across 16"
	assert_eq "ok 2" "$($T check /dev/scull0 63 2 pattern:2)" "across a list item"
	assert_eq "ok 300" "$($T check /dev/scull0 500 300 pattern:300)"
	assert_eq 5 "$($T pwrite /dev/scull0 30 hello)"
	assert_eq 1d68656c6c6f2324 "$($T pread --hex /dev/scull0 29 8)" "overwrite across 32"
	# a hole with small quanta
	: >/dev/scull1
	assert_eq 3 "$($T pwrite /dev/scull1 200 xyz)"
	assert_eq "ok 200" "$($T check /dev/scull1 0 200 zero:200)"
	assert_eq "ok 3" "$($T check /dev/scull1 200 3 xyz)"
	# the same data round-trips through cat with quantum 16
	cat "$0" >/dev/scull2
	assert_file_eq "$0" /dev/scull2
	assert_eq "ret=0" "$($T ioctl /dev/scull0 RESET)"
}

t_holes() {
	assert_eq 5 "$($T pwrite /dev/scull0 100000 hello)"
	assert_eq 100005 "$(size_of /dev/scull0)" "size"
	assert_eq "ok 100000" "$($T check /dev/scull0 0 100000 zero:100000)"
	assert_eq "ok 5" "$($T check /dev/scull0 100000 5 hello)"
	head -c 100000 /dev/scull0 >"$T_TMP/h"
	head -c 100000 /dev/zero >"$T_TMP/z"
	assert_file_eq "$T_TMP/z" "$T_TMP/h"
	rm -f "$T_TMP/h" "$T_TMP/z"
	# seek past the end then write
	assert_eq "seek=50000 write=3 size=50003" \
		"$($T run /dev/scull1 wronly seek=50000,SET write=abc size | tr '\n' ' ' | sed 's/ $//')"
	assert_eq "ok 50000" "$($T check /dev/scull1 0 50000 zero:50000)"
	# a hole inside one quantum: fill the heap with 0xa5, free it, then write
	# sparsely; blocks must be zeroed, not hold old heap bytes (48 MB: more than
	# KASAN's quarantine of freed memory, 1/32 of the guest's, so they are reused)
	assert_eq "write=48000000" "$($T run /dev/scull2 wronly write=fill:0xa5:48000000)"
	: >/dev/scull2
	for off in 3999 1000 7; do
		: >/dev/scull3
		assert_eq 1 "$($T pwrite /dev/scull3 $off x)"
		assert_eq "ok $off" "$($T check /dev/scull3 0 $off zero:$off)" "hole before $off"
	done
	assert_eq 1 "$($T pwrite /dev/scull3 3000 y)"
	assert_eq "ok 2992" "$($T check /dev/scull3 8 2992 zero:2992)" "hole between 8 and 3000"
}

t_lseek() {
	printf 0123456789 >/dev/scull0
	assert_eq 3 "$($T seek /dev/scull0 3 SET)"
	assert_eq 7 "$($T seek /dev/scull0 7 CUR)" "CUR from 0"
	assert_eq 10 "$($T seek /dev/scull0 0 END)"
	assert_eq 6 "$($T seek /dev/scull0 -4 END)"
	assert_eq 0 "$($T seek /dev/scull0 -10 END)"
	assert_eq 25 "$($T seek /dev/scull0 15 END)" "past the end"
	assert_eq 1000000 "$($T seek /dev/scull0 1000000 SET)" "far past the end"
	out=$($T run /dev/scull0 rdonly seek=3,SET seek=2,CUR read=2 seek=-4,END read=2 \
		seek=-1,CUR read=10 seek=5,END read=5 pos | tr '\n' ' ')
	assert_eq "seek=3 seek=5 read=56 seek=6 read=67 seek=7 read=789 seek=15 read= pos=15 " "$out"
	# negative results are EINVAL and leave the position alone
	assert_fails_with EINVAL $T seek /dev/scull0 -1 SET
	assert_fails_with EINVAL $T seek /dev/scull0 -11 END
	assert_fails_with EINVAL $T seek /dev/scull0 -1 CUR
	out=$($T run /dev/scull0 rdonly seek=5 try:seek=-6,CUR pos try:seek=-11,END pos \
		try:seek=-1,SET pos read=1 | tr '\n' ' ')
	assert_eq "seek=5 seek errno=EINVAL pos=5 seek errno=EINVAL pos=5 seek errno=EINVAL pos=5 read=5 " "$out"
	# unknown whence
	assert_fails_with EINVAL $T seek /dev/scull0 0 3
	assert_fails_with EINVAL $T seek /dev/scull0 0 7
	# seek past the end, then write: the gap reads as zeros
	out=$($T run /dev/scull0 rdwr seek=20,SET write=x size seek=0,END | tr '\n' ' ')
	assert_eq "seek=20 write=1 size=21 seek=21 " "$out"
	assert_eq "3031323334353637383900000000000000000000""78" "$($T pread --hex /dev/scull0 0 21)" \
		"content after writing past the end"
}

t_open_modes() {
	printf abcdef >/dev/scull0
	assert_eq 6 "$(size_of /dev/scull0)"
	assert_eq opened "$($T open-mode /dev/scull0 rdonly)"
	assert_eq 6 "$(size_of /dev/scull0)" "size after O_RDONLY open"
	assert_eq opened "$($T open-mode /dev/scull0 rdwr)"
	assert_eq 6 "$(size_of /dev/scull0)" "size after O_RDWR open"
	# O_RDWR writes in place from offset 0
	assert_eq "write=2" "$($T run /dev/scull0 rdwr write=XY)"
	assert_eq XYcdef "$(cat /dev/scull0)" "after O_RDWR write"
	assert_eq opened "$($T open-mode /dev/scull0 wronly)"
	assert_eq 0 "$(size_of /dev/scull0)" "size after O_WRONLY open"
	assert_eq "" "$(cat /dev/scull0)" "content after O_WRONLY open"
	# O_WRONLY truncation of one device leaves the others alone
	printf one >/dev/scull1
	printf two >/dev/scull2
	$T open-mode /dev/scull1 wronly >/dev/null
	assert_eq 0 "$(size_of /dev/scull1)"
	assert_eq two "$(cat /dev/scull2)"
	# O_WRONLY then write: only the new data
	printf long-old-content >/dev/scull3
	assert_eq "write=3" "$($T run /dev/scull3 wronly write=new)"
	assert_eq new "$(cat /dev/scull3)"
}

t_ioctl_values() {
	d=/dev/scull0
	assert_eq "ret=0 val=$DEFAULT_QUANTUM" "$($T ioctl $d GQUANTUM)" "GQUANTUM default"
	assert_eq "ret=0 val=$DEFAULT_QSET" "$($T ioctl $d GQSET)" "GQSET default"
	assert_eq "ret=$DEFAULT_QUANTUM" "$($T ioctl $d QQUANTUM)" "QQUANTUM default"
	assert_eq "ret=$DEFAULT_QSET" "$($T ioctl $d QQSET)" "QQSET default"
	# Set (from *arg)
	assert_eq "ret=0" "$($T ioctl $d SQUANTUM 2000)"
	assert_eq "ret=2000" "$($T ioctl $d QQUANTUM)" "after SQUANTUM"
	assert_eq "ret=0" "$($T ioctl $d SQSET 500)"
	assert_eq "ret=500" "$($T ioctl $d QQSET)" "after SQSET"
	# Tell (arg)
	assert_eq "ret=0" "$($T ioctl $d TQUANTUM 3000)"
	assert_eq "ret=0 val=3000" "$($T ioctl $d GQUANTUM)" "after TQUANTUM"
	assert_eq "ret=0" "$($T ioctl $d TQSET 400)"
	assert_eq "ret=0 val=400" "$($T ioctl $d GQSET)" "after TQSET"
	# eXchange (*arg in, old value out through *arg)
	assert_eq "ret=0 val=3000" "$($T ioctl $d XQUANTUM 1234)" "XQUANTUM"
	assert_eq "ret=1234" "$($T ioctl $d QQUANTUM)" "after XQUANTUM"
	assert_eq "ret=0 val=400" "$($T ioctl $d XQSET 77)" "XQSET"
	assert_eq "ret=77" "$($T ioctl $d QQSET)" "after XQSET"
	# sHift (arg in, old value returned)
	assert_eq "ret=1234" "$($T ioctl $d HQUANTUM 555)" "HQUANTUM"
	assert_eq "ret=555" "$($T ioctl $d QQUANTUM)" "after HQUANTUM"
	assert_eq "ret=77" "$($T ioctl $d HQSET 66)" "HQSET"
	assert_eq "ret=66" "$($T ioctl $d QQSET)" "after HQSET"
	# the values are module-wide: any device sees them
	assert_eq "ret=555" "$($T ioctl /dev/scull3 QQUANTUM)" "QQUANTUM via scull3"
	assert_eq "ret=0 val=66" "$($T ioctl /dev/scull2 GQSET)" "GQSET via scull2"
	# limits are accepted
	for v in 1 1048576; do
		assert_eq "ret=0" "$($T ioctl $d SQUANTUM $v)"
		assert_eq "ret=$v" "$($T ioctl $d QQUANTUM)"
	done
	for v in 1 65536; do
		assert_eq "ret=0" "$($T ioctl $d TQSET $v)"
		assert_eq "ret=$v" "$($T ioctl $d QQSET)"
	done
	# pipe buffer size
	assert_eq "ret=$DEFAULT_PIPE" "$($T ioctl $d P_IOCQSIZE)" "P_IOCQSIZE default"
	assert_eq "ret=0" "$($T ioctl $d P_IOCTSIZE 8000)"
	assert_eq "ret=8000" "$($T ioctl $d P_IOCQSIZE)" "after P_IOCTSIZE"
	for v in 2 1048576; do
		assert_eq "ret=0" "$($T ioctl $d P_IOCTSIZE $v)"
		assert_eq "ret=$v" "$($T ioctl $d P_IOCQSIZE)"
	done
	# RESET restores the defaults
	assert_eq "ret=0" "$($T ioctl $d RESET)"
	assert_eq "ret=$DEFAULT_QUANTUM" "$($T ioctl $d QQUANTUM)" "after RESET"
	assert_eq "ret=$DEFAULT_QSET" "$($T ioctl $d QQSET)" "after RESET"
	# raw numbers work the same as names
	assert_eq "ret=$DEFAULT_QUANTUM" "$($T ioctl $d 0x6b07)" "raw 0x6b07"
	assert_eq "ret=0 val=$DEFAULT_QSET" "$($T ioctl $d 0x80046b06)" "raw 0x80046b06"
}

t_ioctl_einval() {
	d=/dev/scull0
	$T ioctl $d TQUANTUM 777 >/dev/null
	$T ioctl $d TQSET 88 >/dev/null
	for v in 0 -1 -4000 1048577 2147483647; do
		assert_fails_with EINVAL $T ioctl $d SQUANTUM $v
		assert_fails_with EINVAL $T ioctl $d TQUANTUM $v
		assert_fails_with EINVAL $T ioctl $d XQUANTUM $v
		assert_fails_with EINVAL $T ioctl $d HQUANTUM $v
		assert_eq "ret=777" "$($T ioctl $d QQUANTUM)" "quantum kept after $v"
	done
	for v in 0 -1 65537 2147483647; do
		assert_fails_with EINVAL $T ioctl $d SQSET $v
		assert_fails_with EINVAL $T ioctl $d TQSET $v
		assert_fails_with EINVAL $T ioctl $d XQSET $v
		assert_fails_with EINVAL $T ioctl $d HQSET $v
		assert_eq "ret=88" "$($T ioctl $d QQSET)" "qset kept after $v"
	done
	$T ioctl $d P_IOCTSIZE 5000 >/dev/null
	for v in 0 1 -1 1048577; do
		assert_fails_with EINVAL $T ioctl $d P_IOCTSIZE $v
		assert_eq "ret=5000" "$($T ioctl $d P_IOCQSIZE)" "pipe size kept after $v"
	done
	# the device still works with the kept values
	: >/dev/scull0
	assert_eq "write=2000" "$($T run $d rdwr write=pattern:2000)"
	assert_eq "ok 2000" "$($T check $d 0 2000 pattern:2000)"
}

# ldd3test as uid/gid 1000 with no supplementary groups
u1000() {
	$T as-user 1000 $T "$@"
}

t_ioctl_eperm() {
	d=/dev/scull0
	chmod 0666 $d
	$T ioctl $d TQUANTUM 777 >/dev/null
	$T ioctl $d TQSET 88 >/dev/null
	$T ioctl $d P_IOCTSIZE 5000 >/dev/null
	# reading works for anyone
	assert_eq "ret=0 val=777" "$(u1000 ioctl $d GQUANTUM)" "GQUANTUM as uid 1000"
	assert_eq "ret=0 val=88" "$(u1000 ioctl $d GQSET)" "GQSET as uid 1000"
	assert_eq "ret=777" "$(u1000 ioctl $d QQUANTUM)" "QQUANTUM as uid 1000"
	assert_eq "ret=88" "$(u1000 ioctl $d QQSET)" "QQSET as uid 1000"
	assert_eq "ret=5000" "$(u1000 ioctl $d P_IOCQSIZE)" "P_IOCQSIZE as uid 1000"
	# changing needs CAP_SYS_ADMIN (valid and invalid values alike)
	for c in SQUANTUM SQSET TQUANTUM TQSET XQUANTUM XQSET HQUANTUM HQSET P_IOCTSIZE; do
		assert_fails_with EPERM u1000 ioctl $d $c 100
		assert_fails_with EPERM u1000 ioctl $d $c 0
	done
	assert_fails_with EPERM u1000 ioctl $d RESET
	assert_eq "ret=777" "$($T ioctl $d QQUANTUM)" "quantum unchanged"
	assert_eq "ret=88" "$($T ioctl $d QQSET)" "qset unchanged"
	assert_eq "ret=5000" "$($T ioctl $d P_IOCQSIZE)" "pipe size unchanged"
	# the user can still read and write the device (mode 0666)
	u1000 run $d wronly write=user-data >/dev/null
	assert_eq user-data "$(cat $d)"
	chmod 0600 $d
}

t_ioctl_enotty() {
	d=/dev/scull0
	for c in 0x7100 0x40047101 0x80047105 0x6a07 0x4b07 \
		0x6b0f 0x6b10 0x6b20 0x6bff 0x80046b0f 0xc0046b7f; do
		assert_fails_with ENOTTY $T ioctl $d $c 1
	done
	# the right number with the wrong direction or size is an unknown command
	assert_fails_with ENOTTY $T ioctl $d 0x6b05
	assert_fails_with ENOTTY $T ioctl $d 0x80086b05
	assert_fails_with ENOTTY $T ioctl $d 0x40046b00 1
	assert_eq "ret=$DEFAULT_QUANTUM" "$($T ioctl $d QQUANTUM)" "quantum unchanged"
	# non-root gets ENOTTY too (not EPERM) for foreign commands
	chmod 0666 $d
	assert_fails_with ENOTTY $T as-user 1000 $T ioctl $d 0x6b0f
	chmod 0600 $d
}

t_ioctl_efault() {
	d=/dev/scull0
	$T ioctl $d TQUANTUM 777 >/dev/null
	$T ioctl $d TQSET 88 >/dev/null
	for c in SQUANTUM SQSET GQUANTUM GQSET XQUANTUM XQSET; do
		assert_fails_with EFAULT $T ioctl --bad-pointer $d $c
	done
	assert_eq "ret=777" "$($T ioctl $d QQUANTUM)" "quantum kept"
	assert_eq "ret=88" "$($T ioctl $d QQSET)" "qset kept"
}

t_huge_offset() {
	printf keep >/dev/scull0
	assert_fails_with EFBIG $T pwrite /dev/scull0 1099511627776 x
	assert_fails_with EFBIG $T pwrite /dev/scull0 $MAX_SIZE x
	assert_fails_with EFBIG $T run /dev/scull0 rdwr seek=1099511627776,SET write=x
	assert_eq 4 "$(size_of /dev/scull0)" "size unchanged"
	assert_eq keep "$(cat /dev/scull0)" "data unchanged"
	# a write crossing the limit is short; the end is readable; the hole is zeros
	assert_eq 4 "$($T pwrite /dev/scull0 $((MAX_SIZE - 4)) abcdefgh)" "write crossing max size"
	assert_eq $MAX_SIZE "$(size_of /dev/scull0)"
	assert_eq "ok 4" "$($T check /dev/scull0 $((MAX_SIZE - 4)) 4 abcd)"
	assert_eq "ok 1000" "$($T check /dev/scull0 $((MAX_SIZE - 1004)) 1000 zero:1000)"
	assert_eq 0 "$($T pread --once --count /dev/scull0 $MAX_SIZE 10)" "read at max size"
	# still fine afterwards
	echo after >/dev/scull0
	assert_eq after "$(cat /dev/scull0)"
	assert_eq 6 "$(size_of /dev/scull0)"
}

t_rmmod_busy() {
	echo busy >/dev/scull0
	exec 3</dev/scull0
	if rmmod scull 2>"$T_TMP/rmmod.err"; then
		fail "rmmod scull succeeded while /dev/scull0 was open"
	fi
	[ -s "$T_TMP/rmmod.err" ] || fail "rmmod printed no error"
	echo "rmmod while open said: $(cat "$T_TMP/rmmod.err")"
	mod_loaded scull || fail "scull gone from /proc/modules"
	assert_eq busy "$(cat /dev/scull0)" "device works while rmmod refused"
	exec 3<&-
	# a process holding a device open
	$T hold-open /dev/scull2 60 rdwr >"$T_TMP/hold" &
	pid=$!
	n=50
	until grep -q opened "$T_TMP/hold" 2>/dev/null; do
		n=$((n - 1))
		[ $n -gt 0 ] || fail "hold-open did not open /dev/scull2"
		usleep 100000
	done
	if rmmod scull 2>/dev/null; then
		kill $pid
		fail "rmmod scull succeeded while hold-open had /dev/scull2 open"
	fi
	mod_loaded scull || fail "scull gone from /proc/modules"
	{ kill $pid && wait $pid; } 2>/dev/null || true
	unload_scull
	load_scull
	assert_eq "" "$(cat /dev/scull0)" "fresh device after reload"
}

t_load_cycles() {
	i=0
	while [ $i -lt 20 ]; do
		unload_scull
		load_scull
		[ -c /dev/scull3 ] || fail "cycle $i: /dev/scull3 missing"
		# leave data behind so the unload has something to free
		echo "cycle $i" >/dev/scull0
		$T pwrite /dev/scull1 $((i * 5000)) pattern:10 >/dev/null
		assert_eq "cycle $i" "$(cat /dev/scull0)" "cycle $i"
		i=$((i + 1))
	done
}

t_params() {
	unload_scull
	: >"$T_TMP/params-changed"
	load_scull scull_nr_devs=2 scull_quantum=100 scull_qset=10
	[ -c /dev/scull0 ] || fail "/dev/scull0 missing with scull_nr_devs=2"
	[ -c /dev/scull1 ] || fail "/dev/scull1 missing with scull_nr_devs=2"
	[ ! -e /dev/scull2 ] || fail "/dev/scull2 exists with scull_nr_devs=2"
	assert_eq "ret=0 val=100" "$($T ioctl /dev/scull0 GQUANTUM)" "GQUANTUM with scull_quantum=100"
	assert_eq "ret=0 val=10" "$($T ioctl /dev/scull1 GQSET)" "GQSET with scull_qset=10"
	assert_eq "write=5000" "$($T run /dev/scull1 wronly write=pattern:5000)"
	assert_eq "ok 5000" "$($T check /dev/scull1 0 5000 pattern:5000)"
	# RESET goes back to the params, not to the built-in defaults
	$T ioctl /dev/scull0 TQUANTUM 42 >/dev/null
	$T ioctl /dev/scull0 RESET >/dev/null
	assert_eq "ret=100" "$($T ioctl /dev/scull0 QQUANTUM)" "RESET restores scull_quantum"
	assert_eq "ret=10" "$($T ioctl /dev/scull0 QQSET)" "RESET restores scull_qset"
	unload_scull

	# a fixed major
	load_scull scull_major=240
	grep -qE '^240 scull$' /proc/devices || fail "no '240 scull' in /proc/devices"
	assert_eq f0 "$(stat -c %t /dev/scull0)" "major of /dev/scull0"
	echo fixed >/dev/scull3
	assert_eq fixed "$(cat /dev/scull3)"
	unload_scull

	# out-of-range params make insmod fail and leave nothing behind; the counts and sizes
	# are named in the kernel log
	for p in scull_quantum=0 scull_quantum=1048577 scull_qset=0 scull_qset=65537 \
		scull_nr_devs=0 scull_max_size=0 scull_priv_max=0 scull_priv_max=4097; do
		kmsg "insmod scull $p"
		if insmod "$LDD3_MODULES/scull.ko" $p 2>/dev/null; then
			rmmod scull
			fail "insmod scull.ko $p succeeded"
		fi
		mod_loaded scull && fail "scull loaded after insmod $p failed"
		[ ! -e /dev/scull0 ] || fail "/dev/scull0 left behind by insmod $p"
		_log=$(dmesg | sed -n '/ldd3-test: insmod scull '"$p"'$/,$p')
		case $p in
		scull_nr_devs=0) assert_contains "$_log" "scull: $p is out of range 1..=256" "kernel log after insmod scull $p" ;;
		scull_priv_max=*) assert_contains "$_log" "scull: $p is out of range 1..=4096" "kernel log after insmod scull $p" ;;
		scull_max_size=0) assert_contains "$_log" "scull: $p is not a size in bytes (at least 1)" "kernel log after insmod scull $p" ;;
		esac
	done

	# scull_max_size
	load_scull scull_max_size=100000
	assert_fails_with EFBIG $T pwrite /dev/scull0 100000 x
	assert_eq 2 "$($T pwrite /dev/scull0 99998 abcd)" "write crossing scull_max_size"
	assert_eq 100000 "$(size_of /dev/scull0)"
	unload_scull
	load_scull
	rm -f "$T_TMP/params-changed"
}

# Unloading waits for the kobject releases of the devices' cdevs and their anchors, all 16 of
# them at once (ScullModule's drop removes the three families before any wait). On the test
# kernel it takes about 0.35 s; 5 s would be exceeded by any wait per device. (With
# CONFIG_DEBUG_KOBJECT_RELEASE, which delays each release 1-4 s and is not in the test kernel,
# rmmod took 58 s with the devices one after another, 27 s with the families one after another.)
t_unload_time() {
	start=$(cut -d' ' -f1 /proc/uptime)
	rmmod scull || fail "rmmod scull failed"
	end=$(cut -d' ' -f1 /proc/uptime)
	took=$(awk "BEGIN { printf \"%.2f\", $end - $start }")
	echo "rmmod scull took $took s"
	kmsg "rmmod scull took $took s"
	awk "BEGIN { exit !($end - $start < 5) }" || fail "rmmod scull took $took s (5 s at most)"
}

# ------------------------------------------------------------------ main

if mod_loaded scull; then rmmod scull; fi
if ! insmod "$LDD3_MODULES/scull.ko"; then
	echo "not ok scull/insmod insmod scull.ko failed" >>"${LDD3_RESULTS:-/dev/null}"
	echo "[FAIL] scull/insmod"
	exit 1
fi

scull_case nodes t_nodes
scull_case node_mode t_node_mode
scull_case roundtrip t_roundtrip
scull_case kill_huge_write t_kill_huge_write
scull_case tiny_geometry_index t_tiny_geometry_index
scull_case stalled_copy t_stalled_copy
scull_case torn_copies t_torn_copies
scull_case dd_8mib t_dd_8mib
scull_case quantum_boundary t_quantum_boundary
scull_case holes t_holes
scull_case lseek t_lseek
scull_case open_modes t_open_modes
scull_case ioctl_values t_ioctl_values
scull_case ioctl_einval t_ioctl_einval
scull_case ioctl_eperm t_ioctl_eperm
scull_case ioctl_enotty t_ioctl_enotty
scull_case ioctl_efault t_ioctl_efault
scull_case huge_offset t_huge_offset
scull_case rmmod_busy t_rmmod_busy
scull_case load_cycles t_load_cycles
scull_case params t_params
scull_case unload_time t_unload_time

# leave scull unloaded, in default state first so a later script starts clean
test_case unload _scull_run unload_scull
