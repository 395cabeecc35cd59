#!/bin/sh
# shutdown-diag.sh: the detached shutdown diagnostic of the outlast supervisor.
#
# Started on the first stop signal, in a session of its own with no stdio, it
# appends the date, the process tree, /proc/loadavg and the last kernel and
# journal lines to a log. The supervisor never waits for it: its stop goes on
# while this runs, and this may outlive it.
#
# Bounded twice: each step runs under `timeout` (when there is one), and a
# watchdog SIGKILLs everything in this script's session at --timeout seconds,
# so a `ps` stuck on a wedged /proc or a tool that ignores SIGTERM can never
# leave anything behind. On a normal end the session is ended the same way.
#
# POSIX sh (dash, mksh, busybox): no bashisms; every tool is optional.
#
# usage: shutdown-diag.sh --log FILE [--timeout S] [--signal NAME] [--pid PID]

set -u

LOG=
TIMEOUT=3
SIGNAL=unknown
TARGET=
# Keep one older log: a crash-looping service must not fill the disk.
MAX_BYTES=1048576

while [ $# -gt 0 ]; do
	case $1 in
	--log) LOG=$2 ;;
	--timeout) TIMEOUT=$2 ;;
	--signal) SIGNAL=$2 ;;
	--pid) TARGET=$2 ;;
	*)
		printf 'shutdown-diag.sh: unknown argument %s\n' "$1" >&2
		exit 2
		;;
	esac
	shift 2 || exit 2
done
[ -n "$LOG" ] || {
	printf 'usage: shutdown-diag.sh --log FILE [--timeout S] [--signal NAME] [--pid PID]\n' >&2
	exit 2
}
case $TIMEOUT in '' | *[!0-9]*) TIMEOUT=3 ;; esac

# The log's own folder only, never its parents: a state dir removed while the
# supervisor stopped stays removed, and then the redirect below fails and ends this.
mkdir "$(dirname "$LOG")" 2>/dev/null
if [ -f "$LOG" ] && [ "$(wc -c <"$LOG")" -gt "$MAX_BYTES" ]; then mv -f "$LOG" "$LOG.1"; fi
exec >>"$LOG" 2>&1 </dev/null

# SID: the session of process $1, from /proc/$1/stat, read by a builtin (no
# fork per process when we walk /proc). Fails for no such process.
session_of() {
	SID=
	read -r _stat <"/proc/$1/stat" 2>/dev/null || return 1
	# comm (field 2) may hold spaces and ')': split what follows the LAST ')';
	# from there, field 3 (state) is $1 and field 6 (session) is $4.
	_rest=${_stat##*\)}
	set -f
	# shellcheck disable=SC2086 # splitting the fields is the point
	set -- $_rest
	set +f
	SID=${4:-}
}

# Ends everything we started, then us. Started detached we lead a session of
# our own, and everything in it is ours: GNU `timeout` moves its command into
# a process group of its own, so a group kill would miss it, a session walk
# does not. Run by hand inside someone else's session, only our pid is ours.
end_all() {
	# /proc/self opened by the shell itself: the watchdog subshell's own pid ($$ is the script's).
	read -r _me _ </proc/self/stat 2>/dev/null || _me=$$
	# The watchdog stops the script first, so no new step starts during the walk.
	[ "$_me" = "$$" ] || kill -s KILL "$$" 2>/dev/null
	session_of "$_me"
	if [ "$SID" = "$$" ]; then
		for _dir in /proc/[0-9]*; do
			_pid=${_dir#/proc/}
			if [ "$_pid" = "$_me" ] || [ "$_pid" = "$$" ]; then continue; fi
			session_of "$_pid" && [ "$SID" = "$$" ] && kill -s KILL "$_pid" 2>/dev/null
		done
	fi
	kill -s KILL "$_me"
}

(
	sleep "$TIMEOUT"
	printf '=== deadline: killed at %s s ===\n' "$TIMEOUT"
	end_all
) &

# Per-step bound: TERM after 1 s where `timeout` exists (coreutils, busybox
# and toybox all take `timeout SECS CMD`); the watchdog covers the rest.
if command -v timeout >/dev/null 2>&1 && timeout 1 true 2>/dev/null; then BOUND='timeout 1'; else BOUND=; fi

section() { printf -- '--- %s ---\n' "$1"; }

# The tree from /proc when there is no procps `ps`: pid ppid pgid state cmd.
proc_tree() {
	for dir in /proc/[0-9]*; do
		stat=$(cat "$dir/stat" 2>/dev/null) || continue
		cmd=$(tr '\0' ' ' <"$dir/cmdline" 2>/dev/null)
		printf '%s %s\n' "$(printf '%s\n' "$stat" | sed 's/^\([0-9]*\) (\(.*\)) \([^ ]*\) \([0-9]*\) \([0-9]*\).*/\1 \4 \5 \3 [\2]/')" "$cmd"
	done
}

printf '=== outlast shutdown diagnostic: %s to pid %s at %s (bounded at %s s) ===\n' "$SIGNAL" "${TARGET:-?}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$TIMEOUT"

section 'ps (process tree)'
# busybox and toybox ps reject these options: an empty answer means "walk /proc".
# shellcheck disable=SC2086 # BOUND is a command prefix or nothing
tree=$($BOUND ps -eo pid,ppid,pgid,stat,etime,cmd --forest 2>/dev/null)
if [ -n "$tree" ]; then
	printf '%s\n' "$tree" | head -n 400
else
	printf '(no procps ps: /proc walk)\npid ppid pgid state [comm] cmd\n'
	proc_tree | head -n 400
fi

section '/proc/loadavg'
cat /proc/loadavg 2>/dev/null || printf '(unavailable)\n'

section 'dmesg (last 20)'
if command -v dmesg >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	$BOUND dmesg 2>&1 | tail -n 20
else
	printf '(no dmesg)\n'
fi

section 'journalctl (last 50)'
if command -v journalctl >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	$BOUND journalctl -n 50 --no-pager 2>&1 | tail -n 50
else
	printf '(no journalctl)\n'
fi

printf '=== end ===\n'
end_all
