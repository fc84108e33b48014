#!/usr/bin/env bash
# Packs the guest's initramfs, an uncompressed cpio (under TCG the guest unpacks it faster
# than it would decompress it): busybox-static with its applet links, /init from
# tests/guest/init, the test scripts in /tests (the benchmark in /tests/bench), every built
# module in /modules (plus /modules/kunit.list naming those with KUnit suites), /bin/ldd3test
# when built, and iproute2's `ip` and `ethtool` with their libraries at the host's paths (call
# them as /sbin/ip, /sbin/ethtool: busybox's shell runs its own applets before $PATH).
#
# usage: scripts/mkinitramfs.sh [-b] [-p] [-m MODULE_ROOT] [-c C_MODULES] [-a BASE_ROOT] OUT.cpio
#   -b: for the benchmark: also iperf3 (Debian's, /usr/bin/iperf3) with its libraries.
#   -p: for `make bench PROFILE=1`: also perf (Debian's linux-perf, /usr/bin/perf) with its libraries.
#   MODULE_ROOT: where to look for .ko files (default: the repository; `make bench` passes the
#   bench kernel's module output directory).
#   C_MODULES: a directory of the C reference's modules (scripts/build-ldd3-c.sh), packed as
#   /modules/ldd3-c (with its skipped.txt), apart from the project's.
#   BASE_ROOT: a module build of another revision of this project (`make bench BENCH_BASE=`),
#   whose scull.ko, scullp.ko and snull.ko are packed as /modules/base.
. "$(dirname "$0")/lib.sh"

modroot=$ROOT bench='' perf='' cmods='' baseroot=''
usage="usage: $0 [-b] [-p] [-m MODULE_ROOT] [-c C_MODULES] [-a BASE_ROOT] OUT.cpio"
while getopts bpm:c:a: opt; do
	case "$opt" in
	b) bench=1 ;;
	p) perf=1 ;;
	m) modroot=$OPTARG ;;
	c) cmods=$(realpath "$OPTARG") ;;
	a) baseroot=$(realpath "$OPTARG") ;;
	*) die "$usage" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || die "$usage"
out=$(realpath -m "$1")
mkdir -p "$(dirname "$out")"

BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found: install busybox-static (scripts/setup-host.sh)"
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic executable' ||
	die "$BUSYBOX is not static: install busybox-static (scripts/setup-host.sh)"

stage=$(mktemp -d "${TMPDIR:-/tmp}/ldd3-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cd "$stage" || exit 1
mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev tmp run root home/user modules tests lib lib64

# Host programs busybox cannot replace, with the shared libraries `ldd` names, at the same paths.
copy_with_libs() {
	local bin=$1 dest=$2 lib
	cp -L "$bin" ".$dest"
	for lib in $(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' || true); do
		[ -e ".$lib" ] && continue
		mkdir -p ".$(dirname "$lib")"
		cp -L "$lib" ".$lib"
	done
}
for prog in ip ethtool; do
	path=$(PATH=/usr/sbin:/sbin:/usr/bin:/bin command -v "$prog") ||
		die "$prog not found on the host: install iproute2 and ethtool (scripts/setup-host.sh)"
	copy_with_libs "$path" "/usr/sbin/$prog"
	ln -s "/usr/sbin/$prog" "sbin/$prog"
done
if [ -n "$bench" ]; then
	[ -x /usr/bin/iperf3 ] || die "/usr/bin/iperf3 not found: install iperf3 (scripts/setup-host.sh)"
	copy_with_libs /usr/bin/iperf3 /usr/bin/iperf3
fi
if [ -n "$perf" ]; then
	[ -x /usr/bin/perf ] || die "/usr/bin/perf not found: install linux-perf (scripts/setup-host.sh)"
	copy_with_libs /usr/bin/perf /usr/bin/perf
fi

cp "$BUSYBOX" bin/busybox
for applet in $("$BUSYBOX" --list-full); do
	[ -e "$applet" ] || [ -L "$applet" ] || ln -s /bin/busybox "$applet"
done

install -m 0755 "$ROOT/tests/guest/init" init
for f in "$ROOT"/tests/guest/*; do
	[ -f "$f" ] && [ "$(basename "$f")" != init ] && install -m 0755 "$f" tests/
done
mkdir -p tests/bench
for f in "$ROOT"/tests/guest/bench/*; do
	[ -f "$f" ] && install -m 0755 "$f" tests/bench/
done

prog=$ROOT/tests/prog/target/x86_64-unknown-linux-musl/release/ldd3test
[ -x "$prog" ] && install -m 0755 "$prog" bin/ldd3test
# The C test programs (tests/prog/c, built by `make prog`).
for prog in "$ROOT"/tests/prog/target/c/*; do
	[ -f "$prog" ] && [ -x "$prog" ] && install -m 0755 "$prog" bin/
done

# Modules: every .ko under the driver and test folders, flattened into /modules.
readelf=$(command -v readelf || command -v "llvm-readelf$LLVM_SUFFIX" || true)
[ -n "$readelf" ] || die "no readelf or llvm-readelf$LLVM_SUFFIX: cannot tell the KUnit modules"
mods=()
for d in common scull scullp snull tests; do
	[ -d "$modroot/$d" ] || continue
	while IFS= read -r ko; do mods+=("$ko"); done < <(find "$modroot/$d" -name '*.ko' -not -path '*/target/*' | sort)
done
: >modules/kunit.list
for ko in "${mods[@]}"; do
	name=$(basename "$ko")
	[ -e "modules/$name" ] && die "two modules named $name: $ko and another"
	cp "$ko" "modules/$name"
	# Not `readelf | grep -q`: under pipefail, grep quitting at the first match can kill
	# readelf with SIGPIPE before its last write, and the suite would silently not run.
	sections=$("$readelf" -SW "$ko" 2>/dev/null) || die "$readelf -SW $ko failed"
	if [[ $sections == *.kunit_test_suites* ]]; then
		echo "${name%.ko}" >>modules/kunit.list
	elif [[ $ko == "$modroot"/tests/kunit/* ]]; then
		die "$ko has no KUnit suite (no .kunit_test_suites section)"
	fi
done

if [ -n "$cmods" ]; then
	mkdir -p modules/ldd3-c
	for f in "$cmods"/*.ko "$cmods"/skipped.txt; do
		[ -f "$f" ] && cp "$f" modules/ldd3-c/
	done
fi

if [ -n "$baseroot" ]; then
	mkdir -p modules/base
	for d in scull scullp snull; do
		[ -f "$baseroot/$d/$d.ko" ] || die "$baseroot/$d/$d.ko not built"
		cp "$baseroot/$d/$d.ko" modules/base/
	done
	[ -f "$baseroot/REVISION" ] && cp "$baseroot/REVISION" modules/base/
fi

cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
EOF
cat >etc/group <<'EOF'
root:x:0:
tty:x:5:
user:x:1000:
EOF
echo /bin/sh >etc/shells
cat >etc/profile <<'EOF'
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PS1='ldd3:\w\$ '
EOF

find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet >"$out.tmp"
mv "$out.tmp" "$out"
note "initramfs: $out ($(du -h "$out" | cut -f1); ${#mods[@]} modules${mods:+: $(printf '%s ' "${mods[@]##*/}")})"
