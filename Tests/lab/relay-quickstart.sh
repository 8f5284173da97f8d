#!/usr/bin/env bash
# The README's quick start, run as written against a fresh lab host
# (relay3): every command block marked `<!-- quickstart: NAME -->` in
# README.md, in order, with only these lab substitutions:
#
#   chat.example.org                  -> relay3.test
#   203.0.113.10, 2001:db8::10        -> relay3's lab addresses
#   scripts/cmdeploy ARGS             -> the cmdeploy under test as a lab
#                                        client, with the lab's ssh_config
#                                        (and, for `run`, the chatmaild under
#                                        test: --chatmaild-binary), and this
#                                        checkout's web pages (CMDEPLOY_WWW_DIR:
#                                        the binary may be built elsewhere)
#   $EDITOR chatmail.ini              -> the privacy contacts, and the lab's
#                                        stand-ins (ACME CA, push, resolver,
#                                        download pins: Tests/lab/relays.sh)
#   publishing records at a DNS provider -> `scripts/lab dns-publish` of the
#                                        block's records, or of the zone file
#                                        `dns --zonefile` wrote
#
# One pass must reach a working relay: every block succeeds the first time.
# relay3 is reset to a fresh host afterwards (the upgrade suite uses it).
SUITE=relay-quickstart
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relays.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
README=$REPO/README.md
export CMDEPLOY_WWW_DIR=$REPO/www
[[ " $LAB_HOSTS_UP " == *" relay3 "* ]] || { fail "the lab has no host relay3 (scripts/test-relay-lab boots it)"; finish; exit 1; }
D=relay3.$LAB_DOMAIN
IP4=$(relay_ip 3) IP6=${LAB_NET6:+${LAB_NET6}13}

# block NAME: the fenced block after "<!-- quickstart: NAME -->", substituted
block() {
    awk -v m="<!-- quickstart: $1 -->" '$0 == m { want = 1; next }
        want && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }' "$README" |
        sed -e "s/chat\.example\.org/$D/g" -e "s/203\.0\.113\.10/$IP4/g" -e "s/2001:db8::10/${IP6:-::1}/g" \
            -e 's|scripts/cmdeploy|qs_cmdeploy|g' -e 's|\$EDITOR chatmail.ini|qs_edit chatmail.ini|g'
}
qs_cmdeploy() {
    local sub=$1
    case $sub in
        init) client "$CMDEPLOY" "$@" ;;
        run) client "$CMDEPLOY" "$@" --ssh-config "$LAB_SSH_CONFIG" --chatmaild-binary "$CHATMAILD_BIN" ;;
        *) client "$CMDEPLOY" "$@" --ssh-config "$LAB_SSH_CONFIG" ;;
    esac
}
qs_edit() {   # what the operator edits, and what the lab needs instead of the internet
    set_key "$1" privacy_mail "privacy@$D" && set_key "$1" privacy_postal "Lab Street 1, Testtown" &&
    set_key "$1" privacy_pdo "privacy@$D" && set_key "$1" privacy_supervisor "Lab supervisory authority" &&
    lab_ini_keys "$1" && set_dovecot_ini "$1" patched bookworm
}
# run_block NAME: the block's commands, in the quick start's working folder
run_block() {
    local script; script=$(block "$1")
    [ -n "$script" ] || { echo "README.md has no block <!-- quickstart: $1 -->"; return 1; }
    (cd "$QS" && set -e && eval "$script")
}

QS=$TMP/quickstart; mkdir -p "$QS"
for b in init dns-before ssh run dns check; do
    [ -n "$(block "$b")" ] || fail "README.md: quick start block '$b' is missing"
done

check "1 (init): cmdeploy init, chatmail.ini edited" run_block init
publish_before() {
    local zone=$QS/before.zone
    block dns-before | { [ -n "$IP6" ] && cat || grep -v ' AAAA '; } > "$zone"
    grep -q " A  *$IP4\$" "$zone" || { echo "no A record in the block"; cat "$zone"; return 1; }
    "$LAB" dns-publish "$zone" "$D" > /dev/null
}
check "2 (dns-before): the records of the block published" publish_before
check "3 (ssh): ssh-check" run_block ssh
check "4 (run): the first deploy" run_block run
publish_zone() {
    run_block dns 2>&1 | tee "$QS/dns.out" | tail -n 5 > /dev/null   # the check may fail before publishing
    [ -s "$QS/$D.zone" ] || { echo "dns --zonefile wrote no $D.zone"; cat "$QS/dns.out"; return 1; }
    "$LAB" dns-publish "$QS/$D.zone" "$D" > /dev/null
}
check "5 (dns): dns --zonefile, zone published" publish_zone
check "5 (dns): the block again: every record correct" run_block dns
check "6 (check): status and test" run_block check
home_page() { client curl -sS --fail --max-time 20 --cacert "$LAB_CA_BUNDLE" "https://$D/" | grep -q "DCACCOUNT:https://$D/new"; }
check "7: https://$D/ shows the account QR code's link" home_page
check "relay3 reset to a fresh host for the next suite" "$LAB" reset relay3
finish
