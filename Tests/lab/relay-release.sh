#!/usr/bin/env bash
# Deploying from the relay itself with the release folder alone: the two
# files of scripts/release, copied to a fresh relay3 the way the README
# says, deploy it with `--ssh-host @local` (an IPv4 relay, so no DNS is
# needed), and the relay records the version they were built from. relay3
# is reset to a fresh host at the end (the quickstart suite starts from one).
SUITE=relay-release
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relays.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
RELEASE=${RELEASE_FOLDER:?scripts/test-relay-lab sets RELEASE_FOLDER (scripts/release)}
[[ " $LAB_HOSTS_UP " == *" relay3 "* ]] || { fail "the lab has no host relay3 (scripts/test-relay-lab boots it)"; finish; exit 1; }
IP=$(relay_ip 3)

check_eq "the release folder is two files: chatmaild and cmdeploy" "chatmaild cmdeploy" \
    sh -c "ls '$RELEASE' | tr '\n' ' ' | sed 's/ \$//'"
check "relay3 is a fresh host: no cmdeploy, chatmaild or relay packages" on relay3 \
    '! command -v cmdeploy && [ ! -e /usr/local/bin/chatmaild ] && ! dpkg -s postfix >/dev/null 2>&1'

# The README's one line, with the lab's ssh_config
check "scp -r of the release folder to the relay (README: deploying from the relay)" \
    client scp -q -F "$LAB_SSH_CONFIG" -r "$RELEASE" "root@$RELAY3_HOST:cmdeploy"
check "on relay3: both programs find every library they need" on relay3 \
    '! ldd /root/cmdeploy/cmdeploy /root/cmdeploy/chatmaild | grep -q "not found"'
want=$("$RELEASE/cmdeploy" --version)
check_eq "on relay3: cmdeploy --version names the commit it was built from" "$want" on relay3 '/root/cmdeploy/cmdeploy --version'
check "... which is this checkout's" grep -q "($(git -C "$REPO" rev-parse --short=12 HEAD)" <<< "$want"

# chatmail.ini: made by `init` on the relay, with the lab's stand-ins for
# the internet (ACME CA, resolver, download pins) added on this machine
check "on relay3: cmdeploy init $IP" on relay3 "cd /root && cmdeploy/cmdeploy init $IP"
ini=$TMP/relay3.ini
copy_ini() {
    on relay3 'cat /root/chatmail.ini' > "$ini" && grep -q "^mail_domain = $IP\$" "$ini" || return 1
    set_key "$ini" privacy_mail "privacy@example.org" && lab_ini_keys "$ini" &&
        set_dovecot_ini "$ini" patched "$(relay_suite 3)" || return 1
    on relay3 'cat > /root/chatmail.ini' < "$ini"
}
check "relay3: the lab's stand-ins added to that chatmail.ini" copy_ini

# The deploy, from the folder alone: no www/, no chatmaild option, no git
on relay3 'cd /root && cmdeploy/cmdeploy run --ssh-host @local' > "$TMP/run.log" 2>&1; rc=$?
check_eq "on relay3: cmdeploy run --ssh-host @local succeeds" 0 echo "$rc"
[ "$rc" = 0 ] || sed 's/^/     | /' "$TMP/run.log" | tail -n 30
check "... it showed the package installation's progress" grep -Eq '\] installing packages: [0-9]+% \(' "$TMP/run.log"
check "... and closed with the self-signed certificate of the address" grep -Eqi "self-signed.*$IP|$IP.*self-signed" "$TMP/run.log"
check "relay3: its services run" on relay3 'systemctl is-active --quiet postfix dovecot doveauth filtermail nginx'
check "relay3: the web pages built into cmdeploy are served" on relay3 \
    "curl -fsSk https://$IP/ | grep -q '$IP' && curl -fsSk https://$IP/info.html >/dev/null && curl -fsSk https://$IP/privacy.html >/dev/null"
check_eq "relay3: /etc/chatmail-version records the commit" "$(git -C "$REPO" rev-parse HEAD)" \
    on relay3 'head -n 1 /etc/chatmail-version'
on relay3 'cd /root && cmdeploy/cmdeploy status --ssh-host @local' > "$TMP/status.log" 2>&1; rc=$?
check_eq "on relay3: cmdeploy status --ssh-host @local is all ok" 0 echo "$rc"
[ "$rc" = 0 ] || sed 's/^/     | /' "$TMP/status.log" | grep -v '^     | ok' | head -n 20
check "... and says the deployed version is this cmdeploy's" grep -Eq "version +deployed [0-9a-f]+, same as this cmdeploy" "$TMP/status.log"
check "on relay3: a second run changes nothing" on relay3 \
    'cd /root && cmdeploy/cmdeploy run --ssh-host @local | grep -q "^No changes"'

check "relay3 reset to a fresh host for the next suite" "$LAB" reset relay3
finish
