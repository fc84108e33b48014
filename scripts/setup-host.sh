#!/usr/bin/env bash
# Installs the host tools the build and the QEMU tests need, when they are missing:
# Debian packages (LLVM 19, QEMU, busybox, kernel build deps, gcc-multilib for 32-bit test
# programs), rust-src, the musl target for guest test programs, and bindgen-cli. Safe to run
# again: it only installs what is absent.
. "$(dirname "$0")/lib.sh"

APT_PACKAGES=(
	clang-19 lld-19 llvm-19 libclang-19-dev # LLVM=-19 kernel build (KASAN + Rust)
	flex bison bc libelf-dev libssl-dev cpio kmod # kernel build
	qemu-system-x86 busybox-static # the test guest
	iproute2 ethtool # copied into the guest
	iperf3 # copied into the bench guest (make bench: snull and veth TCP)
	linux-perf # copied into the bench guest by make bench PROFILE=1
	gcc-multilib # gcc -m32: the 32-bit test programs (compat_ioctl)
	xz-utils dpkg-dev debian-archive-keyring
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	step "installing Debian packages: ${missing[*]}"
	as_root apt-get update -qq || die "apt-get update failed (no access to the Debian mirror?)"
	log=$(mktemp)
	# One retry: a first install on a fresh machine has been seen to fail in a dpkg trigger
	# and succeed when run again.
	for attempt in 1 2; do
		if as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			"${missing[@]}" >"$log" 2>&1; then
			break
		fi
		[ "$attempt" = 2 ] && { tail -n 20 "$log" >&2; die "apt-get install failed for: ${missing[*]}"; }
		note "apt-get install failed; trying once more"
		as_root env DEBIAN_FRONTEND=noninteractive dpkg --configure -a >>"$log" 2>&1 || true
	done
	rm -f "$log"
else
	note "Debian packages present"
fi

command -v rustup >/dev/null || die "rustup not found: this project needs the rustup-managed Rust toolchain"
if ! rustup component list --installed | grep -q '^rust-src'; then
	step "adding rustup component rust-src (the kernel builds core/alloc from it)"
	rustup component add rust-src || die "rustup component add rust-src failed"
fi
if ! rustup target list --installed | grep -q '^x86_64-unknown-linux-musl$'; then
	step "adding rustup target x86_64-unknown-linux-musl (static test programs for the guest)"
	rustup target add x86_64-unknown-linux-musl || die "rustup target add x86_64-unknown-linux-musl failed"
fi

BINDGEN_VERSION=0.72.1
if ! "$CACHE/bin/bindgen" --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	step "building bindgen-cli $BINDGEN_VERSION into $CACHE (a few minutes, once)"
	cargo install --quiet bindgen-cli --version "$BINDGEN_VERSION" --locked --root "$CACHE" ||
		die "cargo install bindgen-cli $BINDGEN_VERSION failed"
else
	note "bindgen $BINDGEN_VERSION present"
fi
