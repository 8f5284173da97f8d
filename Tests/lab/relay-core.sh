#!/usr/bin/env bash
# Delta Chat core's own online test suite (the tests/ of the
# deltachat-rpc-client sdist of LAB_DELTACHAT_VERSION, cached with the
# matching deltachat-rpc-server by `scripts/lab build`) against _relay2.test,
# the self-signed relay with the lab's patched Dovecot (no 500 ms IDLE
# delay). Tests/lab/core-suite/run runs it with pytest-xdist inside the lab
# network; the tests in Tests/lab/core-suite/deselect.txt are not run, each
# with its reason there.
# Counts: passed = pytest's passed tests, failed = its failures and errors;
# the suite's own skips and the deselected tests are listed, not counted.
# JUnit XML and pytest's log: RELAYLAB_ARTIFACTS/core-suite/.
# Run by `scripts/test-relay-lab core`; against relay1 (or after the lab is
# up): scripts/test-core-suite.
SUITE=relay-core
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relays.sh"

ensure_relays || { fail "relays deployed"; finish; exit 1; }

CORE_SUITE_OUT=${RELAYLAB_ARTIFACTS:-$RELAYLAB_STATE}/core-suite \
    "$(dirname "$0")/core-suite/run" "$RELAY2" | tee "$TMP/run.out"
line=$(grep -aE '^core-suite: [0-9]+ passed, [0-9]+ failed' "$TMP/run.out" | tail -n 1)
if [ -n "$line" ]; then
    PASSED=$((PASSED + $(sed -E 's/^core-suite: ([0-9]+) passed.*/\1/' <<< "$line")))
    FAILED=$((FAILED + $(sed -E 's/^core-suite: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<< "$line")))
else
    fail "Tests/lab/core-suite/run ended without a summary line"
fi
finish
