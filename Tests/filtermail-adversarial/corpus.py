#!/usr/bin/env python3
"""Hostile corpus for `chatmaild filtermail`, generated at test time.

Every case is a dict:

  name        unique, also the Message-ID token <adv-NAME@c.test>
  cls         recipient-spelling, mime-ambiguity, from-forgery, rate-limit,
              smuggling, openpgp-fake, securejoin, limits, valid
  direction   "outgoing" or "incoming"
  mail_from   text inside MAIL FROM:<...>, exactly as sent
  mail_params ESMTP parameters after the MAIL FROM address ("" mostly)
  rcpt        list of texts inside RCPT TO:<...>, exactly as sent
  data        message bytes as they must arrive, before dot-stuffing
  raw_wire    optional bytes sent verbatim after 354, end marker included
  expect      "accept", an SMTP code (int), or a list of alternatives;
              an alternative may also be "CODE@stage" or "5xx@stage"
  expect_at   stage of an int expect: "mail", "rcpt", "data" (the reply
              after the final dot), "bdat", "line"
  cleartext   True when delivering the message would reveal cleartext
  cleartext_ok  True when the gate may deliver that cleartext (legacy
              recipient, bounce, dropped DISABLED recipient): replay skips
              the differential check for it
  optional:   session (cases with the same value share one connection, in
              order), mode ("pipeline", "bdat", "longline"), line (bytes
              for longline), close (connection must close after the reply),
              slow (write the wire in chunks of this many bytes),
              sink ("none": nothing may reach the re-inject sink),
              sink_rcpt (recipients the sink must see, canonical),
              sink_mail_from (MAIL FROM the sink must see), note

Real OpenPGP comes from gpg with a throw-away GNUPGHOME (ed25519 signing
key + cv25519 encryption subkey); fake OpenPGP is crafted here packet by
packet. Upstream fixtures are read from ../shared/upstream-mail at run time
when present.

CLI: `corpus.py --out DIR` writes DIR/cases.json (bytes as base64) and
DIR/eml/NAME.eml; `corpus.py --summary` prints the counts per class.
"""
import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib

DOMAIN = "c.test"
ENFORCED = ("alice@c.test", "bob@c.test")      # have enforceE2EEincoming
LEGACY = "carol@c.test"                         # no flag: takes cleartext
DISABLED = "disabled@c.test"                    # has a DISABLED flag file
EXTERNAL = "friend@other.test"
STRANGER = "mallory@evil.test"                  # incoming sender
MAX_MESSAGE_SIZE = 2_000_000                    # the ini of the harness

HERE = os.path.dirname(os.path.abspath(__file__))
UPSTREAM = os.environ.get("UPSTREAM_MAIL") or os.path.normpath(
    os.path.join(HERE, "..", "..", "..", "shared", "upstream-mail"))

SECRET = "SECRET cleartext that must never pass the gate"


# ---------------------------------------------------------------------------
# Addresses

def canonical(addr: str) -> str:
    """The gate's canonical form of an envelope address: <> stripped, source
    route dropped, quoted local part unquoted when it is a plain dot-atom,
    ASCII lower-cased, trailing dot of the domain removed."""
    a = addr.strip()
    if a.startswith("<") and a.endswith(">"):
        a = a[1:-1]
    if a.startswith("@") and ":" in a:
        a = a.split(":", 1)[1]
    m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"@(.*)', a)
    if m:
        local = re.sub(r"\\(.)", r"\1", m.group(1))
        if re.fullmatch(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*", local):
            a = local + "@" + m.group(2)
    a = "".join(c.lower() if "A" <= c <= "Z" else c for c in a)
    return a[:-1] if a.endswith(".") else a


# ---------------------------------------------------------------------------
# OpenPGP: packets and armor

def crc24(data: bytes) -> int:
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def armor(data: bytes, kind="PGP MESSAGE", headers=(), crc=True) -> str:
    b64 = base64.b64encode(data).decode()
    lines = [f"-----BEGIN {kind}-----"] + [f"{k}: {v}" for k, v in headers] + [""]
    lines += [b64[i:i + 64] for i in range(0, len(b64), 64)]
    if crc:
        lines.append("=" + base64.b64encode(crc24(data).to_bytes(3, "big")).decode())
    lines.append(f"-----END {kind}-----")
    return "\n".join(lines) + "\n"


def packet(tag: int, body: bytes) -> bytes:
    """New-format packet header (RFC 4880 4.2.2) plus body."""
    n = len(body)
    if n < 192:
        length = bytes([n])
    elif n < 8384:
        n -= 192
        length = bytes([(n >> 8) + 192, n & 0xFF])
    else:
        length = b"\xff" + n.to_bytes(4, "big")
    return bytes([0xC0 | tag]) + length + body


def literal(text: str) -> bytes:
    return packet(11, b"b\x00\x00\x00\x00\x00" + text.encode())


def compressed(inner: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)  # algorithm 1: raw deflate
    return packet(8, b"\x01" + c.compress(inner) + c.flush())


def split_packets(data: bytes):
    """[(tag, raw packet bytes)] of a binary OpenPGP message."""
    out, i = [], 0
    while i < len(data):
        start, b = i, data[i]
        if b & 0x40:
            tag, i = b & 0x3F, i + 1
            while True:
                l0 = data[i]
                if l0 < 192:
                    i += 1 + l0
                    break
                if l0 < 224:
                    i += 2 + ((l0 - 192) << 8) + data[i + 1] + 192
                    break
                if l0 == 255:
                    i += 5 + int.from_bytes(data[i + 1:i + 5], "big")
                    break
                i += 1 + (1 << (l0 & 0x1F))
        else:
            tag, ltype, i = (b >> 2) & 0x0F, b & 3, i + 1
            if ltype == 3:
                i = len(data)
            else:
                n = 1 << ltype
                i += n + int.from_bytes(data[i:i + n], "big")
        out.append((tag, data[start:i]))
    return out


class GPG:
    """Real gpg with a throw-away home; every output is made once."""

    def __init__(self):
        self.home = tempfile.mkdtemp(prefix="fm-gpg-", dir="/tmp")  # short: agent socket path
        for uid, addr in (("Bob", "bob@c.test"), ("Alice", "alice@c.test")):
            self.run("--quick-gen-key", f"{uid} <{addr}>", "ed25519", "sign", "never")
            fpr = re.search(r"^fpr:+([0-9A-F]+):", self.run("--list-keys", "--with-colons", addr).decode(), re.M)
            self.run("--quick-add-key", fpr.group(1), "cv25519", "encr", "never")

    def run(self, *args, data=b""):
        cmd = ["gpg", "--homedir", self.home, "--batch", "--quiet", "--no-tty", "--trust-model", "always",
               "--pinentry-mode", "loopback", "--passphrase", "", *args]
        return subprocess.run(cmd, input=data, capture_output=True, check=True, timeout=120).stdout

    def close(self):
        subprocess.run(["gpgconf", "--homedir", self.home, "--kill", "all"], capture_output=True, timeout=30)
        shutil.rmtree(self.home, ignore_errors=True)


class Material:
    """Every OpenPGP blob the corpus uses, real or crafted."""

    def __init__(self, gpg: GPG):
        inner = b"Content-Type: text/plain\r\n\r\nhello from the encrypted side\r\n"
        self.enc_bin = gpg.run("--encrypt", "-r", "bob@c.test", data=inner)
        self.enc = gpg.run("--encrypt", "--armor", "-r", "bob@c.test", data=inner).decode()
        self.enc_sym = gpg.run("--symmetric", "--armor", "--passphrase", "pw", data=inner).decode()
        self.enc_two = gpg.run("--encrypt", "--armor", "-r", "bob@c.test", "-r", "alice@c.test", data=inner).decode()
        # Over 1 MB and incompressible: partial body lengths, the gate's
        # separate-thread path, still under max_message_size.
        self.enc_large = gpg.run("--encrypt", "--armor", "-z", "0", "-r", "bob@c.test",
                                 data=os.urandom(1_050_000)).decode()
        self.signed = gpg.run("--sign", "--armor", "-u", "alice@c.test", data=SECRET.encode()).decode()
        self.clearsigned = gpg.run("--clearsign", "-u", "alice@c.test", data=SECRET.encode()).decode()
        self.stored = gpg.run("--store", "--armor", "-z", "0", data=SECRET.encode()).decode()
        self.stored_z = gpg.run("--store", "--armor", data=SECRET.encode()).decode()
        pk = split_packets(self.enc_bin)
        assert [t for t, _ in pk] == [1, 18], [t for t, _ in pk]
        self.pkesk, self.seipd = pk[0][1], pk[1][1]
        self.literal = literal(SECRET)

    def crafted(self, *blobs, **kw) -> str:
        return armor(b"".join(blobs), **kw)


# ---------------------------------------------------------------------------
# Message text. Sources use "\n"; crlf() makes CRLF and then puts in the
# odd bytes a case asks for with markers.

def crlf(text: str) -> bytes:
    b = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    return b.replace(b"<<LF>>", b"\n").replace(b"<<CR>>", b"\r").replace(b"<<NUL>>", b"\0")


FROM = "From: <@@FROM@@>\n"
BOUNDARY = "Zm1iNzMyOGM0"
P1 = "Content-Type: application/pgp-encrypted\nContent-Description: PGP/MIME version identification\n"
P2 = ('Content-Type: application/octet-stream; name="encrypted.asc"\n'
      "Content-Description: OpenPGP encrypted message\n"
      'Content-Disposition: inline; filename="encrypted.asc";\n')


def headers(frm=FROM, extra=""):
    return (frm + "To: <@@TO@@>\nSubject: [...]\nDate: Sun, 22 Nov 2026 02:30:00 +0000\n"
            "Message-ID: <@@MSGID@@>\nChat-Version: 1.0\n" + extra + "MIME-Version: 1.0\n")


def pgp_ct(params):
    """The PGP/MIME Content-Type header with `params` after its protocol."""
    return 'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"' + params + "\n"


def enc_ct(boundary=BOUNDARY):
    return pgp_ct(f';\n boundary="{boundary}"')


def encrypted(arm, boundary=BOUNDARY, ct=None, frm=FROM, extra="", preamble="", epilogue="",
              p1=P1, p2=P2, v1="Version: 1\n", extra_parts="", close=True, body=None):
    """A PGP/MIME message; every piece can be replaced by a trick."""
    b = boundary
    if body is None:
        body = (preamble + f"--{b}\n" + p1 + "\n" + v1 + f"\n--{b}\n" + p2 + "\n" + arm + "\n"
                + extra_parts + (f"--{b}--\n" if close else "") + epilogue)
    return headers(frm, extra) + (ct if ct is not None else enc_ct(b)) + "\n" + body


SJ_HEADERS = "Secure-Join: vc-request\nSecure-Join-Invitenumber: fKcWbJq1pLxQ3nRz\n"


def securejoin(sj=SJ_HEADERS, body="Secure-Join: vc-request\n", boundary="sj-boundary-4", ct=None,
               part="Content-Type: text/plain; charset=utf-8\n", extra_parts="", preamble="", epilogue="",
               frm=FROM):
    ct = ct if ct is not None else f'Content-Type: multipart/mixed; boundary="{boundary}"\n'
    return (headers(frm, sj) + ct + "\n" + preamble + f"--{boundary}\n" + part + "\n" + body
            + extra_parts + f"--{boundary}--\n" + epilogue)


def plain(body=SECRET + "\n", frm=FROM, extra=""):
    return headers(frm, extra) + "Content-Type: text/plain; charset=utf-8\n\n" + body


def bounce(frm="From: Mail Delivery System <MAILER-DAEMON@example.org>\n",
           auto="Auto-Submitted: auto-replied\n",
           ctype="multipart/report; report-type=delivery-status", text="Your message could not be delivered.\n"):
    return (headers(frm, auto) + f'Content-Type: {ctype};\n\tboundary="dsn-boundary-2"\n\n'
            "--dsn-boundary-2\nContent-Type: text/plain; charset=us-ascii\n\n" + text +
            "\n--dsn-boundary-2\nContent-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns; example.org\n\nFinal-Recipient: rfc822; bob@c.test\nAction: failed\nStatus: 5.1.1\n"
            "\n--dsn-boundary-2--\n")


def text_part(b, ctype="text/plain", body=SECRET):
    return f"--{b}\nContent-Type: {ctype}\n\n{body}\n"


def upstream(name):
    """An upstream chatmaild template as CRLF text, or None when the shared
    fixtures are not there. Its Message-ID becomes ours."""
    path = os.path.join(UPSTREAM, "chatmaild-upstream", name)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        text = f.read().decode("utf-8").replace("\r\n", "\n")
    text = text.replace("{from_addr}", "@@FROM@@").replace("{to_addr}", "@@TO@@").replace("{subject}", "[...]")
    if re.search(r"(?mi)^Message-ID:", text):
        text = re.sub(r"(?mi)^Message-ID:.*$", "Message-ID: <@@MSGID@@>", text, count=1)
    else:
        text = "Message-ID: <@@MSGID@@>\n" + text
    return text


# ---------------------------------------------------------------------------

class Corpus:
    def __init__(self):
        self.cases = []

    def add(self, name, cls, direction, text, expect, *, mail_from=None, rcpt=None, expect_at="data",
            cleartext=None, cleartext_ok=False, raw_wire=None, **extra):
        assert direction in ("outgoing", "incoming") and not any(c["name"] == name for c in self.cases), name
        if mail_from is None:
            mail_from = f"{name}@{DOMAIN}" if direction == "outgoing" else STRANGER
        if rcpt is None:
            rcpt = [EXTERNAL] if direction == "outgoing" else ["bob@c.test"]
        subst = {"@@FROM@@": canonical(mail_from) if mail_from else "nobody@example.org",
                 "@@TO@@": rcpt[0], "@@MSGID@@": f"adv-{name}@{DOMAIN}",
                 "@@FROM_UPPER@@": canonical(mail_from).upper()}

        def fill(t):
            if isinstance(t, str):
                for k, v in subst.items():
                    t = t.replace(k, v)
                return crlf(t)
            for k, v in subst.items():
                t = t.replace(k.encode(), v.encode())
            return t
        data = fill(text)
        raw = fill(raw_wire) if raw_wire is not None else None
        if cleartext is None:
            cleartext = b"SECRET" in (raw if raw is not None else data)
        case = dict(name=name, cls=cls, direction=direction, mail_from=mail_from, mail_params="",
                    rcpt=list(rcpt), data=data, raw_wire=raw, expect=expect, expect_at=expect_at,
                    cleartext=cleartext, cleartext_ok=cleartext_ok)
        case.update(extra)
        self.cases.append(case)
        return case

    def both(self, name, cls, text, expect_out, expect_in=None, **kw):
        """The same message outgoing and incoming to an enforcing mailbox."""
        self.add("out-" + name, cls, "outgoing", text, expect_out, **kw)
        self.add("in-" + name, cls, "incoming", text, expect_out if expect_in is None else expect_in, **kw)


def build(m: Material, max_size=MAX_MESSAGE_SIZE):
    c = Corpus()
    add, both = c.add, c.both
    E = m.enc

    # ---------------------------------------------------------------- valid
    # Must pass: a gate that refuses everything fails here.
    add("out-valid-enc-pkesk", "valid", "outgoing", encrypted(E), "accept")
    add("out-valid-enc-skesk", "valid", "outgoing", encrypted(m.enc_sym), "accept")
    add("out-valid-enc-two-pkesk", "valid", "outgoing", encrypted(m.enc_two), "accept")
    add("out-valid-enc-large", "valid", "outgoing", encrypted(m.enc_large), "accept",
        note="over 1 MB, SEIPD with partial body lengths")
    add("out-valid-enc-unquoted-boundary", "valid", "outgoing",
        encrypted(E, ct=f"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary={BOUNDARY}\n"),
        "accept")
    b70 = "a'(b)+c_d,e-f.g/h:i=j" + "k" * 49
    add("out-valid-enc-boundary-70", "valid", "outgoing", encrypted(E, boundary=b70), "accept",
        note="70 characters from bcharsnospace")
    add("out-valid-securejoin-vc", "valid", "outgoing", securejoin(), "accept")
    add("out-valid-securejoin-vg", "valid", "outgoing",
        securejoin(sj="Secure-Join: vg-request\n", body="Secure-Join: vg-request\n"), "accept")
    add("out-valid-securejoin-body-case", "valid", "outgoing", securejoin(body="  SECURE-JOIN: VC-REQUEST  \n\n"),
        "accept", note="body is trimmed and lower-cased")
    add("out-valid-mail-params", "valid", "outgoing", encrypted(E), "accept", mail_params=" BODY=8BITMIME SIZE=4000")
    add("in-valid-enc-bob", "valid", "incoming", encrypted(E), "accept")
    add("in-valid-enc-alice-bob", "valid", "incoming", encrypted(m.enc_two), "accept", rcpt=["alice@c.test", "bob@c.test"])
    add("in-valid-enc-skesk", "valid", "incoming", encrypted(m.enc_sym), "accept")
    add("in-valid-enc-large", "valid", "incoming", encrypted(m.enc_large), "accept")
    add("in-valid-securejoin-vc", "valid", "incoming", securejoin(), "accept")
    add("in-valid-securejoin-vg", "valid", "incoming",
        securejoin(sj="Secure-Join: vg-request\n", body="Secure-Join: vg-request\n"), "accept")
    add("in-valid-legacy-carol", "valid", "incoming", plain("hello in cleartext\n"), "accept",
        rcpt=[LEGACY], cleartext=True, cleartext_ok=True)
    add("in-valid-legacy-carol-dave", "valid", "incoming", plain("hello in cleartext\n"), "accept",
        rcpt=[LEGACY, "dave@c.test"], cleartext=True, cleartext_ok=True)
    add("in-valid-legacy-8bit", "valid", "incoming",
        crlf(plain("Grüße, ½ € — naïve\nlatin-1: <<L1>>\n")).replace(b"<<L1>>", b"\xe9\xe8\xff"),
        "accept", rcpt=[LEGACY], cleartext=True, cleartext_ok=True, note="8-bit body bytes (UTF-8 and Latin-1)")
    add("in-valid-bounce-bob", "valid", "incoming", bounce(), "accept", mail_from="",
        cleartext=True, cleartext_ok=True)
    add("in-valid-bounce-lowercase", "valid", "incoming",
        bounce(frm="From: mailer-daemon@example.org\n"), "accept", mail_from="", cleartext=True, cleartext_ok=True)
    for name, tpl, exp in (("encrypted", "encrypted.eml", "accept"), ("securejoin-vc", "securejoin-vc.eml", "accept")):
        t = upstream(tpl)
        if t:
            add(f"out-valid-upstream-{name}", "valid", "outgoing", t, exp)
            add(f"in-valid-upstream-{name}", "valid", "incoming", t, exp)
    t = upstream("mailer-daemon.eml")
    if t:
        add("in-valid-upstream-mailer-daemon", "valid", "incoming", t, "accept", mail_from="",
            cleartext=True, cleartext_ok=True)
    add("out-valid-thunderbird-preamble", "valid", "outgoing",
        encrypted(E, preamble="This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\n"), ["accept", 523],
        note="prose preamble: either verdict is safe")

    # --------------------------------------------------- recipient-spelling
    # Incoming cleartext: 523 when any recipient refuses it, whatever the
    # spelling; a plain spelling of a legacy mailbox takes it.
    refusing = ['"bob"@c.test', '"b\\ob"@c.test', "@x.test:bob@c.test", "@x.test,@y.test:bob@c.test",
                "bob@c.test.", "bob%c.test@c.test", "c.test!bob@c.test", '"bob+x"@c.test', "BOB@C.TEST",
                "Bob@c.test", "bob@C.Test", "bob+tag@c.test", "bob+@c.test", "BOB+Tag@C.TEST",
                "alice+x+y@c.test", "bob@[127.0.0.1]", "bob/x@c.test", "bob..x@c.test", ".bob@c.test",
                "bob.@c.test", "bob@c..test", '"carol"@c.test', "carol@c.test.", "@x.test:carol@c.test",
                "carol%x.test@c.test", "x.test!carol@c.test", '"c\\arol"@c.test', "bob+tag@c.test.",
                '"bob"@[127.0.0.1]', "BOB%C.TEST@c.test", "bob@c.test", "alice@c.test"]
    for i, r in enumerate(refusing):
        add(f"in-rcpt-{i:02d}-" + re.sub(r"[^a-z0-9]+", "-", r.lower()).strip("-"), "recipient-spelling",
            "incoming", plain(), 523, rcpt=[r])
    # Syntax some gates refuse at RCPT already: either is safe.
    for i, r in enumerate(["bob@c.test@c.test", '"bob@c.test"@c.test', "bob @c.test", "bob@c.test ",
                           "bøb@c.test", "bob\\@c.test", "<bob@c.test>"]):
        add(f"in-rcpt-odd-{i}", "recipient-spelling", "incoming", plain(), [523, "5xx@rcpt"], rcpt=[r])
    add("in-rcpt-carol-and-bob", "recipient-spelling", "incoming", plain(), 523, rcpt=[LEGACY, "bob@c.test"])
    add("in-rcpt-carol-and-quoted-bob", "recipient-spelling", "incoming", plain(), 523, rcpt=[LEGACY, '"bob"@c.test'])
    add("in-rcpt-carol-and-upper-bob", "recipient-spelling", "incoming", plain(), 523, rcpt=[LEGACY, "BOB@C.TEST"])
    add("in-rcpt-dave-and-route-dave", "recipient-spelling", "incoming", plain(), 523,
        rcpt=["dave@c.test", "@x.test:dave@c.test"], note="source route alone refuses cleartext")
    for i, r in enumerate(["CAROL@C.TEST", "carol+news@c.test", "carol+bob@c.test", "dave@c.test"]):
        add(f"in-rcpt-legacy-ok-{i}", "recipient-spelling", "incoming", plain(), "accept", rcpt=[r],
            cleartext_ok=True, note="plain spelling of a mailbox without the flag")
    for i, r in enumerate(['"bob"@c.test', "@x.test:bob@c.test", "bob%c.test@c.test", "BOB@C.TEST"]):
        add(f"in-rcpt-enc-ok-{i}", "recipient-spelling", "incoming", encrypted(E), "accept", rcpt=[r])
    add("out-rcpt-quoted-plain", "recipient-spelling", "outgoing", plain(), 523, rcpt=['"bob"@other.test'])
    for i, r in enumerate(['"bob"@other.test', "@x.test:bob@other.test", "bob%other.test@c.test"]):
        add(f"out-rcpt-enc-ok-{i}", "recipient-spelling", "outgoing", encrypted(E), "accept", rcpt=[r])
    # DISABLED: the recipient is dropped; with none left the mail vanishes.
    add("in-disabled-only-enc", "recipient-spelling", "incoming", encrypted(E), "accept", rcpt=[DISABLED], sink="none")
    add("in-disabled-only-plain", "recipient-spelling", "incoming", plain(), "accept", rcpt=[DISABLED],
        sink="none", cleartext_ok=True)
    add("in-disabled-and-carol", "recipient-spelling", "incoming", plain(), "accept", rcpt=[DISABLED, LEGACY],
        sink_rcpt=[LEGACY], cleartext_ok=True)
    add("in-disabled-upper-and-carol", "recipient-spelling", "incoming", encrypted(E), "accept",
        rcpt=["DISABLED@C.TEST", LEGACY], sink_rcpt=[LEGACY], note="DISABLED looked up by canonical address")
    add("in-disabled-and-bob-plain", "recipient-spelling", "incoming", plain(), 523, rcpt=[DISABLED, "bob@c.test"])
    add("out-disabled-sender", "recipient-spelling", "outgoing", encrypted(E), "accept", mail_from=DISABLED,
        sink="none")

    # ------------------------------------------------------ mime-ambiguity
    # Each outgoing and incoming to bob: 523 unless the trick is a NUL.
    B = BOUNDARY

    def hidden_in_octet(b_other):
        """Valid for boundary B, and a text part for b_other hidden where
        a B-reader sees the armor part's body."""
        return E + f"--{b_other}\nContent-Type: text/plain\n\n{SECRET}\n--{b_other}--\n"

    # Content-Type parameters that two parsers may read differently; the
    # hidden text part only shows to a reader that picks "HiddenB".
    hidden = hidden_in_octet("HiddenB")
    for name, arm, params in (
            ("dup-boundary-first", hidden, f'; boundary="{B}"; boundary="HiddenB"'),
            ("dup-boundary-last", hidden, f'; boundary="HiddenB"; boundary="{B}"'),
            ("dup-boundary-same", E, f'; boundary="{B}"; boundary="{B}"'),
            ("dup-boundary-folded", hidden, f';\n boundary="{B}";\n\tboundary="HiddenB"'),
            ("dup-boundary-case", hidden, f'; boundary="{B}"; BOUNDARY="HiddenB"'),
            ("dup-protocol", E, f'; protocol="text/plain"; boundary="{B}"'),
            ("rfc2231-boundary", E, f"; boundary*=''{B}"),
            ("rfc2231-plus-plain", hidden, f"; boundary=\"{B}\"; boundary*=us-ascii''HiddenB"),
            ("rfc2231-continuation", E, f'; boundary*0="{B[:6]}"; boundary*1="{B[6:]}"'),
            ("rfc2231-continuation-ext", E, f"; boundary*0*=us-ascii''{B[:6]}; boundary*1=\"{B[6:]}\""),
            ("rfc2231-continuation-plus-plain", hidden, f'; boundary="{B}"; boundary*0="HiddenB"')):
        both("mime-" + name, "mime-ambiguity", encrypted(arm, ct=pgp_ct(params)), 523)
    ew = "=?utf-8?q?Zm1i?="
    both("mime-encoded-word-boundary", "mime-ambiguity",
         encrypted(E + f"--Zm1i\nContent-Type: text/plain\n\n{SECRET}\n--Zm1i--\n", boundary=ew), 523,
         note="literal form delimits the PGP parts, decoded form a text part")
    for tag, bnd in (("semicolon", "ab;cd"), ("quote", 'ab\\"cd'), ("backslash", "ab\\\\cd"), ("space", "ab cd"),
                     ("71", "b" * 71), ("huge", "h" * 5000), ("empty", "")):
        body_b = bnd.replace('\\"', '"').replace("\\\\", "\\")
        both(f"mime-boundary-{tag}", "mime-ambiguity", encrypted(E, boundary=body_b, ct=pgp_ct(f'; boundary="{bnd}"')), 523)
    both("mime-boundary-missing", "mime-ambiguity", encrypted(E, ct=pgp_ct("")), 523)
    both("mime-preamble-delimiter-prefix", "mime-ambiguity", encrypted(E, preamble=f"--{B}xyz\n"), 523)
    both("mime-preamble-fake-part", "mime-ambiguity",
         encrypted(E, preamble=f"--{B}-fake\nContent-Type: text/plain\n\n{SECRET}\n"), 523)
    both("mime-preamble-header-section", "mime-ambiguity",
         encrypted(E, preamble=f"Content-Type: text/plain\n\n{SECRET}\n"), 523,
         note="a header-looking preamble; the diffcheck refuses it, so must the gate")
    both("mime-epilogue-text", "mime-ambiguity", encrypted(E, epilogue=f"{SECRET}\n"), 523)
    both("mime-epilogue-part", "mime-ambiguity", encrypted(E, epilogue=text_part(B) + f"--{B}--\n"), 523)
    both("mime-epilogue-second-encrypted", "mime-ambiguity",
         encrypted(E, epilogue="\n" + enc_ct("Second") + "\n" + f"--Second\n{P1}\nVersion: 1\n\n--Second\n"
                   + "Content-Type: text/plain\n\n" + SECRET + "\n--Second--\n"), 523)
    both("mime-epilogue-close-twice", "mime-ambiguity", encrypted(E, epilogue=f"--{B}--\n{SECRET}\n"), 523)
    both("mime-delimiter-padding", "mime-ambiguity",
         encrypted(E, body=f"--{B}  \n{P1}\nVersion: 1\n\n--{B}\t\n{P2}\n{E}\n--{B}--  \n"), 523,
         note="transport padding after delimiters: not exactly a delimiter")
    both("mime-delimiter-suffix-in-part", "mime-ambiguity", encrypted(E + f"--{B}x\n"), 523)
    both("mime-close-missing", "mime-ambiguity", encrypted(E, close=False), 523)
    both("mime-third-part-text", "mime-ambiguity", encrypted(E, extra_parts=text_part(B)), 523)
    both("mime-third-part-html", "mime-ambiguity",
         encrypted(E, extra_parts=text_part(B, "text/html", f"<p>{SECRET}</p>")), 523)
    both("mime-nested-multipart-part1", "mime-ambiguity",
         encrypted(E, p1="Content-Type: multipart/mixed; boundary=Inner\n",
                   v1=f"--Inner\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n--Inner\nContent-Type: text/plain\n\n{SECRET}\n--Inner--\n"), 523)
    both("mime-nested-multipart-part2", "mime-ambiguity",
         encrypted(f"--Inner\nContent-Type: application/octet-stream\n\n{E}\n--Inner\nContent-Type: text/plain\n\n{SECRET}\n--Inner--\n",
                   p2="Content-Type: multipart/alternative; boundary=Inner\n"), 523)
    both("mime-parts-swapped", "mime-ambiguity",
         encrypted(E, body=f"--{B}\n{P2}\n{E}\n--{B}\n{P1}\nVersion: 1\n\n--{B}--\n"), 523)
    both("mime-bare-cr-top-header", "mime-ambiguity",
         encrypted(E, extra="Subject-X: hi<<CR>>Content-Type: text/plain\n"), 523)
    both("mime-bare-cr-part-header", "mime-ambiguity",
         encrypted(E, p2="Content-Type: application/octet-stream<<CR>>Content-Type: text/plain\n"), 523)
    both("mime-bare-cr-folded-ct", "mime-ambiguity",
         encrypted(E, ct=f'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";<<CR>> boundary="{B}"\n'), 523)
    both("mime-dup-ct-top-enc-first", "mime-ambiguity", encrypted(E, ct=enc_ct() + "Content-Type: text/plain\n"), 523)
    both("mime-dup-ct-top-text-first", "mime-ambiguity", encrypted(E, ct="Content-Type: text/plain\n" + enc_ct()), 523)
    both("mime-dup-ct-part1", "mime-ambiguity", encrypted(E, p1=P1 + "Content-Type: text/plain\n"), 523)
    both("mime-dup-ct-part2", "mime-ambiguity", encrypted(E, p2=P2 + "Content-Type: text/plain\n"), 523)
    # Transfer encodings on the two application parts cannot make a text
    # part; decoding them or not is safe as long as the decoded body is
    # the armor. Hiding text behind base64 padding is not.
    both("mime-cte-base64-armor", "mime-ambiguity",
         encrypted(base64.encodebytes(E.encode()).decode(), p2=P2 + "Content-Transfer-Encoding: base64\n"),
         ["accept", 523], note="decoded body is the armor")
    both("mime-cte-base64-version", "mime-ambiguity",
         encrypted(E, p1=P1 + "Content-Transfer-Encoding: base64\n", v1="VmVyc2lvbjogMQ==\n"), ["accept", 523])
    padded = E if len(E) % 3 else E + "\n"  # so that its base64 ends in '='
    both("mime-cte-base64-padding-trick", "mime-ambiguity",
         encrypted(base64.b64encode(padded.encode()).decode() + base64.b64encode(SECRET.encode()).decode() + "\n",
                   p2=P2 + "Content-Transfer-Encoding: base64\n"), 523,
         note="decoders that stop at the first padding see only the armor, others the text after it")
    both("mime-cte-qp-armor-text", "mime-ambiguity",
         encrypted(E + "=\n" + SECRET.replace(" ", "=20") + "\n", p2=P2 + "Content-Transfer-Encoding: quoted-printable\n"), 523)
    both("mime-folded-xheader-looks-like-ct", "mime-ambiguity",
         encrypted(E, extra="X-Trick: a\n Content-Type: text/plain\n"), "accept",
         note="a folded continuation is not a header: the message is fine")
    both("mime-ct-folded-params", "mime-ambiguity",
         encrypted(E, ct=f'Content-Type: multipart/encrypted;\n\tprotocol="application/pgp-encrypted";\n\tboundary="{B}"\n'),
         "accept", note="folding between parameters, as mail clients write it")
    both("mime-ct-folded-after-colon", "mime-ambiguity",
         encrypted(E, ct=f'Content-Type:\n multipart/encrypted; protocol="application/pgp-encrypted";\n boundary="{B}"\n'),
         ["accept", 523], note="legal folding right after the colon; refusing it is safe")
    both("mime-header-no-colon-before-ct", "mime-ambiguity",
         encrypted(E, extra="This line has no colon\n"), [523, 500],
         note="compat32 ends the header section at the colon-less line; a parse error (500) is safe too")
    both("mime-header-no-colon-in-part", "mime-ambiguity", encrypted(E, p2="Junk line in a part header\n" + P2), 523)
    both("mime-nul-in-header", "mime-ambiguity", encrypted(E, extra="X-Nul: a<<NUL>>b\n"), 500)
    both("mime-nul-in-part-header", "mime-ambiguity", encrypted(E, p2=P2 + "X-Nul: a<<NUL>>b\n"), 500)
    both("mime-version-2", "mime-ambiguity", encrypted(E, v1="Version: 2\n"), 523)
    both("mime-version-1-plus-text", "mime-ambiguity", encrypted(E, v1=f"Version: 1\n{SECRET}\n"), 523)
    both("mime-top-mixed-wrapping", "mime-ambiguity",
         headers() + 'Content-Type: multipart/mixed; boundary="Outer"\n\n--Outer\n' + enc_ct()
         + f"\n--{B}\n{P1}\nVersion: 1\n\n--{B}\n{P2}\n{E}\n--{B}--\n" + text_part("Outer") + "--Outer--\n", 523)
    both("mime-no-content-type", "mime-ambiguity",
         headers() + f"\n--{B}\n{P1}\nVersion: 1\n\n--{B}\n{P2}\n{E}\n--{B}--\n", 523)
    both("mime-ct-comment-boundary", "mime-ambiguity",
         encrypted(hidden_in_octet("HiddenB"), ct=f'Content-Type: multipart/encrypted (boundary="HiddenB"); protocol="application/pgp-encrypted"; boundary="{B}"\n'), 523,
         note="a comment that holds a parameter")
    both("mime-ct-param-garbage", "mime-ambiguity",
         encrypted(E, ct=f'Content-Type: multipart/encrypted; boundary="{B}" junk; protocol="application/pgp-encrypted"\n'), 523)
    both("mime-armor-plus-text-in-part", "mime-ambiguity", encrypted(E + "\n" + SECRET + "\n"), 523)
    both("mime-two-armors-in-part", "mime-ambiguity", encrypted(E + "\n" + E), 523)
    both("mime-part2-text-plain", "mime-ambiguity", encrypted(E, p2="Content-Type: text/plain\n"), 523)
    both("mime-ct-case", "mime-ambiguity",
         encrypted(E, ct=f'Content-Type: Multipart/Encrypted; PROTOCOL="application/pgp-encrypted"; BOUNDARY="{B}"\n'),
         ["accept", 523], note="legal but unusual: either verdict is safe")

    # ---------------------------------------------------------- from-forgery
    # Outgoing, encrypted body, From: must be one mailbox equal to MAIL FROM.
    forged = [
        ("two-from-same", FROM + FROM),
        ("two-from-other", FROM + "From: <bob@c.test>\n"),
        ("two-from-other-first", "From: <bob@c.test>\n" + FROM),
        ("two-from-lowercase-name", FROM + "from: bob@c.test\n"),
        ("comment-angle-addr", "From: bob@c.test (<@@FROM@@>)\n"),
        ("comment-with-at", "From: @@FROM@@ (bob@c.test)\n"),
        ("comment-with-lt", "From: (x<y) @@FROM@@\n"),
        ("comment-with-comma", "From: @@FROM@@ (a, b)\n"),
        ("comment-with-colon", "From: @@FROM@@ (a: b)\n"),
        ("comment-with-semicolon", "From: @@FROM@@ (a; b)\n"),
        ("comment-with-quote", "From: @@FROM@@ (a\" b)\n"),
        ("list-angle", "From: <bob@c.test>, <@@FROM@@>\n"),
        ("list-angle-self-first", "From: <@@FROM@@>, <bob@c.test>\n"),
        ("list-bare", "From: @@FROM@@, bob@c.test\n"),
        ("unquoted-name-with-at", "From: mallory@x <@@FROM@@>\n"),
        ("unquoted-name-is-address", "From: bob@c.test <@@FROM@@>\n"),
        ("two-angle-addrs", "From: <@@FROM@@> <bob@c.test>\n"),
        ("group", "From: Friends: @@FROM@@;\n"),
        ("group-empty", "From: undisclosed-recipients:;\n"),
        ("other-address", "From: <bob@c.test>\n"),
        ("missing", ""),
        ("empty", "From:\n"),
        ("null-path", "From: <>\n"),
        ("encoded-word-address", "From: =?utf-8?q?bob=40c.test?=\n"),
        ("obs-space-before-colon", FROM + "From : <bob@c.test>\n"),
    ]
    for tag, frm in forged:
        alt = [500, 523] if tag == "obs-space-before-colon" else 500
        add(f"out-from-{tag}", "from-forgery", "outgoing", encrypted(E, frm=frm), alt)
    # Non-ASCII letters do not fold to ASCII ones, whichever way a gate
    # folds case (Kelvin sign lower-cases to k, dotless i and long s
    # upper-case to I and S).
    for tag, local, ascii_local in (("dotted-capital-i", "al\u0130ce", "alice"), ("dotless-i", "al\u0131ce", "alice"),
                                    ("kelvin", "\u212aate", "kate"), ("long-s", "\u017fam", "sam")):
        add(f"out-from-unicode-{tag}", "from-forgery", "outgoing",
            encrypted(E, frm=f"From: <{local}-{tag}@c.test>\n"), 500, mail_from=f"{ascii_local}-{tag}@c.test")
    # Fine: display names and comments that are not addresses.
    fine = [
        ("display-name", 'From: "Alice Example" <@@FROM@@>\n'),
        ("comment-plain", "From: @@FROM@@ (Alice)\n"),
        ("uppercase", "From: <@@FROM_UPPER@@>\n"),
        ("folded", "From:\n <@@FROM@@>\n"),
        ("encoded-word-name-40", "From: =?utf-8?q?alice=40c.test?= <@@FROM@@>\n"),
        ("quoted-name-with-at", 'From: "bob@c.test" <@@FROM@@>\n'),
    ]
    for tag, frm in fine:
        add(f"out-from-ok-{tag}", "from-forgery", "outgoing", encrypted(E, frm=frm), "accept")
    # "@" is a special: RFC 2047 forbids it in an encoded word of a phrase,
    # and readers that decode first see an address list.
    add("out-from-encoded-word-name-at", "from-forgery", "outgoing",
        encrypted(E, frm="From: =?utf-8?q?alice@c.test?= <@@FROM@@>\n"), 500)
    add("out-from-ok-quoted-name-angle", "from-forgery", "outgoing",
        encrypted(E, frm='From: "<bob@c.test>" <@@FROM@@>\n'), ["accept", 500])
    # MAIL FROM in other spellings of the same mailbox; From: canonical.
    for tag, mf in (("uppercase", "MF-UPPER@C.TEST"), ("quoted", '"mf-quoted"@c.test'),
                    ("source-route", "@relay.test:mf-route@c.test"), ("trailing-dot", "mf-dot@c.test.")):
        add(f"out-mailfrom-ok-{tag}", "from-forgery", "outgoing", encrypted(E), "accept", mail_from=mf,
            note="From: is compared with the canonical MAIL FROM")
    for tag, mf in (("two-at", "a@b@c.test"), ("no-at", "noat"), ("null", ""), ("quoted-at", '"a@b"@c.test'),
                    ("route-only", "@x.test:"), ("comma", "a@c.test,b@c.test")):
        add(f"out-mailfrom-{tag}", "from-forgery", "outgoing", encrypted(E), 500, mail_from=mf, expect_at="mail")
    add("out-mailfrom-two-addresses", "from-forgery", "outgoing", encrypted(E, frm="From: <mf2a@c.test>\n"),
        ["5xx@mail", "accept"], mail_from="mf2a@c.test> <mf2b@c.test",
        note="the second address is a malformed ESMTP parameter: refusing or ignoring it is safe")
    # Incoming: a From: other than MAIL FROM passes, re-injected with <>.
    add("in-from-forged-enc", "from-forgery", "incoming", encrypted(E, frm="From: <alice@c.test>\n"), "accept",
        sink_mail_from="")
    add("in-from-forged-legacy", "from-forgery", "incoming", plain("hello\n", frm="From: <alice@c.test>\n"), "accept",
        rcpt=[LEGACY], cleartext=True, cleartext_ok=True, sink_mail_from="")
    # Fake bounces to an enforcing mailbox.
    for tag, text in (
            ("no-auto-submitted", bounce(auto="")),
            ("empty-auto-submitted", bounce(auto="Auto-Submitted:\n")),
            ("not-mailer-daemon", bounce(frm="From: <postmaster@example.org>\n")),
            ("mailer-daemon-prefix", bounce(frm="From: <mailer-daemon-x@evil.test>\n")),
            ("mailer-daemon-suffix", bounce(frm="From: <xmailer-daemon@evil.test>\n")),
            ("quoted-name", bounce(frm='From: "MAILER-DAEMON@example.org" <mallory@evil.test>\n')),
            ("comment", bounce(frm="From: mallory@evil.test (MAILER-DAEMON@example.org)\n")),
            ("two-from", bounce(frm="From: <MAILER-DAEMON@example.org>\nFrom: <mallory@evil.test>\n")),
            ("not-report", bounce(ctype="multipart/mixed"))):
        t = text.replace("Your message could not be delivered.", SECRET)
        add(f"in-fakebounce-{tag}", "from-forgery", "incoming", t, 523, mail_from="")

    # ---------------------------------------------------------- rate-limit
    # Burst 3, 60/min: one connection, messages back to back. Other
    # spellings of the same sender share its budget.
    seq = [("rl1@c.test", "accept"), ("rl1@c.test", "accept"), ("rl1@c.test", "accept"),
           ("rl1@c.test", ["accept", 450]), ('"rl1"@c.test', 450), ("RL1@c.test", 450), ("rl1@c.test.", 450),
           ("@x.test:rl1@c.test", 450), ("rl1@C.TEST", 450), ("rl1-other@c.test", "accept")]
    for i, (mf, exp) in enumerate(seq):
        add(f"out-rate-rl1-{i}", "rate-limit", "outgoing", encrypted(E), exp, mail_from=mf,
            expect_at="mail", session="rl1")
    seq = [("RL2@C.TEST", "accept"), ("Rl2@c.test", "accept"), ("rL2@C.test", "accept"),
           ("rl2@c.test", ["accept", 450]), ('"rl2"@c.test', 450), ("rl2@c.test.", 450), ("rl2@c.test", 450)]
    for i, (mf, exp) in enumerate(seq):
        add(f"out-rate-rl2-{i}", "rate-limit", "outgoing", encrypted(E), exp, mail_from=mf,
            expect_at="mail", session="rl2")

    # ----------------------------------------------------------- smuggling
    # raw_wire: the first message, a fake end, a smuggled transaction with
    # cleartext to bob, and the real end. Exactly one reply may come.
    def smuggle(fake_end, first=None):
        first = first if first is not None else encrypted(E)
        inner = plain(frm="From: <alice@c.test>\n").replace("<@@MSGID@@>", "<smuggled-@@MSGID@@>")
        w = crlf(first).rstrip(b"\r\n") + fake_end
        w += b"MAIL FROM:<alice@c.test>\r\nRCPT TO:<bob@c.test>\r\nDATA\r\n" + crlf(inner) + b".\r\n"
        return w

    for tag, end in (("lf-dot-crlf", b"\n.\r\n"), ("cr-dot-crlf", b"\r.\r\n"), ("lf-dot-lf", b"\n.\n"),
                     ("crlf-dot-lf", b"\r\n.\n"), ("crlf-dot-cr", b"\r\n.\r"), ("lf-dot-cr", b"\n.\r"),
                     ("crlf-dot-nul-crlf", b"\r\n.\0\r\n")):
        both(f"smuggle-{tag}", "smuggling", encrypted(E), 500, raw_wire=smuggle(end), cleartext=True)
    # A stuffed dot line is content: the rest is the message's epilogue.
    both("smuggle-stuffed-dot", "smuggling", encrypted(E), 523, raw_wire=smuggle(b"\r\n..\r\n"), cleartext=True)
    both("smuggle-dot-space", "smuggling", encrypted(E), 523, raw_wire=smuggle(b"\r\n. \r\n"), cleartext=True)
    both("smuggle-lf-dot-crlf-slow", "smuggling", encrypted(E), 500, raw_wire=smuggle(b"\n.\r\n"),
         cleartext=True, slow=5)
    add("in-dot-lines-legacy", "smuggling", "incoming",
        plain(".\n..\n...\n.MAIL FROM:<x@y>\n. \nend\n"), "accept", rcpt=[LEGACY], cleartext=True,
        cleartext_ok=True, note="stuffed on the wire, unstuffed at the sink")
    add("out-dot-lines-plain", "smuggling", "outgoing", plain(".\n..\nMAIL FROM:<a@c.test>\n.\n"), 523)
    add("in-bare-lf-body-legacy", "smuggling", "incoming", plain("line one<<LF>>line two\n"), 500,
        rcpt=[LEGACY], cleartext_ok=True)
    add("in-bare-cr-body-legacy", "smuggling", "incoming", plain("line one<<CR>>line two\n"), 500,
        rcpt=[LEGACY], cleartext_ok=True)
    add("in-bare-cr-header-legacy", "smuggling", "incoming", plain("x\n", extra="X-A: a<<CR>>b\n"), [523, 500],
        rcpt=[LEGACY], cleartext_ok=True, note="bare CR in a header: 523 by the rule, 500 also safe")
    add("out-bare-lf-armor", "smuggling", "outgoing", encrypted(E.replace("\n", "<<LF>>", 3)), 500)
    add("out-bare-cr-body", "smuggling", "outgoing", encrypted(E, epilogue="<<CR>>\n"), 500)
    add("out-bare-cr-armor", "smuggling", "outgoing", encrypted(E.replace("\n", "<<CR>>\n", 3)), 500)
    add("in-bare-cr-armor", "smuggling", "incoming", encrypted(E.replace("\n", "<<CR>>\n", 3)), 500)
    lf_only = encrypted(E).replace("\n", "<<LF>>")
    both("smuggle-lf-only-message", "smuggling", lf_only, 500)
    add("in-lf-only-legacy", "smuggling", "incoming", plain().replace("\n", "<<LF>>"), 500, rcpt=[LEGACY],
        cleartext_ok=True)
    both("smuggle-nul-in-body", "smuggling", encrypted(E, epilogue="<<NUL>>\n"), 500)
    add("in-nul-body-legacy", "smuggling", "incoming", plain("a<<NUL>>b\n"), 500, rcpt=[LEGACY], cleartext_ok=True)
    # Pipelining: everything in one write gives the same verdicts.
    add("out-pipelined-enc", "smuggling", "outgoing", encrypted(E), "accept", mode="pipeline")
    add("out-pipelined-plain", "smuggling", "outgoing", plain(), 523, mode="pipeline")
    add("out-pipelined-forged-from", "smuggling", "outgoing", encrypted(E, frm="From: <bob@c.test>\n"), 500,
        mode="pipeline")
    add("out-pipelined-smuggle", "smuggling", "outgoing", encrypted(E), 500, raw_wire=smuggle(b"\n.\r\n"),
        cleartext=True, mode="pipeline")
    add("in-pipelined-plain-bob", "smuggling", "incoming", plain(), 523, mode="pipeline")
    add("in-pipelined-quoted-bob", "smuggling", "incoming", plain(), 523, mode="pipeline", rcpt=['"bob"@c.test'])
    add("in-pipelined-legacy", "smuggling", "incoming", plain("hello\n"), "accept", mode="pipeline",
        rcpt=[LEGACY], cleartext=True, cleartext_ok=True)
    add("in-pipelined-smuggle", "smuggling", "incoming", encrypted(E), 500, raw_wire=smuggle(b"\r.\r\n"),
        cleartext=True, mode="pipeline")
    add("out-slow-enc", "smuggling", "outgoing", encrypted(E), "accept", slow=3)
    add("in-slow-plain-bob", "smuggling", "incoming", plain(), 523, slow=1)
    # BDAT is not offered: its chunk must not be taken as a message.
    for prefix, d in (("out", "outgoing"), ("in", "incoming")):
        add(f"{prefix}-bdat", "smuggling", d, plain(), 500, expect_at="bdat", mode="bdat")

    # -------------------------------------------------------- openpgp-fake
    fakes = [
        ("literal-gpg-store", m.stored, True),
        ("compressed-gpg-store", m.stored_z, True),
        ("literal-crafted", m.crafted(m.literal), True),
        ("compressed-crafted", m.crafted(compressed(m.literal)), True),
        ("signed-only", m.signed, True),
        ("pkesk-then-literal", m.crafted(m.pkesk, m.literal), True),
        ("pkesk-then-compressed", m.crafted(m.pkesk, compressed(m.literal)), True),
        ("seipd-then-literal", m.crafted(m.pkesk, m.seipd, m.literal), True),
        ("seipd-then-garbage", m.crafted(m.pkesk, m.seipd, b"\x00garbage"), False),
        ("seipd-before-pkesk", m.crafted(m.seipd, m.pkesk), False),
        ("pkesk-only", m.crafted(m.pkesk), False),
        ("two-seipd", m.crafted(m.pkesk, m.seipd, m.seipd), False),
        ("pkesk-then-sed", m.crafted(m.pkesk, packet(9, os.urandom(64))), False),
        ("marker-first", m.crafted(packet(10, b"PGP"), m.pkesk, m.seipd), False),
        ("seipd-v3", m.crafted(m.pkesk, packet(18, b"\x03" + os.urandom(64))), False),
        ("pkesk-partial-length", m.crafted(bytes([0xC1, 0xE0 | 5]) + m.pkesk[2:2 + 32] + b"\x00", m.seipd), False),
        ("seipd-truncated", m.crafted(m.pkesk, m.seipd[:-10]), False),
        ("empty-armor", m.crafted(b""), False),
        ("armor-trailing-text", E + SECRET + "\n", True),
        ("armor-leading-text", SECRET + "\n" + E, True),
        ("two-armor-blocks", E + "\n" + m.crafted(m.literal), True),
        ("armor-signature-type", m.crafted(m.pkesk, m.seipd, kind="PGP SIGNATURE"), False),
        ("armor-part-1-of-2", m.crafted(m.pkesk, m.seipd, kind="PGP MESSAGE, PART 1/2"), False),
        ("armor-lowercase", E.replace("BEGIN PGP MESSAGE", "begin pgp message").replace("END PGP MESSAGE", "end pgp message"), False),
        ("armor-bad-base64", E.replace("\n\n", "\n\n!!!!", 1), False),
        ("armor-comment-header", m.crafted(m.pkesk, m.seipd, headers=[("Comment", SECRET)]), True),
        ("clearsigned", m.clearsigned, True),
    ]
    for tag, arm, clear in fakes:
        add(f"out-pgp-{tag}", "openpgp-fake", "outgoing", encrypted(arm), 523, cleartext=clear)
        add(f"in-pgp-{tag}", "openpgp-fake", "incoming", encrypted(arm), 523, cleartext=clear)
    add("out-pgp-seipd-only", "openpgp-fake", "outgoing", encrypted(m.crafted(m.seipd)), [523, "accept"],
        cleartext=False, note="no key packet: unreadable, either verdict is safe")
    add("out-pgp-armor-version-header", "openpgp-fake", "outgoing",
        encrypted(m.crafted(m.pkesk, m.seipd, headers=[("Version", "GnuPG v2")])), 523,
        note="armor headers are accepted incoming only")
    add("in-pgp-armor-version-header", "openpgp-fake", "incoming",
        encrypted(m.crafted(m.pkesk, m.seipd, headers=[("Version", "GnuPG v2")])), ["accept", 523])
    both("pgp-armor-in-text-plain", "openpgp-fake", plain(E), 523, cleartext=False)
    both("pgp-inline-application-type", "openpgp-fake",
         headers() + "Content-Type: application/pgp-encrypted\n\n" + E, 523, cleartext=False)
    for tpl in ("fake-encrypted.eml", "literal.eml"):
        t = upstream(tpl)
        if t:
            both("pgp-upstream-" + tpl[:-4], "openpgp-fake", t, 523, cleartext=True)
    add("in-pgp-literal-legacy", "openpgp-fake", "incoming", encrypted(m.crafted(m.literal)), "accept",
        rcpt=[LEGACY], cleartext=True, cleartext_ok=True)
    add("in-pgp-pkesk-literal-legacy", "openpgp-fake", "incoming", encrypted(m.crafted(m.pkesk, m.literal)),
        "accept", rcpt=[LEGACY], cleartext=True, cleartext_ok=True)

    # ---------------------------------------------------------- securejoin
    sj_fakes = [
        ("two-headers", securejoin(sj=SJ_HEADERS + "Secure-Join: vc-request\n")),
        ("two-headers-vc-vg", securejoin(sj=SJ_HEADERS + "Secure-Join: vg-request\n")),
        ("two-headers-case", securejoin(sj=SJ_HEADERS + "secure-join: vc-request\n")),
        ("other-value", securejoin(sj="Secure-Join: vc-auth-required\n", body="Secure-Join: vc-auth-required\n")),
        ("header-empty", securejoin(sj="Secure-Join:\n")),
        ("header-value-extra", securejoin(sj=f"Secure-Join: vc-request {SECRET}\n")),
        ("no-header", securejoin(sj="")),
        ("extra-text-part", securejoin(extra_parts=text_part("sj-boundary-4"))),
        ("extra-html-part", securejoin(extra_parts=text_part("sj-boundary-4", "text/html", f"<b>{SECRET}</b>"))),
        ("wrong-body", securejoin(body=f"Secure-Join: vc-request\n{SECRET}\n")),
        ("body-hello", securejoin(body=f"{SECRET}\n")),
        ("top-text-plain", headers(extra=SJ_HEADERS) + "Content-Type: text/plain\n\nSecure-Join: vc-request\n"),
        ("html-part", securejoin(part="Content-Type: text/html\n")),
        ("nested-mixed", securejoin(part="Content-Type: multipart/mixed; boundary=Inner\n",
                                    body=f"--Inner\nContent-Type: text/plain\n\nSecure-Join: vc-request\n--Inner\nContent-Type: text/plain\n\n{SECRET}\n--Inner--\n")),
        ("dup-boundary", securejoin(ct='Content-Type: multipart/mixed; boundary="sj-boundary-4"; boundary="HiddenB"\n',
                                    body=f"Secure-Join: vc-request\n--HiddenB\nContent-Type: text/plain\n\n{SECRET}\n--HiddenB--\n")),
        ("epilogue-part", securejoin(epilogue=f"--sj-boundary-4\nContent-Type: text/plain\n\n{SECRET}\n")),
        ("preamble-header-section", securejoin(preamble=f"Content-Type: text/plain\n\n{SECRET}\n")),
        ("dup-ct-part", securejoin(part="Content-Type: text/plain\nContent-Type: text/html\n")),
        ("dup-ct-top", securejoin(ct='Content-Type: multipart/mixed; boundary="sj-boundary-4"\nContent-Type: text/plain\n')),
        ("bare-cr-header", securejoin(sj="Secure-Join: vc-request<<CR>>X: y\n")),
        ("mixed-no-part", headers(extra=SJ_HEADERS) + 'Content-Type: multipart/mixed; boundary="e"\n\n'
                                                      f"{SECRET}\n--e--\n"),
    ]
    for tag, text in sj_fakes:
        both(f"sj-{tag}", "securejoin", text, 523)
    t = upstream("securejoin-vc-fake.eml")
    if t:
        both("sj-upstream-fake", "securejoin", t, 523, cleartext=True)
    add("in-sj-fake-legacy", "securejoin", "incoming", securejoin(extra_parts=text_part("sj-boundary-4")), "accept",
        rcpt=[LEGACY], cleartext_ok=True)
    add("out-sj-lowercase-header-name", "securejoin", "outgoing",
        securejoin(sj="secure-join: vc-request\n"), "accept", note="header names are case-insensitive")

    # -------------------------------------------------------------- limits
    pad = ("X" * 76 + "\n") * ((max_size + 400_000) // 77)
    add("out-too-big", "limits", "outgoing", plain(pad), 552, cleartext=False)
    add("in-too-big-legacy", "limits", "incoming", plain(pad), 552, rcpt=[LEGACY], cleartext_ok=True)
    add("out-1000-rcpt", "limits", "outgoing", encrypted(E), "accept",
        rcpt=[f"r{i}@other.test" for i in range(1000)])
    add("out-1001-rcpt", "limits", "outgoing", encrypted(E), 452, expect_at="rcpt",
        rcpt=[f"r{i}@other.test" for i in range(1001)])
    add("in-1001-rcpt", "limits", "incoming", encrypted(E), 452, expect_at="rcpt",
        rcpt=[f"r{i}@c.test" for i in range(1001)])
    add("out-long-command", "limits", "outgoing", plain(), 500, expect_at="line", mode="longline",
        line=b"NOOP " + b"x" * 5000 + b"\r\n", close=True)
    add("out-long-mail-from", "limits", "outgoing", plain(), 500, expect_at="line", mode="longline",
        line=b"MAIL FROM:<" + b"a" * 5000 + b"@c.test>\r\n", close=True)
    add("in-long-rcpt", "limits", "incoming", plain(), 500, expect_at="line", mode="longline",
        line=b"MAIL FROM:<mallory@evil.test>\r\nRCPT TO:<" + b"b" * 5000 + b"@c.test>\r\n", close=True,
        note="the MAIL is answered first; the long RCPT closes")
    add("in-long-line-unterminated", "limits", "incoming", plain(), 500, expect_at="line", mode="longline",
        line=b"NOOP " + b"y" * 5000, close=True)
    nest = 200
    deep = (headers() + 'Content-Type: multipart/mixed; boundary="n0"\n\n'
            + "".join(f'--n{i}\nContent-Type: multipart/mixed; boundary="n{i + 1}"\n\n' for i in range(nest))
            + f"--n{nest}\nContent-Type: text/plain\n\n{SECRET}\n"
            + "".join(f"--n{i}--\n" for i in range(nest, -1, -1)))
    add("in-deep-nesting-bob", "limits", "incoming", deep, 523)
    add("in-deep-nesting-legacy", "limits", "incoming", deep, "accept", rcpt=[LEGACY], cleartext_ok=True)
    many = headers() + 'Content-Type: multipart/mixed; boundary="m"\n\n' + "".join(
        text_part("m", body=f"part {i} {SECRET}") for i in range(3000)) + "--m--\n"
    add("in-many-parts-bob", "limits", "incoming", many, 523)
    add("out-empty-message", "limits", "outgoing", b"", [500, 523], raw_wire=b".\r\n",
        note="'.' right after 354 ends an empty message")
    add("in-empty-message-legacy", "limits", "incoming", b"", ["accept", 500], raw_wire=b".\r\n",
        rcpt=[LEGACY], cleartext_ok=True)
    add("in-empty-message-bob", "limits", "incoming", b"", [523, 500], raw_wire=b".\r\n")
    upstream_fixtures(c)
    return c.cases


def upstream_raw(name):
    """A byte-exact filtermail v0.7.4 test message (CRLF), or None."""
    path = os.path.join(UPSTREAM, "filtermail-upstream", name)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        text = f.read().decode("utf-8").replace("\r\n", "\n")
    return re.sub(r"(?mi)^Message-ID:.*$", "Message-ID: <@@MSGID@@>", text, count=1)


def upstream_fixtures(c):
    """Upstream's own test messages in both directions, with the verdicts
    upstream's tests assert (chatmaild test_filtermail.py, filtermail
    v0.7.4 tests): encrypted and Secure-Join pass, cleartext, MDNs, fake
    encryption and literal data are refused where cleartext is refused, a
    bounce passes incoming, an Autocrypt Setup Message only to oneself."""
    verdicts = {"encrypted.eml": "accept", "securejoin-vc.eml": "accept", "plain.eml": 523, "mdn.eml": 523,
                "fake-encrypted.eml": 523, "literal.eml": 523, "securejoin-vc-fake.eml": 523}
    for tpl, verdict in verdicts.items():
        t = upstream(tpl)
        if t:
            tag = tpl[:-4]
            c.add(f"out-upstream-chatmaild-{tag}", "upstream", "outgoing", t, verdict, cleartext=verdict != "accept")
            c.add(f"in-upstream-chatmaild-{tag}", "upstream", "incoming", t, verdict, cleartext=verdict != "accept")
    t = upstream("plain.eml")
    if t:
        c.add("in-upstream-chatmaild-plain-legacy", "upstream", "incoming", t, "accept", rcpt=[LEGACY],
              cleartext=True, cleartext_ok=True)
    t = upstream("asm.eml")
    if t:
        c.add("out-upstream-chatmaild-asm-self", "upstream", "outgoing", t, "accept",
              mail_from="asm-self@c.test", rcpt=["asm-self@c.test"], cleartext=True, cleartext_ok=True)
        c.add("out-upstream-chatmaild-asm-other", "upstream", "outgoing", t, 523, cleartext=True)
    t = upstream("mailer-daemon.eml")
    if t:
        c.add("in-upstream-chatmaild-mailer-daemon", "upstream", "incoming", t, "accept", mail_from="",
              cleartext=True, cleartext_ok=True)
    # filtermail v0.7.4's byte-exact messages; their From: is fixed, so the
    # outgoing sender is that address.
    for name, sender, verdict in (("encrypted.eml", "one@example.org", "accept"),
                                  ("securejoin-vc.eml", None, "accept"), ("plain.eml", None, 523),
                                  ("mdn.eml", None, 523), ("fake-encrypted.eml", None, 523),
                                  ("literal.eml", None, 523), ("securejoin-vc-fake.eml", None, 523),
                                  ("asm.eml", None, 523)):
        t = upstream_raw(name)
        if not t:
            continue
        m = re.search(r"(?mi)^From:.*?<?([^<>\s]+@[^<>\s]+?)>?\s*$", t)
        frm = sender or (m.group(1) if m else "one@example.org")
        tag = name[:-4]
        # Outgoing, each case sends as its own user (one sender would run
        # into the rate limit): the fixture's From address is replaced.
        c.add(f"out-upstream-filtermail-{tag}", "upstream", "outgoing", t.replace(frm, "@@FROM@@"), verdict,
              cleartext=verdict != "accept")
        c.add(f"in-upstream-filtermail-{tag}", "upstream", "incoming", t, verdict, mail_from=frm,
              cleartext=verdict != "accept")
    for name in ("encrypted-ipv4.eml", "encrypted-ipv6.eml"):
        t = upstream_raw(name)
        if t:
            m = re.search(r"(?mi)^From:\s*<?([^<>\s]+)>?\s*$", t)
            c.add(f"in-upstream-filtermail-{name[:-4]}", "upstream", "incoming", t, "accept",
                  mail_from=m.group(1) if m else "")
    t = upstream_raw("mailer-daemon.eml")
    if t:
        c.add("in-upstream-filtermail-mailer-daemon", "upstream", "incoming", t, "accept", mail_from="",
              cleartext=True, cleartext_ok=True)


# ---------------------------------------------------------------------------
# Storage: JSON with bytes as base64, and the messages as .eml files.

BYTES_FIELDS = ("data", "raw_wire", "line")


def save(cases, out):
    os.makedirs(os.path.join(out, "eml"), exist_ok=True)
    rows = []
    for case in cases:
        row = dict(case)
        for k in BYTES_FIELDS:
            if row.get(k) is not None:
                row[k] = base64.b64encode(row[k]).decode()
        rows.append(row)
        with open(os.path.join(out, "eml", case["name"] + ".eml"), "wb") as f:
            f.write(case["raw_wire"] if case.get("raw_wire") is not None else case["data"])
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(rows, f)


def load(out):
    with open(os.path.join(out, "cases.json")) as f:
        rows = json.load(f)
    for row in rows:
        for k in BYTES_FIELDS:
            if row.get(k) is not None:
                row[k] = base64.b64decode(row[k])
    return rows


def generate(max_size=MAX_MESSAGE_SIZE):
    gpg = GPG()
    try:
        return build(Material(gpg), max_size)
    finally:
        gpg.close()


def summary(cases):
    counts = {}
    for case in cases:
        key = (case["cls"], case["direction"])
        counts[key] = counts.get(key, 0) + 1
    lines = []
    for cls in sorted({k[0] for k in counts}):
        o, i = counts.get((cls, "outgoing"), 0), counts.get((cls, "incoming"), 0)
        lines.append(f"{cls:20} {o + i:4}  (outgoing {o}, incoming {i})")
    lines.append(f"{'total':20} {len(cases):4}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="write cases.json and eml/ here")
    ap.add_argument("--max-message-size", type=int, default=MAX_MESSAGE_SIZE)
    ap.add_argument("--summary", action="store_true", help="print the number of cases per class")
    args = ap.parse_args()
    if shutil.which("gpg") is None:
        print("corpus: gpg is missing", file=sys.stderr)
        return 1
    if not os.path.isdir(UPSTREAM):
        print(f"corpus: note: no upstream fixtures at {UPSTREAM}, those cases are left out", file=sys.stderr)
    cases = generate(args.max_message_size)
    if args.out:
        save(cases, args.out)
    if args.summary or not args.out:
        print(summary(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
