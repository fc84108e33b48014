#!/usr/bin/env bash
# Builds the C reference (a checkout of the public martinezjavier/ldd3 that the user brings:
# make bench LDD3_C=/path/to/ldd3) against a kernel build tree, for `make bench` to compare.
# Nothing of it enters this repository: the checkout is copied to OUT/src (without .git) and
# built there; the modules go to OUT/modules, with OUT/modules/skipped.txt giving one line per
# module that did not build ("NAME: REASON") and OUT/NAME.log the whole build output.
#
# usage: scripts/build-ldd3-c.sh KDIR LDD3_CHECKOUT OUT
#
# Compatibility with 7.3, given on the command line, the checkout itself unchanged:
#   - Kbuild no longer reads EXTRA_CFLAGS (the checkout's Makefiles set the include path
#     there): KCFLAGS="-I<checkout>/include" gives it instead.
#   - 6.12 removed no_llseek (scull/pipe.c sets .llseek = no_llseek): -Dno_llseek=NULL is the
#     same thing now, a NULL llseek makes lseek fail with ESPIPE.
# Warnings of the C code (missing prototypes, no MODULE_DESCRIPTION) are left in the logs.
. "$(dirname "$0")/lib.sh"

[ $# -eq 3 ] || die "usage: $0 KDIR LDD3_CHECKOUT OUT"
kdir=$1 checkout=$2 out=$(realpath -m "$3")
[ -f "$kdir/Makefile" ] || die "no kernel build tree at '$kdir'"
for m in scull scullp snull; do
	[ -f "$checkout/$m/Makefile" ] ||
		die "'$checkout' is not a checkout of the LDD3 examples (no $m/Makefile); get one with: git clone https://github.com/martinezjavier/ldd3"
done

# Up to date: built against this kernel from this checkout, and no file of it changed since.
stamp=$out/modules/.built
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$kdir $(realpath "$checkout")" ] &&
	[ -z "$(cd "$checkout" && find include scull scull-shared scullp snull -newer "$stamp" -print -quit)" ]; then
	note "C reference up to date: $out/modules ($(cd "$out/modules" && echo *.ko))"
	exit 0
fi

step "building the C reference from $checkout against $(basename "$kdir")"
mkdir -p "$out"
rm -rf "$out/src" "$out/modules"
mkdir -p "$out/src" "$out/modules"
# The directories the three modules need (scullp/scull-shared links into scull-shared).
tar -C "$checkout" --exclude=.git -c include scull scull-shared scullp snull | tar -x -C "$out/src"
: >"$out/modules/skipped.txt"
for m in scull scullp snull; do
	log=$out/$m.log
	if make -C "$kdir" M="$out/src/$m" LLVM="$LLVM_SUFFIX" \
		KCFLAGS="-I$out/src/include -Dno_llseek=NULL" modules >"$log" 2>&1 &&
		[ -f "$out/src/$m/$m.ko" ]; then
		cp "$out/src/$m/$m.ko" "$out/modules/"
		note "C $m.ko built ($(grep -c 'warning:' "$log") compiler warnings, see $log)"
	else
		reason=$(grep -m1 -E "error:|\*\*\*" "$log" | sed "s|$out/src/||" || true)
		echo "$m: did not build: ${reason:-see $log}" >>"$out/modules/skipped.txt"
		note "C $m.ko did not build, skipped: ${reason:-see $log}"
	fi
done
echo "$kdir $(realpath "$checkout")" >"$stamp"
