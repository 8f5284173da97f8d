#!/usr/bin/env bash
# `POST https://<domain>/mxdeliv` between the lab relays: relay2 delivers to
# relay1 over HTTPS the way another chatmail relay (or Madmail) does, with
# curl run on relay2's host and relay1's certificate checked against the
# lab's CAs. Encrypted mail signed with relay2's own DKIM key lands in the
# INBOX; foreign recipients (550), unsigned or badly signed mail (OpenDKIM's
# 5xx from the re-inject), cleartext to an account that refuses it (523), a
# GET (405) and a message over max_message_size (413) are refused, and
# nothing refused is delivered or queued.
SUITE=relay-mxdeliv
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relays.sh"

ensure_relays || { fail "relays deployed"; finish; exit; }

D1=$RELAY1 D2=$RELAY2
FIXTURE=Tests/ChatmaildTests/Filtermail/Fixtures/encrypted.eml
CURL=(curl -sS --fail --max-time 20 --cacert "$LAB_CA_BUNDLE")

# relay2 checks relay1's certificate (from the lab's pebble) with the lab's CAs
on_relay 2 'cat > /tmp/mxdeliv-ca.pem' < "$LAB_CA_BUNDLE"

# mxdeliv BODY [CURL ARGS...]: POST the file BODY (SMTP DATA) from relay2 to
# relay1's /mxdeliv, prints "HTTP-STATUS REPLY"; BODY "-" sends nothing
mxdeliv() {
    local body=$1 args; shift
    args=$(printf '%q ' "$@")
    if [ "$body" = - ]; then body=/dev/null; else args+="--data-binary @-"; fi
    on_relay 2 "curl -sS --max-time 60 --cacert /tmp/mxdeliv-ca.pem -o /tmp/mxdeliv.out -w '%{http_code} ' $args https://$D1/mxdeliv \
        && cat /tmp/mxdeliv.out" < "$body"
}
# reply NAME PATTERN BODY [CURL ARGS...]: mxdeliv's answer matches ^PATTERN (grep -E)
reply() {
    local name=$1 pattern=$2 out; shift 2
    out=$(mxdeliv "$@" 2>&1)
    if grep -Eq -- "^$pattern" <<< "$out"; then pass "$name"; echo "     -> $out"
    else fail "$name (want /^$pattern/)" "$out"; fi
}

# The accounts: relay1's made by /new and a first IMAP login (which sets
# enforceE2EEincoming), relay2's sender by /new.
new_account() {  # new_account DOMAIN [CURL ARGS]: POST /new, prints "email password"
    client "${CURL[@]}" "${@:2}" -X POST "https://$1/new" \
        | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["email"], d["password"])'
}
read -r TO PASS < <(new_account "$D1")
read -r FROM _ < <(new_account "$D2" -k)
[ -n "${TO:-}" ] && [ -n "${FROM:-}" ] || { fail "accounts on relay1 and relay2 (POST /new)"; finish; exit; }
check "relay1: first IMAP login creates $TO" client "${CURL[@]}" --user "$TO:$PASS" "imaps://$D1/"
MAILDIR=/home/vmail/mail/$D1/$TO
check "relay1: the new account refuses cleartext (enforceE2EEincoming)" on_relay 1 "test -e $MAILDIR/enforceE2EEincoming"

# relay2's DKIM key, as its OpenDKIM uses it (KeyTable: domain:selector:keyfile)
read -r KEYFILE SELECTOR < <(on_relay 2 "awk '{split(\$2, f, \":\"); print f[3], f[2]}' /etc/dkimkeys/KeyTable")
on_relay 2 "cat $KEYFILE" > "$TMP/dkim.key" 2> /dev/null
check "relay2: DKIM key and selector read ($SELECTOR, $KEYFILE)" openssl rsa -in "$TMP/dkim.key" -noout -check

# message SUBJECT [TEMPLATE]: the fixture with From relay2's account and To
# relay1's, CRLF lines (the file may have LF or CRLF)
message() {
    sed -e "s|{from_addr}|$FROM|g; s|{to_addr}|$TO|g; s|{subject}|$1|g" \
        -e "s|^Message-ID: .*|Message-ID: <$1@$D2>|" -e 's/\r$//; s/$/\r/' "${2:-$FIXTURE}"
}
signed() { python3 Tests/lab/dkim_sign.py "$TMP/dkim.key" "$D2" "$SELECTOR"; }
stuffed() { sed 's/^\./../'; }   # SMTP DATA: dot-stuffed, no final "." line
H=(-H "X-MAIL-FROM: $FROM" -H "X-MAIL-TO: $TO")

# inbox MARK: how many messages in TO's INBOX on relay1 have MARK in their
# Subject (asked of Dovecot: the Maildir files are gzip-compressed); prints
# nothing when it cannot tell
inbox() { local out; out=$(on_relay 1 "doveadm search -u $TO mailbox INBOX header subject $1") && grep -c . <<< "$out"; }
in_inbox() { for _ in $(seq 1 40); do [ "$(inbox "$1")" = 1 ] && return 0; sleep 0.5; done; return 1; }   # waits up to 20 s
not_in_inbox() { local m n; for m; do n=$(inbox "$m"); [ "$n" = 0 ] || { echo "$m: ${n:-unknown} in the INBOX"; return 1; }; done; }
queue() { on_relay 1 "postqueue -p"; }

# --- 1. accepted: encrypted, signed by relay2 ---
OK=mxdeliv-ok-$RANDOM$RANDOM
message "$OK" | signed | stuffed > "$TMP/ok.txt"
reply "encrypted mail signed by $D2 for $TO: 200 250 OK" '200 250 OK$' "$TMP/ok.txt" "${H[@]}"
check "... it lands in $TO's INBOX" in_inbox "$OK"
delivered_headers() { on_relay 1 "doveadm fetch -u $TO hdr mailbox INBOX header subject $OK"; }
no_signature() { local h; h=$(delivered_headers) && grep -q "^Subject: $OK" <<< "$h" && ! grep -qi '^DKIM-Signature:' <<< "$h" || { echo "$h"; return 1; }; }
check "... without the DKIM-Signature (relay1's OpenDKIM removes it once verified)" no_signature

# --- 2. refused: a recipient that is not relay1's ---
queue > "$TMP/queue.before" 2>&1
FOREIGN=mxdeliv-foreign-$RANDOM$RANDOM
message "$FOREIGN" | signed | stuffed > "$TMP/foreign.txt"
reply "recipient x@example.org: 400 550 not a local address" \
    '400 550 5\.1\.1 <x@example\.org>: Recipient address rejected: not a local address$' \
    "$TMP/foreign.txt" -H "X-MAIL-FROM: $FROM" -H "X-MAIL-TO: x@example.org"
reply "recipient on relay2 ($FROM): 400 550, relay1 relays nothing" '400 550 5\.1\.1 ' \
    "$TMP/foreign.txt" -H "X-MAIL-FROM: $FROM" -H "X-MAIL-TO: $FROM"
reply "one foreign recipient beside $TO: the whole request 400 550" '400 550 5\.1\.1 ' \
    "$TMP/foreign.txt" "${H[@]}" -H "X-MAIL-TO: x@example.org"
check "... nothing delivered to $TO" not_in_inbox "$FOREIGN"
queue_same() { queue > "$TMP/queue.after" 2>&1; diff "$TMP/queue.before" "$TMP/queue.after" && ! grep -Eq "example\.org|$FROM" "$TMP/queue.after"; }
check "... relay1's Postfix queue unchanged ($(head -n 1 "$TMP/queue.before"))" queue_same

# --- 3. refused at the re-inject: no or a broken DKIM signature ---
UNSIGNED=mxdeliv-unsigned-$RANDOM$RANDOM
message "$UNSIGNED" | stuffed > "$TMP/unsigned.txt"
reply "the same mail unsigned: 400 with OpenDKIM's 5xx" '400 5[0-9]{2} .*DKIM' "$TMP/unsigned.txt" "${H[@]}"
BROKEN=mxdeliv-broken-$RANDOM$RANDOM
message "$BROKEN" | signed | sed "s/^Subject: $BROKEN/Subject: $BROKEN-changed/" | stuffed > "$TMP/broken.txt"
reply "Subject changed after signing: 400 with OpenDKIM's 5xx" '400 5[0-9]{2} .*DKIM' "$TMP/broken.txt" "${H[@]}"
check "... neither lands in the INBOX" not_in_inbox "$UNSIGNED" "$BROKEN"

# --- 4. refused by filtermail: cleartext to an account with enforceE2EEincoming ---
CLEAR=mxdeliv-clear-$RANDOM$RANDOM
printf 'From: <{from_addr}>\nTo: <{to_addr}>\nSubject: {subject}\nDate: %s\nMessage-ID: <x@y>\n\nhello in the clear\n' \
    "$(date -R)" > "$TMP/clear.tmpl"
message "$CLEAR" "$TMP/clear.tmpl" | signed | stuffed > "$TMP/clear.txt"
reply "signed cleartext to $TO: 400 523 Encryption Needed" '400 523 Encryption Needed' "$TMP/clear.txt" "${H[@]}"
check "... not in the INBOX" not_in_inbox "$CLEAR"

# --- 5. the HTTP side: GET, and a message over max_message_size ---
reply "GET /mxdeliv: 405" '405 ' - -X GET
MAX=$(on_relay 1 "awk -F' *= *' '\$1 == \"max_message_size\" { print \$2 }' /usr/local/lib/chatmaild/chatmail.ini")
# big N: on relay2, N bytes of cleartext SMTP DATA (78-byte CRLF lines) in /tmp/mxdeliv-big
big() {
    on_relay 2 "python3 - $1 > /tmp/mxdeliv-big" <<'PY'
import sys
n, out = int(sys.argv[1]), sys.stdout.buffer
head = b"Subject: big\r\n\r\n"
out.write(head)
left, block = n - len(head), (b"x" * 76 + b"\r\n") * 1000
while left > len(block) + 80:
    out.write(block)
    left -= len(block)
while left > 160:
    out.write(b"x" * 76 + b"\r\n")
    left -= 78
out.write(b"x" * (left - 2) + b"\r\n")
PY
}
# big_reply NAME PATTERN: POST /tmp/mxdeliv-big from relay2 (no copy through ssh)
big_reply() {
    local out
    out=$(on_relay 2 "curl -sS --max-time 120 --cacert /tmp/mxdeliv-ca.pem -o /tmp/mxdeliv.out -w '%{http_code} ' \
        -H 'X-MAIL-FROM: $FROM' -H 'X-MAIL-TO: $TO' --data-binary @/tmp/mxdeliv-big https://$D1/mxdeliv && cat /tmp/mxdeliv.out" 2>&1)
    if grep -Eq -- "^$2" <<< "$out"; then pass "$1"; echo "     -> $out"; else fail "$1 (want /^$2/)" "$out"; fi
}
if [ -n "$MAX" ]; then
    big $((MAX + 1))
    big_reply "max_message_size+1 bytes ($((MAX + 1))): 413 552 from filtermail" '413 552 Message exceeds maximum size$'
    # exactly the limit passes nginx and the size gate: refused only for being cleartext
    big "$MAX"
    big_reply "exactly max_message_size ($MAX): past the size gate, 400 523" '400 523 Encryption Needed'
    on_relay 2 'rm -f /tmp/mxdeliv-big /tmp/mxdeliv.out'
else
    fail "max_message_size read from relay1's chatmail.ini"
fi

finish
