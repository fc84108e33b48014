#!/usr/bin/env bash
# Builds the kernel for one flavour ("debug" for tests, "bench" for benchmarks) out of tree into
# the cache, keyed by kernel version, config fragments and toolchain. An up-to-date build is reused.
# Prints the build directory (the KDIR for out-of-tree modules) on stdout.
. "$(dirname "$0")/lib.sh"

flavour=${1:-debug}
case "$flavour" in
debug | bench) ;;
*) die "usage: $0 debug|bench" ;;
esac
fragments=("$ROOT/configs/base.config" "$ROOT/configs/$flavour.config")
# Objects a full build of each flavour makes, for the progress lines of a first build: 1457
# counted for debug (with kCFI and the object debugging); bench is an estimate until this
# machine has built it once (the count of the last build is kept and used instead).
declare -A DEFAULT_OBJECTS=([debug]=1460 [bench]=1350)

for tool in clang$LLVM_SUFFIX ld.lld$LLVM_SUFFIX bindgen rustc flex bison bc; do
	command -v "$tool" >/dev/null || die "$tool not found: run scripts/setup-host.sh first"
done

src=$("$ROOT/scripts/fetch-kernel.sh")
version=$(basename "$src")
key=$( (
	echo "$version"
	# The options, not the comments: editing a comment does not rebuild the kernel.
	grep -hEv '^[[:space:]]*(#|$)' "${fragments[@]}"
	rustc --version
	clang$LLVM_SUFFIX --version | head -n1
	bindgen --version
) | sha256sum | cut -c1-16)
out=$CACHE/build/$flavour-${version#linux-source-}-$key

# One build per flavour at a time: a second caller waits, then finds the build done.
mkdir -p "$CACHE/build"
exec 9>"$CACHE/build/.lock-$flavour"
if ! flock -n 9; then
	note "another build of the $flavour kernel is running; waiting for it"
	flock 9
fi

if [ -f "$out/.built" ] && [ -f "$out/arch/x86/boot/bzImage" ]; then
	note "kernel ($flavour) is up to date: $out"
	echo "$out"
	exit 0
fi

step "configuring the $flavour kernel in $out"
mkdir -p "$out"
rm -f "$out/.built"
kmake() { make -s -C "$src" O="$out" LLVM="$LLVM_SUFFIX" "$@"; }
kmake tinyconfig >&2
"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${fragments[@]}" >/dev/null
kmake olddefconfig >&2

# merge_config.sh does not fail on an option that Kconfig dropped; check each one here.
dropped=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) opt=${line%%=*}
		grep -qx "$opt=[ym]" "$out/.config" && dropped+=("$line") ;;
	CONFIG_*=*) grep -qxF "$line" "$out/.config" || dropped+=("$line") ;;
	esac
done < <(cat "${fragments[@]}")
[ ${#dropped[@]} -eq 0 ] || die "kernel config lost options (unmet dependencies?): ${dropped[*]}"

step "building the $flavour kernel with LLVM$LLVM_SUFFIX on $(nproc) cores (about 10 minutes, once)"
# Progress every 30 s: objects built so far against the count of the last build of this
# flavour on this machine (or the count measured for the project's configs).
objects_file=$CACHE/build/.objects-$flavour
expected=$(cat "$objects_file" 2>/dev/null || true)
case "$expected" in '' | *[!0-9]*) expected=${DEFAULT_OBJECTS[$flavour]} ;; esac
objects_built() { find "$out" -name '*.o' -newer "$out/.build-start" 2>/dev/null | wc -l; }
touch "$out/.build-start"
start=$SECONDS
kmake -j"$(nproc)" all >"$out/build.log" 2>&1 &
pid=$!
next=30
while kill -0 "$pid" 2>/dev/null; do
	sleep 1
	if [ $((SECONDS - start)) -ge "$next" ]; then
		next=$((next + 30))
		built=$(objects_built)
		pct=$((built * 100 / expected))
		[ "$pct" -le 99 ] || pct=99
		note "building the $flavour kernel: $pct% ($built of about $expected objects, $((SECONDS - start)) s)"
	fi
done
if ! wait "$pid"; then
	grep -E 'error|Error' "$out/build.log" | head -n 20 >&2
	die "kernel build failed; full log: $out/build.log"
fi
objects_built >"$objects_file"
touch "$out/.built"
note "built in $((SECONDS - start)) s: $out/arch/x86/boot/bzImage"
echo "$out"
