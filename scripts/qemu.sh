#!/usr/bin/env bash
# Boots the test guest under QEMU: with KVM where a probe showed it works (scripts/accel.sh,
# remembered per machine; LDD3_ACCEL=kvm|tcg overrides), else under TCG.
#
# usage: scripts/qemu.sh -k BZIMAGE -i INITRD -m MODE [-t TESTS] [-o OUTDIR] [-T TIMEOUT]
#   MODE   check | bench | demo | soak | run (see tests/guest/init); run is interactive.
#   OUTDIR non-interactive modes write OUTDIR/guest.log (the console, ttyS0) and
#          OUTDIR/results.txt (the guest's ttyS1: machine-readable lines).
#   TIMEOUT seconds before QEMU is killed (default 1500; 0 = none). Exit status 124 then.
# Environment: CONSOLE=1 shows the whole console instead of only progress lines (check, bench);
#   LDD3_TEST_TIMEOUT=S per test case in the guest; QEMU_EXTRA_ARGS, QEMU_APPEND (added words).
. "$(dirname "$0")/lib.sh"

kernel='' initrd='' mode='' tests='' outdir='' limit=1500
while getopts k:i:m:t:o:T: opt; do
	case "$opt" in
	k) kernel=$OPTARG ;;
	i) initrd=$OPTARG ;;
	m) mode=$OPTARG ;;
	t) tests=$OPTARG ;;
	o) outdir=$OPTARG ;;
	T) limit=$OPTARG ;;
	*) die "usage: $0 -k BZIMAGE -i INITRD -m MODE [-t TESTS] [-o OUTDIR] [-T TIMEOUT]" ;;
	esac
done
[ -f "$kernel" ] || die "kernel image not found: '$kernel'"
[ -f "$initrd" ] || die "initramfs not found: '$initrd'"
case "$mode" in check | bench | demo | soak | run) ;; *) die "unknown mode '$mode'" ;; esac
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found: run scripts/setup-host.sh"

case "$mode" in
check | bench) loglevel=7 ;;
# Thousands of module loads: their info lines would cost console time; warnings still show.
soak) loglevel=5 ;;
*) loglevel=4 ;;
esac
append="console=ttyS0 panic=-1 loglevel=$loglevel ldd3.mode=$mode"
append="$append${tests:+ ldd3.tests=$tests}${LDD3_TEST_TIMEOUT:+ ldd3.timeout=$LDD3_TEST_TIMEOUT}"
append="$append${QEMU_APPEND:+ $QEMU_APPEND}"
accel=$("$ROOT/scripts/accel.sh" "$kernel")
cpu=()
[ "$accel" = kvm ] && cpu=(-cpu host)
# shellcheck disable=SC2206
qemu=(qemu-system-x86_64 -accel "$accel" "${cpu[@]}" -m 1024 -smp 2 -nographic -no-reboot -nic none
	-kernel "$kernel" -initrd "$initrd" -append "$append" ${QEMU_EXTRA_ARGS:-})

if [ "$mode" = run ]; then
	[ -t 0 ] || die "run mode is interactive and needs a terminal on stdin (make demo runs without one)"
	note "booting under $accel (${limit}s limit off in run mode); Ctrl-a x quits QEMU"
	exec "${qemu[@]}" -serial mon:stdio -serial null
fi

[ -n "$outdir" ] || die "-o OUTDIR is needed in $mode mode"
mkdir -p "$outdir"
log=$outdir/guest.log results=$outdir/results.txt
rm -f "$log" "$results"
: >"$results"

# What to show while the guest runs: everything with CONSOLE=1 or in demo mode, else progress.
if [ "${CONSOLE:-0}" = 1 ] || [ "$mode" = demo ]; then
	filter() {
		tr -d '\r' | sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' -e '/^Booting from ROM/d'
		echo
	}
else
	filter() {
		tr -d '\r' | grep --line-buffered -E \
			'^ldd3: |^\[(ok|FAIL)\] |Kernel panic|BUG:|WARNING:|Oops|unreferenced object' || true
	}
fi

start=$SECONDS
timeout_cmd=()
[ "$limit" != 0 ] && timeout_cmd=(timeout -k 5 "$limit")
set +e
"${timeout_cmd[@]}" "${qemu[@]}" -monitor none -serial stdio -serial "file:$results" </dev/null |
	tee "$log" | filter
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	note "QEMU killed after the ${limit}s limit (guest log: $log)"
	rc=124
elif [ "$rc" != 0 ]; then
	note "QEMU exited with status $rc (guest log: $log)"
fi
note "guest ran $((SECONDS - start)) s; console: $log; results: $results"
exit "$rc"
