# Shared helpers for the project's scripts. Source it; do not run it.
# shellcheck shell=bash

set -euo pipefail

# Repository root, whatever directory the caller runs from.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Everything fetched or built outside the repo lives here, so clean clones reuse it.
CACHE=${LDD3_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ldd3-rust}

# The kernel this project targets.
KVER_SERIES=7.3
LLVM_SUFFIX=-19
export LIBCLANG_PATH=/usr/lib/llvm${LLVM_SUFFIX}/lib
export PATH="$CACHE/bin:$HOME/.cargo/bin:$PATH"

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# Run as root or through sudo when it is available.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root to run: $*"
	fi
}
