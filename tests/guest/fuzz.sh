#!/bin/sh
# Fuzzing (README.md, "make fuzz"): `ldd3test fuzz-chr` on scull's and scullp's devices, then
# `ldd3test fuzz-net` on snull when this ldd3test has it. Under `make check` a short budget;
# `make fuzz` passes ldd3.fuzz_s=SECONDS and ldd3.seed=SEED[,SEED...] on the kernel command line.
# Each case fails with the fuzzer's FAIL line (it names the seed); the seed is also in the log.
# By hand: `sh /tests/fuzz.sh` (LDD3_FUZZ_S=120 LDD3_FUZZ_SEED=7 sh /tests/fuzz.sh).
# shellcheck shell=sh
. "$(dirname "$0")/lib.sh"

T=ldd3test
FUZZ_S=${LDD3_FUZZ_S:-}
SEED=${LDD3_FUZZ_SEED:-}
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	ldd3.fuzz_s=*) FUZZ_S=${arg#*=} ;;
	ldd3.seed=*) SEED=${arg#*=} ;;
	esac
done
# The short budget of `make check`: 40 s for the char devices, 15 s for snull.
CHR_S=${FUZZ_S:-40}
NET_S=${FUZZ_S:-15}
[ -n "$SEED" ] || SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
echo "fuzz: seed $SEED, ${CHR_S} s (chr), ${NET_S} s (net)"
kmsg "fuzz seed $SEED"

# Runs a fuzzer, showing its output; fails with its FAIL line (which has the seed).
run_fuzzer() {
	if "$@" >"$T_TMP/fuzz.out" 2>&1; then
		cat "$T_TMP/fuzz.out"
		return 0
	fi
	cat "$T_TMP/fuzz.out"
	_f=$(grep -m1 '^FAIL' "$T_TMP/fuzz.out" | cut -c1-400)
	fail "${_f:-$* failed with no FAIL line (seed $SEED): $(tail -n1 "$T_TMP/fuzz.out" | cut -c1-300)}"
}

t_chr() {
	for m in scull scullp; do
		if ! mod_loaded $m; then mod_load $m; fi
	done
	wait_for /dev/scull3
	wait_for /dev/scullp3
	# SEED may be a list (1,2,3): one run per seed.
	for _s in $(echo "$SEED" | tr ',' ' '); do
		# Tiny geometries too: a far write is then ENOSPC (the list's bound), never an
		# allocator warning. A write that faults stores the bytes before the fault and no
		# other (the fuzzer once found scull zeroing the rest of its block).
		run_fuzzer $T fuzz-chr --seed "$_s" --seconds "$CHR_S" --procs 6 --tiny-geometry
	done
	# The fuzzer restored the module-wide settings: check them.
	assert_eq "ret=4000" "$($T ioctl /dev/scull0 SCULL_IOCQQUANTUM)" "scull quantum after fuzzing"
	assert_eq "ret=1000" "$($T ioctl /dev/scull0 SCULL_IOCQQSET)" "scull qset after fuzzing"
	assert_eq "ret=4000" "$($T ioctl /dev/scull0 SCULL_P_IOCQSIZE)" "scullpipe size after fuzzing"
	assert_eq "ret=0" "$($T ioctl /dev/scullp0 SCULLP_IOCQORDER)" "scullp order after fuzzing"
	assert_eq "ret=500" "$($T ioctl /dev/scullp0 SCULLP_IOCQQSET)" "scullp qset after fuzzing"
	mod_unload scullp
	mod_unload scull
}

t_net() {
	# Under `make check`, snull.sh/fuzz runs fuzz-net (20 s); `make fuzz` runs it here.
	[ -n "$FUZZ_S" ] || skip "make check runs fuzz-net as snull/fuzz"
	if ! mod_loaded snull; then mod_load snull; fi
	if ! $T fuzz-net --seed 1 --seconds 0 >"$T_TMP/probe" 2>&1; then
		mod_unload snull
		skip "ldd3test fuzz-net --seed 1 --seconds 0 fails: $(head -n1 "$T_TMP/probe" | cut -c1-100)"
	fi
	for _s in $(echo "$SEED" | tr ',' ' '); do
		run_fuzzer $T fuzz-net --seed "$_s" --seconds "$NET_S"
	done
	mod_unload snull
}

test_case chr t_chr
test_case net t_net

for m in scullp scull snull; do
	if mod_loaded $m; then rmmod $m || true; fi
done
