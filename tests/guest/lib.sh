# Helpers for guest test scripts (busybox ash). Source it first:
#
#     #!/bin/sh
#     . "$(dirname "$0")/lib.sh"
#
# A script /tests/NAME.sh is one group of tests; each result is named NAME/CASE.
#
#   test_case CASE FUNC [ARGS...]
#       Runs FUNC ARGS in a subshell with `set -e` (any failing command fails the case), its
#       stdin from /dev/null, killed after $LDD3_TEST_TIMEOUT seconds (default 300). Its output
#       is shown on the console indented. Reports `ok NAME/CASE` or `not ok NAME/CASE REASON`.
#       Always returns 0, so a script may use `set -e` at top level.
#   fail MESSAGE...            fail the current case with MESSAGE as the reason
#   skip MESSAGE...            end the current case as skipped (`ok NAME/CASE # SKIP MESSAGE`)
#   assert_eq EXPECTED ACTUAL [WHAT]
#   assert_ne UNEXPECTED ACTUAL [WHAT]
#   assert_contains HAYSTACK NEEDLE [WHAT]
#   assert_file_eq FILE1 FILE2             byte-for-byte (cmp)
#   assert_fails_with ERRNO CMD [ARGS...]  CMD must exit non-zero and print `errno=ERRNO`
#                                          (e.g. errno=EINVAL) on stderr, as ldd3test does
#   assert_fails CMD [ARGS...]             CMD must exit non-zero (any reason)
#   as_user CMD [ARGS...]                  run CMD as the unprivileged `user` (uid/gid 1000)
#   mod_load MODULE [PARAM=VALUE...]       insmod $LDD3_MODULES/MODULE.ko (default /modules)
#   mod_unload MODULE                      rmmod MODULE
#   mod_loaded MODULE                      true if MODULE is in /proc/modules
#   wait_for PATH [SECONDS]                wait (default 5 s) until PATH exists, else fail
#   wait_exit PID SECONDS                  wait until process PID is gone, else kill it and fail
#   wait_blocked PID SYSCALL [SECONDS]     wait (default 10 s) until process PID sleeps in the
#                                          system call SYSCALL (read, write or open), else fail
#   wait_line FILE TEXT [SECONDS]          wait (default 10 s) until a line of FILE is TEXT
#   within SECONDS CMD [ARGS...]           run CMD, which must finish within SECONDS (else it is
#                                          killed and the case fails) with status 0; its stdout
#                                          and stderr are left in $T_TMP/within.out
#   kmsg MESSAGE...                        write `ldd3-test: MESSAGE` to the kernel log
#
# Each case's begin and end are written to the kernel log (`ldd3-test: begin NAME/CASE`), so a
# kernel report in build/check/guest.log can be matched to the case that caused it.
# Result lines go to $LDD3_RESULTS (the guest's /dev/ttyS1 under `make check`) and, as
# `[ok] ...` / `[FAIL] ...`, to stdout. Running a script by hand (`make run`, then
# `sh /tests/scull.sh`) needs no setup. $LDD3_CASES (a shell glob, default *) selects cases.
# In the guest: modules in /modules, cwd /tmp (tmpfs), ldd3test in /bin, iproute2 and
# ethtool as /sbin/ip and /sbin/ethtool (call them by full path: plain `ip` is busybox's).
# shellcheck shell=sh

T_SCRIPT=${T_SCRIPT:-$(basename "$0" .sh)}
T_TMP=${TMPDIR:-/tmp}/ldd3-test.$$
LDD3_MODULES=${LDD3_MODULES:-/modules}
LDD3_TEST_TIMEOUT=${LDD3_TEST_TIMEOUT:-300}
mkdir -p "$T_TMP"

kmsg() {
	echo "ldd3-test: $*" >/dev/kmsg 2>/dev/null || true
}

fail() {
	printf '%s\n' "$*" >"$T_TMP/reason"
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# estat DEV NAME: the `ethtool -S` counter NAME of network device DEV.
estat() {
	_v=$(/sbin/ethtool -S "$1" | awk -v n="$2:" '$1 == n { print $2 }')
	[ -n "$_v" ] || fail "ethtool -S $1 has no $2"
	echo "$_v"
}

skip() {
	printf '%s\n' "$*" >"$T_TMP/skip"
	printf 'SKIP: %s\n' "$*" >&2
	exit 0
}

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

assert_ne() {
	[ "$1" != "$2" ] || fail "${3:-value}: expected anything but '$1'"
}

assert_contains() {
	case "$1" in
	*"$2"*) ;;
	*) fail "${3:-output}: '$2' not found in '$1'" ;;
	esac
}

assert_file_eq() {
	[ -e "$1" ] || fail "$1 does not exist"
	[ -e "$2" ] || fail "$2 does not exist"
	if ! _t_cmp=$(cmp "$1" "$2" 2>&1); then
		fail "$1 and $2 differ (sizes $(wc -c <"$1") and $(wc -c <"$2")): $_t_cmp"
	fi
}

assert_fails() {
	if "$@" >"$T_TMP/af.out" 2>"$T_TMP/af.err"; then
		fail "'$*' succeeded, expected it to fail"
	fi
}

assert_fails_with() {
	_t_want=$1
	shift
	if "$@" >"$T_TMP/af.out" 2>"$T_TMP/af.err"; then
		fail "'$*' succeeded, expected errno=$_t_want"
	fi
	if ! grep -qE "errno=$_t_want([^A-Z0-9_]|\$)" "$T_TMP/af.err"; then
		fail "'$*': expected errno=$_t_want, got: $(head -c 300 "$T_TMP/af.err" | tr '\n' ' ')"
	fi
}

# Quotes each argument for sh -c.
_t_quote() {
	for _t_a in "$@"; do
		printf "'%s' " "$(printf '%s' "$_t_a" | sed "s/'/'\\\\''/g")"
	done
}

as_user() {
	su -s /bin/sh user -c "$(_t_quote "$@")"
}

mod_loaded() {
	grep -q "^$1 " /proc/modules
}

mod_load() {
	_t_m=$1
	shift
	insmod "$LDD3_MODULES/$_t_m.ko" "$@" || fail "insmod $_t_m.ko${*:+ $*} failed"
}

mod_unload() {
	rmmod "$1" || fail "rmmod $1 failed"
}

wait_for() {
	_t_n=$((${2:-5} * 10))
	while [ ! -e "$1" ]; do
		[ "$_t_n" -gt 0 ] || fail "$1 did not appear within ${2:-5} s"
		_t_n=$((_t_n - 1))
		usleep 100000
	done
}

# Seconds since boot, and the seconds (one decimal) since an earlier reading.
_t_uptime() {
	cut -d' ' -f1 /proc/uptime
}
_t_since() {
	awk -v a="$1" -v b="$(_t_uptime)" 'BEGIN { printf "%.1f", b - a }'
}

# Kills a process and all its descendants.
_t_killtree() {
	for _t_c in $(ps -o pid,ppid | awk -v p="$1" '$2 == p { print $1 }'); do
		_t_killtree "$_t_c"
	done
	kill -9 "$1" 2>/dev/null || true
}

test_case() {
	_t_name=$1
	shift
	# shellcheck disable=SC2254
	case "$_t_name" in
	${LDD3_CASES:-*}) ;;
	*) return 0 ;;
	esac
	_t_full=$T_SCRIPT/$_t_name
	rm -f "$T_TMP/reason" "$T_TMP/skip" "$T_TMP/timeout"
	kmsg "begin $_t_full"
	echo "--- $_t_full"
	_t_start=$(_t_uptime)
	_t_errexit=
	case $- in *e*) _t_errexit=1 && set +e ;; esac

	(
		set -e
		"$@"
	) </dev/null >"$T_TMP/out" 2>&1 &
	_t_pid=$!
	(
		_t_left=$LDD3_TEST_TIMEOUT
		while kill -0 "$_t_pid" 2>/dev/null; do
			if [ "$_t_left" -le 0 ]; then
				: >"$T_TMP/timeout"
				_t_killtree "$_t_pid"
				exit 0
			fi
			sleep 1
			_t_left=$((_t_left - 1))
		done
	) &
	_t_wd=$!
	wait "$_t_pid"
	_t_rc=$?
	kill "$_t_wd" 2>/dev/null
	wait "$_t_wd" 2>/dev/null

	sed 's/^/    /' "$T_TMP/out"
	if [ -e "$T_TMP/timeout" ]; then
		_t_line="not ok $_t_full timed out after $LDD3_TEST_TIMEOUT s"
	elif [ "$_t_rc" -eq 0 ] && [ -e "$T_TMP/skip" ]; then
		_t_line="ok $_t_full # SKIP $(head -n1 "$T_TMP/skip")"
	elif [ "$_t_rc" -eq 0 ]; then
		_t_line="ok $_t_full"
	elif [ -e "$T_TMP/reason" ]; then
		_t_line="not ok $_t_full $(head -n1 "$T_TMP/reason")"
	else
		_t_last=$(grep -v '^[[:space:]]*$' "$T_TMP/out" | tail -n1 | cut -c1-200)
		_t_line="not ok $_t_full exit status $_t_rc${_t_last:+: $_t_last}"
	fi
	_t_secs=$(_t_since "$_t_start")
	case "$_t_line" in
	ok*) echo "[ok] ${_t_line#ok } (${_t_secs} s)" ;;
	*) echo "[FAIL] ${_t_line#not ok } (${_t_secs} s)" ;;
	esac
	kmsg "end $_t_line"
	if [ -n "${LDD3_RESULTS:-}" ]; then
		echo "$_t_line" >>"$LDD3_RESULTS"
		echo "# time case $_t_full $_t_secs" >>"$LDD3_RESULTS"
	fi
	[ -z "$_t_errexit" ] || set -e
	return 0
}

wait_blocked() {
	# x86_64 numbers; open is open(2) or openat(2), whichever the libc calls.
	case "$2" in
	read) _t_nr='0' ;;
	write) _t_nr='1' ;;
	open) _t_nr='2|257' ;;
	*) fail "wait_blocked: unknown system call $2" ;;
	esac
	_t_n=$((${3:-10} * 50))
	# /proc/PID/stat: "PID (COMM) STATE ..."; /proc/PID/syscall: "NR ARGS..." while in one.
	until [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = S ] &&
		echo " $(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null) " | grep -qE " ($_t_nr) "; do
		kill -0 "$1" 2>/dev/null || fail "process $1 exited, expected it to block in $2"
		[ "$_t_n" -gt 0 ] || fail "process $1 did not block in $2 within ${3:-10} s"
		_t_n=$((_t_n - 1))
		usleep 20000
	done
}

wait_line() {
	_t_n=$((${3:-10} * 10))
	until grep -qxF "$2" "$1" 2>/dev/null; do
		[ "$_t_n" -gt 0 ] || fail "no line '$2' in $1 within ${3:-10} s"
		_t_n=$((_t_n - 1))
		usleep 100000
	done
}

within() {
	_t_s=$1
	shift
	"$@" >"$T_TMP/within.out" 2>&1 &
	_t_p=$!
	wait_exit "$_t_p" "$_t_s"
	wait "$_t_p" || fail "'$*' failed: $(cat "$T_TMP/within.out")"
}

wait_exit() {
	_n=$(($2 * 10))
	while kill -0 "$1" 2>/dev/null; do
		if [ "$_n" -le 0 ]; then
			kill -9 "$1" 2>/dev/null
			fail "process $1 still running after $2 s"
		fi
		_n=$((_n - 1))
		usleep 100000
	done
}
