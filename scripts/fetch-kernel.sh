#!/usr/bin/env bash
# Fetches Debian's linux-source-7.3 (trixie-backports) into the cache and unpacks it once.
# Uses a private apt list so the machine's own apt configuration is left alone.
# Prints the path of the unpacked source tree on stdout.
. "$(dirname "$0")/lib.sh"

PKG=linux-source-$KVER_SERIES
SRC_ROOT=$CACHE/src
APT_DIR=$CACHE/apt
mkdir -p "$SRC_ROOT" "$APT_DIR/lists/partial" "$APT_DIR/empty" "$APT_DIR/debs"

existing=$(ls -d "$SRC_ROOT"/linux-source-"$KVER_SERIES".*/.unpacked 2>/dev/null | head -n1 || true)
if [ -n "$existing" ]; then
	dirname "$existing"
	exit 0
fi

SUITE=trixie-backports
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $SUITE main" \
	>"$APT_DIR/sources.list"
APT_OPTS=(
	-o "Dir::Etc::sourcelist=$APT_DIR/sources.list"
	-o "Dir::Etc::sourceparts=$APT_DIR/empty"
	-o "Dir::State::Lists=$APT_DIR/lists"
	-o "Debug::NoLocking=1"
	-o "APT::Sandbox::User=root"
)
step "fetching the package list of Debian $SUITE"
apt-get "${APT_OPTS[@]}" update -qq >&2 || die "apt-get update of $SUITE failed (Debian mirror unreachable?)"

found=$(apt-cache "${APT_OPTS[@]}" madison "$PKG" 2>/dev/null | awk '{print $3}' | head -n1)
if [ -z "$found" ]; then
	others=$(apt-cache "${APT_OPTS[@]}" search '^linux-source-[0-9.]*$' 2>/dev/null | awk '{print $1}' | tr '\n' ' ')
	die "wanted $PKG from $SUITE, but it is not there; the suite offers: ${others:-nothing}"
fi
step "downloading $PKG $found (about 170 MB, once)"
(cd "$APT_DIR/debs" && apt-get "${APT_OPTS[@]}" download "$PKG=$found" >&2) ||
	die "apt-get download $PKG=$found failed"
deb=$(ls "$APT_DIR"/debs/"${PKG}"_*.deb | head -n1)

dest=$SRC_ROOT/linux-source-${found//[~+]/_}
rm -rf "$dest" "$dest.tmp"
mkdir -p "$dest.tmp"
step "unpacking $(basename "$deb")"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dest.tmp" ./usr/src/ >&2 || die "dpkg-deb failed on $deb"
tarball=$(ls "$dest.tmp"/usr/src/linux-source-*.tar.xz | head -n1)
[ -f "$tarball" ] || die "$deb holds no linux-source tarball"
tar -xJf "$tarball" -C "$dest.tmp" || die "could not unpack $tarball"
mv "$dest.tmp"/linux-source-"$KVER_SERIES" "$dest"
rm -rf "$dest.tmp" "$deb"
touch "$dest/.unpacked"
echo "$dest"
