#!/usr/bin/env bash
# Delta Chat's own core (deltachat-rpc-server from PyPI, cached by
# `scripts/lab build`) against the two lab relays: accounts from dcaccount:
# QR codes, 1:1 chats on one relay and across relays, a group of three with a
# 1 MB attachment, secure-join across relays, chatmail detection and push.
# The client part is Tests/lab/deltachat/e2e.py; this suite runs it inside the
# lab network and adds the relay-side evidence (DKIM signing, TLS between the
# relays). Run by `scripts/test-relay-lab deltachat`.
SUITE=relay-deltachat
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relays.sh"

ensure_relays || { fail "relays deployed"; finish; exit 1; }

E2E=$(cd "$(dirname "$0")" && pwd)/deltachat/e2e.py
since=$(date +%s)   # lab hosts share this machine's clock

# e2e.py bounds each wait to 60 s; this bounds the whole run.
client timeout 900 "$LAB_PYTHON" "$E2E" "$RELAY1" "$RELAY2" > "$TMP/e2e.out" 2> "$TMP/e2e.err"
rc=$?
grep -v '^deltachat: ' "$TMP/e2e.out"
PASSED=$((PASSED + $(grep -c '^ok ' "$TMP/e2e.out")))
FAILED=$((FAILED + $(grep -c '^FAIL ' "$TMP/e2e.out")))
if [ "$rc" != 0 ] && ! grep -q '^FAIL ' "$TMP/e2e.out"; then
    fail "e2e.py exited with $rc" "$(tail -n 30 "$TMP/e2e.err")"
fi
cp "$TMP/e2e.err" "$RELAYLAB_STATE/deltachat-rpc.log"   # the RPC client's log, kept while the lab is up

# The relay side of the messages above: each relay DKIM-signed its users'
# mail (the receiving relay refuses mail without a valid signature of the
# From: domain, so the deliveries above also prove the verification), and
# the relays delivered to each other with TLS required by their policy:
# "verify" (certificate checked) towards relay1, "encrypt" towards the
# self-signed _relay2 (Postfix logs no TLS details at smtp_tls_loglevel 0).
# log_has NAME HOST PATTERN JOURNALCTL-ARGS...: HOST's journal since the run matches PATTERN
log_has() {
    local name=$1 host=$2 pattern=$3 out; shift 3
    out=$(on "$host" journalctl -q --no-pager --since "@$since" "$@" 2>&1)
    if grep -Eq -- "$pattern" <<< "$out"; then pass "$name"; else fail "$name" "$(tail -n 15 <<< "$out")"; fi
}
log_has "relay1 DKIM-signed its users' mail" relay1 "DKIM-Signature field added.*d=$RELAY1" -u opendkim
log_has "relay2 DKIM-signed its users' mail" relay2 "DKIM-Signature field added.*d=$RELAY2" -u opendkim
log_has "relay1 delivered to relay2 over SMTP" relay1 "to=<[^>]*@$RELAY2>, relay=$RELAY2\[.*status=sent" -t postfix/smtp
log_has "relay2 delivered to relay1 over SMTP" relay2 "to=<[^>]*@$RELAY1>, relay=$RELAY1\[.*status=sent" -t postfix/smtp
tls_level() { on "$1" "postmap -q '$2' regexp:/etc/postfix/smtp_tls_policy_map || postconf -h smtp_tls_security_level"; }
check_eq "relay1 requires TLS towards $RELAY2" encrypt tls_level relay1 "$RELAY2"
check_eq "relay2 requires a verified certificate from $RELAY1" verify tls_level relay2 "$RELAY1"
finish
