#!/usr/bin/env bash
# `cmdeploy status` against the two deployed lab relays: green when healthy,
# red naming a stopped unit, green again once it runs, and a warning (still
# exit 0) while /etc/chatmail-nocreate stops new addresses.
SUITE=relay-status
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relays.sh"

# check_out NAME STATUS PATTERN CMD...: CMD exits with STATUS and its output matches PATTERN
check_out() {
    local name=$1 want=$2 pattern=$3 out rc; shift 3
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" != "$want" ]; then fail "$name (exit $rc, want $want)" "$out"
    elif ! grep -Eq -- "$pattern" <<< "$out"; then fail "$name (output does not match /$pattern/)" "$out"
    else pass "$name"; fi
}

# Deploys what is missing; on relays already deployed a no-op run.
check "relay1 and relay2 deployed" ensure_relays
[ "$FAILED" = 0 ] || { finish; exit; }

check_out "relay1 ($RELAY1, acme) is healthy" 0 "^$RELAY1 is healthy" cm 1 status
check_out "relay2 ($RELAY2, self-signed) is healthy" 0 "is healthy" cm 2 status
check_out "relay1: the report shows units, ports, certificate, queue and guards" 0 \
    "ok +doveauth.service +active \(running\) since" cm 1 status
cm 1 status > "$TMP/report.txt" 2>&1
for want in "ok +25/tcp +master" "ok +993/tcp +dovecot" "ok +443/tcp +nginx" "ok +10080/tcp +chatmaild" \
            "ok +certificate +ACME, " "ok +queue" "ok +disk" "ok +memory" "ok +version" "ok +account creation +open"; do
    check "relay1 report: /$want/" grep -Eq -- "$want" "$TMP/report.txt"
done
cm 2 status > "$TMP/report2.txt" 2>&1
check "relay2 report: self-signed certificate valid for decades" \
    grep -Eq 'ok +certificate +self-signed, .* \([0-9]{5} days' "$TMP/report2.txt"

cm 1 status --json > "$TMP/status.json" 2>"$TMP/status.err"
check "status --json: one JSON object with the checks and facts" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["healthy"] is True and s["failures"] == 0, s["summary"]
for key in ("units", "listeners", "certificate", "queue", "disk", "memory", "load", "addresses", "version", "nocreate"):
    assert key in s["facts"], key
assert s["facts"]["units"]["doveauth.service"]["active"] == "active"
assert s["facts"]["certificate"]["days_left"] > 20
assert {"group", "name", "level", "message"} <= set(s["checks"][0])
' "$TMP/status.json"

# A stopped unit: red, exit 1, and the last line names it.
check "relay1: stop doveauth" on relay1 systemctl stop doveauth
check_out "status fails naming doveauth.service" 1 "problem.*doveauth.service is inactive \(dead\)" cm 1 status
check "relay1: start doveauth" on relay1 systemctl start doveauth
check_out "status is green again" 0 "is healthy" cm 1 status

# A daemon whose port is gone while its unit lives on would be missed by a
# unit-only check: stop nginx's listener by stopping nginx, see both named.
check "relay1: stop nginx" on relay1 systemctl stop nginx
check_out "status names nginx and its ports" 1 "nginx.service is inactive.*port 80/tcp" cm 1 status
check "relay1: start nginx" on relay1 systemctl start nginx

# nocreate is an operator's choice (maintenance, migration), not a fault:
# a warning with exit 0.
check "relay1: touch /etc/chatmail-nocreate" on relay1 touch /etc/chatmail-nocreate
check_out "status warns about nocreate, still exit 0" 0 "WARN +account creation +/etc/chatmail-nocreate is set" cm 1 status
check_out "the summary counts the warning" 0 "is healthy \([0-9]+ checks, 1 warning\)" cm 1 status
check "relay1: remove /etc/chatmail-nocreate" on relay1 rm -f /etc/chatmail-nocreate
check_out "status is green again" 0 "is healthy \([0-9]+ checks\)$" cm 1 status

finish
