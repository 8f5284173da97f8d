#!/usr/bin/env bash
# `cmdeploy run` on fresh lab hosts: a dry run changes nothing, a deploy
# brings up a whole relay, a rerun changes nothing, a changed setting
# touches only what depends on it, --disable-mail stops mail and a normal
# run brings it back with the mailboxes intact, and two relays in two TLS
# modes (ACME, self-signed "_" domain) and on two Debian releases (12, 13)
# run side by side.
SUITE=relay-deploy
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relays.sh"

D1=$RELAY1 D2=$RELAY2
CURL=(curl -sS --fail --max-time 20 --cacert "$LAB_CA_BUNDLE")
# timed NAME CMD...: CMD's wall time in seconds into $RELAYLAB_STATE/times
timed() {
    local name=$1 t0 rc; shift
    t0=$(date +%s.%N); "$@"; rc=$?
    awk -v n="$name" -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%s %.1f\n", n, t1 - t0 }' >> "$RELAYLAB_STATE/times"
    return $rc
}
: > "$RELAYLAB_STATE/times"

# The host state a dry run must not touch: installed packages, unit states,
# and every file below the directories a deploy writes to (with mtimes).
host_snapshot() {
    on relay1 'dpkg-query -W -f "\${Package} \${Version} \${Status}\n";
        systemctl list-units --all --no-legend --plain | awk "{print \$1, \$3, \$4}";
        find /etc /usr/local /var/lib/cmdeploy /home /var/www /root -xdev \
            -printf "%p %m %u %s %T@\n" 2>/dev/null' | sort
}

write_ini 1 && write_ini 2 || { fail "write the relays' chatmail.ini"; finish; exit; }
# relay1 starts with the other Dovecot than the one it keeps (relays.sh
# relay_dovecot) and switches later: patched -> Debian's. relay2 runs
# Debian 13, where only the patched one is possible (relay-upgrade.sh has
# the way from Debian's to the patched one, on Debian 12).
set_dovecot 1 patched && set_dovecot 2 patched || { fail "choose the relays' first Dovecot"; finish; exit; }
release_is() { on "relay$1" ". /etc/os-release; [ \"\$ID \$VERSION_ID\" = 'debian $2' ] || { echo \"\$PRETTY_NAME\"; exit 1; }"; }
check "relay1 runs Debian 12" release_is 1 12
check "relay2 runs Debian 13" release_is 2 13
check "relay1: publish A, MX and web names before the deploy" publish_base_zone 1
check "relay2: publish A and MX before the deploy" publish_base_zone 2

# --- dry run on a fresh host ---
host_snapshot > "$TMP/before"
check_out_dry() { local out; out=$(cm 1 run --dry-run --chatmaild-binary "$CHATMAILD_BIN" 2>&1) && grep -q "postfix" <<< "$out" || { echo "$out"; return 1; }; }
check "relay1: run --dry-run prints a plan" check_out_dry
host_snapshot > "$TMP/after"
check "relay1: --dry-run changed nothing on the host" diff "$TMP/before" "$TMP/after"

# --- fresh deploy ---

# deploy_logged NAME N ARGS...: deploy relay N, output into $LOGS/NAME.log
LOGS=${RELAYLAB_LOGS:-$RELAYLAB_STATE}
deploy_logged() {
    local name=$1 n=$2; shift 2
    timed "$name" deploy "$n" "$@" > "$LOGS/$name.log" 2>&1 || { tail -n 30 "$LOGS/$name.log"; return 1; }
}
# The units of a deployed relay; ACME mode adds acmetool's.
UNITS="postfix dovecot nginx opendkim unbound doveauth chatmail-metadata lastlogin doveauth.socket chatmail-metadata.socket lastlogin.socket filtermail filtermail-incoming iroh-relay turnserver fcgiwrap.socket chatmail-expire.timer chatmail-fsreport.timer"
ACME_UNITS="acmetool-redirector acmetool-reconcile.timer"
# pids N: the invocation ID of every long-running unit of relay N, one
# "unit id" per line: it changes with every (re)start, even for forking
# units like postfix@- whose MainPID systemd does not track
pids() {
    on "relay$1" 'for u in postfix@- dovecot nginx opendkim unbound doveauth chatmail-metadata lastlogin filtermail filtermail-incoming iroh-relay turnserver; do
        echo "$u $(systemctl show -p InvocationID --value $u)"; done'
}
units_active() {
    local n=$1 units=$2
    on "relay$n" "bad=; for u in $units; do systemctl is-active -q \$u || bad=\"\$bad \$u(\$(systemctl is-active \$u))\"; done
        failed=\$(systemctl --failed --no-legend --plain | awk '{print \$1}' | tr '\n' ' ')
        [ -z \"\$bad\$failed\" ] || { echo \"not active:\$bad; failed units: \$failed\"; exit 1; }"
}
# listening N SPEC...: each "addr:port" (as ss prints it) has a TCP listener
listening() {
    local n=$1; shift
    on "relay$n" "ss -ltnH | awk '{print \$4}' > /tmp/listen; miss=; for p in $*; do grep -qxF \"\$p\" /tmp/listen || miss=\"\$miss \$p\"; done
        [ -z \"\$miss\" ] || { echo \"not listening:\$miss\"; cat /tmp/listen; exit 1; }"
}
# changed_subjects LOG: the "subject" of every planned change, sorted
changed_files() { grep -Eo '^ *[~+] file [^ ]+' "$1" | awk '{print $3}' | sort | tr '\n' ' '; }

# --- fresh deploy of relay1 (ACME) ---
check "relay1: fresh deploy (ACME via pebble)" deploy_logged relay1-fresh 1
check "relay1: every relay unit active, none failed" units_active 1 "$UNITS $ACME_UNITS"
# What the operator saw: apt's progress, and a closing that tells what is
# true after this first ACME deploy (certificate, records still to publish).
check "relay1: the fresh deploy shows the package installation's progress" \
    grep -Eq '^\[ *[0-9.]+s\] installing packages: [0-9]+% \(' "$LOGS/relay1-fresh.log"
check "relay1: ... up to 100% once every package is in" grep -Eq '\] installing packages: 100% \(all packages installed\)' "$LOGS/relay1-fresh.log"
check "relay1: ... the pinned downloads with their bytes" \
    grep -Eq '\] downloading: ([0-9]+% \()?(iroh-relay|chatmail-turn|mtail|dovecot)[^:]*: [0-9.]+[kMG]? of ' "$LOGS/relay1-fresh.log"
check "relay1: ... and the ACME order's state" grep -Eq "\] certificate: order placed; waiting for the CA" "$LOGS/relay1-fresh.log"
check "relay1: ... up to the certificate's installation" grep -Eq "\] certificate: certificate installed" "$LOGS/relay1-fresh.log"
# OpenDKIM's resolver lock (relay1 has dns_forwarders): the library behind
# the release chatmaild's trailer (its length, 8 bytes LE, and a 16-byte
# mark), or the one beside a chatmaild built otherwise
lock_sha() {
    python3 -c 'import hashlib, os, struct, sys
b = open(sys.argv[1], "rb").read()
if b.endswith(b"cmdeploy:ublock1"):
    n = struct.unpack("<Q", b[-24:-16])[0]; lib = b[-24 - n:-24]
else:
    lib = open(os.path.join(os.path.dirname(sys.argv[1]), "libub-config-lock.so"), "rb").read()
print(hashlib.sha256(lib).hexdigest())' "$CHATMAILD_BIN"
}
check_eq "relay1: OpenDKIM's resolver lock is the library that came with chatmaild" \
    "$(lock_sha)" on relay1 'sha256sum < /usr/local/lib/libub-config-lock.so | cut -c1-64'
check "relay1: the closing names the ACME certificate's issuer" \
    grep -Eq '^TLS: ACME certificate for relay1.test, issued by .*Pebble' "$LOGS/relay1-fresh.log"
check "relay1: ... and the DNS records still to publish, with the command" \
    grep -Eq '^DNS: [0-9]+ records? still to publish \(required: .*TXT opendkim._domainkey.relay1.test' "$LOGS/relay1-fresh.log"
check_fails "relay1: ... never the old 'letsencrypt not configured'" "" grep -q "letsencrypt not configured" "$LOGS/relay1-fresh.log"
check "relay1: the ports of the relay listen (25 465 587 143 993 80 443; 8443 10025 10026 10080 10081 402 53 on localhost)" \
    listening 1 0.0.0.0:25 0.0.0.0:465 0.0.0.0:587 0.0.0.0:143 0.0.0.0:993 0.0.0.0:80 0.0.0.0:443 \
        '[::]:25' '[::]:465' '[::]:587' '[::]:143' '[::]:993' '[::]:80' '[::]:443' \
        127.0.0.1:8443 127.0.0.1:10025 127.0.0.1:10026 127.0.0.1:10080 127.0.0.1:10081 127.0.0.1:402 127.0.0.1:53
new_account() {  # new_account DOMAIN [CURL ARGS]: POST /new, prints "email password"
    local d=$1; shift
    client "${CURL[@]}" "$@" -X POST "https://$d/new" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["email"].endswith("@" + sys.argv[1]) and len(d["password"]) >= 9, d
print(d["email"], d["password"])' "$d"
}
check "relay1: POST https://relay1.test/new answers account JSON (certificate from pebble)" new_account "$D1"
fetch() { client "${CURL[@]}" "$@"; }
autoconfig_ok() { fetch "https://$D1/.well-known/autoconfig/mail/config-v1.1.xml" | grep -q "<hostname>$D1</hostname>"; }
mtasts_ok() { fetch "https://mta-sts.$D1/.well-known/mta-sts.txt" | tr -d '\r' | grep -qx 'mode: enforce'; }
redirect_ok() { client curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "http://$D1/" | grep -q "^301 https://$D1/"; }
check "relay1: autoconfig XML served" autoconfig_ok
check "relay1: MTA-STS policy served on mta-sts.$D1" mtasts_ok
check "relay1: http:// redirects to https://" redirect_ok
check "relay1: postconf -n shows our settings" on relay1 "postconf -n | grep -qx 'myhostname = $D1' && postconf -n | grep -qx 'message_size_limit = 31457280'"
check "relay1: doveconf -n shows our settings" on relay1 "doveconf -n | grep -q 'ssl_cert = </var/lib/acme/live/$D1/fullchain' && doveconf -n | grep -q '/home/vmail/mail/$D1'"
check "relay1: nginx -T shows our settings" on relay1 "nginx -T 2>/dev/null | grep -q 'server_name $D1' && nginx -T 2>/dev/null | grep -q 'ssl_preread on'"
check "relay1: /etc/chatmail-version written" on relay1 "test -s /etc/chatmail-version"
# dovecot_debs (relays.sh): the lab's own build without the IDLE delay
# (scripts/lab build), installed from the file server like upstream's on a real host
dovecot_from_debs() {
    local want; want=$(lab_dovecot_debs "$(relay_suite "$1")" | head -n 1 | awk '{ print $1 }' | sed 's|.*/||; s/%2B/+/g' | cut -d_ -f2)
    [ -n "$want" ] || { echo "no dovecot-core .deb for relay$1 on the lab file server"; return 1; }
    on "relay$1" "want='$want';" '
        for p in dovecot-core dovecot-imapd dovecot-lmtpd; do
            s=$(dpkg-query -W -f="\${Version} \${Status}" $p)
            [ "${s#*:}" = "$want install ok installed" ] || { echo "$p: $s (want $want)"; exit 1; }
            [ -f /var/cache/cmdeploy/dovecot/${p}_${want}_$(dpkg --print-architecture).deb ] || { echo "no cached .deb of $p"; exit 1; }
        done
        grep -qx "Pin-Priority: -1" /etc/apt/preferences.d/pin-dovecot'
}
check "relay1: Dovecot is the lab's patched build (dovecot_debs), pinned" dovecot_from_debs 1
check "relay1: cmdeploy dns --zonefile, zone published" publish_full_zone 1
check "relay1: cmdeploy dns: all records correct" cm 1 dns

# --- TURN credentials: chatmail-turn (the lab's stand-in) writes one
# "expiry:password" line to every client of its socket, fresh each time ---
# turn_socket N USER: two answers as USER on relay N, both well-formed, different
turn_socket() { on "relay$1" runuser -u "$2" ${3:+-G "$3"} -- python3 - <<< "$TURN_CHECK"; }
TURN_CHECK='
import re, socket, time
answers = []
for _ in range(2):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect("/run/chatmail-turn/turn.socket")
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(256)
        if not chunk:
            break
        data += chunk
    s.close()
    answers.append(data.decode())
for a in answers:
    m = re.fullmatch(r"([0-9]+):([A-Za-z0-9+/]{27}=)\n", a)
    assert m and int(m.group(1)) > time.time() + 12 * 3600, repr(a)
assert answers[0] != answers[1], answers
'
check "relay1: chatmail-turn hands out fresh credentials on its socket (root, twice)" turn_socket 1 root
check "relay1: ... and to vmail in group chatmail-turn, as chatmail-metadata runs" turn_socket 1 vmail chatmail-turn
check_fails "relay1: ... but not to vmail without that group (Dovecot, filtermail)" "Permission denied" turn_socket 1 vmail

# --- a mailbox, created by a first login, with one message in it ---
if acct=$(new_account "$D1"); then
    read -r ADDR PASS <<< "$acct"
    MARK="marker-$RANDOM$RANDOM"
    printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nkept across deploys\r\n' "$ADDR" "$ADDR" "$MARK" > "$TMP/msg.eml"
    imap() { client "${CURL[@]}" --user "$ADDR:$PASS" "$@"; }
    check "relay1: first IMAP login creates the mailbox" imap "imaps://$D1/"
    check "relay1: IMAP APPEND stores a message" imap -T "$TMP/msg.eml" "imaps://$D1/INBOX"
    check "relay1: the mailbox is on disk" on relay1 "find /home/vmail/mail/$D1/$ADDR -type f -path '*/cur/*' | grep -q ."
    mailbox_intact() { imap "imaps://$D1/INBOX;UID=1" | grep -q "Subject: $MARK"; }
    # what a Delta Chat client asks for its calls: chatmail-metadata's answer
    # with the credentials it got from chatmail-turn's socket (Dovecot sends
    # the value as a literal, which curl does not print: imaplib)
    turn_metadata() {
        client python3 - "$D1" "$ADDR" "$PASS" <<'PY'
import imaplib, re, sys
host, user, password = sys.argv[1:]
imaplib.Commands["GETMETADATA"] = ("AUTH", "SELECTED")
m = imaplib.IMAP4_SSL(host)
m.login(user, password)
typ, data = m._simple_command("GETMETADATA", '""', "(/shared/vendor/deltachat/turn)")
typ, data = m._untagged_response(typ, data, "METADATA")
text = b"".join(b"".join(x) if isinstance(x, tuple) else x for x in data if x).decode()
assert re.search(re.escape(host) + r":3478:[0-9]{10}:[A-Za-z0-9+/]{27}=", text), (typ, text)
m.logout()
PY
    }
    check "relay1: IMAP METADATA /shared/vendor/deltachat/turn has TURN credentials" turn_metadata
    # The point of the patched Dovecot: IDLE reports a new message at once
    # (stock Dovecot 2.3 holds every notification for 500 ms). 7 APPENDs on
    # one connection while another IDLEs; the median delay must be < 250 ms.
    # idle_latency DOMAIN ADDR PASS (a "_" domain is self-signed: not verified)
    idle_latency() {
        client python3 - "$@" <<'PY'
import imaplib, socket, ssl, statistics, sys, time
host, user, password = sys.argv[1:]
ctx = ssl.create_default_context()
if host.startswith("_"):
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection((host, 993), timeout=10), server_hostname=host)
f = s.makefile("rb")
def until(prefix):
    while not (line := f.readline()).startswith(prefix):
        assert line, "connection closed"
    return line
until(b"* OK")
q = lambda v: '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
s.sendall(b"a LOGIN %s %s\r\n" % (q(user).encode(), q(password).encode())); assert b"OK" in until(b"a ")
s.sendall(b"b SELECT INBOX\r\n"); assert b"OK" in until(b"b ")
m = imaplib.IMAP4_SSL(host, ssl_context=ctx)
m.login(user, password)
delays = []
for i in range(7):
    s.sendall(b"i IDLE\r\n"); until(b"+")
    time.sleep(0.2)
    m.append("INBOX", None, None, b"Subject: idle %d\r\n\r\nping\r\n" % i)
    t = time.monotonic(); until(b"* ")   # "* N EXISTS"
    delays.append(1000 * (time.monotonic() - t))
    s.sendall(b"DONE\r\n"); until(b"i ")
print("IDLE delays, ms:", " ".join("%.0f" % d for d in delays))
assert statistics.median(delays) < 250, delays
PY
    }
    check "relay1: IMAP IDLE reports an APPEND at once (median < 250 ms; stock Dovecot: 500 ms)" idle_latency "$D1" "$ADDR" "$PASS"
else
    fail "relay1: /new for a mailbox" "$acct"
    mailbox_intact() { false; }
fi

# --- second run: nothing to do ---
pids 1 > "$TMP/pids1"
check "relay1: second run succeeds" deploy_logged relay1-noop 1
check "relay1: second run: no changes" grep -q '^No changes' "$LOGS/relay1-noop.log"
check "relay1: second run: one round trip" grep -q '1 round trip to the host' "$LOGS/relay1-noop.log"
pids 1 > "$TMP/pids2"
check "relay1: second run: no service restarted (same invocation IDs)" diff "$TMP/pids1" "$TMP/pids2"
check "relay1: second run closes with the published records (all of them by now)" \
    grep -q '^DNS: every record is published.' "$LOGS/relay1-noop.log"
# --json: stdout is JSON lines only, the closing lines one event among them
json_run() {
    deploy 1 --json > "$TMP/run.json" 2> "$TMP/run.err" || { cat "$TMP/run.err"; return 1; }
    python3 -c '
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
closing = [e for e in events if e["event"] == "closing"]
assert len(closing) == 1 and closing[0]["lines"][0]["text"] == "Deploy completed.", closing
assert events[-1]["event"] == "closing", events[-1]
' "$TMP/run.json"
}
check "relay1: run --json prints JSON lines only, the closing as an event" json_run

# --- one setting changed: only what depends on it ---
set_key "$RELAY1_INI" max_message_size 41943040
check "relay1: run after changing max_message_size" deploy_logged relay1-maxsize 1
check_eq "relay1: only the files that contain max_message_size changed" \
    "/etc/dovecot/dovecot.conf /etc/nginx/nginx.conf /etc/postfix/main.cf /usr/local/lib/chatmaild/chatmail.ini /var/www/html/info.html" \
    changed_files "$LOGS/relay1-maxsize.log"
pids 1 > "$TMP/pids3"
restarted() { join "$TMP/pids2" "$TMP/pids3" | awk '$2 != $3 {print $1}' | sort | tr '\n' ' ' | sed 's/ $//'; }
check_eq "relay1: only the services reading them restarted" \
    "chatmail-metadata doveauth dovecot filtermail filtermail-incoming lastlogin postfix@-" restarted
check "relay1: Postfix uses the new limit" on relay1 "postconf -h message_size_limit | grep -qx 41943040"
check "relay1: the mailbox is intact after a redeploy" mailbox_intact

# --- --disable-mail (a migration's first step), then back ---
check "relay1: run --disable-mail" deploy_logged relay1-disable 1 --disable-mail
check "relay1: --disable-mail: Postfix and Dovecot stopped and disabled" on relay1 '
    for u in postfix dovecot; do ! systemctl is-active -q $u && ! systemctl is-enabled -q $u || { echo "$u still on"; exit 1; }; done'
check "relay1: --disable-mail: ports 25 and 993 closed" on relay1 "! ss -ltnH | awk '{print \$4}' | grep -Eq ':(25|993)\$'"
check "relay1: --disable-mail: the web still serves /new" new_account "$D1"
check "relay1: the normal run brings mail back" deploy_logged relay1-enable 1
check "relay1: mail units active again" units_active 1 "postfix dovecot"
check "relay1: the mailbox is intact after --disable-mail and back" mailbox_intact
no_changes() { local out; out=$(deploy "$1" 2>&1); grep -q '^No changes' <<< "$out" || { echo "$out"; return 1; }; }
check "relay1: a run after that changes nothing" no_changes 1

# --- relay1: a crash between the renames of a configuration change ---
# The state a crash leaves after the journal of renames was written and
# before the renames ran: the new main.cf staged beside the live one.
check "relay1: simulate a crash between the renames of a change" on relay1 '
    cp -p /etc/postfix/main.cf /etc/postfix/.cmdeploy-new.0 && echo "# rolled forward" >>/etc/postfix/.cmdeploy-new.0 &&
    echo "[ ! -e /etc/postfix/.cmdeploy-new.0 ] || mv -f -- /etc/postfix/.cmdeploy-new.0 /etc/postfix/main.cf" >/var/lib/cmdeploy/moves'
check_fails "relay1: status reports the unfinished change" "stopped between its file moves" cm 1 status
rebooted() { "$LAB" stop relay1 && "$LAB" start relay1; }
check "relay1: reboot" rebooted
check "relay1: at boot the change was finished before Postfix started" on relay1 '
    tail -n 1 /etc/postfix/main.cf | grep -qx "# rolled forward" && [ ! -e /var/lib/cmdeploy/moves ] &&
    [ ! -e /etc/postfix/.cmdeploy-new.0 ] && systemctl is-active -q postfix@- &&
    [ "$(systemctl show -p InactiveEnterTimestampMonotonic --value cmdeploy-rollforward)" -lt \
      "$(systemctl show -p ActiveEnterTimestampMonotonic --value postfix@-)" ] &&
    journalctl -b -u cmdeploy-rollforward -o cat | grep -q "Finished"'
check "relay1: the next run puts main.cf back as chatmail.ini says" deploy 1
check "relay1: ... and then changes nothing" no_changes 1
check "relay1: status is green again" cm 1 status

# --- relay1: upgrade from dict services that bound their own sockets ---
# The units before socket activation: no .socket units, each service with
# its RuntimeDirectory; the next run must move them onto socket units.
check "relay1: put back the dict service units of a relay without socket units" on relay1 '
    set -e
    systemctl stop doveauth chatmail-metadata lastlogin
    systemctl disable -q --now doveauth.socket chatmail-metadata.socket lastlogin.socket
    rm /etc/systemd/system/doveauth.socket /etc/systemd/system/chatmail-metadata.socket /etc/systemd/system/lastlogin.socket
    for p in doveauth:doveauth chatmail-metadata:chatmail-metadata lastlogin:chatmail-lastlogin; do
        sed -i "/^User=vmail\$/a RuntimeDirectory=${p#*:}" "/etc/systemd/system/${p%%:*}.service"
    done
    systemctl daemon-reload
    systemctl start doveauth chatmail-metadata lastlogin
    sleep 1
    test -S /run/doveauth/doveauth.socket
    ! journalctl -u doveauth -n 3 -o cat | tail -n 1 | grep -q "socket from systemd"'
check "relay1: the next run moves them onto socket units" deploy_logged relay1-sockets 1
check "relay1: sockets and services active" units_active 1 "doveauth.socket chatmail-metadata.socket lastlogin.socket doveauth chatmail-metadata lastlogin"
check "relay1: each dict service got its socket from systemd" on relay1 '
    for u in doveauth chatmail-metadata lastlogin; do
        journalctl -u $u -n 5 -o cat | grep -q "socket from systemd" || { echo "$u: no"; journalctl -u $u -n 5 -o cat; exit 1; }
    done'
check "relay1: logins work on the handed-over sockets" mailbox_intact
check "relay1: ... and the run after that changes nothing" no_changes 1

# --- relay1: from the patched Dovecot back to Debian's (dovecot_packages = debian) ---
dovecot_is_debians() {
    on "relay$1" '
        v=$(dpkg-query -W -f="\${Version}" dovecot-core)
        case $v in *chatlab*|*2.3.21*) echo "dovecot-core $v is not Debian'"'"'s"; exit 1 ;; esac
        for p in dovecot-imapd dovecot-lmtpd; do
            [ "$(dpkg-query -W -f="\${Version}" $p)" = "$v" ] || { echo "$p differs from dovecot-core $v"; exit 1; }
        done
        apt-cache madison dovecot-core | grep -qF " $v " || { echo "$v is not from the apt sources"; exit 1; }
        [ ! -e /etc/apt/preferences.d/pin-dovecot ] || { echo "pin-dovecot still there"; exit 1; }
        systemctl is-active -q dovecot'
}
set_dovecot 1 debian
check "relay1: run with dovecot_packages = debian" deploy_logged relay1-to-debian 1
check "relay1: Debian's Dovecot installed (a downgrade), pin removed, Dovecot active" dovecot_is_debians 1
check "relay1: the mailbox is intact after the switch" mailbox_intact
check "relay1: ... and the run after that changes nothing" no_changes 1

# --- relay2: a port held by another program stops the deploy before any change ---
check "relay2: a stranger listens on 127.0.0.1:8443" on relay2 \
    'systemd-run --unit=squatter python3 -m http.server --bind 127.0.0.1 8443 && sleep 1 && ss -ltnH | grep -q 127.0.0.1:8443'
check_fails "relay2: deploy refused, naming the port and the process" \
    "port 8443 is occupied by: python3" deploy 2
check "relay2: ... and nothing was installed" on relay2 '! dpkg -s nginx >/dev/null 2>&1 && ! dpkg -s postfix >/dev/null 2>&1'
check "relay2: the stranger stops" on relay2 'systemctl stop squatter'

# --- relay2: Debian 13 has no Dovecot 2.3 of its own: the opt-out is refused before any change ---
set_dovecot 2 debian
check_fails "relay2: dovecot_packages = debian on Debian 13 is refused, naming the line's way out" \
    "dovecot_packages = debian is for Debian 12 only" deploy 2
check "relay2: ... and nothing was installed" on relay2 '! dpkg -s nginx >/dev/null 2>&1 && ! dpkg -s postfix >/dev/null 2>&1'
set_dovecot 2 patched

# --- relay2: external TLS files that are not there: refused in the probe,
# naming both, before any package, user or file ---
set_key "$(relay_ini 2)" tls_external_cert_and_key "/etc/cmdeploy-x/cert.pem /etc/cmdeploy-x/key.pem"
check_fails "relay2: missing external certificate and key are refused, both named" \
    "External TLS certificate not found on the relay: /etc/cmdeploy-x/cert.pem.*" deploy 2
check_fails "relay2: ... the key too, and the host is untouched" \
    "External TLS key not found on the relay: /etc/cmdeploy-x/key.pem" deploy 2
check "relay2: ... no package, user or file of the relay on the host" on relay2 \
    '! dpkg -s nginx >/dev/null 2>&1 && ! dpkg -s postfix >/dev/null 2>&1 && ! getent passwd vmail && [ ! -e /usr/local/bin/chatmaild ] && [ ! -e /etc/systemd/system/doveauth.service ]'
del_key "$(relay_ini 2)" tls_external_cert_and_key

# --- relay2: self-signed "_" domain on Debian 13 beside relay1 ---
check "relay2: fresh deploy (Debian 13, self-signed, _ domain)" deploy_logged relay2-fresh 2
check "relay2: every relay unit active, none failed" units_active 2 "$UNITS"
check "relay2: the ports of the relay listen (no 402: acmetool is for ACME relays)" \
    listening 2 0.0.0.0:25 0.0.0.0:465 0.0.0.0:587 0.0.0.0:143 0.0.0.0:993 0.0.0.0:80 0.0.0.0:443 \
        '[::]:25' '[::]:993' '[::]:443' 127.0.0.1:8443 127.0.0.1:10025 127.0.0.1:10026 127.0.0.1:10080 127.0.0.1:10081 127.0.0.1:53
check "relay2: Dovecot is the lab's patched build for Debian 13 (dovecot_debs), pinned" dovecot_from_debs 2
check "relay2: Debian 13's own Dovecot 2.4 stays out: full-upgrade would not touch Dovecot (pin)" on relay2 \
    'apt-cache madison dovecot-core | grep -q " 1:2\.4" || { echo "the repo has no Dovecot 2.4: the check would prove nothing"; exit 1; }
     apt-get -s full-upgrade | grep "^Inst dovecot" && exit 1 || true'
acct2=$(new_account "$D2" -k) && read -r ADDR2 PASS2 <<< "$acct2"
imap2() { client "${CURL[@]}" -k --user "$ADDR2:$PASS2" "$@"; }
check "relay2: IMAP APPEND stores a message" imap2 -T "$TMP/msg.eml" "imaps://$D2/INBOX"
mailbox2_intact() { imap2 "imaps://$D2/INBOX;UID=1" | grep -q "Subject: $MARK"; }
check "relay2: ... and reads it back" mailbox2_intact
if declare -f idle_latency > /dev/null; then
    check "relay2 (Debian 13): IMAP IDLE reports an APPEND at once (median < 250 ms)" idle_latency "$D2" "$ADDR2" "$PASS2"
fi
check "relay2: no ACME on a self-signed relay" on relay2 "! systemctl is-active -q acmetool-redirector"
self_signed() { client sh -c "openssl s_client -connect $(relay_ip 2):993 -servername $D2 </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer" | grep -c "CN *= *$D2" | grep -qx 2; }
check "relay2: the certificate is self-signed for $D2 (subject = issuer)" self_signed
check "relay2: POST /new answers account JSON (self-signed, -k)" new_account "$D2" -k
check "relay2: cmdeploy dns --zonefile, zone published" publish_full_zone 2
check "relay2: cmdeploy dns: all records correct" cm 2 dns
check "relay2: a second run changes nothing (the .deb install is not redone)" no_changes 2
check "relay1 still serves after relay2's deploy" new_account "$D1"

# --- numbers for the issue note ---
echo "-- timings (s)"; cat "$RELAYLAB_STATE/times"
for l in relay1-fresh relay1-noop relay2-fresh; do
    echo "-- $l"; grep -E 'done in|probed|round trip|verified' "$LOGS/$l.log" | sed 's/^/   /'
done
finish
