#!/usr/bin/env bash
# Interrupted deploys (issue #16). `cmdeploy run` on relay2 is cut at a
# random moment or step, in one of these ways:
#   drop-client  the SSH connection drops: the local cmdeploy is SIGKILLed
#   drop-sshd    the SSH connection drops: the host's sshd session is SIGKILLed
#   kill-shell   the remote apply shell (sh /tmp/cmdeploy-script.*) is SIGKILLed
#   crash        power cut: the host is SIGKILLed (scripts/lab crash), then booted
# Then: the next run succeeds (waiting for, or refusing clearly, an apply
# still running, never beside it), the run after changes nothing, and
# nothing is left behind (policy-rc.d, staging, temp files, dpkg, units).
# A fresh-deploy cut starts from a reset host (scripts/lab reset relay2); a
# config cut changes max_message_size on the deployed relay and cuts during
# configure-and-activate, then every daemon must accept its config and
# restart before the next run converges.
#
#   FAULTS_SEED=N          reproduce a run's cut plan (printed at the start)
#   FAULTS_CUTS=N          fresh-deploy cuts (default 3; the first is a
#                          dropped connection during apt, rerun at once)
#   FAULTS_CONFIG_CUTS=N   config-change cuts (default 1)
#   FAULTS_SPREAD=1        one uncut reference deploy first, then the cuts
#                          spread evenly over its timeline, kinds in turn
#                          (scripts/bench-deploy-cuts)
#   FAULTS_PLAN='ID TYPE KIND t SECONDS; ID TYPE KIND s DELAY STEP-REGEX; ...'
#                          these cuts instead (TYPE fresh|config), e.g.
#                          'f1 fresh crash s 5 apt-get install'
# The suite resets relay2 and leaves it deployed with its original ini.
# Do not edit or commit in the checkout cmdeploy was built in while it
# runs: /etc/chatmail-version holds its HEAD and `git diff`, so the run
# after a recovery would change it.
SUITE=relay-faults
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relays.sh"

T_START=$SECONDS
N=2 H=relay2 INI=$RELAY2_INI
LOGS=${RELAYLAB_LOGS:-$RELAYLAB_STATE}/faults
rm -rf "$LOGS"; mkdir -p "$LOGS"
SEED=${FAULTS_SEED:-$(( $(date +%s%N) % 1000000 ))}
CUTS=${FAULTS_CUTS:-3}
CONFIG_CUTS=${FAULTS_CONFIG_CUTS:-1}
SPREAD=${FAULTS_SPREAD:-0}
KINDS=(drop-client drop-sshd kill-shell crash)
# relay2's services (the deploy suite's list, without sockets and timers)
SERVICES="postfix dovecot nginx opendkim unbound doveauth chatmail-metadata lastlogin filtermail filtermail-incoming iroh-relay turnserver"
# step markers every fresh deploy of relay2 passes, from apt to the last start
FRESH_STEPS=("apt-get update" "apt-get install" "user vmail" "download " "run install Dovecot" "user postfix"
    "validate /etc/postfix/main.cf" "validate /etc/nginx/nginx.conf" "file /usr/local/bin/chatmaild" "file /etc/dovecot/dovecot.conf"
    "run self-signed certificate" "run generate DKIM key" "systemctl daemon-reload" "start dovecot" "start postfix" "start nginx")
# ... and those of a max_message_size change
CONFIG_STEPS=("validate /etc/dovecot/dovecot.conf" "validate /etc/postfix/main.cf" "validate /etc/nginx/nginx.conf"
    "file /usr/local/lib/chatmaild/chatmail.ini" "file /etc/dovecot/dovecot.conf" "file /etc/postfix/main.cf"
    "restart doveauth" "restart dovecot" "restart postfix" "reload nginx")
# an apply script on the host; the engine before the lock change ran /tmp/tmp.*
APPLY='(/bin/)?sh( -[a-z]+)* /tmp/(cmdeploy-script|tmp)\.[A-Za-z0-9]+'
echo "relay-faults: seed $SEED (FAULTS_SEED=$SEED reproduces this cut plan)"
RANDOM=$SEED

# rnd LO HI: R = a float in [LO, HI) from the seeded $RANDOM (no subshell,
# so the sequence stays the seed's); pick ARGS...: R = one of ARGS
rnd() { local x=$(( RANDOM * 32768 + RANDOM )); R=$(awk -v a="$1" -v b="$2" -v x="$x" 'BEGIN { printf "%.1f", a + (b - a) * x / 1073741824 }'); }
pick() { local a=("$@"); R=${a[RANDOM % ${#a[@]}]}; }
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# ---- the run under test -------------------------------------------------

# start_run LOG ARGS...: cmdeploy run for relay2 in the background with
# --json (one flushed line per event), each line stamped with its arrival
# time; RUN_PID is cmdeploy itself (scripts/lab exec execs it)
stamp() { local l; while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "${l//\\\//\/}"; done; }
start_run() {
    RUN_LOG=$1; shift
    : > "$RUN_LOG"   # the stamp reader truncates it only once it runs
    RUN_T0=$EPOCHREALTIME
    "$LAB" exec "$CMDEPLOY" run --json --config "$INI" --ssh-host "$RELAY2_HOST" --ssh-config "$LAB_SSH_CONFIG" \
        --chatmaild-binary "$CHATMAILD_BIN" "$@" > >(stamp > "$RUN_LOG") 2>&1 &
    RUN_PID=$!
}
run_alive() { kill -0 "$RUN_PID" 2> /dev/null; }
# end_run SECONDS: wait for the run, SIGKILL it after SECONDS; RUN_RC
end_run() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do run_alive || break; sleep 0.1; done
    run_alive && kill -KILL "$RUN_PID" 2> /dev/null
    wait "$RUN_PID" 2> /dev/null; RUN_RC=$?
    sleep 0.2   # the stamp reader's last lines
}
# step_time REGEX: arrival time of the first step event matching REGEX
step_time() {
    RE="^($1)" awk 'index($0, "\"event\":\"step\"") { n = $0; sub(/.*"name":"/, "", n); sub(/"}.*/, "", n); if (n ~ ENVIRON["RE"]) { print $1; exit } }' "$RUN_LOG"
}

# wait_moment SPEC: until the cut moment; SPEC is "t SECONDS" (since the
# start) or "s DELAY REGEX" (DELAY seconds after the first step matching
# REGEX). Returns 1 when the run ended first.
wait_moment() {
    local type=$1 a=$2 re=${3:-} at
    while run_alive; do
        if [ "$type" = t ]; then at=$RUN_T0
        else at=$(step_time "$re"); fi
        if [ -n "$at" ] && awk -v t="$at" -v d="$a" -v n="$EPOCHREALTIME" 'BEGIN { exit !(n >= t + d) }'; then return 0; fi
        sleep 0.05
    done
    return 1
}

# on the host: pids of the top apply shells (not their forked subshells)
apply_pids_cmd="ps -eo pid=,ppid=,args= | grep -E '^ *[0-9]+ +[0-9]+ +$APPLY' | awk '{ p[\$1] = \$2 } END { for (i in p) if (!(p[i] in p)) print i }'"
apply_pids() { on "$H" "$apply_pids_cmd" 2> /dev/null | xargs; }
# on the host: the sshd sessions other than the caller's own
sshd_kill_cmd='mine=; p=$$; while [ "$p" -gt 1 ]; do mine="$mine $p "; p=$(awk "/^PPid:/ {print \$2}" /proc/$p/status); done
    for s in $(ps -eo pid=,args= | awk "\$2 == \"sshd:\" && \$3 ~ /@notty\$/ {print \$1}"); do
        case "$mine" in *" $s "*) ;; *) kill -KILL "$s" && echo "$s";; esac; done'

# do_cut KIND: cut the running run; CUT_NOTE says what was hit. Kinds aimed at
# the host retry until their target exists or the run ended.
do_cut() {
    local kind=$1 got=
    case $kind in
        # (reaped here, in silence: bash reports a killed job otherwise)
        drop-client) if kill -KILL "$RUN_PID" 2> /dev/null; then { wait "$RUN_PID"; } 2> /dev/null; got="cmdeploy $RUN_PID"; fi ;;
        drop-sshd)
            while run_alive; do got=$(on "$H" "$sshd_kill_cmd" 2> /dev/null | xargs); [ -n "$got" ] && break; sleep 0.2; done
            [ -z "$got" ] || got="sshd $got" ;;
        kill-shell)
            while run_alive; do
                got=$(on "$H" "p=\$($apply_pids_cmd); [ -z \"\$p\" ] || { kill -KILL \$p; echo \$p; }" 2> /dev/null | xargs)
                [ -n "$got" ] && break; sleep 0.2
            done
            [ -z "$got" ] || got="sh $got" ;;
        crash) "$LAB" crash "$H" > /dev/null 2>&1 && got="host" ;;
    esac
    CUT_NOTE=${got:-missed}
    [ -n "$got" ]
}

# ---- host checks --------------------------------------------------------

# leftovers: what an interrupted deploy may leave, one word each (empty: clean)
leftovers_cmd="[ ! -e /usr/sbin/policy-rc.d ] || { grep -qx '# cmdeploy: temporary' /usr/sbin/policy-rc.d && echo policy-rc.d || echo policy-rc.d-foreign; }
    n=\$(ls -d /tmp/cmdeploy-* 2>/dev/null | wc -l); [ \$n = 0 ] || echo tmp:\$n
    n=\$(find /etc /usr/local /var/lib -xdev \\( -name '.cmdeploy-*' -o -name '*.cmdeploy-new' \\) 2>/dev/null | wc -l); [ \$n = 0 ] || echo temp-files:\$n
    # a dpkg that runs (holding its lock) is busy, not interrupted
    if lslocks -n -o PATH 2>/dev/null | grep -q '^/var/lib/dpkg/lock'; then echo dpkg-busy
    elif [ -n \"\$(dpkg --audit 2>&1)\" ]; then echo dpkg-audit; fi
    n=\$(systemctl --failed --no-legend --plain | wc -l); [ \$n = 0 ] || echo failed-units:\$n
    n=\$($apply_pids_cmd | wc -l); [ \$n = 0 ] || echo apply-running:\$n
    [ \$n != 0 ] || [ ! -e /run/cmdeploy.lock ] || flock -n /run/cmdeploy.lock true || echo lock-held"
# busy: an apply script runs or something holds the host's apply lock (an
# apt-get whose shell was killed keeps it)
busy_cmd="[ -n \"\$($apply_pids_cmd)\" ] || { [ -e /run/cmdeploy.lock ] && ! flock -n /run/cmdeploy.lock true; }"
host_busy() { on "$H" "$busy_cmd" > /dev/null 2>&1; }
# wait_idle SECONDS: until the host is not busy
wait_idle() { local i; for ((i = 0; i < $1; i++)); do host_busy || return 0; sleep 1; done; return 1; }
leftovers() { on "$H" "$leftovers_cmd" 2>&1 | xargs | tr ' ' ,; }
leftovers_detail() {
    on "$H" "ls -la /usr/sbin/policy-rc.d 2>/dev/null; ls -d /tmp/cmdeploy-* 2>/dev/null
        find /etc /usr/local /var/lib -xdev \\( -name '.cmdeploy-*' -o -name '*.cmdeploy-new' \\) 2>/dev/null
        dpkg --audit 2>&1 | head -5; lslocks -o COMMAND,PID,PATH | grep -E 'dpkg|apt'; ps -eo pid,etimes,args | grep -E 'apt|dpkg' | grep -v grep
        systemctl --failed --no-legend --plain; ps -eo pid,ppid,args | grep -E '/tmp/(cmdeploy-script|tmp)\\.' | grep -v grep"
}

# watch_start / watch_stop: a watcher on the host samples the apply scripts
# running (distinct script files) every 0.2 s; WATCH_MAX is the most at once
watch_start() {
    on "$H" "rm -f /run/faults-watch.stop; end=\$((\$(date +%s) + 1500)); max=0 last=
        while [ ! -e /run/faults-watch.stop ] && [ \$(date +%s) -lt \$end ]; do
            now=\$(ps -eo args= | grep -oE '^$APPLY' | awk '{print \$NF}' | sort -u | xargs)
            n=\$(echo \$now | wc -w)
            # log each new set of concurrent applies once
            [ \$n -le 1 ] || [ \"\$now\" = \"\$last\" ] || { echo \"\$(date +%T) \$n applies at once:\"; ps -eo pid,ppid,args | grep -E '/tmp/(cmdeploy-script|tmp)\\.' | grep -v grep; }
            last=\$now; [ \$n -le \$max ] || max=\$n; sleep 0.2
        done; rm -f /run/faults-watch.stop; echo max \$max" > "$1" 2>&1 &
    WATCH_PID=$! WATCH_LOG=$1
}
watch_stop() {
    on "$H" 'touch /run/faults-watch.stop' > /dev/null 2>&1
    for _ in $(seq 50); do kill -0 "$WATCH_PID" 2> /dev/null || break; sleep 0.1; done
    kill "$WATCH_PID" 2> /dev/null; wait "$WATCH_PID" 2> /dev/null
    WATCH_MAX=$(awk '$1 == "max" {print $2}' "$WATCH_LOG")
}

# words a run uses when it meets another apply's lock (lenient on wording)
LOCK_WORDS='another (cmdeploy|apply|run|deploy)|waiting|wait for|/run/cmdeploy\.(lock|owner)|locked|lock held|in progress'

# recover NAME: the next run (plain output, as an operator sees it) right
# away. If the cut apply still runs 5 s in, the run must meet the lock: wait
# (its output says so) or refuse naming it; after a refusal the run is
# repeated once the old apply is gone. Sets REC_RC, REC_SECS, REC_LOCK.
recover() {
    local name=$1 log=$LOGS/$1.recover.log old t0 pid left i
    old=$(apply_pids)
    t0=$EPOCHREALTIME
    timeout 900 "$LAB" exec "$CMDEPLOY" run --config "$INI" --ssh-host "$RELAY2_HOST" --ssh-config "$LAB_SSH_CONFIG" \
        --chatmaild-binary "$CHATMAILD_BIN" > "$log" 2>&1 &
    pid=$!
    REC_LOCK=
    if [ -n "$old" ]; then
        sleep 5
        left=$(on "$H" "for p in $old; do kill -0 \$p 2>/dev/null && echo \$p; done" 2> /dev/null | xargs)
        [ -z "$left" ] || REC_LOCK="apply $left still ran 5 s into the next run"
    fi
    wait "$pid"; REC_RC=$?
    if [ "$REC_RC" != 0 ] && [ -n "$REC_LOCK" ] && grep -Eiq "$LOCK_WORDS" "$log"; then
        # refused because of the running apply: wait for it, then again
        for ((i = 0; i < 600; i++)); do [ -z "$(apply_pids)" ] && break; sleep 1; done
        echo "--- again after the old apply ended" >> "$log"
        timeout 900 "$LAB" exec "$CMDEPLOY" run --config "$INI" --ssh-host "$RELAY2_HOST" --ssh-config "$LAB_SSH_CONFIG" \
            --chatmaild-binary "$CHATMAILD_BIN" >> "$log" 2>&1; REC_RC=$?
    fi
    REC_SECS=$(since "$t0")
}

# the daemons accept their live config and every service restarts
daemons_accept() {
    on "$H" "bad=; postfix check >/tmp/faults.out 2>&1 || bad=\"\$bad postfix-check\"
        doveconf -n >/dev/null 2>>/tmp/faults.out || bad=\"\$bad doveconf\"
        nginx -t >>/tmp/faults.out 2>&1 || bad=\"\$bad nginx-t\"
        for u in $SERVICES; do systemctl restart \$u >>/tmp/faults.out 2>&1 || bad=\"\$bad restart-\$u\"; done
        [ -z \"\$bad\" ] || { echo \"refused:\$bad\"; tail -n 20 /tmp/faults.out; }; rm -f /tmp/faults.out; [ -z \"\$bad\" ]"
}
# config_state OLD NEW: which max_message_size each daemon's live file holds
# (postfix dovecot chatmaild nginx): "old", "new" or "mixed(p=.. d=.. c=.. n=..)"
config_state() {
    on "$H" "echo \$(sed -n 's/^message_size_limit *= *//p' /etc/postfix/main.cf) \
        \$(sed -n 's/^ *quota_max_mail_size *= *//p' /etc/dovecot/dovecot.conf) \
        \$(sed -n 's/^max_message_size *= *//p' /usr/local/lib/chatmaild/chatmail.ini | grep . || echo 31457280) \
        \$(grep -o 'client_max_body_size [0-9]*;' /etc/nginx/nginx.conf | tr -dc '0-9\n' | sort -n | tail -n 1)" 2> /dev/null \
        | awk -v o="$1" -v w="$2" '{
            # nginx holds the /mxdeliv body limit: size + size/16 + 64 KiB
            split("p d c n", k); s = ""; old = 0; nw = 0
            for (i = 1; i <= 4; i++) {
                v = $i; if (i == 4) { ov = o + int(o / 16) + 65536; wv = w + int(w / 16) + 65536 } else { ov = o; wv = w }
                if (v == ov) { old++; t = "old" } else if (v == wv) { nw++; t = "new" } else t = v
                s = s (s == "" ? "" : ",") k[i] "=" t
            }
            print (old == 4 ? "old" : nw == 4 ? "new" : "mixed(" s ")") }'
}

# ---- one case -------------------------------------------------------------

ROWS=()
# run_case ID TYPE KIND MOMENT...: TYPE fresh (reset relay2 first) or
# config (flip max_message_size on the deployed relay)
run_case() {
    local id=$1 type=$2 kind=$3 moment=$4 delay=$5 re=${6:-} desc fired=- after=- final conv=no mark old new cfg=
    # for the table: the step's first two words, without regex escapes
    if [ "$moment" = t ]; then desc="t+${delay}s"; else desc="$(tr -d '\\' <<< "$re" | awk '{print $1, $2}')+${delay}s"; fi
    echo "-- cut $id: $type deploy, $kind at ${re:+step }${re:-$desc}${re:++$delay s}"
    if [ "$type" = fresh ]; then
        check "cut $id: relay2 reset to a fresh host" "$LAB" reset "$H"
    else
        old=$(sed -n 's/^max_message_size *= *//p' "$INI"); old=${old:-31457280}
        if [ "$old" = 41943040 ]; then new=31457280; else new=41943040; fi
        set_key "$INI" max_message_size "$new"
    fi
    start_run "$LOGS/$id.cut.log"
    if wait_moment "$moment" "$delay" "$re" && do_cut "$kind"; then
        fired=$(since "$RUN_T0")
        echo "   cut at ${fired}s ($CUT_NOTE); last step: $(grep -o '"event":"step","name":"[^"]*' "$RUN_LOG" | tail -n 1 | cut -d'"' -f8)"
    else
        echo "   the run ended before the cut ($CUT_NOTE)"
    fi
    end_run 120
    if [ "$kind" = crash ] && [ "$fired" != - ]; then check "cut $id: relay2 boots after the crash" "$LAB" start "$H"; fi
    # the host as the cut left it. After a dropped connection the apply may
    # still run: the next run starts at once (the lock's case). After a
    # killed shell its children may still run: they end first, so status is
    # asked about what is really left.
    case $kind in kill-shell | crash) wait_idle 300 || echo "   still busy 300 s after the cut" ;; esac
    after=$(leftovers); after=${after:--}
    echo "   after the cut: $after"
    [ "$after" = - ] || leftovers_detail > "$LOGS/$id.after-cut.txt" 2>&1
    if [[ $after =~ policy-rc.d|dpkg-audit ]] && [[ $after != *apply-running* && $after != *lock-held* ]]; then
        check_status() { local out; out=$(cm "$N" status 2>&1); grep -Eq '^ *(FAIL|WARN) .*(policy-rc|dpkg)' <<< "$out" || { echo "$out"; return 1; }; }
        check "cut $id: cmdeploy status reports the leftover ($after)" check_status
    fi
    if [ "$type" = config ]; then
        # the cut apply must end before the daemons are judged
        wait_idle 300
        cfg=$(config_state "$old" "$new")
        echo "   live config: $cfg"
        check "cut $id: every daemon accepts its config and restarts" daemons_accept
    fi
    watch_start "$LOGS/$id.watch.log"
    recover "$id"
    if [ "$REC_RC" = 0 ]; then pass "cut $id: the next run completes and verifies (${REC_SECS}s)"
    else fail "cut $id: the next run completes and verifies (exit $REC_RC, ${REC_SECS}s)" "$(tail -n 25 "$LOGS/$id.recover.log")"; fi
    if [ -n "$REC_LOCK" ]; then
        check "cut $id: the next run met the lock ($REC_LOCK)" grep -Eiq "$LOCK_WORDS" "$LOGS/$id.recover.log"
    fi
    deploy "$N" > "$LOGS/$id.noop.log" 2>&1
    if grep -q '^No changes' "$LOGS/$id.noop.log"; then pass "cut $id: the run after changes nothing"; conv=yes
    else fail "cut $id: the run after changes nothing" "$(tail -n 25 "$LOGS/$id.noop.log")"; fi
    [ "$REC_RC" = 0 ] || conv=no
    watch_stop
    if [ "${WATCH_MAX:-0}" -le 1 ]; then pass "cut $id: never two applies at once (max ${WATCH_MAX:-?})"
    else fail "cut $id: never two applies at once" "$(cat "$WATCH_LOG")"; fi
    final=$(leftovers)
    if [ -z "$final" ]; then pass "cut $id: nothing left behind"
    else fail "cut $id: nothing left behind ($final)" "$(leftovers_detail)"; fi
    mark=$kind; [ -z "$REC_LOCK" ] || mark="$kind (lock)"
    ROWS+=("$(printf '%-3s %-6s %-18s %-32s %7s %6s %-4s %-3s %-28s %s' "$id" "$type" "$mark" "$desc" \
        "$fired" "$REC_SECS" "$([ "$REC_RC" = 0 ] && echo ok || echo "rc$REC_RC")" "$conv" "$after${cfg:+ $cfg}" "${final:--}")")
}

# ---- the plan -------------------------------------------------------------

check "relay1 and relay2 deployed" ensure_relays
[ "$FAILED" = 0 ] || { finish; exit; }
ORIG_SIZE=$(sed -n 's/^max_message_size *= *//p' "$INI")
# a fresh deploy's length: the deploy suite's timing of relay2, else a guess
D=$(awk '$1 == "relay2-fresh" {print $2}' "$RELAYLAB_STATE/times" 2> /dev/null); D=${D:-60}

PLAN=()   # "ID TYPE KIND MOMENT DELAY [REGEX]"
if [ "$SPREAD" = 1 ]; then
    # the reference deploy's timeline decides where the slots' steps are
    echo "-- reference: an uncut fresh deploy"
    check "reference: relay2 reset to a fresh host" "$LAB" reset "$H"
    start_run "$LOGS/reference.log"; end_run 900
    check "reference: the uncut deploy succeeds (exit $RUN_RC)" test "$RUN_RC" = 0
    D=$(since "$RUN_T0")
    # "seconds name" of every step, relative to the start
    awk -v t0="$RUN_T0" 'index($0, "\"event\":\"step\"") { n = $0; sub(/.*"name":"/, "", n); sub(/".*/, "", n); printf "%.1f %s\n", $1 - t0, n }' \
        "$LOGS/reference.log" > "$LOGS/reference.steps"
    echo "   ${D}s, $(wc -l < "$LOGS/reference.steps") steps"
    for ((i = 0; i < CUTS; i++)); do
        kind=${KINDS[i % ${#KINDS[@]}]}
        rnd "$(awk -v d="$D" -v i="$i" -v n="$CUTS" 'BEGIN { print d * i / n }')" "$(awk -v d="$D" -v i="$i" -v n="$CUTS" 'BEGIN { print d * (i + 1) / n }')"
        u=$R
        if ((i % 2 == 0)); then PLAN+=("f$((i + 1)) fresh $kind t $u")
        else
            # the last step begun by then, and how long after it
            step=$(awk -v u="$u" '$1 <= u { t = $1; $1 = ""; s = substr($0, 2) } END { print t "|" s }' "$LOGS/reference.steps")
            st=${step%%|*} name=${step#*|}
            if [ -z "$name" ]; then PLAN+=("f$((i + 1)) fresh $kind t $u")
            else
                re=$(sed 's/[][\.*^$+?(){}|]/\\&/g' <<< "$name")
                PLAN+=("f$((i + 1)) fresh $kind s $(awk -v u="$u" -v s="$st" 'BEGIN { printf "%.1f", u - s }') $re")
            fi
        fi
    done
else
    # a dropped connection while apt runs, with the next run at once: the
    # lock's case. Then cuts at random moments or random steps.
    if [ "$CUTS" -ge 1 ]; then pick drop-client drop-sshd; kind=$R; rnd 2 12; PLAN+=("f1 fresh $kind s $R apt-get install"); fi
    for ((i = 2; i <= CUTS; i++)); do
        pick "${KINDS[@]}"; kind=$R
        if ((RANDOM % 2)); then rnd 1 "$(awk -v d="$D" 'BEGIN { print d * 0.9 }')"; PLAN+=("f$i fresh $kind t $R")
        else pick "${FRESH_STEPS[@]}"; re=$R; rnd 0 2; PLAN+=("f$i fresh $kind s $R $re"); fi
    done
fi
for ((i = 1; i <= CONFIG_CUTS; i++)); do
    if [ "$SPREAD" = 1 ]; then kind=${KINDS[(i - 1) % ${#KINDS[@]}]}; else pick "${KINDS[@]}"; kind=$R; fi
    pick "${CONFIG_STEPS[@]}"; re=$R; rnd 0 0.3
    PLAN+=("c$i config $kind s $R $re")
done
if [ -n "${FAULTS_PLAN:-}" ]; then
    IFS=';' read -ra PLAN <<< "$FAULTS_PLAN"
    PLAN=("${PLAN[@]/# /}")
fi
# config cuts need a deployed relay: in CI they come first (the relay is
# deployed), in the spread run last (each fresh cut's recovery deploys it)
if [ "$SPREAD" != 1 ]; then
    cfg=() rest=()
    for p in "${PLAN[@]}"; do if [[ $p == c* ]]; then cfg+=("$p"); else rest+=("$p"); fi; done
    PLAN=("${cfg[@]}" "${rest[@]}")
fi
echo "relay-faults: plan (a fresh deploy takes about ${D}s):"
printf '   %s\n' "${PLAN[@]}"

for p in "${PLAN[@]}"; do
    read -r id type kind moment delay re <<< "$p"
    run_case "$id" "$type" "$kind" "$moment" "$delay" "$re"
done

# ---- back to the relay the other suites know ------------------------------
if [ -n "$ORIG_SIZE" ]; then set_key "$INI" max_message_size "$ORIG_SIZE"
else sed -i '/^max_message_size *=/d' "$INI"; fi
check "relay2 ends deployed with its original chatmail.ini" deploy "$N"
check "relay2: its zone republished (a reset host has a new DKIM key)" publish_full_zone "$N"

echo "-- cuts (seed $SEED; seconds since the run's start; logs in $LOGS)"
printf '%-3s %-6s %-18s %-32s %7s %6s %-4s %-3s %-28s %s\n' id case kind "cut at" fired recov rc conv "after the cut" "after recovery"
printf '%s\n' "${ROWS[@]}"
echo "relay-faults: wall time $((SECONDS - T_START)) s"
finish
