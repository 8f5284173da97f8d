"""pytest plugin of the lab's run of core's online test suite (`-p lab_core_suite`).

Deselects the tests listed in a file, each with its reason, and records
what it deselected for the run's summary:

    --lab-deselect FILE   lines `NODEID  # reason`; NODEID is relative to the
                          suite's tests/ directory: a file, a test, or a
                          parametrized test (`test_x.py::test_y[True]`).
                          A line starting with `[ca]` applies only to relays
                          whose domain does not start with `_` (a certificate
                          from a CA), where the suite does not skip tests
                          itself that it skips for `_` domains.
    --lab-record FILE     JSON written after collection: the deselected node
                          ids with their reasons, and the lines that matched
                          no test (a stale list after a version change; the
                          run counts each as a failure).

Under pytest-xdist every worker collects and deselects; only the first
(gw0) writes the record.
"""

import json
import os

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("lab", "the lab's run of core's online test suite")
    group.addoption("--lab-deselect", metavar="FILE", help="deselect the node ids in FILE (NODEID  # reason)")
    group.addoption("--lab-record", metavar="FILE", help="write the deselected node ids and reasons to FILE (JSON)")


def read_deselect(path, domain):
    """[(nodeid, reason)] of the lines that apply to a relay with this domain."""
    entries = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            text, _, reason = line.partition("#")
            text = text.strip()
            if not text:
                continue
            if text.startswith("[ca]"):
                if domain.startswith("_"):
                    continue
                text = text[len("[ca]"):].strip()
            if not reason.strip():
                raise pytest.UsageError(f"{path}:{n}: '{text}' has no reason (NODEID  # reason)")
            entries.append((text, reason.strip()))
    return entries


def matches(nodeid, entry):
    return nodeid == entry or nodeid.startswith((entry + "::", entry + "["))


@pytest.hookimpl(tryfirst=True)   # before -k and -m narrow the items
def pytest_collection_modifyitems(session, config, items):
    path = config.getoption("lab_deselect")
    if not path:
        return
    entries = read_deselect(path, os.environ.get("CHATMAIL_DOMAIN", ""))
    keep, dropped, used = [], [], set()
    for item in items:
        rel = item.nodeid.split("tests/", 1)[-1] if item.nodeid.startswith("tests/") else item.nodeid
        hit = next((e for e in entries if matches(rel, e[0])), None)
        if hit:
            dropped.append((item, rel, hit[1]))
            used.add(hit[0])
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=[d[0] for d in dropped])
        items[:] = keep
    record = config.getoption("lab_record")
    worker = getattr(config, "workerinput", {}).get("workerid", "gw0")
    if record and worker == "gw0":
        with open(record, "w") as f:
            json.dump({"deselected": [[rel, reason] for _, rel, reason in dropped],
                       "unmatched": [e for e, _ in entries if e not in used]}, f, indent=1)
