#!/usr/bin/env python3
"""Differential MIME check for messages the filtermail gate accepted.

The gate has its own MIME reader. A message it lets through as "encrypted"
or as a Secure-Join request must look exactly like that to every other
reader too, or a mail client somewhere may show a cleartext part the gate
never saw. This module reads the message with Python's `email` package in
both `policy.compat32` and `policy.default`, adds a few raw byte checks that
do not depend on any parser, and lists every place where a reader sees
something outside the two allowed shapes:

  (a) top `multipart/encrypted` with exactly two leaf parts,
      `application/pgp-encrypted` (body `Version: 1`) and
      `application/octet-stream` holding one `BEGIN PGP MESSAGE` armor whose
      packets are PKESK/SKESK followed by one SEIPD that ends the data;
  (b) a Secure-Join request: one `Secure-Join: vc-request|vg-request`
      header, top `multipart/mixed` with exactly one `text/plain` part whose
      stripped, lower-cased body is `secure-join: vc-request|vg-request`.

`check(data) -> list[str]` returns the disagreements (empty = consistent).
CLI: `diffcheck.py FILE...` prints them per file, exit 1 if any.
Standard library only.
"""
import base64
import re
import sys
from email import policy
from email.header import decode_header
from email.parser import BytesParser

SECURE_JOIN_BODIES = {"secure-join: vc-request", "secure-join: vg-request"}
SECURE_JOIN_VALUES = {"vc-request", "vg-request"}

# A line that a MIME reader could take as a header field ("Name: value").
HEADER_LIKE = re.compile(r"^[\x21-\x39\x3b-\x7e]+[ \t]*:")

ARMOR_BEGIN = b"-----BEGIN PGP MESSAGE-----"
ARMOR_END = b"-----END PGP MESSAGE-----"


# ---------------------------------------------------------------------------
# OpenPGP: an independent packet walk (RFC 4880 / RFC 9580 framing only).

def _packets(data: bytes):
    """[(tag, offset of the body's first octet)] of the packets in `data`,
    or a string saying why it is not a clean packet sequence. Partial
    lengths are allowed only on data packets (RFC 4880 4.2.2.4)."""
    packets, i = [], 0
    while i < len(data):
        b = data[i]
        if not b & 0x80:
            return f"byte {i}: not a packet header"
        if b & 0x40:  # new format
            tag, i, body = b & 0x3F, i + 1, None
            while True:
                if i >= len(data):
                    return f"packet {len(packets)}: truncated length"
                l0 = data[i]
                if l0 < 192:
                    length, i = l0, i + 1
                elif l0 < 224:
                    if i + 1 >= len(data):
                        return "truncated length"
                    length, i = ((l0 - 192) << 8) + data[i + 1] + 192, i + 2
                elif l0 == 255:
                    if i + 4 >= len(data):
                        return "truncated length"
                    length, i = int.from_bytes(data[i + 1:i + 5], "big"), i + 5
                else:  # partial body length: a chunk, then more length octets
                    if tag not in (8, 9, 11, 18, 20):
                        return f"packet {len(packets)} (tag {tag}): partial length on a non-data packet"
                    body = i + 1 if body is None else body
                    i += 1 + (1 << (l0 & 0x1F))
                    continue
                body = i if body is None else body
                i += length
                break
        else:  # old format
            tag, ltype, i = (b >> 2) & 0x0F, b & 3, i + 1
            if ltype == 3:
                length = len(data) - i
            else:
                n = 1 << ltype
                if i + n > len(data):
                    return "truncated length"
                length, i = int.from_bytes(data[i:i + n], "big"), i + n
            body = i
            i += length
        if i > len(data):
            return f"packet {len(packets)} (tag {tag}): runs past the end"
        packets.append((tag, body))
    return packets


def _dearmor(text: bytes):
    """Binary content of one armor (headers and CRC skipped), or a string
    saying why it is not exactly one clean armor."""
    lines = [l.rstrip(b"\r") for l in text.strip().split(b"\n")]
    if not lines or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        return "not exactly one BEGIN/END PGP MESSAGE armor"
    inner = lines[1:-1]
    if ARMOR_BEGIN in inner or ARMOR_END in inner or any(l.startswith(b"-----") for l in inner):
        return "more than one armor line"
    # Armor headers end at the first blank line (RFC 4880 6.2).
    if b"" in inner:
        blank = inner.index(b"")
        head, inner = inner[:blank], inner[blank + 1:]
        if any(b":" not in h for h in head):
            return "armor header without a colon"
        # Armor headers are cleartext; only Version: is tolerated (incoming).
        if any(not h.lower().startswith(b"version:") for h in head):
            return "armor header other than Version:"
    if inner and inner[-1].startswith(b"="):
        inner = inner[:-1]  # CRC24
    b64 = b"".join(inner)
    if not re.fullmatch(rb"[A-Za-z0-9+/]*={0,2}", b64) or len(b64) % 4:
        return "armor body is not clean base64"
    return base64.b64decode(b64)


def _openpgp_problem(text: bytes):
    data = _dearmor(text)
    if isinstance(data, str):
        return data
    packets = _packets(data)
    if isinstance(packets, str):
        return packets
    tags = [t for t, _ in packets]
    if not tags or tags[-1] != 18 or tags.count(18) != 1 or any(t not in (1, 3) for t in tags[:-1]):
        return f"packet tags {tags} are not PKESK/SKESK* then one SEIPD"
    body = packets[-1][1]
    version = data[body] if body < len(data) else None
    if version not in (1, 2):
        return f"SEIPD version {version}"
    return None


# ---------------------------------------------------------------------------
# One reader's view.

def _payload_bytes(part, decode):
    body = part.get_payload(decode=decode)
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogateescape")
    return body or b""


def _shape_problems(msg, name):
    """Why this reader's tree is neither shape (a) nor shape (b); [] if it
    is one of them."""
    top = msg.get_content_type()
    leaves = [p for p in msg.walk() if not p.is_multipart()]
    seen = ", ".join(p.get_content_type() for p in leaves) or "no leaf part"
    if top == "multipart/encrypted" and msg.is_multipart():
        parts = msg.get_payload()
        why = []
        if len(parts) != 2 or any(p.is_multipart() for p in parts):
            why.append(f"{len(parts)} parts, leaves: {seen}")
        else:
            p1, p2 = parts
            if p1.get_content_type() != "application/pgp-encrypted":
                why.append(f"first part is {p1.get_content_type()}")
            # Bodies as a client reads them: transfer encoding undone.
            if _payload_bytes(p1, True).strip() != b"Version: 1":
                why.append("first part body is not 'Version: 1'")
            if p2.get_content_type() != "application/octet-stream":
                why.append(f"second part is {p2.get_content_type()}")
            problem = _openpgp_problem(_payload_bytes(p2, True))
            if problem:
                why.append(f"second part: {problem}")
        if (msg.epilogue or "").strip():
            why.append("epilogue after the close delimiter is not blank")
        return [f"{name}: multipart/encrypted but {w}" for w in why]
    if top == "multipart/mixed" and msg.is_multipart():
        parts = msg.get_payload()
        values = [str(v).strip().lower() for v in (msg.get_all("Secure-Join") or [])]
        why = []
        if len(values) != 1 or values[0] not in SECURE_JOIN_VALUES:
            why.append(f"Secure-Join headers {values}")
        if len(parts) != 1 or parts[0].is_multipart() or parts[0].get_content_type() != "text/plain":
            why.append(f"{len(parts)} parts, leaves: {seen}")
        elif _payload_bytes(parts[0], True).strip().lower().decode("utf-8", "replace") not in SECURE_JOIN_BODIES:
            why.append("text part is not a Secure-Join request body")
        return [f"{name}: multipart/mixed (Secure-Join) but {w}" for w in why]
    return [f"{name}: top-level {top} is neither encrypted nor a Secure-Join request; leaves: {seen}"]


def _structure(msg):
    """What two readers must agree on: every part's depth, type, boundary."""
    out = []

    def visit(part, depth):
        out.append((depth, part.get_content_type(), part.get_boundary() if part.is_multipart() else None))
        if part.is_multipart():
            for sub in part.get_payload():
                visit(sub, depth + 1)
    visit(msg, 0)
    return out


def _reader_problems(msg, name):
    problems = []
    for part in msg.walk():
        ctype = part.get_content_type()
        for d in part.defects:
            problems.append(f"{name}: defect in {ctype}: {type(d).__name__}: {d}")
        # policy.default parses headers itself; a duplicate or broken
        # parameter shows up as a defect of the header object only.
        for field in ("Content-Type", "Content-Transfer-Encoding"):
            for value in part.get_all(field) or []:
                for d in getattr(value, "defects", ()):
                    problems.append(f"{name}: {field} header of {ctype}: {type(d).__name__}: {d}")
        if part.is_multipart():
            if not part.get_boundary():
                problems.append(f"{name}: {ctype} with an empty boundary")
            for where in ("preamble", "epilogue"):
                text = getattr(part, where) or ""
                for line in text.splitlines():
                    if line.startswith("--") or HEADER_LIKE.match(line):
                        problems.append(f"{name}: {where} of {ctype} has a delimiter- or header-like line {line[:60]!r}")
                        break
    return problems


# ---------------------------------------------------------------------------
# Checks on the raw bytes, independent of any parser.

def _header_fields(section: bytes):
    """(name, unfolded value) of a header section, as RFC 5322 reads it."""
    fields = []
    for line in re.split(rb"\r?\n", section):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += b" " + line.strip()
        elif b":" in line:
            name, _, value = line.partition(b":")
            fields.append([name.strip().lower(), value.strip()])
    return fields


def _boundary_candidates(value: bytes):
    """Every string some reader might take as the boundary of this
    Content-Type value: each plain, quoted, RFC 2231 and encoded-word form."""
    text = value.decode("latin-1")
    out, pieces = set(), {}
    for m in re.finditer(r'(?i)\bboundary(\*\d+)?(\*)?\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)', text):
        section, extended, raw = m.group(1), m.group(2), m.group(3)
        v = re.sub(r"\\(.)", r"\1", raw[1:-1]) if raw.startswith('"') else raw
        if extended:
            if not section or section == "*0":
                v = v.split("'", 2)[-1] if v.count("'") >= 2 else v
            v = re.sub(r"%([0-9A-Fa-f]{2})", lambda h: chr(int(h.group(1), 16)), v)
        if section:
            pieces[int(section[1:])] = v
        else:
            out.add(v)
    if pieces:
        out.add("".join(pieces[k] for k in sorted(pieces)))
    for v in list(out):
        try:
            decoded = "".join(b.decode(c or "latin-1", "replace") if isinstance(b, bytes) else b
                              for b, c in decode_header(v))
            out.add(decoded)
        except Exception:
            pass
    out.update(v.strip() for v in list(out))
    return {v for v in out if v}


def _raw_problems(data: bytes, chosen):
    problems = []
    if b"\0" in data:
        problems.append("raw: NUL byte")
    if re.search(rb"(?<!\r)\n", data):
        problems.append("raw: bare LF")
    if re.search(rb"\r(?!\n)", data):
        problems.append("raw: bare CR")
    sections = _all_header_sections(data)
    for where, fields in enumerate(sections):
        names = (b"content-type", b"from", b"secure-join", b"mime-version", b"content-transfer-encoding") \
            if where == 0 else (b"content-type", b"content-transfer-encoding")
        for name in names:
            n = sum(1 for f in fields if f[0] == name)
            if n > 1:
                problems.append(f"raw: {n} {name.decode()} headers in {'the top' if where == 0 else 'a part'} header section")
    lines = set(re.split(rb"\r?\n", data))
    for fields in sections:
        for name, value in fields:
            if name != b"content-type":
                continue
            if re.search(rb"(?i)\bboundary\*", value):
                problems.append("raw: boundary in RFC 2231 form (readers without RFC 2231 disagree)")
            # Every boundary any reader might pick must either be the one
            # Python used or not delimit anything in this message.
            for cand in _boundary_candidates(value):
                if cand in chosen:
                    continue
                delim = b"--" + cand.encode("utf-8", "replace")
                if any(l.startswith(delim) for l in lines):
                    problems.append(f"raw: alternative boundary {cand!r} delimits lines Python did not split on")
    for b in chosen:
        if not re.fullmatch(r"[0-9A-Za-z'()+_,\-./:=?]{1,70}", b):
            problems.append(f"raw: boundary {b[:80]!r} is not 1-70 RFC 2046 bcharsnospace")
        # A line that starts like a delimiter but is not exactly one: some
        # readers take it (transport padding, suffixes), others do not.
        delim = b"--" + b.encode("utf-8", "replace")
        for l in lines:
            if l.startswith(delim) and l not in (delim, delim + b"--"):
                problems.append(f"raw: line {l[:80]!r} starts with a delimiter but is not one")
                break
    return problems


def _all_header_sections(data: bytes):
    """The top header section and every part header section (a header
    section follows each line that starts with '--')."""
    sections = [_header_fields(re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0])]
    for m in re.finditer(rb"(?m)^--[^\r\n]*\r?\n((?:[^\r\n]+\r?\n)*)", data):
        sections.append(_header_fields(m.group(1)))
    return sections


# ---------------------------------------------------------------------------

def check(data: bytes) -> list:
    """All disagreements between the allowed shapes and what the readers
    see in `data`; an empty list means every reader agrees it is safe."""
    problems = []
    readers = {}
    for name, pol in (("compat32", policy.compat32), ("default", policy.default)):
        try:
            readers[name] = BytesParser(policy=pol).parsebytes(data)
        except Exception as e:  # a reader that crashes cannot vouch for it
            problems.append(f"{name}: parser failed: {type(e).__name__}: {e}")
    chosen = set()
    structures = {}
    for name, msg in readers.items():
        try:
            problems += _shape_problems(msg, name)
            problems += _reader_problems(msg, name)
            structures[name] = _structure(msg)
            chosen.update(s[2] for s in structures[name] if s[2])
        except Exception as e:
            problems.append(f"{name}: reading failed: {type(e).__name__}: {e}")
    if len(structures) == 2 and structures["compat32"] != structures["default"]:
        problems.append(f"policies disagree: compat32 {structures['compat32']} vs default {structures['default']}")
    msg = readers.get("default")
    if msg is not None:
        try:
            body = msg.get_body()
        except Exception as e:
            body, problems = None, problems + [f"default: get_body failed: {e}"]
        if body is not None and body.get_content_maintype() == "text":
            # The one text part of a well-formed Secure-Join request is fine.
            if _shape_problems(msg, "default") or msg.get_content_type() != "multipart/mixed":
                problems.append(f"default: get_body() returns a {body.get_content_type()} part")
    problems += _raw_problems(data, chosen)
    return problems


def main(argv):
    if not argv:
        print("usage: diffcheck.py FILE...", file=sys.stderr)
        return 2
    bad = 0
    for path in argv:
        with open(path, "rb") as f:
            problems = check(f.read())
        print(("ok   " if not problems else "FAIL ") + path)
        for p in problems:
            print("     " + p)
        bad += bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
