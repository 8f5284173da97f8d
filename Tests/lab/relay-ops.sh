#!/usr/bin/env bash
# `cmdeploy test` and `cmdeploy bench` against the lab's deployed relays:
# the online suite passes on relay1 with relay2 as second relay (and on
# relay2 alone, self-signed TLS); with Dovecot stopped it fails and names
# the failing tests, and passes again once Dovecot is back; bench prints
# its table and valid JSON.
SUITE=relay-ops
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relays.sh"

ensure_relays || { fail "relays deployed"; finish; exit; }

# run_test N OUT ARGS...: cmdeploy test for relay N, output into OUT
run_test() { local n=$1 out=$2; shift 2; cm "$n" test "$@" > "$out" 2>&1; }

# relay1 with relay2 as second relay: every test passes, none skipped
test_both() {
    run_test 1 "$TMP/both.out" --second-relay "$RELAY2" || { cat "$TMP/both.out"; return 1; }
    local total; total=$("$CMDEPLOY" test --list | wc -l)
    grep -Eq "^$total passed, 0 failed$" "$TMP/both.out" || { cat "$TMP/both.out"; return 1; }
    # one "ok NAME (T s)" line per test
    [ "$(grep -Ec '^ok   .+ \([0-9.]+ s\)$' "$TMP/both.out")" = "$total" ] || { cat "$TMP/both.out"; return 1; }
}
check "relay1: cmdeploy test --second-relay $RELAY2 passes every test" test_both
grep -E '^(ok|FAIL|skip) ' "$TMP/both.out" 2>/dev/null | sed 's/^/     /'

# relay2 alone (self-signed certificate): passes, cross-relay tests skipped
test_relay2() {
    run_test 2 "$TMP/r2.out" || { cat "$TMP/r2.out"; return 1; }
    grep -Eq '^[0-9]+ passed, 0 failed, 2 skipped$' "$TMP/r2.out" || { cat "$TMP/r2.out"; return 1; }
}
check "relay2: cmdeploy test passes (self-signed TLS), cross-relay tests skipped" test_relay2

# run_test_dump N OUT ARGS...: run_test, then print OUT (for check_fails)
run_test_dump() { local rc; run_test "$@"; rc=$?; cat "$2"; return $rc; }

# A broken relay: Dovecot down makes logins fail; the run exits 1 and names them.
on relay1 systemctl stop dovecot
check_fails "relay1 without dovecot: cmdeploy test fails naming the failing tests" \
    '^FAIL imap capabilities include XCHATMAIL.*' run_test_dump 1 "$TMP/broken.out"
grep -Eq '^0 passed|^[0-9]+ passed, [1-9][0-9]* failed' "$TMP/broken.out" \
    && pass "relay1 without dovecot: summary counts the failures" \
    || fail "relay1 without dovecot: summary counts the failures" "$(tail -n 3 "$TMP/broken.out")"
on relay1 systemctl start dovecot
# ready once IMAPS answers again (bounded)
for _ in $(seq 1 30); do client bash -c "exec 3<>/dev/tcp/$RELAY1/993" 2>/dev/null && break; sleep 1; done
check "relay1 with dovecot back: the login tests pass again" run_test 1 "$TMP/back.out" -k login -k imap

# bench: table with min/median/p95/max, JSON with every measurement
bench_table() {
    cm 1 bench --runs 3 --second-relay "$RELAY2" > "$TMP/bench.out" 2>&1 || { cat "$TMP/bench.out"; return 1; }
    grep -Eq '^measurement +runs +min ms +median ms +p95 ms +max ms' "$TMP/bench.out" || { cat "$TMP/bench.out"; return 1; }
    [ "$(grep -Ec '^(imap|smtp|account|send|burst).* 3 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$TMP/bench.out")" -ge 8 ] \
        || { cat "$TMP/bench.out"; return 1; }
}
check "relay1: cmdeploy bench --runs 3 prints the table" bench_table
sed -n '/^measurement/,$p' "$TMP/bench.out" 2>/dev/null | sed 's/^/     /'
bench_json() {
    cm 1 bench --runs 2 --json > "$TMP/bench.json" 2> "$TMP/bench.err" || { cat "$TMP/bench.err" "$TMP/bench.json"; return 1; }
    python3 - "$TMP/bench.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ms = d["measurements"]
assert len(ms) >= 7, ms
for m in ms:
    assert m["runs"] == 2 and "error" not in m, m
    assert m["min_ms"] <= m["median_ms"] <= m["p95_ms"] <= m["max_ms"], m
PY
}
check "relay1: cmdeploy bench --json is valid JSON with every measurement" bench_json

finish
