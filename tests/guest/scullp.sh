#!/bin/sh
# Guest tests for scullp0..3 (LDD3 chapter 15; README.md, "scullp"): page-backed scull
# devices with mmap served by a fault handler.
# Run by the harness as /tests/scullp.sh; by hand: `sh /tests/scullp.sh`
# (LDD3_CASES='map*' sh /tests/scullp.sh runs a subset).
# shellcheck shell=sh
. "$(dirname "$0")/lib.sh"

T=ldd3test
PAGE=4096
DEFAULT_QSET=500

# ------------------------------------------------------------------ helpers

load_scullp() {
	mod_load scullp "$@"
	wait_for /dev/scullp3
}

# Puts scullp back in its default state: loaded with default params, module-wide values
# reset, every device truncated.
restore() {
	if ! mod_loaded scullp || [ ! -e /dev/scullp3 ] || [ -e "$T_TMP/params-changed" ]; then
		if mod_loaded scullp; then rmmod scullp || fail "restore: rmmod scullp failed"; fi
		load_scullp
		rm -f "$T_TMP/params-changed"
	fi
	$T ioctl /dev/scullp0 SCULLP_IOCRESET >/dev/null
	for d in 0 1 2 3; do
		: >/dev/scullp$d
	done
}

scullp_case() {
	test_case "$1" _scullp_run "$2"
}
_scullp_run() {
	restore
	"$1"
}

# Truncates DEV with page order ORDER (the order a device takes at truncation).
with_order() {
	$T ioctl /dev/scullp0 SCULLP_IOCTORDER "$2" >/dev/null
	: >"$1"
}

# ------------------------------------------------------------------ cases

t_nodes() {
	for d in 0 1 2 3; do
		[ -c /dev/scullp$d ] || fail "/dev/scullp$d is not a character device"
	done
	[ ! -e /dev/scullp4 ] || fail "/dev/scullp4 exists"
	grep -qE '^ *[0-9]+ scullp$' /proc/devices || fail "no 'scullp' region in /proc/devices"
}

# As scull/torn_copies: a user buffer that faults part way, across the page at 4096.
t_torn_copies() {
	assert_eq "write=12345" "$($T run /dev/scullp0 wronly write=pattern:12345)"
	assert_eq "ret=5000" "$($T torn write /dev/scullp0 1000 5000 8000)" "write faulting after 5000 bytes"
	assert_eq 12345 "$($T size /dev/scullp0)" "size after the torn write"
	assert_eq "ok 1000" "$($T check /dev/scullp0 0 1000 pattern:1000)" "bytes before the write"
	assert_eq "ok 5000" "$($T check /dev/scullp0 1000 5000 fill:0x77:5000)" "bytes written"
	assert_eq "ok 6345" "$($T check /dev/scullp0 6000 6345 pattern:6345)" "bytes after the fault"
	assert_eq "errno=EFAULT" "$($T torn write /dev/scullp0 20000 0 100)" "write faulting at once"
	assert_eq 12345 "$($T size /dev/scullp0)" "size after the failed write"
	assert_eq "ret=10 data=wwwwwwwwww" "$($T torn read /dev/scullp0 4091 10 100)" "read faulting after 10 bytes"
	assert_eq "errno=EFAULT" "$($T torn read /dev/scullp0 0 0 100)" "read faulting at once"
}

t_readwrite() {
	dd if=/dev/urandom of="$T_TMP/rand" bs=65536 count=16 2>/dev/null
	dd if="$T_TMP/rand" of=/dev/scullp0 bs=3001 2>/dev/null
	assert_eq 1048576 "$($T size /dev/scullp0)" "size after dd"
	dd if=/dev/scullp0 of="$T_TMP/back" bs=7777 2>/dev/null
	assert_file_eq "$T_TMP/rand" "$T_TMP/back"
	# a hole reads as zeros; O_WRONLY truncates, O_RDWR does not
	assert_eq 5 "$($T pwrite /dev/scullp1 20000 hello)"
	assert_eq "ok 20000" "$($T check /dev/scullp1 0 20000 zero:20000)" "hole"
	assert_eq 20005 "$($T size /dev/scullp1)"
	$T open-mode /dev/scullp1 rdwr >/dev/null
	assert_eq 20005 "$($T size /dev/scullp1)" "after O_RDWR open"
	echo bye >/dev/scullp1
	assert_eq bye "$(cat /dev/scullp1)" "after O_WRONLY rewrite"
	rm -f "$T_TMP/rand" "$T_TMP/back"
}

# A block made by a write is zeroed where the write did not reach: the stale bytes (0xff) of
# the pages the O_WRONLY open just freed, which the allocator hands out again to the write in
# the same process, never show through read().
fresh_block_zeroed() {
	with_order /dev/scullp1 "$1"
	$T pwrite /dev/scullp1 0 fill:0xff:65536 >/dev/null
	assert_eq "seek=5000
write=5
seek=70000
write=1" "$($T run /dev/scullp1 wronly seek=5000,SET write=hello seek=70000,SET write=x)"
	assert_eq "ok 5000" "$($T check /dev/scullp1 0 5000 zero:5000)" "before the write, order $1"
	assert_eq "ok 64995" "$($T check /dev/scullp1 5005 64995 zero:64995)" "after the write, order $1"
}
t_fresh_block_zeroed_order0() { fresh_block_zeroed 0; }
t_fresh_block_zeroed_order2() { fresh_block_zeroed 2; }

t_llseek() {
	$T pwrite /dev/scullp0 0 pattern:10000 >/dev/null
	assert_eq 10000 "$($T seek /dev/scullp0 0 END)"
	assert_eq 9990 "$($T seek /dev/scullp0 -10 END)"
	assert_eq 123456 "$($T seek /dev/scullp0 123456 SET)" "past the end"
	assert_fails_with EINVAL $T seek /dev/scullp0 -1 SET
	assert_fails_with EINVAL $T seek /dev/scullp0 -10001 END
	assert_eq "seek=5000
check=ok
pos=5100" "$($T run /dev/scullp0 rdonly seek=5000,SET check=100,pattern:100 pos)"
}

t_size_bound() {
	# scullp_max_size defaults to 128 MiB
	assert_fails_with EFBIG $T pwrite /dev/scullp0 134217728 x
	assert_eq 1 "$($T pwrite /dev/scullp0 134217727 x)"
}

t_ioctl() {
	assert_eq "ret=0" "$($T ioctl /dev/scullp0 SCULLP_IOCQORDER)"
	assert_eq "ret=$DEFAULT_QSET" "$($T ioctl /dev/scullp0 SCULLP_IOCQQSET)"
	assert_eq "ret=0" "$($T ioctl /dev/scullp0 SCULLP_IOCTORDER 3)"
	assert_eq "ret=3" "$($T ioctl /dev/scullp0 SCULLP_IOCQORDER)"
	assert_eq "ret=3" "$($T ioctl /dev/scullp0 SCULLP_IOCHORDER 1)" "H returns the old"
	assert_eq "ret=0 val=1" "$($T ioctl /dev/scullp0 SCULLP_IOCXORDER 2)" "X exchanges"
	assert_eq "ret=0 val=2" "$($T ioctl /dev/scullp0 SCULLP_IOCGORDER)"
	assert_eq "ret=0" "$($T ioctl /dev/scullp0 SCULLP_IOCSORDER 4)"
	assert_eq "ret=0 val=4" "$($T ioctl /dev/scullp0 SCULLP_IOCGORDER)"
	assert_eq "ret=0" "$($T ioctl /dev/scullp0 SCULLP_IOCSQSET 7)"
	assert_eq "ret=7" "$($T ioctl /dev/scullp0 SCULLP_IOCQQSET)"
	assert_eq "ret=0" "$($T ioctl /dev/scullp0 SCULLP_IOCTQSET 9)"
	assert_eq "ret=9" "$($T ioctl /dev/scullp0 SCULLP_IOCHQSET 11)"
	assert_eq "ret=0 val=11" "$($T ioctl /dev/scullp0 SCULLP_IOCXQSET 12)"
	assert_eq "ret=0 val=12" "$($T ioctl /dev/scullp0 SCULLP_IOCGQSET)"
	# validation
	assert_fails_with EINVAL $T ioctl /dev/scullp0 SCULLP_IOCTORDER 11
	assert_fails_with EINVAL $T ioctl /dev/scullp0 SCULLP_IOCTORDER -1
	assert_fails_with EINVAL $T ioctl /dev/scullp0 SCULLP_IOCSORDER 99
	assert_fails_with EINVAL $T ioctl /dev/scullp0 SCULLP_IOCTQSET 0
	assert_fails_with EINVAL $T ioctl /dev/scullp0 SCULLP_IOCXQSET -5
	assert_eq "ret=4" "$($T ioctl /dev/scullp0 SCULLP_IOCQORDER)" "unchanged by rejected values"
	# privileges: reading is free, changing needs CAP_SYS_ADMIN
	chmod 0666 /dev/scullp0
	assert_eq "ret=4" "$($T as-user 1000 $T ioctl /dev/scullp0 SCULLP_IOCQORDER)"
	for c in SCULLP_IOCRESET SCULLP_IOCTORDER SCULLP_IOCHQSET; do
		assert_fails_with EPERM $T as-user 1000 $T ioctl /dev/scullp0 $c 1
	done
	assert_fails_with EPERM $T as-user 1000 $T ioctl /dev/scullp0 SCULLP_IOCSQSET 3
	assert_fails_with EPERM $T as-user 1000 $T ioctl /dev/scullp0 SCULLP_IOCXORDER 3
	# foreign magic, number past the last, bad pointers
	assert_fails_with ENOTTY $T ioctl /dev/scullp0 0x6b00
	assert_fails_with ENOTTY $T ioctl /dev/scullp0 0x4b0d
	assert_fails_with EFAULT $T ioctl --bad-pointer /dev/scullp0 SCULLP_IOCGORDER
	assert_fails_with EFAULT $T ioctl --bad-pointer /dev/scullp0 SCULLP_IOCSQSET
	assert_fails_with EFAULT $T ioctl --bad-pointer /dev/scullp0 SCULLP_IOCXORDER
	# RESET goes back to the module parameters
	assert_eq "ret=0" "$($T ioctl /dev/scullp0 SCULLP_IOCRESET)"
	assert_eq "ret=0" "$($T ioctl /dev/scullp0 SCULLP_IOCQORDER)"
	assert_eq "ret=$DEFAULT_QSET" "$($T ioctl /dev/scullp0 SCULLP_IOCQQSET)"
}

t_params() {
	rmmod scullp
	touch "$T_TMP/params-changed"
	assert_fails insmod /modules/scullp.ko scullp_order=11
	assert_fails insmod /modules/scullp.ko scullp_qset=0
	assert_fails insmod /modules/scullp.ko scullp_devs=0
	mod_load scullp scullp_order=3 scullp_qset=2 scullp_devs=2
	wait_for /dev/scullp1
	[ ! -e /dev/scullp2 ] || fail "/dev/scullp2 with scullp_devs=2"
	assert_eq "ret=3" "$($T ioctl /dev/scullp0 SCULLP_IOCQORDER)"
	assert_eq "ret=2" "$($T ioctl /dev/scullp0 SCULLP_IOCQQSET)"
	# 32 KiB blocks, 2 per list item: 200000 bytes span 4 list items
	assert_eq "write=200000" "$($T run /dev/scullp1 wronly write=pattern:200000)"
	assert_eq "ok 200000" "$($T check /dev/scullp1 0 200000 pattern:200000)"
	assert_eq "ok 200000" "$($T mapcmp /dev/scullp1)"
}

# mapcmp over ORDER: every byte of the mapping against read(), partial last page included.
map_compare() {
	with_order /dev/scullp0 "$1"
	dd if=/dev/urandom of=/dev/scullp0 bs=100003 count=3 2>/dev/null
	assert_eq 300009 "$($T size /dev/scullp0)"
	assert_eq "ok 300009" "$($T mapcmp /dev/scullp0)" "whole device, order $1"
	# with a page offset (the fault handler adds vm_pgoff)
	assert_eq "ok 291817" "$($T mapcmp /dev/scullp0 8192)" "from page 2, order $1"
	assert_eq "ok 4096" "$($T mapcmp /dev/scullp0 $((5 * PAGE)) 4096)" "page 5 alone, order $1"
	assert_eq "ok 65536" "$($T mapcmp /dev/scullp0 $((17 * PAGE)) 65536)" "16 pages from 17, order $1"
	assert_eq "ok 1001" "$($T mapcmp /dev/scullp0 $((73 * PAGE)))" "last partial page, order $1"
}
t_map_compare_order0() { map_compare 0; }
t_map_compare_order2() { map_compare 2; }
t_map_compare_order5() { map_compare 5; }

map_write() {
	with_order /dev/scullp1 "$1"
	$T pwrite /dev/scullp1 0 zero:100000 >/dev/null
	assert_eq "ok 30000" "$($T mapwrite /dev/scullp1 5000 pattern:30000)" "order $1"
	assert_eq "ok 5000" "$($T check /dev/scullp1 0 5000 zero:5000)" "before, order $1"
	assert_eq "ok 65000" "$($T check /dev/scullp1 35000 65000 zero:65000)" "after, order $1"
	# at a page offset, and what the mapping wrote is what a new mapping sees
	assert_eq "ok 4096" "$($T mapwrite /dev/scullp1 $((20 * PAGE)) fill:0xa5:4096)"
	assert_eq "ok 100000" "$($T mapcmp /dev/scullp1)"
	assert_eq 100000 "$($T size /dev/scullp1)" "mapped writes do not change the size"
}
t_map_write_order0() { map_write 0; }
t_map_write_order2() { map_write 2; }

t_map_sigbus_end() {
	$T pwrite /dev/scullp0 0 pattern:10000 >/dev/null
	# pages 0-2 hold data (page 2 partly); page 3 of a 4-page mapping is past the end
	assert_eq "ok $((9999 % 251))" "$($T mapprobe /dev/scullp0 0 16384 9999)"
	assert_eq "ok 0" "$($T mapprobe /dev/scullp0 0 16384 10000)" "rest of the last page"
	assert_eq sigbus "$($T mapprobe /dev/scullp0 0 16384 12288)" "read past the end"
	assert_eq sigbus "$($T mapprobe /dev/scullp0 0 16384 12288 write)" "write past the end"
	assert_eq sigbus "$($T mapprobe /dev/scullp0 0 16384 0,12288)" "past the end after a fault-around"
	assert_eq sigbus "$($T mapprobe /dev/scullp0 $((8 * PAGE)) 4096 0)" "mapping wholly past the end"
	assert_eq sigbus "$($T mapprobe /dev/scullp2 0 4096 0)" "empty device"
}

map_sigbus_hole() {
	with_order /dev/scullp0 "$1"
	block=$((PAGE << $1))
	# blocks 0 and 3 written, 1 and 2 holes
	$T pwrite /dev/scullp0 0 pattern:100 >/dev/null
	$T pwrite /dev/scullp0 $((3 * block)) pattern:$PAGE >/dev/null
	len=$((4 * block))
	assert_eq "ok 99" "$($T mapprobe /dev/scullp0 0 $len 99)"
	assert_eq sigbus "$($T mapprobe /dev/scullp0 0 $len $block)" "hole, order $1"
	assert_eq sigbus "$($T mapprobe /dev/scullp0 0 $len $((3 * block - 1)))" "end of hole, order $1"
	assert_eq sigbus "$($T mapprobe /dev/scullp0 0 $len $((2 * block)) write)" "write into a hole"
	# fault-around from both sides must not map the hole
	assert_eq sigbus "$($T mapprobe /dev/scullp0 0 $len 0,$((3 * block)),$((2 * block)))" \
		"hole after fault-around, order $1"
	v=$(( (3 * block + 5) % 251 ))
	assert_eq "ok $v" "$($T mapprobe /dev/scullp0 0 $len $((3 * block + 5)))"
	# still readable as zeros through read()
	assert_eq "ok $block" "$($T check /dev/scullp0 $block $block zero:$block)"
}
t_map_sigbus_hole_order0() { map_sigbus_hole 0; }
t_map_sigbus_hole_order2() { map_sigbus_hole 2; }

t_map_truncate_busy() {
	$T pwrite /dev/scullp0 0 pattern:$((5 * PAGE)) >/dev/null
	assert_eq "mapped errno=EBUSY
split errno=EBUSY
forked errno=EBUSY
parent-unmapped errno=EBUSY
child-exited opened" "$($T mapbusy /dev/scullp0)"
	assert_eq 0 "$($T size /dev/scullp0)" "truncated after the last unmap"
	# an O_RDWR open of a mapped device is fine, and other devices are not affected
	$T pwrite /dev/scullp1 0 pattern:$((4 * PAGE)) >/dev/null
	$T mapbusy /dev/scullp1 >/dev/null
}

t_map_self() {
	# read() into, and write() from, a mapping of the device being read or written: no
	# deadlock, lockdep quiet (the device lock is never held across the user copy)
	for order in 0 2; do
		with_order /dev/scullp3 $order
		$T pwrite /dev/scullp3 0 pattern:$((64 * PAGE)) >/dev/null
		assert_eq "ok $((32 * PAGE))" "$($T mapself /dev/scullp3)" "order $order"
	done
}

t_map_private() {
	$T pwrite /dev/scullp0 0 pattern:$PAGE >/dev/null
	assert_eq ok "$($T mapprivate /dev/scullp0)"
	assert_eq "ok $PAGE" "$($T check /dev/scullp0 0 $PAGE pattern:$PAGE)"
	: >/dev/scullp0
	assert_eq 0 "$($T size /dev/scullp0)" "truncated once the private mapping is gone"
}

t_map_big() {
	# 8 MiB touched through the mapping (fault-around in 16-page groups), in both directions
	dd if=/dev/urandom of="$T_TMP/rand" bs=1048576 count=8 2>/dev/null
	dd if="$T_TMP/rand" of=/dev/scullp2 bs=1048576 2>/dev/null
	assert_eq "ok 8388608" "$($T mapcmp /dev/scullp2)"
	$T mapbench /dev/scullp2 8388608 --write >/dev/null
	assert_eq "ok 8388608" "$($T mapcmp /dev/scullp2)" "after writing every page"
	rm -f "$T_TMP/rand"
}

_unload() {
	mod_loaded scullp || return 0
	mod_unload scullp
	[ ! -e /dev/scullp0 ] || fail "/dev/scullp0 still there after rmmod"
}

scullp_case nodes t_nodes
scullp_case readwrite t_readwrite
scullp_case torn_copies t_torn_copies
scullp_case fresh_block_zeroed_order0 t_fresh_block_zeroed_order0
scullp_case fresh_block_zeroed_order2 t_fresh_block_zeroed_order2
scullp_case llseek t_llseek
scullp_case size_bound t_size_bound
scullp_case ioctl t_ioctl
scullp_case params t_params
scullp_case map_compare_order0 t_map_compare_order0
scullp_case map_compare_order2 t_map_compare_order2
scullp_case map_compare_order5 t_map_compare_order5
scullp_case map_write_order0 t_map_write_order0
scullp_case map_write_order2 t_map_write_order2
scullp_case map_sigbus_end t_map_sigbus_end
scullp_case map_sigbus_hole_order0 t_map_sigbus_hole_order0
scullp_case map_sigbus_hole_order2 t_map_sigbus_hole_order2
scullp_case map_truncate_busy t_map_truncate_busy
scullp_case map_self t_map_self
scullp_case map_private t_map_private
scullp_case map_big t_map_big

# leave nothing loaded for the next script
test_case unload _unload
