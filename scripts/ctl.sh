#!/bin/sh
# ctl.sh: start, stop and inspect one long-running service (the outlast
# supervisor, or anything that serves a /health URL) from plain POSIX sh.
#
# It has to work on Termux, where sh is dash, Android's /system/bin/sh is
# mksh, and the tools may be busybox or toybox: so no bashisms, no arrays,
# no `local`, and every external tool is optional or has a fallback.
# Check with `dash -n ctl.sh` and `checkbashisms ctl.sh`.
#
# Exit codes: 0 ok, 1 failed (or running but unhealthy), 2 usage error;
# `status` (LSB-ish): 0 running and healthy (or no health URL to check),
# 1 running but unhealthy or hung, 3 not running, 4 running but health
# unknown (no HTTP client).

set -u

PROG=ctl.sh

usage() {
	cat <<'EOF'
usage: ctl.sh [options] start|stop|restart|status [-- COMMAND [ARGS...]]
       ctl.sh [options] logs [-n N]

  start      launch COMMAND detached (own session, immune to SIGHUP), unless
             our process already runs: "already running (pid N)" (exit 0),
             or "running but unhealthy (pid N): why" (exit 1)
  stop       SIGTERM, up to --stop-timeout seconds, then SIGKILL (to its
             process group); a stale pidfile is removed, nothing signalled
  restart    stop, then start
  status     pid, uptime and one /health line; exit 0 healthy, 1 unhealthy
             or hung, 3 not running, 4 health unknown (no HTTP client)
  logs       the last N lines of the log (default 50)

options (flag, else environment variable, else default):
  --pidfile FILE        OUTLAST_CTL_PIDFILE     required
  --state FILE          OUTLAST_CTL_STATE       FILE.state next to the pidfile;
                        holds "pid starttime" (field 22 of /proc/PID/stat), so
                        a recycled pid is never taken for ours
  --log FILE            OUTLAST_CTL_LOG         the pidfile with .log for .pid;
                        the service's stdout and stderr are appended to it
  --health-url URL      OUTLAST_HEALTH_URL      none: liveness only
  --health-timeout S    OUTLAST_HEALTH_TIMEOUT  3; hard limit per health check
  --stop-timeout S      OUTLAST_STOP_TIMEOUT    10; SIGTERM to SIGKILL
  --wait S              OUTLAST_CTL_WAIT        0; start: wait up to S seconds
                        for the health URL to answer 2xx (exit 1 if not)
  --cwd DIR             OUTLAST_CTL_CWD         the current directory
  --unless-stopped      start: do nothing if the last `stop` was explicit
                        (the watchdog starts with this)
  -- COMMAND ARGS...    OUTLAST_CTL_CMD         the command to launch; the
                        variable is a shell command line, run as `exec LINE`
  OUTLAST_HTTP_CLIENT=curl|wget|none  force the HTTP client (default: curl,
                        else wget, else none)
  OUTLAST_SH            the shell for the launcher (default: sh)
EOF
}

# ---- small helpers ----------------------------------------------------------

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

need_uint() { is_uint "$2" || usage_error "$1 must be a whole number of seconds, not '$2'"; }

iso_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# Short poll interval: `sleep` takes fractions with coreutils, busybox and
# toybox, but POSIX only promises whole seconds.
nap() { sleep "$NAP"; }

# NOW_CS: centiseconds on the monotonic boot clock, relative to the first
# call. Relative, because mksh does arithmetic in 32 bits and absolute
# centiseconds since boot overflow after 248 days.
CS_BASE=
now_cs() {
	read -r _up _ </proc/uptime
	_sec=${_up%.*}
	_frac=${_up#*.}
	_frac=${_frac#0}
	[ -n "$CS_BASE" ] || CS_BASE=$_sec
	NOW_CS=$(((_sec - CS_BASE) * 100 + _frac))
}

fmt_cs() { printf '%d.%02d s' $(($1 / 100)) $(($1 % 100)); }

# proc_read PID: P_STATE, P_PGID and P_START (clock ticks after boot) of a
# live process; fails for no such process and for a zombie (it has exited,
# only its parent's wait is missing).
proc_read() {
	_stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	# Field 2 is "(comm)", and comm may hold spaces and ')' itself: split
	# only what follows the LAST ')', which starts at field 3 (state).
	_rest=${_stat##*\)}
	set -f
	# shellcheck disable=SC2086 # splitting the fields is the point
	set -- $_rest
	set +f
	[ $# -ge 20 ] || return 1
	P_STATE=$1 P_PGID=$3 P_START=${20}
	case $P_STATE in Z | X | x) return 1 ;; esac
	return 0
}

# is_ours PID START: the process is alive and is the one we recorded.
is_ours() { proc_read "$1" && [ "$P_START" = "$2" ]; }

# write_file FILE TEXT: atomically (rename), so a reader never sees half.
write_file() {
	{ printf '%s\n' "$2" >"$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"; } ||
		fail "cannot write $1"
}

# ---- configuration ----------------------------------------------------------

parse_args() {
	COMMAND= LINES_N=50 UNLESS_STOPPED=0 HAVE_CMD=0
	PIDFILE=${OUTLAST_CTL_PIDFILE-}
	STATE=${OUTLAST_CTL_STATE-}
	LOG=${OUTLAST_CTL_LOG-}
	URL=${OUTLAST_HEALTH_URL-}
	HEALTH_TIMEOUT=${OUTLAST_HEALTH_TIMEOUT:-3}
	STOP_TIMEOUT=${OUTLAST_STOP_TIMEOUT:-10}
	WAIT=${OUTLAST_CTL_WAIT:-0}
	CWD=${OUTLAST_CTL_CWD:-$PWD}
}

# ---- capabilities, decided once ---------------------------------------------

detect_capabilities() {
	[ -r /proc/self/stat ] && [ -r /proc/uptime ] ||
		fail "needs /proc (Linux or Android): /proc/self/stat is not readable"
	if sleep 0.0 2>/dev/null; then NAP=0.1; else NAP=1; fi
	HZ=$(getconf CLK_TCK 2>/dev/null) || HZ=
	is_uint "$HZ" && [ "$HZ" -gt 0 ] || HZ=100
	HTTP_CLIENT=${OUTLAST_HTTP_CLIENT-}
	if [ -z "$HTTP_CLIENT" ]; then
		if command -v curl >/dev/null 2>&1; then
			HTTP_CLIENT=curl
		elif command -v wget >/dev/null 2>&1; then
			HTTP_CLIENT=wget
		else
			HTTP_CLIENT=none
		fi
	fi
	case $HTTP_CLIENT in curl | wget | none) ;; *) usage_error "OUTLAST_HTTP_CLIENT must be curl, wget or none" ;; esac
	# GNU wget retries a timed-out read 20 times; busybox wget has no -t.
	WGET_TRIES=
	if [ "$HTTP_CLIENT" = wget ] && wget --version 2>/dev/null | grep -q 'GNU Wget'; then
		WGET_TRIES='-t 1'
	fi
	# wget -T bounds each phase, not the whole request: add a hard limit.
	TIMEOUT_CMD=
	command -v timeout >/dev/null 2>&1 && TIMEOUT_CMD=timeout
	LAUNCH_SH=${OUTLAST_SH:-sh}
}

# How to put the service in a session of its own, so the hangup of the
# caller's terminal or session (SIGHUP to its process group) never reaches
# it. nohup is the last resort: it only ignores SIGHUP, and Node resets
# every signal to its default at start-up, so a Node service stays exposed.
detect_detach() {
	if command -v setsid >/dev/null 2>&1; then
		# util-linux setsid -f forks itself: no background job, so the
		# service does not inherit the SIGINT/SIGQUIT that POSIX shells
		# ignore in background jobs.
		if setsid --help 2>&1 | grep -q -- '--fork'; then DETACH='setsid -f'; else DETACH=setsid; fi
	elif [ -x /system/bin/setsid ]; then
		DETACH=/system/bin/setsid
	elif command -v busybox >/dev/null 2>&1 && busybox setsid true >/dev/null 2>&1; then
		DETACH='busybox setsid'
	else
		DETACH=nohup
	fi
}

# ---- health -----------------------------------------------------------------

# health_check: 0 healthy (2xx), 1 unhealthy, 4 unknown (no HTTP client);
# HEALTH_MSG says what was seen. Every check has a hard time limit, so a
# hung service is reported as hung, never waited on.
health_check() {
	case $HTTP_CLIENT in
	curl)
		_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time "$HEALTH_TIMEOUT" "$URL" 2>/dev/null)
		_rc=$?
		case $_rc in
		0) HEALTH_MSG="HTTP $_code" ;;
		28) HEALTH_MSG="no answer within $HEALTH_TIMEOUT s (timed out)" ;;
		7) HEALTH_MSG="connection refused" ;;
		52) HEALTH_MSG="empty reply" ;;
		56) HEALTH_MSG="connection reset" ;;
		*) HEALTH_MSG="curl failed (exit $_rc)" ;;
		esac
		[ "$_rc" = 0 ] && case $_code in 2??) return 0 ;; esac
		return 1
		;;
	wget)
		if [ -n "$TIMEOUT_CMD" ]; then
			# shellcheck disable=SC2086
			_err=$($TIMEOUT_CMD "$HEALTH_TIMEOUT" wget -q -O /dev/null $WGET_TRIES -T "$HEALTH_TIMEOUT" "$URL" 2>&1 >/dev/null)
		else
			# shellcheck disable=SC2086
			_err=$(wget -q -O /dev/null $WGET_TRIES -T "$HEALTH_TIMEOUT" "$URL" 2>&1 >/dev/null)
		fi
		_rc=$?
		case $_rc in
		0)
			HEALTH_MSG="HTTP 2xx"
			return 0
			;;
		124 | 143) HEALTH_MSG="no answer within $HEALTH_TIMEOUT s (timed out)" ;;
		*)
			_err=$(printf '%s\n' "$_err" | sed -n '$p')
			HEALTH_MSG="wget failed (exit $_rc)${_err:+: $_err}"
			;;
		esac
		return 1
		;;
	*)
		HEALTH_MSG="no http client (install curl or wget)"
		return 4
		;;
	esac
}

# ---- the recorded process ---------------------------------------------------

# find_service: 0 when the process we recorded is running (RUN_PID,
# RUN_START); otherwise 1, with STALE saying why leftover files do not
# count ('' when there are none).
find_service() {
	RUN_PID= RUN_START= STALE=
	if [ -f "$STATE" ]; then
		_pid= _start=
		read -r _pid _start _ 2>/dev/null <"$STATE"
		if ! is_uint "$_pid" || ! is_uint "$_start"; then
			STALE="unreadable state file $STATE"
		elif proc_read "$_pid"; then
			if [ "$P_START" = "$_start" ]; then
				RUN_PID=$_pid RUN_START=$_start
				return 0
			fi
			STALE="pid $_pid now belongs to another process (start time $P_START, ours was $_start)"
		else
			STALE="pid $_pid is dead"
		fi
	elif [ -f "$PIDFILE" ]; then
		_pid=$(cat "$PIDFILE" 2>/dev/null)
		STALE="pidfile (pid ${_pid:-?}) without a state file, so it cannot be told from a recycled pid"
	fi
	return 1
}

clean_stale() {
	rm -f "$PIDFILE" "$STATE"
	say "removed stale pidfile: $STALE; nothing was signalled"
}

# ---- the ctl lock -----------------------------------------------------------
# One start/stop/restart at a time per state file: the watchdog, a detached
# restart helper and a person may all run ctl.sh at once, and two starts
# must not launch two services. A directory, because mkdir is atomic.

LOCKED=0
lock_acquire() {
	_deadline=$(($1 * 100))
	_told=0
	_empty_since=
	now_cs
	_t0=$NOW_CS
	while ! mkdir "$LOCK" 2>/dev/null; do
		if [ ! -d "$LOCK" ]; then
			# Not held, yet mkdir failed: a missing or read-only directory
			# (unless the holder released it this instant: try once more).
			mkdir "$LOCK" || fail "cannot create the lock $LOCK"
			break
		fi
		_holder=
		read -r _holder _hstart _ 2>/dev/null <"$LOCK/pid"
		now_cs
		if [ -z "$_holder" ]; then
			# The holder writes its pid right after mkdir; a lock that
			# stays empty lost its holder in between.
			[ -n "$_empty_since" ] || _empty_since=$NOW_CS
			[ $((NOW_CS - _empty_since)) -lt 200 ] || _holder=dead _hstart=0
		fi
		if [ -n "$_holder" ] && ! is_ours "$_holder" "$_hstart"; then
			# Stale: move it aside under a name of our own, so that of
			# several contenders only one removes it; if what we moved
			# is not the stale lock we judged (a contender already took
			# over), give it back.
			if mv "$LOCK" "$LOCK.stale.$$" 2>/dev/null; then
				read -r _moved _ 2>/dev/null <"$LOCK.stale.$$/pid" || _moved=
				if [ "${_moved:-dead}" = "$_holder" ]; then
					rm -rf "$LOCK.stale.$$"
				elif [ ! -e "$LOCK" ]; then
					mv "$LOCK.stale.$$" "$LOCK" 2>/dev/null
				fi
			fi
			continue
		fi
		if [ $((NOW_CS - _t0)) -ge "$_deadline" ]; then
			fail "another ctl.sh (pid ${_holder:-?}) still holds $LOCK after $1 s"
		fi
		if [ "$_told" = 0 ] && [ -n "$_holder" ]; then
			warn "waiting for another ctl.sh (pid $_holder) to finish"
			_told=1
		fi
		nap
	done
	proc_read $$ || fail "cannot read /proc/$$/stat"
	write_file "$LOCK/pid" "$$ $P_START"
	LOCKED=1
}

lock_release() {
	[ "$LOCKED" = 1 ] || return 0
	LOCKED=0
	rm -rf "$LOCK"
}

# ---- commands ---------------------------------------------------------------

cmd_status() {
	if ! find_service; then
		if [ -n "$STALE" ]; then
			say "not running (stale pidfile: $STALE)"
		elif [ -f "$STOPPED" ]; then
			say "not running (stopped with ctl.sh stop at $(cat "$STOPPED"))"
		else
			say "not running"
		fi
		return 3
	fi
	say "pid: $RUN_PID"
	read -r _up _ </proc/uptime
	# (mksh computes in 32 bits: fine for 248 days of uptime at 100 Hz.)
	_s=$((${_up%.*} - RUN_START / HZ))
	[ "$_s" -ge 0 ] || _s=0
	if [ "$_s" -ge 86400 ]; then
		_days="$((_s / 86400))d "
	else
		_days=
	fi
	say "uptime: $_s s ($(printf '%s%02d:%02d:%02d' "$_days" $((_s % 86400 / 3600)) $((_s % 3600 / 60)) $((_s % 60))))"
	if [ -z "$URL" ]; then
		say "health: not checked (no health URL)"
		return 0
	fi
	health_check
	case $? in
	0)
		say "health: ok: $HEALTH_MSG from $URL"
		return 0
		;;
	4)
		say "health: unknown: $HEALTH_MSG"
		return 4
		;;
	*)
		say "health: FAILING: $HEALTH_MSG from $URL"
		return 1
		;;
	esac
}

cmd_start() {
	if find_service; then
		[ -n "$URL" ] || {
			say "already running (pid $RUN_PID)"
			return 0
		}
		health_check
		case $? in
		0) say "already running (pid $RUN_PID): healthy, $HEALTH_MSG" ;;
		4) say "already running (pid $RUN_PID): health not checked, $HEALTH_MSG" ;;
		*)
			say "running but unhealthy (pid $RUN_PID): $HEALTH_MSG from $URL"
			return 1
			;;
		esac
		return 0
	fi
	if [ "$UNLESS_STOPPED" = 0 ]; then
		# An explicit start ends an explicit stop, even if this start fails:
		# the watchdog then keeps trying.
		rm -f "$STOPPED"
	elif [ -f "$STOPPED" ]; then
		say "not starting: stopped with ctl.sh stop at $(cat "$STOPPED") (ctl.sh start starts it)"
		return 0
	fi
	[ -z "$STALE" ] || clean_stale
	# Something already answering the health URL is another instance that
	# ctl.sh did not start; a second one would only fail to bind.
	if [ -n "$URL" ] && health_check; then
		say "not starting: $URL already answers ($HEALTH_MSG), but no process started by ctl.sh runs (pidfile $PIDFILE)"
		return 1
	fi
	launch "$@" || return 1
	say "started (pid $NEW_PID)"
	[ "$WAIT" -gt 0 ] || return 0
	wait_healthy
}

# launch COMMAND...: starts it detached and records pidfile and state.
launch() {
	[ $# -gt 0 ] || usage_error "nothing to start: give -- COMMAND ARGS... or set OUTLAST_CTL_CMD"
	[ -d "$CWD" ] || fail "--cwd $CWD is not a directory"
	(cd "$CWD" && command -v "$1" >/dev/null 2>&1) || fail "cannot run '$1': not found or not executable (in $CWD)"
	mkdir -p "${LOG%/*}" 2>/dev/null
	printf '%s ctl.sh: starting: %s\n' "$(iso_now)" "$*" >>"$LOG" 2>/dev/null || fail "cannot write the log $LOG"
	detect_detach
	_handoff=$STATE.launch
	rm -f "$_handoff" "$_handoff.tmp"
	# A launcher shell reports its own pid, then execs the command, which
	# keeps that pid: the pid is right whether setsid forked or not.
	# shellcheck disable=SC2016,SC2086
	set -- $LAUNCH_SH -c 'printf "%s\n" "$$" >"$0.tmp" && mv -f "$0.tmp" "$0" || exit 126; exec "$@"' "$_handoff" "$@"
	# shellcheck disable=SC2086
	case $DETACH in
	'setsid -f') (cd "$CWD" && exec setsid -f "$@" </dev/null >>"$LOG" 2>&1) ;;
	*) (cd "$CWD" && exec $DETACH "$@" </dev/null >>"$LOG" 2>&1 &) ;;
	esac
	[ "$DETACH" != nohup ] || warn "no setsid found: started under nohup, so the service stays in this session"
	now_cs
	_deadline=$((NOW_CS + 1000))
	while [ ! -s "$_handoff" ]; do
		now_cs
		[ "$NOW_CS" -lt "$_deadline" ] || fail "the launcher reported no pid within 10 s; see $LOG"
		nap
	done
	read -r NEW_PID <"$_handoff"
	rm -f "$_handoff"
	# Killed between the launch and these writes, ctl.sh leaves an
	# unrecorded service: the next start then finds its health URL
	# answering and refuses to start a second one.
	if ! proc_read "$NEW_PID"; then
		warn "pid $NEW_PID exited at once; the end of $LOG:"
		tail -n 5 "$LOG" >&2
		return 1
	fi
	write_file "$STATE" "$NEW_PID $P_START"
	write_file "$PIDFILE" "$NEW_PID"
	printf '%s ctl.sh: started pid %s\n' "$(iso_now)" "$NEW_PID" >>"$LOG"
}

wait_healthy() {
	now_cs
	_t0=$NOW_CS
	_deadline=$((NOW_CS + WAIT * 100))
	while :; do
		if health_check; then
			now_cs
			say "healthy after $(fmt_cs $((NOW_CS - _t0))): $HEALTH_MSG"
			return 0
		fi
		if ! proc_read "$NEW_PID"; then
			warn "pid $NEW_PID exited while starting; the end of $LOG:"
			tail -n 5 "$LOG" >&2
			rm -f "$PIDFILE" "$STATE"
			return 1
		fi
		now_cs
		if [ "$NOW_CS" -ge "$_deadline" ]; then
			say "not healthy within $WAIT s (last: $HEALTH_MSG from $URL); pid $NEW_PID left running"
			return 1
		fi
		nap
	done
}

# cmd_stop [mark]: with "mark" (a plain stop, not a restart), records the
# stop first: from then on the watchdog (start --unless-stopped) leaves the
# service down until an explicit start.
cmd_stop() {
	[ "${1-}" != mark ] || write_file "$STOPPED" "$(iso_now)"
	if ! find_service; then
		[ -z "$STALE" ] || clean_stale
		say "not running"
		return 0
	fi
	_pid=$RUN_PID
	now_cs
	_t0=$NOW_CS
	_deadline=$((NOW_CS + STOP_TIMEOUT * 100))
	if ! kill -s TERM "$_pid" 2>/dev/null; then
		# Failing because it just exited is fine: the loop sees it gone.
		! is_ours "$_pid" "$RUN_START" || fail "cannot signal pid $_pid"
	fi
	while is_ours "$_pid" "$RUN_START"; do
		now_cs
		[ "$NOW_CS" -lt "$_deadline" ] || break
		nap
	done
	if ! is_ours "$_pid" "$RUN_START"; then
		now_cs
		rm -f "$PIDFILE" "$STATE"
		say "stopped (pid $_pid) after $(fmt_cs $((NOW_CS - _t0))): exited on SIGTERM"
		return 0
	fi
	say "pid $_pid still running $STOP_TIMEOUT s after SIGTERM: sending SIGKILL"
	# The start time was checked a poll ago: the pid cannot have been
	# recycled since without the process exiting first, which the
	# loop above would have seen in all but a 0.1 s window.
	if [ "$P_PGID" = "$_pid" ]; then
		# It leads its own group (setsid): take its helpers with it.
		# POSIX wants `--` before a negative pid; busybox rejects it.
		kill -s KILL -- "-$_pid" 2>/dev/null || kill -s KILL "-$_pid" 2>/dev/null ||
			kill -s KILL "$_pid" 2>/dev/null
	else
		kill -s KILL "$_pid" 2>/dev/null
	fi
	_deadline=$((NOW_CS + 500))
	while is_ours "$_pid" "$RUN_START"; do
		now_cs
		[ "$NOW_CS" -lt "$_deadline" ] || fail "pid $_pid survived SIGKILL for 5 s (state $P_STATE)"
		nap
	done
	now_cs
	rm -f "$PIDFILE" "$STATE"
	say "stopped (pid $_pid) after $(fmt_cs $((NOW_CS - _t0))): escalated to SIGKILL"
	return 0
}

cmd_logs() {
	[ -f "$LOG" ] || fail "no log at $LOG"
	tail -n "$LINES_N" "$LOG"
}

# ---- main -------------------------------------------------------------------

parse_args
while [ $# -gt 0 ]; do
	case $1 in
	--) ;;
	--*=*)
		# --opt=value: split into --opt value.
		_opt=${1%%=*} _val=${1#*=}
		shift
		set -- "$_opt" "$_val" "$@"
		;;
	esac
	case $1 in
	--)
		shift
		HAVE_CMD=1
		break
		;;
	--pidfile | --state | --log | --health-url | --health-timeout | --stop-timeout | --wait | --cwd | -n)
		[ $# -ge 2 ] || usage_error "$1 needs a value"
		case $1 in
		--pidfile) PIDFILE=$2 ;;
		--state) STATE=$2 ;;
		--log) LOG=$2 ;;
		--health-url) URL=$2 ;;
		--health-timeout) HEALTH_TIMEOUT=$2 ;;
		--stop-timeout) STOP_TIMEOUT=$2 ;;
		--wait) WAIT=$2 ;;
		--cwd) CWD=$2 ;;
		-n) LINES_N=$2 ;;
		esac
		shift 2
		;;
	--unless-stopped)
		UNLESS_STOPPED=1
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	-*) usage_error "unknown option: $1" ;;
	*)
		[ -z "$COMMAND" ] || usage_error "unexpected argument: $1 (the command to launch goes after --)"
		COMMAND=$1
		shift
		;;
	esac
done

case $COMMAND in
start | stop | restart | status | logs) ;;
'') usage_error "no command: start, stop, restart, status or logs" ;;
*) usage_error "unknown command: $COMMAND" ;;
esac
[ -n "$PIDFILE" ] || usage_error "no pidfile: give --pidfile FILE or set OUTLAST_CTL_PIDFILE"
need_uint --health-timeout "$HEALTH_TIMEOUT"
[ "$HEALTH_TIMEOUT" -gt 0 ] || usage_error "--health-timeout must be at least 1"
need_uint --stop-timeout "$STOP_TIMEOUT"
need_uint --wait "$WAIT"
is_uint "$LINES_N" || usage_error "-n must be a number of lines, not '$LINES_N'"
PIDFILE=$(absolute "$PIDFILE")
[ -n "$STATE" ] || STATE=$PIDFILE.state
STATE=$(absolute "$STATE")
[ -n "$LOG" ] || LOG=${PIDFILE%.pid}.log
LOG=$(absolute "$LOG")
CWD=$(absolute "$CWD")
LOCK=$STATE.lock
STOPPED=$STATE.stopped
if [ "$HAVE_CMD" = 0 ] || [ $# = 0 ]; then
	if [ -n "${OUTLAST_CTL_CMD-}" ]; then
		# shellcheck disable=SC2086 # OUTLAST_SH may be "busybox sh"
		set -- ${OUTLAST_SH:-sh} -c "exec $OUTLAST_CTL_CMD"
	else
		set --
	fi
fi
case $COMMAND in start | restart)
	[ $# -gt 0 ] || usage_error "nothing to start: give -- COMMAND ARGS... or set OUTLAST_CTL_CMD"
	[ "$WAIT" = 0 ] || [ -n "$URL" ] || usage_error "--wait needs a health URL (--health-url or OUTLAST_HEALTH_URL)"
	;;
esac
detect_capabilities

case $COMMAND in
status)
	cmd_status
	exit
	;;
logs)
	cmd_logs
	exit
	;;
esac

trap lock_release EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
lock_acquire $((STOP_TIMEOUT + WAIT + 30))
case $COMMAND in
start) cmd_start "$@" ;;
stop) cmd_stop mark ;;
restart) cmd_stop && cmd_start "$@" ;;
esac
