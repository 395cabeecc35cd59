#!/bin/sh
# detached-restart.sh: the helper of outlast's "detached" restart strategy.
#
# Started by the old supervisor with setsid, stdio to /dev/null. It:
#   1. confirms it runs (writes <state-dir>/restart-helper.json), so the old
#      process may exit;
#   2. waits until the old pid is gone (same pid AND start time, so a
#      recycled pid is not mistaken for it);
#   3. waits --delay-ms more: the platform's kill window (Android SIGKILLs
#      processes spawned in the app's cgroup for a while after the exit);
#   4. runs `ctl.sh start -- <command>`;
#   5. checks that a NEW supervisor pid becomes healthy (supervisor.json and
#      its /health), and retries with backoff, up to --retries times.
# Every step is logged with a timestamp to --log.
set -u

old_pid='' old_start='' delay_ms=15000 retries=3 state_dir='' ctl='' log='/dev/null' ready_timeout=60
while [ $# -gt 0 ]; do
  case "$1" in
    --old-pid) old_pid=$2; shift 2 ;;
    --old-start) old_start=$2; shift 2 ;;
    --delay-ms) delay_ms=$2; shift 2 ;;
    --retries) retries=$2; shift 2 ;;
    --state-dir) state_dir=$2; shift 2 ;;
    --ctl) ctl=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --ready-timeout) ready_timeout=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "detached-restart.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$old_pid" ] || [ -z "$state_dir" ] || [ -z "$ctl" ] || [ $# -eq 0 ]; then
  echo "usage: detached-restart.sh --old-pid PID --state-dir DIR --ctl CTL [--old-start T] [--delay-ms MS] [--retries N] [--log FILE] -- COMMAND..." >&2
  exit 2
fi

exec >>"$log" 2>&1 </dev/null
# A terminal hang-up must not end us; we are already in our own session.
trap '' HUP

say() { printf '%s detached-restart[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$$" "$*"; }

start_time() {
  # Field 22 of /proc/<pid>/stat; comm (field 2) may hold spaces, so cut after the last ')'.
  [ -r "/proc/$1/stat" ] || return 1
  sed -e 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20
}

old_alive() {
  kill -0 "$old_pid" 2>/dev/null || return 1
  [ -z "$old_start" ] && return 0
  now=$(start_time "$old_pid") || return 1
  [ "$now" = "$old_start" ]
}

json_field() { # json_field FILE KEY: a top-level string or number value, without a JSON parser
  sed -n "s/.*\"$2\": *\"\{0,1\}\([^\",}]*\)\"\{0,1\}.*/\1/p" "$1" | head -n 1
}

healthy() { # healthy URL
  if command -v curl >/dev/null 2>&1; then curl -fsS --max-time 3 -o /dev/null "$1" 2>/dev/null
  elif command -v wget >/dev/null 2>&1; then wget -q -T 3 -O /dev/null "$1" 2>/dev/null
  else return 0
  fi
}

ms_sleep() { # fractional sleep; Termux, busybox and coreutils all take decimals
  sleep "$(awk "BEGIN { printf \"%.3f\", $1 / 1000 }")"
}

printf '{"pid": %s, "armedAt": "%s"}\n' "$$" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$state_dir/restart-helper.json"
say "armed: waiting for pid $old_pid to exit"

waited=0
while old_alive; do
  sleep 0.1
  waited=$((waited + 1))
  if [ $waited -ge 6000 ]; then say "pid $old_pid still alive after 10 min: giving up"; rm -f "$state_dir/restart-helper.json"; exit 1; fi
done
say "pid $old_pid is gone; waiting ${delay_ms} ms (the kill window)"
ms_sleep "$delay_ms"

attempt=1
backoff=1
while [ "$attempt" -le "$retries" ]; do
  say "attempt $attempt: $ctl start"
  sh "$ctl" start --pidfile "$state_dir/supervisor.pid" --state "$state_dir/supervisor.state" --log "$state_dir/logs/supervisor.log" -- "$@"
  waited=0
  while [ "$waited" -lt $((ready_timeout * 10)) ]; do
    if [ -r "$state_dir/supervisor.json" ]; then
      pid=$(json_field "$state_dir/supervisor.json" pid)
      url=$(json_field "$state_dir/supervisor.json" apiUrl)
      if [ -n "$pid" ] && [ "$pid" != "$old_pid" ] && kill -0 "$pid" 2>/dev/null && healthy "$url/health"; then
        say "new supervisor pid $pid is healthy ($url)"
        rm -f "$state_dir/restart-helper.json"
        exit 0
      fi
    fi
    new_pid=$(cat "$state_dir/supervisor.pid" 2>/dev/null || true)
    if [ -n "$new_pid" ] && ! kill -0 "$new_pid" 2>/dev/null; then
      say "new supervisor pid $new_pid died before it was healthy"
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  attempt=$((attempt + 1))
  if [ "$attempt" -le "$retries" ]; then say "retrying in ${backoff} s"; sleep "$backoff"; backoff=$((backoff * 2)); fi
done
say "gave up after $retries attempts"
rm -f "$state_dir/restart-helper.json"
exit 1
