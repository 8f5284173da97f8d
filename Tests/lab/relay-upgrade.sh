#!/usr/bin/env bash
# A relay through a Debian 12 -> 13 upgrade, on the third host (relay3):
# first a system cmdeploy does not support is refused before any change;
# then a Debian 12 relay on Debian's Dovecot, upgraded in place to the
# patched one; Delta Chat accounts, a push token and a message queued for a
# relay that is down; the host upgraded the way Debian documents it (sources
# switched to trixie, `apt upgrade --without-new-pkgs`, `apt full-upgrade`,
# reboot); `cmdeploy run` converges, and every mailbox, password, DKIM key,
# certificate, push token and the queued message are still there; the
# accounts log in, receive, and get pushes. Then a new ACME certificate
# from Debian 13's acmetool, and the external-certificate mode on 13. docs/operating.md has the
# operator's procedure. Run by `scripts/test-relay-lab upgrade`.
SUITE=relay-upgrade
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relays.sh"

[[ " $LAB_HOSTS_UP " == *" relay3 "* ]] || { fail "the lab has no host relay3 (scripts/test-relay-lab boots it)"; finish; exit 1; }
[ "$(relay_suite 3)" = bookworm ] || { fail "relay3 must boot Debian 12 (LAB_HOST_SUITES: $LAB_HOST_SUITES)"; finish; exit 1; }
ensure_relays || { fail "relays deployed"; finish; exit 1; }   # relay1 is the peer

D3=$RELAY3
CURL=(curl -sS --fail --max-time 20 --cacert "$LAB_CA_BUNDLE")
LOGS=${RELAYLAB_LOGS:-$RELAYLAB_STATE}
UPGRADE_PY=$(cd "$(dirname "$0")" && pwd)/deltachat/upgrade.py
DCSTATE=$RELAYLAB_STATE/upgrade-dc
rm -rf "$DCSTATE"
deploy_logged() {
    local name=$1; shift
    deploy 3 "$@" > "$LOGS/$name.log" 2>&1 || { tail -n 30 "$LOGS/$name.log"; return 1; }
}
# dc PHASE: upgrade.py's PHASE as a lab client, its checks counted here
dc() {
    client timeout 600 "$LAB_PYTHON" "$UPGRADE_PY" "$1" "$D3" "$RELAY1" "$DCSTATE" > "$TMP/dc.out" 2> "$TMP/dc-$1.err"
    grep -v '^deltachat-upgrade: ' "$TMP/dc.out"
    PASSED=$((PASSED + $(grep -c '^ok ' "$TMP/dc.out")))
    FAILED=$((FAILED + $(grep -c '^FAIL ' "$TMP/dc.out")))
    grep -q '^deltachat-upgrade: ' "$TMP/dc.out" || fail "upgrade.py $1 ended without a summary" "$(tail -n 20 "$TMP/dc-$1.err")"
    cp "$TMP/dc-$1.err" "$RELAYLAB_STATE/upgrade-dc-$1.log"
}

# --- a system cmdeploy does not deploy to: refused before any change ---
write_ini 3 || { fail "write relay3's chatmail.ini"; finish; exit; }
check "relay3: publish A, MX and web names" publish_base_zone 3
snapshot() {
    # (/etc itself and os-release change: pose_as writes them)
    on relay3 'dpkg-query -W -f "\${Package} \${Version} \${Status}\n"; ls -la /etc /usr/local/bin /var/lib | grep -Ev " (\.|os-release( ->.*)?)\$"; test ! -e /etc/chatmail-version' | sort
}
pose_as() {   # pose_as OS-RELEASE-TEXT: relay3's /etc/os-release says so
    on relay3 "rm -f /etc/os-release && cat > /etc/os-release" <<< "$1"
}
snapshot > "$TMP/before"
pose_as 'PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
ID=ubuntu
ID_LIKE=debian'
check_fails "relay3 as Ubuntu 24.04: run refused, naming what it found and what is supported" \
    'runs Ubuntu 24\.04\.1 LTS \(ubuntu 24\.04\); cmdeploy deploys relays to Debian 12 \(bookworm\) and Debian 13 \(trixie\) only' deploy 3
pose_as 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"
NAME="Debian GNU/Linux"
VERSION_ID="11"
ID=debian'
check_fails "relay3 as Debian 11: run --dry-run refused the same way" \
    'runs Debian GNU/Linux 11 \(bullseye\) \(debian 11\); cmdeploy deploys relays to Debian 12' deploy 3 --dry-run
check_fails "relay3 as Debian 11: run refused" 'Nothing was changed on the host' deploy 3
on relay3 'rm -f /etc/os-release && ln -s ../usr/lib/os-release /etc/os-release'
snapshot > "$TMP/after"
check "relay3: the refused runs changed nothing (packages, /etc, /usr/local/bin, /var/lib)" diff "$TMP/before" "$TMP/after"

# --- a Debian 12 relay: Debian's Dovecot first, then the patched one in place ---
dovecot_version() { on relay3 'dpkg-query -W -f="\${Version}" dovecot-core'; }
set_dovecot 3 debian
check "relay3: fresh deploy on Debian 12 (ACME, dovecot_packages = debian)" deploy_logged relay3-fresh
check "relay3: cmdeploy dns --zonefile, zone published" publish_full_zone 3
debians_dovecot() { local v; v=$(dovecot_version) && grep -Eq '^1:2\.3\.[0-9.]+\+dfsg1-[0-9.]+\+deb12u[0-9]+$' <<< "$v" || { echo "dovecot-core $v"; return 1; }; }
check "relay3: Debian 12's own Dovecot" debians_dovecot
set_dovecot 3 patched bookworm
check "relay3: run with the patched Dovecot (upgrade in place from Debian's)" deploy_logged relay3-to-patched
want12=$(lab_dovecot_debs bookworm | head -n 1 | sed 's|.*/||; s/ .*//; s/%2B/+/g' | cut -d_ -f2)
check_eq "relay3: dovecot-core is the lab's patched build for Debian 12" "1:$want12" dovecot_version
check "relay3: the pin keeps apt away from Dovecot" on relay3 'grep -qx "Pin-Priority: -1" /etc/apt/preferences.d/pin-dovecot'

# --- state before the upgrade ---
dc before
# what must survive: per mailbox its password hash and push tokens, the
# messages (maildir names without flags), the DKIM key, the certificate
state() {
    on relay3 "cd /home/vmail/mail/$D3 && for d in */; do
            d=\${d%/}; printf '%s password %s\n' \"\$d\" \"\$(sha256sum < \$d/password | cut -c1-16)\"
            [ ! -f \$d/metadata.json ] || printf '%s metadata %s\n' \"\$d\" \"\$(sha256sum < \$d/metadata.json | cut -c1-16)\"
            find \$d -path '*/cur/*' -o -path '*/new/*' | grep -v '/tmp/' | sed 's/:2,.*//; s|/new/|/cur/|' | sed 's/^/message /'
        done | sort
        echo dkim \$(sha256sum < /etc/dkimkeys/opendkim.private | cut -c1-16)
        echo cert \$(sha256sum < /var/lib/acme/live/$D3/cert | cut -c1-16) key \$(sha256sum < /var/lib/acme/live/$D3/privkey | cut -c1-16)"
}
# a message for relay1 waits in relay3's queue while relay1's Postfix is down
check "relay1: Postfix stopped (the peer is down)" on relay1 'systemctl stop postfix'
trap 'on relay1 "systemctl start postfix" > /dev/null 2>&1; rm -rf "$TMP"' EXIT
dc queue
queued() { on relay3 'postqueue -j' | python3 -c '
import json, sys
msgs = [json.loads(l) for l in sys.stdin if l.strip()]
ids = sorted(m["queue_id"] for m in msgs if any(r["address"].endswith("@" + sys.argv[1]) for r in m["recipients"]))
assert ids, msgs
print(" ".join(ids))' "$RELAY1"; }
check "relay3: the message for relay1 waits in the queue" queued
queued > "$TMP/queue-before" 2>&1
# (after the clients' last run: they delete what they fetched from the server)
has_mailbox() { on relay3 "test -f /home/vmail/mail/$D3/$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["u_addr"])' "$DCSTATE/state.json" 2>/dev/null)/password"; }
check "relay3: u's mailbox is on disk" has_mailbox
state > "$TMP/state-before"

# --- the upgrade, as Debian documents it (offline: the lab's trixie repo) ---
upgrade() {
    on relay3 'set -e
        export DEBIAN_FRONTEND=noninteractive
        o="-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -q -y"
        sed -i "s|file:/srv/lab-repo |file:/srv/lab-repos/trixie |" /etc/apt/sources.list
        grep -q trixie /etc/apt/sources.list
        apt-get -q update
        apt-get $o upgrade --without-new-pkgs
        apt-get $o full-upgrade
        . /etc/os-release; [ "$VERSION_ID" = 13 ]'
}
t0=$SECONDS
upgrade_logged() { upgrade > "$LOGS/relay3-apt-upgrade.log" 2>&1 || { tail -n 30 "$LOGS/relay3-apt-upgrade.log"; return 1; }; }
check "relay3: apt upgrade --without-new-pkgs, apt full-upgrade to Debian 13" upgrade_logged
check "relay3: Dovecot untouched by the upgrade (pinned)" on relay3 "dpkg-query -W -f='\${Version}' dovecot-core | grep -qx '1:$want12'"
rebooted() { "$LAB" stop relay3 && "$LAB" start relay3; }
check "relay3: reboot into Debian 13" rebooted
echo "-- apt upgrade and reboot: $((SECONDS - t0)) s"
check "relay3 runs Debian 13 now" on relay3 '. /etc/os-release; [ "$ID $VERSION_ID" = "debian 13" ]'

# --- cmdeploy run converges on Debian 13 ---
set_dovecot 3 patched trixie
t0=$SECONDS
check "relay3: cmdeploy run on the upgraded host" deploy_logged relay3-after-upgrade
echo "-- cmdeploy run after the upgrade: $((SECONDS - t0)) s"
want13=$(lab_dovecot_debs trixie | head -n 1 | sed 's|.*/||; s/ .*//; s/%2B/+/g' | cut -d_ -f2)
check_eq "relay3: dovecot-core is the lab's patched build for Debian 13" "1:$want13" dovecot_version
UNITS="postfix dovecot nginx opendkim unbound doveauth chatmail-metadata lastlogin filtermail filtermail-incoming iroh-relay turnserver acmetool-redirector"
check "relay3: every relay unit active, none failed" on relay3 "bad=; for u in $UNITS; do systemctl is-active -q \$u || bad=\"\$bad \$u\"; done
    f=\$(systemctl --failed --no-legend --plain | awk '{print \$1}' | xargs); [ -z \"\$bad\$f\" ] || { echo \"inactive:\$bad failed: \$f\"; exit 1; }"
check_eq "relay3: the queued message is still queued (same queue ID)" "$(cat "$TMP/queue-before")" queued
state > "$TMP/state-after"
kept() { diff "$TMP/state-before" "$TMP/state-after"; }
check "relay3: mailboxes, passwords, push tokens, messages, DKIM key and certificate kept" kept
no_changes() { local out; out=$(deploy 3 2>&1); grep -q '^No changes' <<< "$out" || { echo "$out"; return 1; }; }
check "relay3: a second run changes nothing" no_changes

# --- the peer comes back: the queued message leaves; the accounts work ---
check "relay1: Postfix started again" on relay1 'systemctl start postfix'
trap 'rm -rf "$TMP"' EXIT
check "relay3: queue flushed" on relay3 'postqueue -f'
dc after
check "relay3: the queue is empty again" on relay3 '[ -z "$(postqueue -j)" ]'
check "relay3: cmdeploy status is green" cm 3 status

# --- ACME on Debian 13: a new certificate issued by Debian 13's acmetool ---
# (the one kept so far was issued on Debian 12): without any certificate,
# the next run orders one from the lab's CA, challenge answered on the relay
fingerprint() { client sh -c "openssl s_client -connect $D3:993 -servername $D3 -CAfile '$LAB_CA_BUNDLE' -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"; }
old_cert=$(fingerprint 2>&1)
check "relay3: every certificate acmetool holds removed" on relay3 'rm -rf /var/lib/acme/live/* /var/lib/acme/certs/* && [ -z "$(ls /var/lib/acme/live)" ]'
check "relay3: run orders a new certificate on Debian 13 (ACME)" deploy_logged relay3-acme13
new_cert() { local f; f=$(fingerprint) && [ -n "$f" ] && [ "$f" != "$old_cert" ] || { echo "served: ${f:-nothing}; before: $old_cert"; return 1; }; }
check "relay3: IMAPS serves the new certificate, verified against the lab CA" new_cert
check "relay3: acmetool's redirector is active (port 402)" on relay3 'systemctl is-active -q acmetool-redirector && ss -ltnH | grep -q "127.0.0.1:402 "'

# --- the third TLS mode on Debian 13: certificate files managed outside ---
# (relay1 and relay3 show ACME, relay2 self-signed): the ACME certificate
# copied to files of the operator's, named by tls_external_cert_and_key
check "relay3: certificate and key copied to /etc/chatmail-tls" on relay3 "install -d -m 700 /etc/chatmail-tls &&
    cp /var/lib/acme/live/$D3/fullchain /etc/chatmail-tls/fullchain.pem && cp /var/lib/acme/live/$D3/privkey /etc/chatmail-tls/privkey.pem"
set_key "$RELAY3_INI" tls_external_cert_and_key "/etc/chatmail-tls/fullchain.pem /etc/chatmail-tls/privkey.pem"
check "relay3: run with tls_external_cert_and_key (Debian 13)" deploy_logged relay3-external
check "relay3: Dovecot, Postfix and nginx use the external files" on relay3 '
    doveconf -n | grep -q "ssl_cert = </etc/chatmail-tls/fullchain.pem" &&
    postconf -n | grep -q /etc/chatmail-tls/fullchain.pem &&
    nginx -T 2>/dev/null | grep -q "ssl_certificate /etc/chatmail-tls/fullchain.pem"'
check "relay3: the reload path unit watches the certificate" on relay3 'systemctl is-active -q tls-cert-reload.path'
on_disk() { on relay3 'openssl x509 -noout -fingerprint -sha256 -in /etc/chatmail-tls/fullchain.pem'; }
check_eq "relay3: IMAPS serves the external certificate, verified" "$(on_disk 2>&1)" fingerprint
check "relay3: ... and a run after that changes nothing" no_changes
finish
