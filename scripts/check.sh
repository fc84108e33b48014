#!/usr/bin/env bash
# Runs the test suite in a QEMU guest and reports (what `make check` does after building):
# packs the initramfs from what is built, boots the debug kernel, runs the selected guest tests
# and KUnit modules, then prints one line per test and `N passed, N failed` (scripts/results.py).
# Exits non-zero when a test failed, the guest did not finish or the kernel log has a report.
#
# usage: scripts/check.sh [-k KDIR] [-t TESTS] [-o OUTDIR] [-T TIMEOUT] [-m MODE]
#   KDIR    kernel build tree holding arch/x86/boot/bzImage (default: scripts/build-kernel.sh debug)
#   TESTS   comma-separated name prefixes / globs, e.g. `scull`, `scull/echo*`, `kunit`
#   OUTDIR  default build/check (guest.log = console, results.txt = machine-readable results)
#   TIMEOUT seconds for the whole guest run (default $CHECK_TIMEOUT or 2400)
#   MODE    the guest's mode (tests/guest/init): check (default), or soak for `make soak`
. "$(dirname "$0")/lib.sh"

kdir='' tests='' outdir=$ROOT/build/check limit=${CHECK_TIMEOUT:-2400} mode=check
while getopts k:t:o:T:m: opt; do
	case "$opt" in
	k) kdir=$OPTARG ;;
	t) tests=$OPTARG ;;
	o) outdir=$OPTARG ;;
	T) limit=$OPTARG ;;
	m) mode=$OPTARG ;;
	*) die "usage: $0 [-k KDIR] [-t TESTS] [-o OUTDIR] [-T TIMEOUT] [-m MODE]" ;;
	esac
done
[ -n "$kdir" ] || kdir=$("$ROOT/scripts/build-kernel.sh" debug)
bzimage=$kdir/arch/x86/boot/bzImage
[ -f "$bzimage" ] || die "no kernel image at $bzimage"

initrd=$ROOT/build/initramfs-debug.cpio
mkdir -p "$ROOT/build"
step "packing the guest initramfs"
"$ROOT/scripts/mkinitramfs.sh" "$initrd"

step "booting the debug kernel under QEMU (limit ${limit}s)${tests:+, tests: $tests}$([ "$mode" = check ] || echo ", mode $mode")"
start=$SECONDS
status=0
"$ROOT/scripts/qemu.sh" -k "$bzimage" -i "$initrd" -m "$mode" -o "$outdir" -T "$limit" \
	${tests:+-t "$tests"} || status=$?

step "results (guest run: $((SECONDS - start)) s; console log: ${outdir#"$ROOT"/}/guest.log)"
exec python3 "$ROOT/scripts/results.py" "$outdir" --qemu-status "$status" --timeout "$limit"
