# e2e: build if needed, up, run the end-to-end suites, collect logs, down,
# and check that down left nothing behind. Ends with "lab: N passed, N failed".
# shellcheck shell=bash

E2E_PASSED=0
E2E_FAILED=0

e2e_count() {  # e2e_count LOGFILE: add the suite's last "N passed, N failed" line
    local line p f
    line=$(grep -E '^([A-Za-z0-9-]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    if [ -z "$line" ]; then E2E_FAILED=$((E2E_FAILED + 1)); return; fi
    p=$(sed -E 's/^([A-Za-z0-9-]+: )?([0-9]+) passed.*/\2/' <<< "$line")
    f=$(sed -E 's/^([A-Za-z0-9-]+: )?[0-9]+ passed, ([0-9]+) failed.*/\2/' <<< "$line")
    E2E_PASSED=$((E2E_PASSED + p)); E2E_FAILED=$((E2E_FAILED + f))
}

e2e_result() {  # e2e_result NAME OK?: one check of e2e itself
    if [ "$2" = 0 ]; then echo "ok   $1"; E2E_PASSED=$((E2E_PASSED + 1))
    else echo "FAIL $1"; E2E_FAILED=$((E2E_FAILED + 1)); fi
}

# Logs worth reading after a failure: the lab's own logs, each host's console,
# its failed units with their journal, and its recent warnings.
e2e_collect() {
    local art=$1 name
    [ -d "$LAB_RUN" ] || return 0
    mkdir -p "$art/run"
    cp -r "$LAB_RUN"/*.log "$LAB_RUN/dns/nsd.log" "$LAB_RUN/push" "$LAB_RUN/env" "$LAB_RUN/ssh_config" \
        "$LAB_RUN/known_hosts" "$art/run/" 2> /dev/null || true
    for name in $(host_names); do
        [ -n "$(alive_pid "$name")" ] || continue
        timeout 60 "$SELF" ssh "$name" 'systemctl --failed --no-legend --plain;
            for u in $(systemctl --failed --no-legend --plain | cut -d" " -f1); do
                echo "=== journal of $u"; journalctl -b -u "$u" -n 200 --no-pager; done
            echo "=== warnings of this boot"; journalctl -b -p warning -n 300 --no-pager' \
            > "$art/$name-journal.txt" 2>&1 || true
    done
}

# Refusals that must come before anything is touched.
e2e_check_refusals() {
    local out rc
    out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$SELF" status 2>&1) || true
    e2e_result "refuses to run without root" "$(grep -q 'must run as root' <<< "$out"; echo $?)"
    # the check `up` runs first, with a subnet this machine surely uses
    out=$(LAB_NET=127.0.0 "$SELF" __check_net 2>&1) || true
    e2e_result "refuses a lab subnet in use on the machine (127.0.0.0/24)" "$(grep -q 'in use on this machine' <<< "$out"; echo $?)"
    rc=0; out=$("$SELF" __check_net 2>&1) || rc=$?
    e2e_result "the lab subnet $LAB_NET.0/24 is free here${out:+ ($out)}" "$rc"
}

# Every process in the lab's namespaces, recorded before `down`.
e2e_lab_pids() {
    local ns
    for ns in "$LAB_NS" $(printf "$LAB_NS-%s " $(host_names)); do ip netns pids "$ns" 2> /dev/null || true; done
}

# What `down` must leave behind: nothing of the lab.
e2e_check_down() {
    local left p
    left=$(for p in $(cat "$1"); do ! running "$p" || ps -o pid=,args= -p "$p" || true; done)
    e2e_result "down: all $(wc -l < "$1") processes of the lab namespaces ended${left:+ ($left)}" "$([ -z "$left" ]; echo $?)"
    left=$(ip netns list | awk -v l=" $LAB_NS $(printf "$LAB_NS-%s " $LAB_HOSTS)" 'index(l, " " $1 " ")')
    e2e_result "down: no lab network namespace left${left:+ ($left)}" "$([ -z "$left" ]; echo $?)"
    left=$(awk -v d="$LAB_DIR/$LAB_NS-" 'index($2, d) == 1 { print $2 }' /proc/mounts)
    e2e_result "down: no host root mounted${left:+ ($left)}" "$([ -z "$left" ]; echo $?)"
    left=$(pgrep -f -a "systemd-nspawn -D $LAB_DIR/$LAB_NS-|$LAB_SCRIPTS/lab __run|labhttp.py|pebble -config $LAB_RUN|nsd -d -c $LAB_RUN" || true)
    e2e_result "down: no lab process left${left:+ ($left)}" "$([ -z "$left" ]; echo $?)"
    left=$(ip route show "$LAB_NET.0/24"; [ -z "$LAB_NET6" ] || ip -6 route show "${LAB_NET6}/64")
    e2e_result "down: guard routes removed${left:+ ($left)}" "$([ -z "$left" ]; echo $?)"
    e2e_result "down: runtime directory $LAB_RUN removed" "$([ ! -e "$LAB_RUN" ]; echo $?)"
    left=$(for h in $LAB_HOSTS; do compgen -G "$LAB_DIR/$LAB_NS-$h*" || true; done | xargs)
    e2e_result "down: host roots removed${left:+ ($left)}" "$([ -z "$left" ]; echo $?)"
}

cmd_e2e() {
    local art=$LAB_ARTIFACTS t suite log rc
    rm -rf "$art"; mkdir -p "$art"
    log "e2e: logs and timings go to $art"
    # concurrent e2e runs on one machine take turns
    take_lock "/run/lock/$LAB_NS-e2e.lock" 3600 "scripts/lab e2e"
    lab_is_up && die "a lab is already up; e2e needs a lab of its own (scripts/lab down first)"
    cmd_deps
    # every step's status is checked explicitly below; a stray non-zero
    # status must not end e2e before it has torn down and reported
    set +e
    t=$SECONDS
    "$SELF" build > "$art/build.log" 2>&1 || { cat "$art/build.log"; echo "lab: 0 passed, 1 failed"; return 1; }
    echo "build: $((SECONDS - t)) s" >> "$art/timings.txt"

    e2e_check_refusals
    # from here on, always tear down (also on Ctrl-C)
    trap 'e2e_collect "$art"; "$SELF" down > "$art/down.log" 2>&1' EXIT
    trap 'exit 130' INT TERM HUP
    t=$SECONDS
    if "$SELF" up > "$art/up.log" 2>&1; then
        echo "up: $((SECONDS - t)) s" >> "$art/timings.txt"
        e2e_result "up: lab boots ($(host_names | xargs))" 0
        export LAB_DIR LAB_RUN LAB_NS LAB_NET LAB_NET6 LAB_DOMAIN LAB_PACKAGES_FILE
        export LAB="$SELF" LAB_ARTIFACTS="$art"
        for suite in $LAB_E2E_SUITES; do
            log="$art/$(basename "$suite" .sh).log"
            echo "== lab suite $suite"
            rc=0; bash "$suite" 2>&1 | tee "$log" || rc=$?
            e2e_count "$log"
            [ "$rc" = 0 ] || e2e_result "suite $(basename "$suite") exits 0 (exit $rc)" 1
        done
    else
        cat "$art/up.log"
        e2e_result "up: lab boots" 1
    fi
    e2e_collect "$art"
    e2e_lab_pids > "$art/lab-pids.txt"
    trap - EXIT
    t=$SECONDS
    rc=0; "$SELF" down > "$art/down.log" 2>&1 || rc=$?
    echo "down: $((SECONDS - t)) s" >> "$art/timings.txt"
    e2e_result "down: exits 0" "$rc"
    e2e_check_down "$art/lab-pids.txt"
    echo "timings: $(xargs < "$art/timings.txt")"
    echo "logs: $art"
    echo "lab: $E2E_PASSED passed, $E2E_FAILED failed"
    [ "$E2E_FAILED" = 0 ]
}
