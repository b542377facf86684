#!/bin/sh
# Checks systemd/barge.service: `systemd-analyze verify` must print nothing (it exits 0 on
# unknown keys and unparsable values, so its output is what counts), and every directive must
# have a comment line right above it. Works without a running systemd (in a container too).
#
# usage: scripts/check-systemd.sh [BARGE_BINARY]    (default: .build/debug/barge in the repository)
# verify insists that ExecStart= names an existing executable, so it checks a copy of the
# unit whose ExecStart= points at BARGE_BINARY instead of /usr/local/bin/barge.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
unit="$root/systemd/barge.service"
binary=${1:-$root/.build/debug/barge}

fail() { echo "check-systemd: $*" >&2; exit 1; }

command -v systemd-analyze >/dev/null 2>&1 || fail "systemd-analyze not found (apt-get install systemd)"
[ -f "$unit" ] || fail "$unit not found"
[ -f "$binary" ] && [ -x "$binary" ] || fail "$binary is not an executable file (build it first: swift build)"

# Each directive (Key=value) directly below a comment line.
awk '
    /^[A-Za-z][A-Za-z0-9]*=/ && previous !~ /^#/ { printf "%s:%d: %s has no comment line above it\n", FILENAME, NR, $0; bad = 1 }
    { previous = $0 }
    END { exit bad }
' "$unit" >&2 || fail "every directive in systemd/barge.service needs a comment saying why"

grep -q '^ExecStart=/usr/local/bin/barge ' "$unit" || fail "ExecStart= in $unit does not start with /usr/local/bin/barge"

work=$(mktemp -d "${TMPDIR:-/tmp}/check-systemd.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
case $work in
    *[!A-Za-z0-9._/-]*) fail "temporary directory $work has characters a unit file would need escaped; set TMPDIR" ;;
esac
# A symlink, so the binary's own path needs no escaping in the unit.
ln -s "$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")" "$work/barge"
sed "s#^ExecStart=/usr/local/bin/barge #ExecStart=$work/barge #" "$unit" > "$work/barge.service"

status=0
output=$(SYSTEMD_LOG_LEVEL=notice SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$work/barge.service" 2>&1) || status=$?
if [ "$status" -ne 0 ] || [ -n "$output" ]; then
    printf '%s\n' "$output" | sed "s#$work/barge.service#systemd/barge.service#g; s#$work/barge#$binary#g" >&2
    fail "systemd-analyze verify found problems in systemd/barge.service (exit $status)"
fi
echo "check-systemd: systemd/barge.service verified with $(systemd-analyze --version | head -n 1) against $binary"
