#!/usr/bin/env python3
"""Proves the differential checker can fail, and that it passes real mail.

Messages that hide a cleartext part from some reader must give a non-empty
disagreement list; a real gpg-encrypted PGP/MIME message and a real
Secure-Join request must give none. Ends with
`diffcheck-selftest: N passed, N failed`.
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
from corpus import BOUNDARY as B, encrypted, plain, securejoin, text_part  # noqa: E402
import diffcheck  # noqa: E402


def main():
    gpg = corpus.GPG()
    try:
        m = corpus.Material(gpg)
    finally:
        gpg.close()
    E = m.enc
    hidden = f"--HiddenB\nContent-Type: text/plain\n\n{corpus.SECRET}\n--HiddenB--\n"
    bad = {
        # Python splits on the first boundary; a reader taking the last one
        # sees only the text part that sits inside the armor part's body.
        "duplicate boundary, hidden part for the second": encrypted(
            E + hidden, ct=f'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="{B}"; boundary="HiddenB"\n'),
        "duplicate boundary, hidden part for the first": encrypted(
            E + hidden, ct=f'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="HiddenB"; boundary="{B}"\n'),
        "duplicate boundary, hidden part in the epilogue": encrypted(
            E, ct=f'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="{B}"; boundary="HiddenB"\n',
            epilogue=hidden),
        "multipart/encrypted with a third text part": encrypted(E, extra_parts=text_part(B)),
        "preamble with a fake delimiter and header section": encrypted(
            E, preamble=f"--{B}-fake\nContent-Type: text/plain\n\n{corpus.SECRET}\n"),
        "RFC 2231 boundary next to a plain one": encrypted(
            E + hidden, ct=f"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"{B}\"; boundary*=us-ascii''HiddenB\n"),
        "literal data packet in the armor": encrypted(m.crafted(m.literal)),
        "PKESK followed by a literal packet": encrypted(m.crafted(m.pkesk, m.literal)),
        "text after the armor": encrypted(E + corpus.SECRET + "\n"),
        "two Content-Type headers in the armor part": encrypted(E, p2=corpus.P2 + "Content-Type: text/plain\n"),
        "delimiter with transport padding": encrypted(E, body=f"--{B}  \n{corpus.P1}\nVersion: 1\n\n--{B}\n{corpus.P2}\n{E}\n--{B}--\n"),
        "plain text": plain(),
        "Secure-Join with a second text part": securejoin(extra_parts=f"--sj-boundary-4\nContent-Type: text/plain\n\n{corpus.SECRET}\n"),
        "Secure-Join with two Secure-Join headers": securejoin(sj=corpus.SJ_HEADERS + "Secure-Join: vc-request\n"),
        "bare LF in the armor": encrypted(E.replace("\n", "<<LF>>", 2)),
    }
    good = {
        "real gpg PKESK+SEIPD PGP/MIME": encrypted(E),
        "real gpg SKESK+SEIPD PGP/MIME": encrypted(m.enc_sym),
        "real gpg, two recipients": encrypted(m.enc_two),
        "real gpg, over 1 MB with partial lengths": encrypted(m.enc_large),
        "Secure-Join vc-request": securejoin(),
        "Secure-Join vg-request": securejoin(sj="Secure-Join: vg-request\n", body="Secure-Join: vg-request\n"),
    }
    for name in ("encrypted.eml", "securejoin-vc.eml"):
        text = corpus.upstream(name)
        if text:
            good[f"upstream {name}"] = text

    c = corpus.Corpus()
    passed = failed = 0
    for i, (label, text) in enumerate(list(bad.items()) + list(good.items())):
        case = c.add(f"selftest-{i}", "valid", "outgoing", text, "accept")
        problems = diffcheck.check(case["data"])
        want_problems = label in bad
        ok = bool(problems) == want_problems
        passed, failed = passed + ok, failed + (not ok)
        if ok:
            print(f"ok   {'flags' if want_problems else 'passes'}: {label}")
        else:
            print(f"FAIL {'flags' if want_problems else 'passes'}: {label}: "
                  + ("no disagreement found" if want_problems else "; ".join(problems[:4])))
    print(f"diffcheck-selftest: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
