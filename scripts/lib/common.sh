# The helpers scripts/ctl.sh and scripts/watchdog-loop.sh share. Each script
# must run alone when copied onto a phone, so this file is never sourced:
# `npm run gen:scripts` (scripts/gen-shell.ts) copies everything below this
# header into each script, between its "begin generated" and "end generated"
# marker lines, and test/scripts/generated.test.ts fails when a copy is stale.
# POSIX sh (dash, mksh, busybox); the script sets PROG before the block.

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
