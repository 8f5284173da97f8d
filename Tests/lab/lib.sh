# Helpers for lab end-to-end suites. A suite is a bash script that
# `scripts/lab e2e` runs while the lab is up, with LAB (the lab script) and
# the LAB_* settings in its environment. It sources this file, runs checks,
# and ends with `finish`, which prints "SUITE: N passed, N failed".
# shellcheck shell=bash
set -uo pipefail

: "${LAB:?run lab suites through scripts/lab e2e}"
SUITE=${SUITE:-$(basename "$0" .sh)}
PASSED=0
FAILED=0
eval "$("$LAB" env | sed 's/^/export /')"   # LAB_SSH_CONFIG, LAB_CA_BUNDLE, ...
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

pass() { PASSED=$((PASSED + 1)); echo "ok   $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1"; [ -z "${2:-}" ] || sed 's/^/     | /' <<< "$2" | head -40; }

# check NAME CMD...: CMD must exit 0
check() {
    local name=$1 out; shift
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}

# check_fails NAME PATTERN CMD...: CMD must fail, and its output match PATTERN (grep -E)
check_fails() {
    local name=$1 pattern=$2 out; shift 2
    if out=$("$@" 2>&1); then fail "$name (it succeeded)" "$out"
    elif grep -Eq -- "$pattern" <<< "$out"; then pass "$name"
    else fail "$name (output does not match /$pattern/)" "$out"; fi
}

# check_eq NAME EXPECTED CMD...: CMD must exit 0 and print exactly EXPECTED
# (trailing blanks of each line aside: `ip route` ends lines with a space)
check_eq() {
    local name=$1 want=$2 out; shift 2
    if ! out=$("$@" 2>&1); then fail "$name (exit status)" "$out"; return; fi
    out=$(sed 's/[[:space:]]*$//' <<< "$out")
    if [ "$out" = "$want" ]; then pass "$name"; else fail "$name" "want: $want"$'\n'"got:  $out"; fi
}

on() { local h=$1; shift; "$LAB" ssh "$h" "$@"; }   # on HOST CMD: run CMD as root on a lab host
client() { "$LAB" exec "$@"; }                       # client CMD: run CMD as a lab client

finish() {
    echo "$SUITE: $PASSED passed, $FAILED failed"
    [ "$FAILED" = 0 ]
}
