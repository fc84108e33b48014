#!/usr/bin/env bash
# Chooses QEMU's accelerator for the test guest and prints it on stdout: `kvm` or `tcg`.
#
# usage: scripts/accel.sh BZIMAGE
#
# KVM is used only when a quick probe shows a guest really booting with it: BZIMAGE is booted
# under `-accel kvm -cpu host` with a one-line /init that prints a marker and powers off, and
# the marker must reach the console within $PROBE_SECONDS. (On some hosts /dev/kvm opens but
# runs no normal guest: QEMU aborts or the guest hangs early; see ../shared/PLATFORM.md.)
# The answer is remembered per machine in $CACHE/accel/, so the probe runs once; a fallback to
# TCG prints one line saying why. LDD3_ACCEL=kvm|tcg skips the probe; deleting the cache file
# probes again.
. "$(dirname "$0")/lib.sh"

PROBE_SECONDS=${LDD3_ACCEL_PROBE_SECONDS:-10}
MARKER=ldd3-accel-probe-booted

kernel=${1:-}
[ -f "$kernel" ] || die "usage: $0 BZIMAGE"

case "${LDD3_ACCEL:-}" in
kvm | tcg)
	echo "$LDD3_ACCEL"
	exit 0
	;;
'') ;;
*) die "LDD3_ACCEL must be kvm or tcg, not '$LDD3_ACCEL'" ;;
esac

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo tcg
	exit 0
fi

# One answer per machine (and QEMU version): the machine id, else the host name.
machine=$(cat /etc/machine-id 2>/dev/null || hostname)
qemu_version=$(qemu-system-x86_64 --version | head -n1)
key=$(printf '%s\n%s\n' "$machine" "$qemu_version" | sha256sum | cut -c1-16)
answer_file=$CACHE/accel/$key
if [ -f "$answer_file" ]; then
	read -r accel _ <"$answer_file"
	echo "$accel"
	exit 0
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/ldd3-accel.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/root/bin"
cp /bin/busybox "$stage/root/bin/busybox"
printf '#!/bin/busybox sh\n/bin/busybox echo %s\n/bin/busybox poweroff -f\n' "$MARKER" >"$stage/root/init"
chmod 0755 "$stage/root/init"
(cd "$stage/root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1 >"$stage/probe.cpio.gz")

start=$SECONDS
# In a subshell whose stderr is dropped: QEMU may abort, and bash would report that.
(timeout -k 1 "$PROBE_SECONDS" qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 \
	-nographic -no-reboot -nic none -monitor none -serial stdio \
	-kernel "$kernel" -initrd "$stage/probe.cpio.gz" \
	-append "console=ttyS0 panic=-1 quiet" </dev/null >"$stage/console" 2>&1 || true) 2>/dev/null
if grep -q "$MARKER" "$stage/console"; then
	accel=kvm
	why="a guest booted under KVM in $((SECONDS - start)) s"
else
	accel=tcg
	if [ $((SECONDS - start)) -ge "$PROBE_SECONDS" ]; then
		why="a KVM guest did not boot within ${PROBE_SECONDS} s"
	else
		why="QEMU could not run a KVM guest: $(grep -v '^\s*$' "$stage/console" | tail -n1 |
			sed 's/^qemu-system-x86_64: //' | cut -c1-160)"
	fi
	note "using TCG (software emulation): /dev/kvm is there, but $why (remembered in $answer_file; LDD3_ACCEL=kvm|tcg overrides)"
fi
mkdir -p "$CACHE/accel"
echo "$accel $why" >"$answer_file"
echo "$accel"
