#!/bin/sh
# The user-space headers (include/uapi/ldd3): a C program built against <ldd3/scull.h> alone
# drives every kind of scull ioctl, with the exact results and errnos.
. "$(dirname "$0")/lib.sh"

c_program_drives_scull_ioctls() {
	mod_load scull
	scull_ioctl /dev/scull0 >"$T_TMP/got"
	cat >"$T_TMP/want" <<-'EOT'
		Q quantum: ret=4000
		G qset: ret=0 val=1000
		S quantum 2000: ret=0 val=2000
		T qset 50: ret=0
		X quantum 3000: ret=0 val=2000
		H qset 60: ret=50
		Q qset: ret=60
		T quantum 0: ret=-1 errno=EINVAL
		S qset -1: ret=-1 val=-1 errno=EINVAL
		G quantum, bad pointer: ret=-1 errno=EFAULT
		number past MAXNR: ret=-1 errno=ENOTTY
		foreign magic: ret=-1 errno=ENOTTY
		T pipe size 8192: ret=0
		Q pipe size: ret=8192
		T pipe size 4000: ret=0
		reset: ret=0
		Q quantum after reset: ret=4000
		Q qset after reset: ret=1000
	EOT
	diff "$T_TMP/want" "$T_TMP/got" || fail "scull_ioctl transcript differs (diff above)"
	# The same numbers reach the Rust test program: it names the commands of the header.
	assert_eq "ret=4000" "$(ldd3test ioctl /dev/scull0 SCULL_IOCQQUANTUM)" "ldd3test SCULL_IOCQQUANTUM"
	as_user scull_ioctl /dev/scull0 >"$T_TMP/user"
	assert_contains "$(cat "$T_TMP/user")" "S quantum 2000: ret=-1 val=2000 errno=EPERM" "as a normal user"
	assert_eq 4000 "$(ldd3test ioctl /dev/scull0 QQUANTUM | sed 's/ret=//')" "quantum after the user's attempts"
	mod_unload scull
}

test_case c-program-drives-scull-ioctls c_program_drives_scull_ioctls
