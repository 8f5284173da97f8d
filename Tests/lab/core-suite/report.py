#!/usr/bin/env python3
"""The summary of one run of core's online test suite.

    report.py JUNIT_XML RECORD_JSON DESELECT_FILE [RUN_FAILURE]

Reads pytest's JUnit XML and lab_core_suite.py's record, prints one line per
test (`ok`, `FAIL` with the first lines of the error, `skip` with the
suite's own reason, `desel` with the reason from DESELECT_FILE), the skip and
deselect counts by reason, and last

    core-suite: P passed, F failed, S skipped, D deselected

where F counts failures and errors (a test failing in its call and its
teardown counts once) plus every line of DESELECT_FILE that matched no test, plus one for
RUN_FAILURE (the run itself broke: interrupted, pytest error ...).
Exits 1 when F > 0.
"""

import collections
import json
import sys
import xml.etree.ElementTree as ET


def nodeid(case):
    """tests/ relative node id from JUnit's classname and name."""
    classname, name = case.get("classname", ""), case.get("name", "")
    if not classname:                      # a collection error: name is the module path
        return name.replace(".", "/") + ".py"
    parts = classname.split(".")
    if parts[0] == "tests":
        parts = parts[1:]
    return "::".join([parts[0] + ".py"] + parts[1:] + [name])


def first_lines(text, n=6):
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[:n]


def main():
    junit, record_path, deselect_file = sys.argv[1:4]
    run_failure = sys.argv[4] if len(sys.argv) > 4 else None
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"FAIL the suite left no readable JUnit report ({e})")
        print("core-suite: 0 passed, 1 failed, 0 skipped, 0 deselected")
        return 1
    try:
        with open(record_path) as f:
            record = json.load(f)
    except (OSError, ValueError):
        record = {"deselected": [], "unmatched": []}

    passed = failed = skipped = 0
    skip_reasons = collections.Counter()
    for case in root.iter("testcase"):
        nid, secs = nodeid(case), float(case.get("time") or 0)
        bad = case.findall("failure") + case.findall("error")
        skip = case.find("skipped")
        if bad:
            failed += 1
            print(f"FAIL {nid} ({secs:.1f} s)")
            for el in bad:
                what = "error" if el.tag == "error" else "failure"
                msg = first_lines(el.get("message"), 2) or first_lines(el.text, 2)
                print(f"     | {what}: " + " / ".join(msg)[:400])
        elif skip is not None:
            skipped += 1
            reason = (skip.get("message") or "").strip()
            skip_reasons[(nid.split("::")[0], reason)] += 1
            print(f"skip {nid}: {reason}")
        else:
            passed += 1
            print(f"ok   {nid} ({secs:.1f} s)")

    by_reason = collections.Counter()
    for nid, reason in record.get("deselected", []):
        print(f"desel {nid}: {reason}")
        by_reason[(nid.split("::")[0], reason)] += 1
    for entry in record.get("unmatched", []):
        failed += 1
        print(f"FAIL {deselect_file}: '{entry}' matches no test of this suite version (remove or fix the line)")

    if run_failure:
        failed += 1
        print(f"FAIL the run: {run_failure}")

    print(f"skipped by the suite itself: {skipped}")
    for (file, reason), n in sorted(skip_reasons.items()):
        print(f"  {n:3d}  {file}: {reason}")
    deselected = sum(by_reason.values())
    print(f"deselected by {deselect_file}: {deselected}")
    for (file, reason), n in sorted(by_reason.items()):
        print(f"  {n:3d}  {file}: {reason}")
    print(f"core-suite: {passed} passed, {failed} failed, {skipped} skipped, {deselected} deselected")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
