#!/usr/bin/env bash
# Load on the lab relay pair: accounts on both relays send OpenPGP-encrypted
# mail to each other (same relay and across) for a bounded time while
# doveauth, filtermail, Dovecot, Postfix and nginx are each restarted once.
# Every message is accounted for by Message-ID (none lost, none misdelivered,
# duplicates only where a restart interrupted a delivery), the queues drain,
# no service crashed, and the journals hold no error outside the restart
# windows. Prints throughput, p50/p99 delivery latency and each service's
# peak memory. Then the account-creation guards: each limit set below the
# relay's current state refuses new addresses, existing ones keep working.
#
# LOAD_ACCOUNTS (per relay), LOAD_MESSAGES, LOAD_DURATION (seconds of
# sending), LOAD_CONCURRENCY, LOAD_RESTARTS ("" for a run without restarts,
# which then allows no duplicate at all), LOAD_GUARDS=0 skips the guards,
# LOAD_DEPLOY=0 uses the relays as they are (a reproduction on relays
# changed by hand; otherwise `cmdeploy run` first puts them back).
SUITE=relay-load
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relays.sh"

ACCOUNTS=${LOAD_ACCOUNTS:-30}
MESSAGES=${LOAD_MESSAGES:-2000}
DURATION=${LOAD_DURATION:-100}
CONCURRENCY=${LOAD_CONCURRENCY:-24}
RESTARTS=${LOAD_RESTARTS-doveauth@1 filtermail@2 dovecot@1 postfix@2 nginx@1}
GUARDS=${LOAD_GUARDS:-1}
DRAIN=${LOAD_DRAIN:-150}   # seconds for the last deliveries and the queues
UNITS="postfix@- dovecot opendkim doveauth filtermail filtermail-incoming chatmail-metadata lastlogin nginx unbound"
LOADGEN=(python3 Tests/lab/load/loadgen.py)
OUT=${LOAD_OUT:-$RELAYLAB_STATE/load}
mkdir -p "$OUT"; rm -f "$OUT"/*

if [ "${LOAD_DEPLOY:-1}" = 1 ]; then ensure_relays || { fail "relays deployed"; finish; exit; }; fi

# Services restarted by systemd on their own (a crash) count as failures;
# the planned restarts below are manual and do not count.
nrestarts() { on_relay "$1" "for u in $UNITS; do printf '%s=%s\n' \$u \$(systemctl show -p NRestarts --value \$u.service); done"; }
before1=$(nrestarts 1) before2=$(nrestarts 2)

# --- accounts (first IMAP login creates them) ---
for n in 1 2; do
    check "relay$n: $ACCOUNTS accounts created by their first login" \
        client "${LOADGEN[@]}" accounts "$(relay_domain "$n")" "$ACCOUNTS" "$OUT/accounts$n"
done
[ -s "$OUT/accounts1" ] && [ -s "$OUT/accounts2" ] || { finish; exit; }

# --- load, with restarts in its course ---
T0=$(date +%s.%N)
for n in 1 2; do
    on_relay "$n" "python3 - $((DURATION + 20)) $UNITS" < Tests/lab/load/memory_sampler.py > "$OUT/memory$n" 2>&1 &
done
client "${LOADGEN[@]}" send "$OUT/sent.jsonl" "$OUT/accounts1" "$OUT/accounts2" --messages "$MESSAGES" \
    --duration "$DURATION" --concurrency "$CONCURRENCY" > "$OUT/send.log" 2>&1 &
send_pid=$!

restart_unit() {  # restart_unit NAME N: restart a service of relay N, record the window
    local name=$1 n=$2 units start end
    case $name in filtermail) units="filtermail filtermail-incoming" ;; *) units=$name ;; esac
    start=$(date +%s.%N)
    on_relay "$n" "systemctl restart $units && for i in \$(seq 1 50); do systemctl is-active -q $units && break; sleep 0.2; done; systemctl is-active $units" > "$OUT/restart-$name.log" 2>&1
    local rc=$?
    end=$(date +%s.%N)
    echo "$name@relay$n $start $end" >> "$OUT/windows"
    if [ $rc = 0 ]; then pass "relay$n: $name restarted during load ($(printf '%.1f' "$(echo "$end - $T0" | bc)") s in)"
    else fail "relay$n: $name restarted during load" "$(cat "$OUT/restart-$name.log")"; fi
}
touch "$OUT/windows"
k=0 count=$(wc -w <<< "$RESTARTS")
for r in $RESTARTS; do
    k=$((k + 1))
    at=$(echo "$T0 + $DURATION * $k / ($count + 1)" | bc)
    sleep "$(echo "x = $at - $(date +%s.%N); if (x < 0) 0 else x" | bc)"
    restart_unit "${r%@*}" "${r#*@}"
done
wait "$send_pid"
cat "$OUT/send.log"

# --- every message delivered, the queues empty ---
scan() {  # all load messages in both relays' mailboxes
    for n in 1 2; do on_relay "$n" "python3 - /home/vmail/mail" < Tests/lab/load/maildir_scan.py > "$OUT/delivered$n" 2> /dev/null; done
}
accepted=$(grep -c '"status": "sent"' "$OUT/sent.jsonl")
queue_len() { on_relay "$1" "postqueue -j | grep -c . || true"; }
deadline=$(($(date +%s) + DRAIN)) flushed=
while :; do
    scan
    got=$(cat "$OUT/delivered1" "$OUT/delivered2" | awk '{print $1}' | sort -u | wc -l)
    q1=$(queue_len 1) q2=$(queue_len 2)
    [ "$got" -ge "$accepted" ] && [ "$q1" = 0 ] && [ "$q2" = 0 ] && break
    [ "$(date +%s)" -lt "$deadline" ] || break
    # Mail deferred during a restart waits for Postfix's next queue run (5 min):
    # show why, then flush once instead of waiting.
    if [ -z "$flushed" ] && [ $(($(date +%s) + DRAIN - deadline)) -ge 20 ] && [ "$q1$q2" != 00 ]; then
        for n in 1 2; do on_relay "$n" "postqueue -j" | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    for r in m["recipients"]: print("     deferred on relay'"$n"':", m["queue_id"], r["address"], r.get("delay_reason", ""))'; done
        for n in 1 2; do on_relay "$n" "postqueue -f"; done
        flushed=1
    fi
    sleep 3
done
T_END=$(date +%s.%N)
check_eq "relay1: Postfix queue drained" 0 queue_len 1
check_eq "relay2: Postfix queue drained" 0 queue_len 2
[ -z "$flushed" ] || echo "     (deferred mail was flushed with postqueue -f instead of waiting for the next queue run)"

# --- accounting by Message-ID, numbers ---
client "${LOADGEN[@]}" report "$OUT/sent.jsonl" "$OUT/windows" "$OUT/delivered1" "$OUT/delivered2" \
    --expect "$MESSAGES" --t0 "$T0" > "$OUT/report.txt" 2>&1
while IFS= read -r line; do
    case $line in
        "ok   "*) pass "${line#ok   }" ;;
        "FAIL "*) fail "${line#FAIL }" ;;
        *) echo "$line" ;;
    esac
done < "$OUT/report.txt"
grep -q '^ok   \|^FAIL ' "$OUT/report.txt" || fail "load report" "$(cat "$OUT/report.txt")"

wait
for n in 1 2; do
    echo "numbers: relay$n peak memory under load (RSS / PSS summed over the unit's processes, MiB):"
    awk 'NF == 3 { printf "     %-20s %6.1f / %6.1f\n", $1, $2 / 1024, $3 / 1024 }' "$OUT/memory$n"
done

# --- no crash, no error outside the restart windows ---
after1=$(nrestarts 1) after2=$(nrestarts 2)
check_eq "relay1: no service restarted by systemd (a crash) during the run" "$before1" echo "$after1"
check_eq "relay2: no service restarted by systemd (a crash) during the run" "$before2" echo "$after2"
journal_clean() {  # journal_clean N: err and worse since T0, outside relay N's restart windows
    on_relay "$1" "journalctl -q -o short-unix -p err --since @${T0%.*} --until @${T_END%.*} --no-pager" > "$OUT/journal$1" 2>&1
    python3 - "$OUT/journal$1" "$OUT/windows" "relay$1" <<'PY'
import sys
windows = [l.split() for l in open(sys.argv[2]) if l.split() and l.split()[0].endswith("@" + sys.argv[3])]
bad = []
for line in open(sys.argv[1]):
    try:
        t = float(line.split()[0])
    except (ValueError, IndexError):
        continue
    if not any(float(s) - 2 <= t <= float(e) + 10 for _, s, e in windows):
        bad.append(line.rstrip())
print("\n".join(bad[:30]))
sys.exit(1 if bad else 0)
PY
}
check "relay1: no error in the journal outside the restart windows" journal_clean 1
check "relay2: no error in the journal outside the restart windows" journal_clean 2
inside=$(cat "$OUT/journal1" "$OUT/journal2" 2> /dev/null | grep -c . || true)
echo "     ($inside error lines in all, inside restart windows: $(cut -d' ' -f1 "$OUT/windows" | tr '\n' ' '))"

# --- account-creation guards ---
if [ "$GUARDS" = 1 ]; then
    INI=/usr/local/lib/chatmaild/chatmail.ini
    read -r OLD_USER OLD_PASS < "$OUT/accounts1"
    login() {  # login USER PASSWORD: IMAP login on relay1
        client python3 -c 'import imaplib, sys
with imaplib.IMAP4_SSL(sys.argv[1], 993, timeout=30) as m:
    print(m.login(sys.argv[2], sys.argv[3])[0])' "$RELAY1" "$1" "$2"
    }
    fresh() { echo "$(tr -dc a-z0-9 < /dev/urandom | head -c 9)@$RELAY1"; }
    send_one() {  # an existing account still sends and receives
        client python3 -c 'import smtplib, sys
with smtplib.SMTP_SSL(sys.argv[1], 465, timeout=30) as s:
    s.login(sys.argv[2], sys.argv[3])
    s.sendmail(sys.argv[2], [sys.argv[2]], open(sys.argv[4], "rb").read())' "$RELAY1" "$OLD_USER" "$OLD_PASS" "$1"
    }
    guard_msg=$OUT/guard.eml
    sed -e "s|{from_addr}|$OLD_USER|g; s|{to_addr}|$OLD_USER|g; s|{subject}|guard|; s|^Message-ID: .*|Message-ID: <guard-$RANDOM@$RELAY1>|" \
        -e 's/\r$//; s/$/\r/' Tests/ChatmaildTests/Filtermail/Fixtures/encrypted.eml > "$guard_msg"
    avail=$(on_relay 1 "awk '/^MemAvailable:/ { print int(\$2 / 1024) }' /proc/meminfo")
    free=$(on_relay 1 "df -Pm /home/vmail | awk 'NR == 2 { print \$4 }'")
    on_relay 1 "cp $INI $INI.load-saved"
    for guard in "max_load_1m 0.01 load avg" "min_available_memory $((avail * 2))M available memory" \
                 "min_free_disk_space $((free * 2))M free disk"; do
        read -r key value reason <<< "$guard"
        since=$(date +%s)
        on_relay 1 "cp $INI.load-saved $INI && sed -i 's|^$key *=.*|$key = $value|' $INI && grep -q '^$key = $value' $INI || echo '$key = $value' >> $INI; systemctl restart doveauth"
        check_fails "$key = $value: a new address is refused (failed login, as for a wrong password)" \
            'AUTHENTICATIONFAILED' login "$(fresh)" "guard-password-$RANDOM"
        logged() { on_relay 1 "journalctl -q -u doveauth --since @$since --no-pager | grep 'registration rejected: $reason'"; }
        check "... doveauth logs 'registration rejected: $reason ...'" logged
        check "... an existing account still logs in" login "$OLD_USER" "$OLD_PASS"
        check "... and still sends" send_one "$guard_msg"
    done
    on_relay 1 "mv $INI.load-saved $INI && systemctl restart doveauth"
    check "guards restored: a new address is created again" login "$(fresh)" "guard-password-$RANDOM"
fi

# --- a stuck OpenDKIM: status shows it, the health check restarts it ---
if [ "${LOAD_STUCK:-1}" = 1 ]; then
    signs() { cm 1 status 2>&1 | grep 'opendkim milter' | tee /dev/stderr | grep -Eq '(ok|WARN) +opendkim milter +signs a probe message'; }
    check "relay1: cmdeploy status: the OpenDKIM milter signs" signs
    on_relay 1 "kill -STOP \$(systemctl show -p MainPID --value opendkim)"   # running, answering nothing
    stuck() { { cm 1 status 2>&1 || true; } | grep 'opendkim milter' | tee /dev/stderr | grep -Eq 'FAIL +opendkim milter +does not sign: no answer'; }
    check "relay1: OpenDKIM stopped answering: cmdeploy status fails its milter" stuck
    since=$(date +%s)
    healed() { on_relay 1 "systemctl start opendkim-health.service && journalctl -q -u opendkim-health --since @$since -o cat"; }
    check "relay1: the health check restarts the stuck OpenDKIM (as its timer does each minute)" healed
    journalctl_heal=$(on_relay 1 "journalctl -q -u opendkim-health --since @$since -o cat")
    sed 's/^/     /' <<< "$journalctl_heal"
    warned() { cm 1 status 2>&1 | grep 'opendkim milter' | tee /dev/stderr | grep -Eq 'WARN +opendkim milter +signs a probe message .*restarted it [0-9]+ time'; }
    check "... and cmdeploy status says so (warning)" warned
fi

finish
