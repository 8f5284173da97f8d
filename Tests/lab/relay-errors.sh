#!/usr/bin/env bash
# Failures an operator meets on a real host, provoked on a fresh relay3:
# each message says what is wrong, where, and what to do next, and a run
# after the cause is gone goes on from there. relay3 is reset to a fresh
# host at the end (the quickstart and upgrade suites start from one).
#
#   - a full disk: a 64 KiB filesystem over /usr/share/doc inside relay3,
#     which dpkg fills while it unpacks (never the machine's own disk)
#   - missing DNS records (the pre-check, before any change)
SUITE=relay-errors
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relays.sh"

[[ " $LAB_HOSTS_UP " == *" relay3 "* ]] || { fail "the lab has no host relay3 (scripts/test-relay-lab boots it)"; finish; exit 1; }
write_ini 3 || { fail "write relay3's chatmail.ini"; finish; exit; }

# --- DNS not yet published: refused before any change, every record named ---
deploy 3 > "$TMP/nodns.log" 2>&1; rc=$?
check_eq "relay3 without DNS records: refused (exit 1)" 1 echo "$rc"
check "relay3: ... naming each missing record" grep -Eq "^Missing (A and/or AAAA DNS records|MTA-STS CNAME record)" "$TMP/nodns.log"
check "relay3: ... and what to do" grep -q "Publish these records at your DNS provider and run again" "$TMP/nodns.log"
check "relay3: ... nothing of the relay installed" on relay3 \
    '! dpkg -s postfix >/dev/null 2>&1 && ! getent passwd vmail && [ ! -e /usr/local/bin/chatmaild ]'
check "relay3: publish A, MX and web names" publish_base_zone 3

# --- a full disk while dpkg unpacks (the lab's apt reads a local repo, so
# dpkg's writes are what fills it): 64 KiB over /usr/share/doc ---
check "relay3: a 64 KiB filesystem over /usr/share/doc" on relay3 \
    'mount -t tmpfs -o size=64k cmdeploy-full /usr/share/doc'
deploy 3 > "$TMP/full.log" 2>&1; rc=$?
check_eq "relay3: the deploy fails (exit 1)" 1 echo "$rc"
check "relay3: ... dpkg's own words are shown" grep -q "No space left on device" "$TMP/full.log"
check "relay3: ... and the next step: which host is full and what to do" \
    grep -q "Next: the disk of root@relay3.$LAB_DOMAIN is full (\`df -h\` there shows where): free some space, then run \`cmdeploy run\` again" "$TMP/full.log"
check "relay3: space again" on relay3 'umount /usr/share/doc'
deploy 3 > "$TMP/again.log" 2>&1
check "relay3: the next run repairs the half-installed packages and deploys the relay" grep -q "^Deploy completed" "$TMP/again.log"
check "relay3: ... its services run" on relay3 'systemctl is-active --quiet postfix dovecot doveauth filtermail nginx'
check "relay3: ... and dpkg has nothing left unfinished" on relay3 '[ -z "$(dpkg --audit)" ]'

check "relay3 reset to a fresh host for the next suite" "$LAB" reset relay3
finish
