#!/bin/sh
# The user-space headers (include/uapi/ldd3): a C program built against <ldd3/scull.h> alone
# drives every kind of scull ioctl, with the exact results and errnos; built 32-bit
# (scull_ioctl32), it gets the same answers through compat_ioctl.
. "$(dirname "$0")/lib.sh"

# What scull_ioctl prints on a freshly loaded scull (the settings are module-wide, so any
# scull device answers the same; the program leaves them as it found them).
want_transcript() {
	cat <<-'EOT'
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
}

c_program_drives_scull_ioctls() {
	mod_load scull
	want_transcript >"$T_TMP/want"
	scull_ioctl /dev/scull0 >"$T_TMP/got"
	diff "$T_TMP/want" "$T_TMP/got" || fail "scull_ioctl transcript differs (diff above)"
	# The same numbers reach the Rust test program: it names the commands of the header.
	assert_eq "ret=4000" "$(ldd3test ioctl /dev/scull0 SCULL_IOCQQUANTUM)" "ldd3test SCULL_IOCQQUANTUM"
	as_user scull_ioctl /dev/scull0 >"$T_TMP/user"
	assert_contains "$(cat "$T_TMP/user")" "S quantum 2000: ret=-1 val=2000 errno=EPERM" "as a normal user"
	assert_eq 4000 "$(ldd3test ioctl /dev/scull0 QQUANTUM | sed 's/ret=//')" "quantum after the user's attempts"
	mod_unload scull
}

# The same program as a 32-bit (i386) process: its ioctls arrive through compat_ioctl
# (compat_ptr_ioctl), and it must see exactly what the 64-bit one sees, on scull0 and on a
# scullpipe (another set of file operations).
compat_program_drives_scull_ioctls() {
	# Byte 4 of the ELF header (EI_CLASS) is 1 for a 32-bit program.
	assert_eq 01 "$(od -An -tx1 -j4 -N1 /bin/scull_ioctl32 | tr -d ' ')" "ELF class of scull_ioctl32"
	mod_load scull
	want_transcript >"$T_TMP/want"
	for dev in /dev/scull0 /dev/scullpipe0; do
		scull_ioctl32 "$dev" >"$T_TMP/got"
		diff "$T_TMP/want" "$T_TMP/got" || fail "scull_ioctl32 $dev transcript differs (diff above)"
	done
	as_user scull_ioctl32 /dev/scull0 >"$T_TMP/user"
	assert_contains "$(cat "$T_TMP/user")" "S quantum 2000: ret=-1 val=2000 errno=EPERM" "as a normal user"
	assert_contains "$(cat "$T_TMP/user")" "Q quantum: ret=4000" "as a normal user"
	mod_unload scull
}

test_case c-program-drives-scull-ioctls c_program_drives_scull_ioctls
test_case compat-program-drives-scull-ioctls compat_program_drives_scull_ioctls
