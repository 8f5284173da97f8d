#!/usr/bin/env bash
# The service sandboxes on deployed relays, Debian 12 (relay1) and 13
# (relay2): systemd's own exposure score of every sandboxed unit against its
# goal, `cmdeploy status` showing the same scores, the secret files private
# to their services, and for each of our units forbidden actions attempted
# from inside the unit (a runtime drop-in swaps its program for a probe
# script that runs with the unit's whole sandbox) failing, while what the
# service needs still works.
SUITE=relay-sandbox
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relays.sh"

check "relay1 and relay2 deployed" ensure_relays
[ "$FAILED" = 0 ] || { finish; exit; }

OURS="doveauth lastlogin chatmail-metadata chatmail-expire chatmail-fsreport filtermail filtermail-incoming iroh-relay turnserver acmetool-redirector"

# exposure N: "unit score" lines from systemd-analyze on relay N (all
# sandboxed units that host has loaded).
exposure() {
    on "relay$1" 'for u in '"$OURS"' nginx opendkim unbound postfix@- postfix dovecot; do
        [ "$(systemctl show -p LoadState --value "$u.service")" = loaded ] || continue
        printf "%s %s\n" "$u" "$(systemd-analyze security --no-pager "$u.service" 2>/dev/null | sed -n "s/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p")"
    done'
}

for n in 1 2; do
    release=$(suite_release "$(relay_suite $n)")
    exposure $n > "$TMP/exposure$n.txt" 2>&1
    echo "relay$n (Debian $release) exposure:"; sed 's/^/    /' "$TMP/exposure$n.txt"
    for u in $OURS nginx opendkim unbound dovecot; do
        [ $n = 2 ] && [ "$u" = acmetool-redirector ] && continue   # relay2 is self-signed
        goal=2.0; case $u in nginx|opendkim|unbound|dovecot) goal=5.0 ;; esac
        score=$(awk -v u="$u" '$1 == u { print $2 }' "$TMP/exposure$n.txt")
        check "relay$n (Debian $release): $u.service exposure ${score:-none} <= $goal" \
            awk -v s="$score" -v g="$goal" 'BEGIN { exit !(s != "" && s + 0 <= g + 0) }'
    done
    master=postfix@-; [ "$release" = 13 ] && master=postfix
    score=$(awk -v u="$master" '$1 == u { print $2 }' "$TMP/exposure$n.txt")
    check "relay$n (Debian $release): $master.service exposure ${score:-none} <= 5.0" \
        awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 <= 5.0) }'

    # status shows the same numbers, and the secret files are private.
    cm $n status > "$TMP/status$n.txt" 2>&1
    check "relay$n: status is healthy with the sandboxes" grep -q "is healthy" "$TMP/status$n.txt"
    score=$(awk '$1 == "doveauth" { print $2 }' "$TMP/exposure$n.txt")
    check "relay$n: status shows doveauth.service's exposure ($score)" \
        grep -Eq "ok +doveauth.service +exposure $score \(goal 2.0 or lower\)" "$TMP/status$n.txt"
    check "relay$n: status: secret files private to their services" \
        grep -Eq "ok +secret files +DKIM key, TLS key, password files and push tokens" "$TMP/status$n.txt"
done

# probe N UNIT CHECKS: runs CHECKS (bash lines that add a word to $r for
# each action that succeeded but must not) inside UNIT on relay N, with the
# unit's whole sandbox: a runtime drop-in replaces its program by the probe
# for one run. Prints "PROBE <words>" ("PROBE none" when every forbidden
# action failed). The unit is restored and restarted afterwards.
probe() {
    local n=$1 unit=$2 checks=$3
    printf '%s\necho "PROBE ${r:-none}"\n' "$checks" | on "relay$n" "cat > /run/cmdeploy-probe.sh && chmod 644 /run/cmdeploy-probe.sh"
    on "relay$n" bash -s "$unit" <<'EOF'
unit=$1
d=/run/systemd/system/$unit.service.d
mkdir -p "$d"
printf '%s\n' '[Service]' 'Type=oneshot' 'Restart=no' 'RemainAfterExit=no' 'ExecStart=' \
    'ExecStart=/bin/bash /run/cmdeploy-probe.sh' > "$d/zz-probe.conf"
active=$(systemctl is-active "$unit.service")
systemctl daemon-reload
systemctl restart "$unit.service" 2>&1
id=$(systemctl show -p InvocationID --value "$unit.service")
journalctl -q _SYSTEMD_INVOCATION_ID="$id" -o cat | grep '^PROBE'
rm -rf "$d"
systemctl daemon-reload
[ "$active" != active ] || systemctl restart "$unit.service"
EOF
}

# plain_probe CHECKS: the same checks in a transient unit without a sandbox
plain_probe() {
    printf '%s\necho "PROBE ${r:-none}"\n' "$1" | on relay1 "cat > /run/cmdeploy-probe.sh"
    local out w
    out=$(on relay1 systemd-run --quiet --wait --pipe /bin/bash /run/cmdeploy-probe.sh 2>&1)
    on relay1 rm -f /etc/cmdeploy-probe /usr/local/bin/cmdeploy-probe /var/lib/cmdeploy-probe
    for w in wrote-/etc wrote-/usr read-/root saw-devices no-NoNewPrivs set-priority has-capabilities reached-127.0.0.1:25; do
        grep -q -- " $w" <<< "$out" || { echo "missing $w in: $out"; return 1; }
    done
}

# What every one of our units must not do.
COMMON='r=""
touch /etc/cmdeploy-probe 2>/dev/null && r="$r wrote-/etc"
touch /usr/local/bin/cmdeploy-probe 2>/dev/null && r="$r wrote-/usr"
touch /var/lib/cmdeploy-probe 2>/dev/null && r="$r wrote-/var/lib"
cat /root/.cmdeploy-probe-secret >/dev/null 2>&1 && r="$r read-/root"
cat /etc/dkimkeys/opendkim.private >/dev/null 2>&1 && r="$r read-dkim-key"
[ -e /dev/net/tun ] && r="$r saw-devices"
grep -Eq "^NoNewPrivs:[[:space:]]+1" /proc/self/status || r="$r no-NoNewPrivs"
perl -e "setpriority(0, 0, 1) or exit 1" 2>/dev/null && r="$r set-priority"
'
NOCAPS='grep -Eq "^CapEff:[[:space:]]+0+$" /proc/self/status || r="$r has-capabilities"
'
MBOX=/home/vmail/mail
OFFLINE='(exec 3<>/dev/tcp/127.0.0.1/25) 2>/dev/null && r="$r reached-127.0.0.1:25"
'
ONLINE='(exec 3<>/dev/tcp/127.0.0.1/25) 2>/dev/null || r="$r NO-NETWORK"
'
WRITES_MBOX='d=$(ls -d '"$MBOX"'/*/ | head -n 1); touch "$d/.probe" 2>/dev/null && rm -f "$d/.probe" || r="$r CANNOT-WRITE-MAILBOXES"
'
READS_MBOX='d=$(ls -d '"$MBOX"'/*/ | head -n 1); [ -n "$d" ] && ls "$d" >/dev/null 2>&1 || r="$r CANNOT-READ-MAILBOXES"
touch "$d/.probe" 2>/dev/null && r="$r wrote-mailboxes"
'
NO_HOME='ls /home/vmail >/dev/null 2>&1 && [ -n "$(ls -A /home/vmail 2>/dev/null)" ] && r="$r saw-/home/vmail"
'

# A root-only file every probe tries to read (the lab's /root may be empty).
for n in 1 2; do on "relay$n" 'umask 077; echo secret > /root/.cmdeploy-probe-secret'; done
for n in 1 2; do
    for unit in doveauth lastlogin chatmail-expire; do
        check_eq "relay$n: inside $unit: writes the mailboxes only, no network, no capabilities" "PROBE none" \
            probe $n $unit "$COMMON$NOCAPS$OFFLINE$WRITES_MBOX"
    done
    check_eq "relay$n: inside chatmail-fsreport: reads the mailboxes, writes nothing, no network" "PROBE none" \
        probe $n chatmail-fsreport "$COMMON$NOCAPS$OFFLINE$READS_MBOX"
    check_eq "relay$n: inside chatmail-metadata: writes the mailboxes, reaches the network" "PROBE none" \
        probe $n chatmail-metadata "$COMMON$NOCAPS$ONLINE$WRITES_MBOX"
    for unit in filtermail filtermail-incoming; do
        check_eq "relay$n: inside $unit: reads the mailboxes, writes nothing" "PROBE none" \
            probe $n $unit "$COMMON$NOCAPS$ONLINE$READS_MBOX"
    done
    for unit in iroh-relay turnserver; do
        check_eq "relay$n: inside $unit: no mailboxes, nothing written" "PROBE none" \
            probe $n $unit "$COMMON$NOCAPS$ONLINE$NO_HOME"
    done
    check_eq "relay$n: turnserver runs as chatmail-turn, its socket reachable by chatmail-metadata's group only" \
        "chatmail-turn chatmail-turn 770" \
        on "relay$n" "stat -c '%U %G %a' /run/chatmail-turn/turn.socket"
done
check_eq "relay1: inside acmetool-redirector: only the right to bind low ports" "PROBE none" \
    probe 1 acmetool-redirector "$COMMON$NO_HOME"'grep -Eq "^CapEff:[[:space:]]+0+400$" /proc/self/status || r="$r caps-$(sed -n "s/^CapEff:[[:space:]]*//p" /proc/self/status)"
'

# The probe checks can fail: the same probe in a unit without a sandbox
# (a transient one, as root) reports every forbidden action.
check "relay1: the probe reports actions an unsandboxed unit can do" plain_probe "$COMMON$NOCAPS$OFFLINE"
for n in 1 2; do on "relay$n" rm -f /root/.cmdeploy-probe-secret; done

# Every service came back after the probes.
for n in 1 2; do
    check "relay$n: healthy after the probes" cm $n status
done

finish
