#!/bin/sh
# watchdog-loop.sh: keep one service alive with ctl.sh. Every --interval
# seconds it runs `ctl.sh status` (a /health check with a hard timeout):
#   - the service process is down      -> ctl.sh start --unless-stopped
#   - alive but unhealthy K polls in a row -> ctl.sh restart
# and logs every action with an ISO-8601 UTC timestamp.
#
# One instance per lock directory (mkdir is atomic; a lock whose holder is
# dead is taken over). Start it in a session of its own, so the hangup of
# the terminal that started it does not end it: `setsid watchdog-loop.sh …`,
# or `watchdog-loop.sh --daemon …`, which does that itself.
#
# POSIX sh for Termux (dash, mksh, busybox): check with `dash -n` and
# `checkbashisms`. Exit codes: 0 ok (and on SIGTERM/SIGINT/SIGHUP), 1 an
# --once poll whose action failed, 2 usage error (also when ctl.sh rejects
# the arguments passed through to it).

set -u

PROG=watchdog-loop.sh

usage() {
	cat <<'EOF'
usage: watchdog-loop.sh [options]

  --health-url URL       OUTLAST_HEALTH_URL  passed to ctl.sh; none: liveness only
  --interval S           OUTLAST_WATCHDOG_INTERVAL         30
  --timeout S            OUTLAST_WATCHDOG_TIMEOUT          5; hard limit per check
  --unhealthy-polls K    OUTLAST_WATCHDOG_UNHEALTHY_POLLS  3
  --log FILE             OUTLAST_WATCHDOG_LOG   standard output
  --lock DIR             OUTLAST_WATCHDOG_LOCK  FILE.lock for --log FILE
  --ctl PATH             OUTLAST_WATCHDOG_CTL   ctl.sh next to this script
  --ctl-arg ARG          one argument for ctl.sh, repeatable (e.g.
                         --ctl-arg --pidfile --ctl-arg /path/svc.pid); ctl.sh
                         also reads its OUTLAST_CTL_* variables from the
                         environment, which it inherits
  --shell CMD            OUTLAST_SH   the shell that runs ctl.sh and --daemon (sh)
  --once                 one poll (and its action), then exit
  --daemon               re-run itself under setsid (else nohup), output to
                         the log, and return once it holds the lock
EOF
}

# --- begin generated: scripts/lib/common.sh ---
say() { printf '%s\n' "$*"; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2; }
fail() {
	warn "$*"
	exit 1
}
usage_error() {
	warn "$*"
	warn "run '$PROG --help' for usage"
	exit 2
}

is_uint() {
	case $1 in '' | *[!0-9]*) return 1 ;; esac
	return 0
}

absolute() {
	case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac
}
# --- end generated ---

need_uint() {
	is_uint "$2" && [ "$2" -gt 0 ] || usage_error "$1 must be a whole number above 0, not '$2'"
}

# quote ARG: ARG as one single-quoted shell word, to rebuild argument lists
# (POSIX sh has no arrays) that `eval "set -- $LIST"` restores.
quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

log() {
	_line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $*"
	if [ -n "$LOG" ]; then
		printf '%s\n' "$_line" >>"$LOG"
	else
		printf '%s\n' "$_line"
	fi
}

# log_changed MSG: logs MSG unless it repeats the last one logged this way
# (a service left stopped on purpose would otherwise log every poll).
LAST_CHANGED=
log_changed() {
	[ "$1" = "$LAST_CHANGED" ] || log "$1"
	LAST_CHANGED=$1
}

# proc_start PID: prints its start time (field 22 of /proc/PID/stat, read
# after the last ')' since the command name may hold spaces and parens);
# fails for no such process and for a zombie.
proc_start() {
	_stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	_rest=${_stat##*\)}
	set -f
	# shellcheck disable=SC2086 # splitting the fields is the point
	set -- $_rest
	set +f
	[ $# -ge 20 ] || return 1
	case $1 in Z | X | x) return 1 ;; esac
	printf '%s\n' "${20}"
}

# holder_alive: the lock's pidfile names a live process with the recorded
# start time (so a recycled pid does not keep a dead watchdog's lock).
holder_alive() {
	HOLDER= HOLDER_START=
	read -r HOLDER HOLDER_START _ 2>/dev/null <"$LOCK/pid"
	[ -n "$HOLDER" ] || return 1
	_now=$(proc_start "$HOLDER") && [ "$_now" = "$HOLDER_START" ]
}

# ---- the single-instance lock -----------------------------------------------

LOCKED=0
take_lock() {
	_empty_polls=0
	while ! mkdir "$LOCK" 2>/dev/null; do
		if [ ! -d "$LOCK" ]; then
			# Not held, yet mkdir failed: a missing or read-only directory
			# (unless the holder released it this instant: try once more).
			mkdir "$LOCK" || fail "cannot create the lock $LOCK"
			break
		fi
		if holder_alive; then
			say "watchdog already running (pid $HOLDER, lock $LOCK)"
			exit 0
		fi
		if [ -z "$HOLDER" ] && [ -d "$LOCK" ] && [ "$_empty_polls" -lt 20 ]; then
			# Its holder writes the pidfile right after mkdir: give it
			# 2 s before calling the empty lock stale.
			_empty_polls=$((_empty_polls + 1))
			sleep "$NAP"
			continue
		fi
		# Stale. Move it aside under a name of our own, so that of two
		# watchdogs taking it over only one removes it; if what we moved
		# is not the stale lock we judged (the other already took over),
		# give it back and let the loop find that one alive.
		if mv "$LOCK" "$LOCK.stale.$$" 2>/dev/null; then
			_moved=
			read -r _moved _ 2>/dev/null <"$LOCK.stale.$$/pid"
			if [ "$_moved" = "$HOLDER" ]; then
				rm -rf "$LOCK.stale.$$"
				log "took over a stale lock $LOCK (pid ${HOLDER:-?} is gone)"
			elif [ ! -e "$LOCK" ]; then
				mv "$LOCK.stale.$$" "$LOCK" 2>/dev/null
			fi
		fi
	done
	LOCKED=1
	_start=$(proc_start $$) || fail "cannot read /proc/$$/stat"
	printf '%s %s\n' "$$" "$_start" >"$LOCK/pid.tmp" && mv -f "$LOCK/pid.tmp" "$LOCK/pid" ||
		fail "cannot write $LOCK/pid"
}

release_lock() {
	[ "$LOCKED" = 1 ] || return 0
	LOCKED=0
	rm -rf "$LOCK"
}

# ---- running ctl.sh ---------------------------------------------------------

# run_ctl SUBCOMMAND [ARGS...]: CTL_OUT (stdout and stderr) and CTL_RC.
# The watchdog's own flags come before --ctl-arg ones, so those win, and a
# `--` among them still ends ctl.sh's options last.
run_ctl() {
	_sub=$1
	shift
	_extra=
	for _a in "$@"; do _extra="$_extra $(quote "$_a")"; done
	[ -z "$URL" ] || _extra="$_extra --health-url $(quote "$URL")"
	eval "set -- $_extra --health-timeout $TIMEOUT $CTL_ARGS"
	# shellcheck disable=SC2086 # SH_CMD may be "busybox sh"
	CTL_OUT=$($SH_CMD "$CTL" "$_sub" "$@" 2>&1)
	CTL_RC=$?
}

# log_ctl WHAT: ctl.sh's answer, one log line per output line.
log_ctl() {
	printf '%s\n' "$CTL_OUT" | while IFS= read -r _l; do
		[ -z "$_l" ] || log "  ctl.sh $1: $_l"
	done
	log "  ctl.sh $1: exit $CTL_RC"
}

# ---- one poll ---------------------------------------------------------------

FAILS=0
POLL_RC=0
poll() {
	POLL_RC=0
	run_ctl status
	case $CTL_RC in
	0)
		[ "$FAILS" = 0 ] || log "healthy again after $FAILS unhealthy poll(s)"
		FAILS=0
		LAST_CHANGED=
		;;
	1)
		FAILS=$((FAILS + 1))
		_why=$(printf '%s\n' "$CTL_OUT" | sed -n 's/^health: //p')
		log "unhealthy ($FAILS/$POLLS): ${_why:-$CTL_OUT}"
		[ "$FAILS" -ge "$POLLS" ] || return 0
		log "action: ctl.sh restart (alive but unhealthy for $FAILS polls in a row)"
		FAILS=0
		run_ctl restart
		log_ctl restart
		[ "$CTL_RC" = 0 ] || POLL_RC=1
		;;
	3)
		FAILS=0
		_why=$(printf '%s\n' "$CTL_OUT" | sed -n '1p')
		run_ctl start --unless-stopped
		# Left down on purpose (ctl.sh stop; `sv down` for the ctl that
		# `outlast install termux` writes): say so once, not every poll.
		if [ "$CTL_RC" = 0 ]; then
			case $CTL_OUT in *'not starting'*)
				log_changed "service down ($_why); left down: $CTL_OUT"
				return 0
				;;
			esac
		fi
		LAST_CHANGED=
		log "action: ctl.sh start (service down: $_why)"
		log_ctl start
		[ "$CTL_RC" = 0 ] || POLL_RC=1
		;;
	4)
		FAILS=0
		log_changed "service alive, health unknown: $(printf '%s\n' "$CTL_OUT" | sed -n 's/^health: //p')"
		;;
	2)
		log "ctl.sh rejected its arguments, stopping:"
		log_ctl status
		exit 2
		;;
	*)
		log "ctl.sh status failed:"
		log_ctl status
		POLL_RC=1
		;;
	esac
}

# ---- signals ----------------------------------------------------------------

SLEEPER=
on_signal() {
	[ -z "$SLEEPER" ] || kill "$SLEEPER" 2>/dev/null
	log "watchdog stopping on SIG$1 (pid $$)"
	exit 0
}

# ---- --daemon ---------------------------------------------------------------

daemonize() {
	[ -n "$LOG" ] || usage_error "--daemon needs --log FILE"
	if holder_alive; then
		say "watchdog already running (pid $HOLDER, lock $LOCK)"
		exit 0
	fi
	eval "set -- $ARGS"
	# shellcheck disable=SC2086 # SH_CMD may be "busybox sh"
	if command -v setsid >/dev/null 2>&1 && setsid --help 2>&1 | grep -q -- '--fork'; then
		setsid -f $SH_CMD "$SELF" "$@" </dev/null >>"$LOG" 2>&1
	elif command -v setsid >/dev/null 2>&1; then
		setsid $SH_CMD "$SELF" "$@" </dev/null >>"$LOG" 2>&1 &
	else
		warn "no setsid: running under nohup, in this session"
		nohup $SH_CMD "$SELF" "$@" </dev/null >>"$LOG" 2>&1 &
	fi
	_polls=0
	until holder_alive; do
		_polls=$((_polls + 1))
		[ "$_polls" -le 100 ] || fail "the watchdog did not take $LOCK within 10 s; see $LOG"
		sleep "$NAP"
	done
	say "watchdog started (pid $HOLDER, log $LOG)"
	exit 0
}

# ---- main -------------------------------------------------------------------

URL=${OUTLAST_HEALTH_URL-}
INTERVAL=${OUTLAST_WATCHDOG_INTERVAL:-30}
TIMEOUT=${OUTLAST_WATCHDOG_TIMEOUT:-5}
POLLS=${OUTLAST_WATCHDOG_UNHEALTHY_POLLS:-3}
LOG=${OUTLAST_WATCHDOG_LOG-}
LOCK=${OUTLAST_WATCHDOG_LOCK-}
CTL=${OUTLAST_WATCHDOG_CTL-}
SH_CMD=${OUTLAST_SH:-sh}
ONCE=0 DAEMON=0
CTL_ARGS= # quoted words
ARGS=     # quoted words: our own arguments without --daemon, to re-run

while [ $# -gt 0 ]; do
	case $1 in
	--*=*)
		_opt=${1%%=*} _val=${1#*=}
		shift
		set -- "$_opt" "$_val" "$@"
		;;
	esac
	case $1 in
	--health-url | --interval | --timeout | --unhealthy-polls | --log | --lock | --ctl | --ctl-arg | --shell)
		[ $# -ge 2 ] || usage_error "$1 needs a value"
		case $1 in
		--health-url) URL=$2 ;;
		--interval) INTERVAL=$2 ;;
		--timeout) TIMEOUT=$2 ;;
		--unhealthy-polls) POLLS=$2 ;;
		--log) LOG=$2 ;;
		--lock) LOCK=$2 ;;
		--ctl) CTL=$2 ;;
		--ctl-arg) CTL_ARGS="$CTL_ARGS $(quote "$2")" ;;
		--shell) SH_CMD=$2 ;;
		esac
		ARGS="$ARGS $(quote "$1") $(quote "$2")"
		shift 2
		;;
	--once)
		ONCE=1
		ARGS="$ARGS --once"
		shift
		;;
	--daemon)
		DAEMON=1
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown argument: $1" ;;
	esac
done

need_uint --interval "$INTERVAL"
need_uint --timeout "$TIMEOUT"
need_uint --unhealthy-polls "$POLLS"
[ -n "$LOCK" ] || [ -z "$LOG" ] || LOCK=$LOG.lock
[ -n "$LOCK" ] || usage_error "no lock: give --lock DIR (or --log FILE, for FILE.lock)"
[ -r /proc/self/stat ] || fail "needs /proc (Linux or Android)"
SELF=$(absolute "$0")
[ -n "$CTL" ] || CTL=${SELF%/*}/ctl.sh
CTL=$(absolute "$CTL")
[ -r "$CTL" ] || usage_error "no ctl script at $CTL (give --ctl PATH)"
LOCK=$(absolute "$LOCK")
if [ -n "$LOG" ]; then
	LOG=$(absolute "$LOG")
	{ : >>"$LOG"; } 2>/dev/null || usage_error "cannot write the log $LOG"
fi
if sleep 0.0 2>/dev/null; then NAP=0.1; else NAP=1; fi

[ "$DAEMON" = 0 ] || daemonize
take_lock
trap release_lock EXIT
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT
trap 'on_signal HUP' HUP
log "watchdog started (pid $$): health ${URL:-from ctl.sh}, every $INTERVAL s, timeout $TIMEOUT s, restart after $POLLS unhealthy polls, ctl $CTL"
while :; do
	poll
	[ "$ONCE" = 0 ] || exit "$POLL_RC"
	# In the background, so a signal ends the wait at once: the shell runs
	# traps only between commands, and a foreground sleep delays them.
	sleep "$INTERVAL" &
	SLEEPER=$!
	wait "$SLEEPER"
	SLEEPER=
done
