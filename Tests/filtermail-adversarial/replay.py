#!/usr/bin/env python3
"""SMTP replay of the adversarial corpus against `chatmaild filtermail`.

  replay.py --host 127.0.0.1 --port P --direction outgoing|incoming
            [--corpus-dir DIR] [--only NAME|GLOB] [--sink-dir DIR]

sends every case of that direction over raw sockets (exact bytes: bare CR
and LF, NUL, 8-bit, pipelining, BDAT, slow writes), compares the reply with
the case's `expect`, runs the differential MIME check (diffcheck.py) on
every message the gate accepted unless the case allows cleartext, and with
--sink-dir also checks what reached the re-inject sink. Prints one line per
case, the counts, and `adversarial-DIRECTION: N passed, N failed`; exit 1
on any failure.

Two helper modes used by scripts/test-filtermail-adversarial:

  replay.py --serve-sink DIR --sink-port P [--sink-port P2] [--lmtp-port P3]
      a small SMTP (and LMTP) server that stores every message it gets,
      with its envelope, as DIR/NNNNN-PORT.json
  replay.py --check-sink DIR --mailboxes DIR [--outgoing-port P]
      no stored message may carry cleartext to an enforcing mailbox (by
      canonical address), come from the outgoing gate in cleartext, name a
      DISABLED mailbox, or be a smuggled message.

and one used by scripts/test-filtermail-postfix:

  replay.py --via-postfix --mx-port P --submit-port P --sink-dir DIR
            --mailboxes DIR --outgoing-port P [--postfix-queue DIR]
            [--corpus-dir DIR] [--only NAME|GLOB]
      every case through a real Postfix with filtermail as its proxy
      filter (incoming to port 25, outgoing to submission), delivery
      ending at the sink above (--outgoing-port: where Postfix relays
      to). Reply codes are not compared: a case filtermail accepts must
      be accepted and delivered, any other may be refused by either or
      accepted if what arrives is safe; the --check-sink rules and the
      differential check hold for every delivered message. Prints one line
      per case (who refused it), the counts, and
      `adversarial-postfix: N passed, N failed`.

Only loopback addresses are used; every socket operation has a timeout and
every loop is bounded.
"""
import argparse
import base64
import fnmatch
import ipaddress
import itertools
import json
import os
import re
import select
import socket
import socketserver
import sys
import threading
import time
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import diffcheck  # noqa: E402

OP_TIMEOUT = 15.0        # one reply, one write
DATA_TIMEOUT = 60.0      # the verdict after a large message
MAX_REPLY_LINES = 100
LONGLINE_WAIT = 5.0      # for a reply to, or the close after, an over-long line
END_PIPELINED = True     # NOOP and QUIT in one write after the last verdict
MAX_BUFFER = 1 << 20


class Closed(Exception):
    pass


class Timeout(Exception):
    pass


class Conn:
    """A raw SMTP client connection with its own read buffer."""

    def __init__(self, host, port, timeout=OP_TIMEOUT):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.timeout = timeout

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout()
        self.s.settimeout(remaining)
        try:
            chunk = self.s.recv(65536)
        except socket.timeout:
            raise Timeout()
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            raise Closed()
        self.buf += chunk
        if len(self.buf) > MAX_BUFFER:
            raise Closed()

    def line(self, deadline):
        while b"\n" not in self.buf:
            self._fill(deadline)
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def reply(self, timeout=None):
        """(code, text) of the next reply, multi-line replies joined."""
        deadline = time.monotonic() + (timeout or self.timeout)
        lines = []
        for _ in range(MAX_REPLY_LINES):
            line = self.line(deadline)
            lines.append(line.decode("latin-1"))
            if line[3:4] != b"-":
                code = int(line[:3]) if line[:3].isdigit() else 0
                return code, " / ".join(lines)
        raise Closed()

    def send(self, data, chunk=65536, delay=0.0, stop_on_reply=False):
        """Writes data, reading what the server sends meanwhile (so neither
        side blocks). With stop_on_reply, stops early and returns True when
        a reply line comes before the end: during DATA it must not."""
        view, sent = memoryview(data), 0
        deadline = time.monotonic() + max(DATA_TIMEOUT, len(data) / chunk * delay * 2 + 10)
        while sent < len(data):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Timeout()
            readable, writable, _ = select.select([self.s], [self.s], [], min(remaining, self.timeout))
            if readable:
                try:
                    got = self.s.recv(65536)
                except (ConnectionResetError, BrokenPipeError):
                    got = b""
                if not got:
                    raise Closed()
                self.buf += got
                if stop_on_reply and b"\n" in self.buf:
                    return True
            if writable:
                try:
                    self.s.settimeout(self.timeout)
                    sent += self.s.send(view[sent:sent + chunk])
                except (ConnectionResetError, BrokenPipeError):
                    raise Closed()
                if delay:
                    time.sleep(delay)
        return False

    def command(self, line, timeout=None):
        self.send(line + b"\r\n")
        return self.reply(timeout)

    def closed_within(self, seconds):
        """True when the server closes the connection within `seconds`
        (any bytes it still sends are dropped)."""
        deadline = time.monotonic() + seconds
        try:
            for _ in range(1000):
                self.buf = b""
                self._fill(deadline)
        except Closed:
            return True
        except Timeout:
            return False
        return False


# ---------------------------------------------------------------------------
# Wire bytes

def wire(case):
    """What goes after 354: the raw wire as given, or the dot-stuffed data
    with the end marker."""
    if case.get("raw_wire") is not None:
        return case["raw_wire"]
    d = case["data"]
    stuffed = (b"." if d.startswith(b".") else b"") + d.replace(b"\r\n.", b"\r\n..")
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def enc(text):
    return text.encode("utf-8")


def mail_line(case):
    return b"MAIL FROM:<" + enc(case["mail_from"]) + b">" + enc(case.get("mail_params") or "")


# ---------------------------------------------------------------------------
# Expectations

def matches(case, outcome):
    """outcome: (stage, "accept" | code)."""
    alts = case["expect"] if isinstance(case["expect"], list) else [case["expect"]]
    stage, result = outcome
    for alt in alts:
        if alt == "accept":
            if outcome == ("data", "accept"):
                return True
        elif isinstance(alt, int):
            if stage == case["expect_at"] and result == alt:
                return True
        else:
            code, _, at = str(alt).partition("@")
            at = at or case["expect_at"]
            if stage != at or result == "accept":
                continue
            if code == "5xx" and 500 <= result < 600 or code.isdigit() and int(code) == result:
                return True
    return False


def describe_expect(case):
    alts = case["expect"] if isinstance(case["expect"], list) else [case["expect"]]
    out = []
    for a in alts:
        out.append(a if a == "accept" or "@" in str(a) else f"{a}@{case['expect_at']}")
    return " or ".join(str(a) for a in out)


def describe(outcome):
    stage, result = outcome
    return "accept" if outcome == ("data", "accept") else f"{result}@{stage}"


# ---------------------------------------------------------------------------
# One case, or a group of cases on one connection

def session_start(conn):
    code, text = conn.reply()
    if code != 220:
        raise Closed(f"greeting {text}")
    code, text = conn.command(b"EHLO adversary.test")
    if code != 250:
        raise Closed(f"EHLO {text}")
    return text


def transaction(conn, case, notes):
    """Runs MAIL, RCPT..., DATA and the message; returns the outcome."""
    code, text = conn.command(mail_line(case))
    if code != 250:
        notes.append(text)
        return ("mail", code)
    for r in case["rcpt"]:
        code, text = conn.command(b"RCPT TO:<" + enc(r) + b">")
        if code >= 400:
            notes.append(text)
            code2, _ = conn.command(b"RSET")
            if code2 != 250:
                notes.append(f"RSET after the RCPT refusal gave {code2}")
            return ("rcpt", code)
    code, text = conn.command(b"DATA")
    if code != 354:
        notes.append(text)
        return ("data-cmd", code)
    slow = case.get("slow")
    w = wire(case)
    if slow:
        early = conn.send(w, chunk=slow, delay=0.001, stop_on_reply=True)
    else:
        early = conn.send(w, stop_on_reply=True)
    if early:
        notes.append("replied before the end of data")
    code, text = conn.reply(DATA_TIMEOUT)
    if code != 250:
        notes.append(text)
    return ("data", "accept" if code == 250 else code)


def session_end(conn, notes):
    """NOOP and QUIT must get exactly 250 and 221: any other reply first
    answers a command the gate took out of the message data (smuggling)."""
    got = []
    try:
        if END_PIPELINED:
            conn.send(b"NOOP\r\nQUIT\r\n")
        else:
            conn.send(b"NOOP\r\n")
            got.append(conn.reply(5)[0])
            conn.send(b"QUIT\r\n")
        for _ in range(20):
            code, text = conn.reply(5)
            got.append(code)
            if code == 221:
                break
    except Closed:
        got.append("closed")
    except Timeout:
        got.append("timeout")
    if got != [250, 221]:
        notes.append(f"after the verdict NOOP, QUIT gave {got} (session ended, or extra replies)")
        return False
    return True


def run_group(host, port, cases):
    """[(case, outcome, notes, session_ok)] for cases sharing a connection."""
    results = []
    conn = None
    try:
        conn = Conn(host, port)
        session_start(conn)
        for case in cases:
            notes = []
            try:
                outcome = transaction(conn, case, notes)
            except Closed:
                outcome = ("error", "closed")
            except Timeout:
                outcome = ("error", "timeout")
            results.append([case, outcome, notes, True])
            if outcome[0] == "error":
                break
    except (Closed, Timeout, OSError) as e:
        pass_notes = [f"session start failed: {type(e).__name__} {e}"]
        for case in cases[len(results):]:
            results.append([case, ("error", "no session"), list(pass_notes), False])
        if conn:
            conn.close()
        return results
    for case in cases[len(results):]:
        results.append([case, ("error", "not run (session ended)"), [], False])
    notes = []
    ok = session_end(conn, notes) if results[-1][1][0] != "error" else False
    conn.close()
    if not ok:
        # Blame the last case: it is the one after which the session broke.
        results[-1][2] += notes
        results[-1][3] = False
    return results


def run_pipelined(host, port, case):
    """Everything in one write, before even the greeting is read."""
    notes = []
    n = len(case["rcpt"])
    payload = (b"EHLO adversary.test\r\n" + mail_line(case) + b"\r\n"
               + b"".join(b"RCPT TO:<" + enc(r) + b">\r\n" for r in case["rcpt"])
               + b"DATA\r\n" + wire(case) + b"NOOP\r\nQUIT\r\n")
    want = [220, 250, 250] + [250] * n + [354, None, 250, 221]
    got = []
    conn = Conn(host, port)
    try:
        conn.send(payload)
        for _ in range(len(want) + 10):
            code, _ = conn.reply(DATA_TIMEOUT)
            got.append(code)
            if code == 221:
                break
    except (Closed, Timeout) as e:
        got.append(type(e).__name__.lower())
    finally:
        conn.close()
    verdict_at = 4 + n
    if len(got) <= verdict_at or got[:verdict_at] != want[:verdict_at]:
        notes.append(f"replies {got}")
        return ("error", "pipeline"), notes, False
    verdict = got[verdict_at]
    session_ok = got[verdict_at + 1:] == [250, 221]
    if not session_ok:
        notes.append(f"replies {got}, want {want[:verdict_at]} + [verdict, 250, 221]")
    return ("data", "accept" if verdict == 250 else verdict), notes, session_ok


def run_pipelined_rfc2920(host, port, case):
    """Pipelining as RFC 2920 allows it, for a server that enforces its
    limits (Postfix drops a client that writes before the greeting or
    past a command that must end a group): MAIL, RCPT... and DATA in one
    write, then the message and NOOP in one write, then QUIT."""
    notes = []
    conn = Conn(host, port)
    try:
        session_start(conn)
        conn.send(mail_line(case) + b"\r\n" + b"".join(b"RCPT TO:<" + enc(r) + b">\r\n" for r in case["rcpt"])
                  + b"DATA\r\n")
        replies = [conn.reply() for _ in range(len(case["rcpt"]) + 2)]
        refusals = [(stage, code, text) for stage, (code, text) in zip(
            ["mail"] + ["rcpt"] * len(case["rcpt"]), replies) if code >= 400]
        notes += [text for _, _, text in refusals]
        if replies[-1][0] == 354:
            conn.send(wire(case) + b"NOOP\r\n")
            code, text = conn.reply(DATA_TIMEOUT)
            if code != 250:
                notes.append(text)
            outcome = ("data", "accept" if code == 250 else code)
        else:
            conn.send(b"NOOP\r\n")
            outcome = refusals[0][:2] if refusals else ("data-cmd", replies[-1][0])
        got = [conn.reply(5)[0]]
        conn.send(b"QUIT\r\n")
        got.append(conn.reply(5)[0])
        if got != [250, 221]:
            notes.append(f"after the verdict NOOP, QUIT gave {got}")
        return outcome, notes, got == [250, 221]
    except (Closed, Timeout) as e:
        return ("error", type(e).__name__.lower()), notes, False
    finally:
        conn.close()


def run_bdat(host, port, case):
    """BDAT is not offered: it must be refused, and its chunk ("RSET\\r\\n",
    6 bytes) must then be read as the RSET command."""
    notes = []
    conn = Conn(host, port)
    try:
        session_start(conn)
        conn.command(mail_line(case))
        for r in case["rcpt"]:
            conn.command(b"RCPT TO:<" + enc(r) + b">")
        code, text = conn.command(b"BDAT 6 LAST")
        code2, text2 = conn.command(b"RSET")
        if code2 != 250:
            notes.append(f"the 6 bytes after BDAT were not taken as RSET: {text2}")
        ok = session_end(conn, notes) and code2 == 250
        return ("bdat", code), notes, ok
    except (Closed, Timeout) as e:
        return ("error", type(e).__name__.lower()), notes, False
    finally:
        conn.close()


def run_bdat_chunk(host, port, case):
    """For a server that offers CHUNKING (Postfix does, and turns the
    chunks into DATA for its proxy filter): the case's message in one
    BDAT LAST chunk; the verdict counts as the end-of-data reply. A
    server without CHUNKING gets run_bdat."""
    notes = []
    conn = Conn(host, port)
    try:
        if "CHUNKING" not in session_start(conn).upper():
            conn.close()
            return run_bdat(host, port, case)
        code, text = conn.command(mail_line(case))
        outcome = ("mail", code) if code != 250 else None
        for r in case["rcpt"] if outcome is None else []:
            code, text = conn.command(b"RCPT TO:<" + enc(r) + b">")
            if code >= 400:
                outcome = ("rcpt", code)
                break
        if outcome is None:
            data = case["data"]
            conn.send(b"BDAT %d LAST\r\n" % len(data) + data)
            code, text = conn.reply(DATA_TIMEOUT)
            outcome = ("data", "accept" if code == 250 else code)
        if code != 250:
            notes.append(text)
        return outcome, notes, session_end(conn, notes)
    except (Closed, Timeout) as e:
        return ("error", type(e).__name__.lower()), notes, False
    finally:
        conn.close()


def run_longline(host, port, case):
    """An over-long command line (complete or not) gets 500, then close."""
    notes = []
    conn = Conn(host, port)
    try:
        session_start(conn)
        conn.send(case["line"])
        codes = []
        try:
            for _ in range(5):
                code, text = conn.reply(LONGLINE_WAIT)
                codes.append(code)
                if code >= 400:
                    notes.append(text)
                    break
        except (Closed, Timeout) as e:
            codes.append(type(e).__name__.lower())
        refusals = [c for c in codes if isinstance(c, int) and c >= 400]
        outcome = ("line", refusals[0]) if refusals else ("error", f"replies {codes}")
        ok = True
        if case.get("close") and refusals and not conn.closed_within(LONGLINE_WAIT):
            notes.append("connection not closed after the refusal")
            ok = False
        return outcome, notes, ok
    except (Closed, Timeout) as e:
        return ("error", type(e).__name__.lower()), notes, False
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# The sink's store

class SinkStore:
    def __init__(self, directory):
        self.dir = directory
        self.seen = {}

    def records(self):
        if not self.dir or not os.path.isdir(self.dir):
            return []
        for name in sorted(os.listdir(self.dir)):
            if name.endswith(".json") and name not in self.seen:
                with open(os.path.join(self.dir, name)) as f:
                    r = json.load(f)
                r["data"] = base64.b64decode(r["data"])
                self.seen[name] = r
        return list(self.seen.values())

    def find(self, token, wait=0.0):
        deadline = time.monotonic() + wait
        while True:
            found = [r for r in self.records() if token in r["data"]]
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.05)


def token(case):
    return f"<adv-{case['name']}@{corpus.DOMAIN}>".encode()


# ---------------------------------------------------------------------------

def select_cases(cases, direction, only):
    chosen = [c for c in cases if c["direction"] == direction]
    if only:
        # Selected members of a session group still share one connection
        # (select the whole group, e.g. 'out-rate-rl1-*', for its verdicts).
        chosen = [c for c in chosen if any(c["name"] == o or fnmatch.fnmatch(c["name"], o) for o in only)]
    return chosen


def units(cases):
    """Cases grouped into connections: a session group shares one."""
    out, i = [], 0
    while i < len(cases):
        s = cases[i].get("session")
        j = i + 1
        while s and j < len(cases) and cases[j].get("session") == s:
            j += 1
        out.append(cases[i:j])
        i = j
    return out


def run_unit(host, port, group, postfix=False):
    """[(case, outcome, notes, session_ok)] for one connection's cases.
    For Postfix, pipelining keeps to RFC 2920 and a BDAT case sends its
    message with BDAT (Postfix offers CHUNKING)."""
    mode = group[0].get("mode")
    if mode == "pipeline":
        return [[group[0], *(run_pipelined_rfc2920 if postfix else run_pipelined)(host, port, group[0])]]
    if mode == "bdat":
        return [[group[0], *(run_bdat_chunk if postfix else run_bdat)(host, port, group[0])]]
    if mode == "longline":
        return [[group[0], *run_longline(host, port, group[0])]]
    return run_group(host, port, group)


def replay(args):
    host_ip = socket.gethostbyname(args.host)
    if not ipaddress.ip_address(host_ip).is_loopback:
        print(f"replay: {args.host} is not a loopback address", file=sys.stderr)
        return 2
    cases = corpus.load(args.corpus_dir) if args.corpus_dir else corpus.generate()
    cases = select_cases(cases, args.direction, args.only)
    sink = SinkStore(args.sink_dir) if args.sink_dir else None
    passed = failed = accepted = refused = disagreements = 0
    refused_cases = []
    for group in units(cases):
        for case, outcome, notes, session_ok in run_unit(host_ip, args.port, group):
            problems = []
            if not matches(case, outcome):
                problems.append(f"expected {describe_expect(case)} got {describe(outcome)}")
            if not session_ok:
                problems.append("session did not continue cleanly")
            is_accept = outcome == ("data", "accept")
            accepted += is_accept
            refused += not is_accept
            if is_accept:
                problems += check_accepted(case, sink)
                if any(p.startswith("differential:") for p in problems):
                    disagreements += 1
            else:
                refused_cases.append(case)
            if problems:
                failed += 1
                print(f"FAIL {case['name']}: " + "; ".join(problems)
                      + (f" [{' | '.join(n[:160] for n in notes)}]" if notes else ""))
            else:
                passed += 1
                print(f"ok   {case['name']}")
    # Refused mail and mail for dropped recipients must not be at the sink.
    if sink:
        for case in refused_cases + [c for c in cases if c.get("sink") == "none"]:
            if sink.find(token(case)):
                failed += 1
                print(f"FAIL {case['name']}: reached the re-inject sink although "
                      + ("its recipients were dropped" if case.get("sink") == "none" else "refused"))
    tried = accepted + refused
    print(f"tried {tried}, accepted {accepted}, refused {refused}, differential disagreements {disagreements}")
    print(f"adversarial-{args.direction}: {passed} passed, {failed} failed")
    return 1 if failed else 0


def check_accepted(case, sink):
    problems = []
    data = case["data"] if case.get("raw_wire") is None else None
    # A case without its Message-ID token (the empty message) cannot be
    # found at the sink.
    if sink is not None and case.get("sink") != "none" and token(case) in (case.get("raw_wire") or case["data"]):
        found = sink.find(token(case), wait=5)
        if not found:
            problems.append("accepted but never reached the re-inject sink")
        else:
            rec = found[0]
            if data is not None and rec["data"] != data:
                problems.append(f"the sink got {len(rec['data'])} bytes that differ from the {len(data)} sent")
            data = rec["data"]
            if case.get("sink_rcpt") is not None:
                got = sorted(corpus.canonical(r) for r in rec["rcpt"])
                if got != sorted(case["sink_rcpt"]):
                    problems.append(f"the sink got recipients {rec['rcpt']}, want {case['sink_rcpt']}")
            if case.get("sink_mail_from") is not None and rec["mail_from"] != case["sink_mail_from"]:
                problems.append(f"the sink got MAIL FROM:<{rec['mail_from']}>, want <{case['sink_mail_from']}>")
    if not case.get("cleartext_ok"):
        if case.get("cleartext"):
            problems.append("cleartext delivered")
        if data is None:
            data = case["raw_wire"]
        found = diffcheck.check(data)
        if found:
            problems.append("differential: " + "; ".join(found[:4]) + (" ..." if len(found) > 4 else ""))
    return problems


# ---------------------------------------------------------------------------
# Sink: stores every message with its envelope.

class SinkHandler(socketserver.StreamRequestHandler):
    timeout = 600
    counter = itertools.count(1)
    lock = threading.Lock()

    def handle(self):
        out = self.wfile.write
        lmtp = self.server.lmtp
        out(b"220 sink " + (b"LMTP" if lmtp else b"ESMTP") + b"\r\n")
        mail_from, rcpt = None, []
        for _ in range(1_000_000):
            line = self.rfile.readline(1 << 16)
            if not line:
                return
            cmd = line.rstrip(b"\r\n")
            verb = cmd[:4].upper()
            if verb == (b"LHLO" if lmtp else b"EHLO") or verb == b"HELO" and not lmtp:
                out(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 OK\r\n")
            elif verb == b"MAIL":
                mail_from, rcpt = _angle(cmd), []
                out(b"250 OK\r\n")
            elif verb == b"RCPT":
                rcpt.append(_angle(cmd))
                out(b"250 OK\r\n")
            elif verb == b"DATA":
                out(b"354 go ahead\r\n")
                data = self._data()
                if data is None:
                    return
                self._store(mail_from, rcpt, data)
                # LMTP (RFC 2033): one reply per recipient.
                out(b"250 OK stored\r\n" * (len(rcpt) if lmtp else 1))
                mail_from, rcpt = None, []
            elif verb == b"RSET":
                mail_from, rcpt = None, []
                out(b"250 OK\r\n")
            elif verb == b"NOOP":
                out(b"250 OK\r\n")
            elif verb == b"QUIT":
                out(b"221 bye\r\n")
                return
            else:
                out(b"500 unknown\r\n")

    def _data(self):
        # Line by line as a classic MTA reads it: a bare-LF line followed
        # by ".\r\n" also ends here, so smuggled data a gate passes on shows
        # up as its own message.
        parts = []
        for _ in range(10_000_000):
            line = self.rfile.readline(1 << 20)
            if not line:
                return None
            if line == b".\r\n":
                return b"".join(parts)
            parts.append(line[1:] if line.startswith(b".") else line)
        return None

    def _store(self, mail_from, rcpt, data):
        port = self.server.server_address[1]
        with self.lock:
            n = next(self.counter)
        path = os.path.join(self.server.store_dir, f"{n:05d}-{port}.json")
        with open(path + ".tmp", "w") as f:
            json.dump({"port": port, "mail_from": mail_from, "rcpt": rcpt,
                       "data": base64.b64encode(data).decode()}, f)
        os.rename(path + ".tmp", path)


def _angle(cmd):
    m = re.search(rb"<(.*)>", cmd)
    return (m.group(1) if m else cmd.partition(b":")[2].strip()).decode("utf-8", "replace")


class SinkServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve_sink(directory, ports, lmtp_ports=()):
    os.makedirs(directory, exist_ok=True)
    servers = []
    for p, lmtp in [(p, False) for p in ports] + [(p, True) for p in lmtp_ports]:
        s = SinkServer(("127.0.0.1", int(p)), SinkHandler)
        s.store_dir = directory
        s.lmtp = lmtp
        servers.append(s)
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print(f"sink listening on {', '.join(map(str, ports))}"
          + (f", LMTP on {', '.join(map(str, lmtp_ports))}" if lmtp_ports else ""), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


# ---------------------------------------------------------------------------
# Sink check

def mailbox_candidates(addr):
    """Every mailbox a relay could deliver `addr` to: canonical form, then
    without +extension, %-hack and !-path resolved, a domain literal taken
    as the local domain."""
    a = corpus.canonical(addr)
    local, _, domain = a.rpartition("@")
    locals_ = {local}
    if "%" in local:
        locals_.add(local.split("%", 1)[0])
    if "!" in local:
        locals_.add(local.rsplit("!", 1)[1])
    locals_ |= {l.split("+", 1)[0] for l in list(locals_)}
    domains = {domain}
    if domain.startswith("["):
        domains.add(corpus.DOMAIN)
    return {f"{l}@{d}" for l in locals_ for d in domains}


def is_bounce(data):
    msg = BytesParser(policy=policy.compat32).parsebytes(data)
    frm = getaddresses(msg.get_all("From") or [])
    return (bool((msg.get("Auto-Submitted") or "").strip()) and len(frm) == 1
            and frm[0][1].lower().startswith("mailer-daemon@")
            and msg.get_content_type() == "multipart/report")


def record_problems(rec, mailboxes, outgoing_ports):
    """Why one stored message is unsafe ([] if it is safe): a smuggled
    message, a DISABLED mailbox in its envelope, or cleartext to an
    enforcing mailbox (by every mailbox its recipients could resolve to)
    or from the outgoing gate."""
    problems = []
    data = rec["data"]
    outgoing = rec["port"] in outgoing_ports
    boxes = set().union(*(mailbox_candidates(r) for r in rec["rcpt"])) if rec["rcpt"] else set()
    enforcing = sorted(b for b in boxes if os.path.exists(os.path.join(mailboxes, b, "enforceE2EEincoming")))
    disabled = sorted(b for b in boxes | mailbox_candidates(rec["mail_from"] or "x@y")
                      if os.path.exists(os.path.join(mailboxes, b, "DISABLED")))
    if b"<smuggled-" in data:
        problems.append("a smuggled message reached the sink")
    if disabled:
        problems.append(f"DISABLED mailbox in the envelope: {disabled}")
    # An Autocrypt Setup Message to oneself is the one cleartext the
    # outgoing gate passes (upstream's exception).
    self_asm = (outgoing and len(rec["rcpt"]) == 1 and rec["rcpt"][0] == rec["mail_from"]
                and b"\r\nSubject: Autocrypt Setup Message\r\n" in data)
    if (outgoing and not self_asm) or enforcing:
        leak = b"SECRET" in data
        if not leak and (outgoing or not is_bounce(data)):
            leak = bool(diffcheck.check(data))
        if leak:
            problems.append("cleartext " + ("from the outgoing gate" if outgoing else f"to enforcing {enforcing}"))
    return problems


def record_label(rec):
    m = re.search(rb"Message-ID: <([^>]*)>", rec["data"])
    return f"sink {rec['mail_from']!r} -> {rec['rcpt'][:3]} ({m.group(1).decode() if m else 'no Message-ID'})"


def check_sink(directory, mailboxes, outgoing_ports):
    store = SinkStore(directory)
    passed = failed = 0
    for rec in store.records():
        problems = record_problems(rec, mailboxes, outgoing_ports)
        if problems:
            failed += 1
            print(f"FAIL {record_label(rec)}: " + "; ".join(problems))
        else:
            passed += 1
    print(f"sink-check: {passed} passed, {failed} failed")
    return 1 if failed else 0


# ---------------------------------------------------------------------------
# Through a real Postfix (scripts/test-filtermail-postfix)
#
# The same cases, sent to Postfix's port 25 (incoming) and submission port
# (outgoing) with filtermail as their smtpd_proxy_filter, delivery ending at
# this script's sink (LMTP for the local domain, SMTP for relayed mail).
# Postfix refuses or normalises some inputs itself, so the exact codes are
# not compared. A case expected to be accepted must be accepted and
# delivered; any other case may be refused by either, or accepted if what
# arrives is safe. Safety is checked on everything that reached the sink.

ACCEPTED = ("data", "accept")
TOKEN = re.compile(rb"<adv-[^<>\s]+@" + re.escape(corpus.DOMAIN.encode()) + rb">")
# Reply texts only filtermail writes; Postfix passes its proxy filter's
# replies through unchanged.
FILTERMAIL_TEXT = re.compile(r"Encryption Needed|Invalid DATA|Invalid FROM|Failed to parse message|Invalid from address"
                             r"|Invalid address in MAIL FROM|Too much mail from|\b\d{3}[ -]Message exceeds maximum size"
                             r"|Re-injection failed|Line too long|filtermail")
# Texts both write, word for word.
SHARED_TEXT = re.compile(r"Bad recipient address syntax|too many recipients|nested MAIL command|need (MAIL|RCPT) command")


def refused_by(notes):
    text = " | ".join(notes)
    if FILTERMAIL_TEXT.search(text):
        return "filtermail"
    return "Postfix or filtermail (same reply text)" if SHARED_TEXT.search(text) else "Postfix"


def session_dependent(case):
    """Verdicts that depend on the session, not on the message: the rate
    limit (a budget per sender, with this Postfix's own burst size)."""
    return case["cls"] == "rate-limit" or bool(case.get("session"))


# Accepted by filtermail when sent to it directly, refused by Postfix's own
# envelope rules as the Postfix component configures them (one spelling
# per mailbox): such a refusal must come from Postfix, at MAIL or RCPT.
POSTFIX_REFUSES = {
    "in-rcpt-enc-ok-2": "a percent-hack recipient is routed relaying to Postfix "
                        "(allow_percent_hack = no, reject_unauth_destination)",
}


def describe_via_postfix(outcome):
    return f"no verdict ({outcome[1]})" if outcome[0] == "error" else describe(outcome)


def claims_protected(data):
    """The top header section says multipart/encrypted or Secure-Join."""
    head = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]
    fields = diffcheck._header_fields(head)
    return any(n == b"secure-join" or n == b"content-type" and v.strip().lower().startswith(b"multipart/encrypted")
               for n, v in fields)


def queued_messages(queue_dir):
    """Files in a Postfix queue directory's queues (hashed subdirectories)."""
    n = 0
    for q in ("maildrop", "incoming", "active", "deferred", "hold", "corrupt"):
        for _, _, files in itertools.islice(os.walk(os.path.join(queue_dir, q)), 10_000):
            n += len(files)
    return n


def sent_bytes(case):
    return case["raw_wire"] if case.get("raw_wire") is not None else case["data"]


def via_postfix(args):
    cases = corpus.load(args.corpus_dir) if args.corpus_dir else corpus.generate()
    if args.only:
        cases = [c for c in cases if any(c["name"] == o or fnmatch.fnmatch(c["name"], o) for o in args.only)]
    ports = {"outgoing": args.submit_port, "incoming": args.mx_port}
    started = time.monotonic()
    results = []
    for direction in ("outgoing", "incoming"):
        for group in units([c for c in cases if c["direction"] == direction]):
            results += run_unit("127.0.0.1", ports[direction], group, postfix=True)
    sending = time.monotonic() - started

    # Delivery is after the queue: wait for every accepted message that
    # should arrive, and for Postfix's queue to be empty (nothing deferred
    # that could still leave after the checks).
    store = SinkStore(args.sink_dir)
    index = {}  # Message-ID token -> records that hold it

    def refresh():
        """Reads new messages and indexes them by the case tokens they hold."""
        for rec in store.records():
            if "tokens" not in rec:
                rec["tokens"] = set(TOKEN.findall(rec["data"]))
                for t in rec["tokens"]:
                    index.setdefault(t, []).append(rec)

    awaited = {token(c) for c, outcome, _, _ in results
               if outcome == ACCEPTED and c.get("sink") != "none" and token(c) in sent_bytes(c)}
    deadline = time.monotonic() + args.drain_timeout
    queued = 0
    for _ in range(100_000):
        refresh()
        queued = queued_messages(args.postfix_queue) if args.postfix_queue else 0
        if (awaited <= index.keys() and not queued) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    time.sleep(0.5)  # a bounce written as the queue emptied
    refresh()
    records = store.records()

    passed = failed = 0

    def report(ok, label, detail=""):
        nonlocal passed, failed
        passed, failed = passed + ok, failed + (not ok)
        print(("ok   " if ok else "FAIL ") + label + (f": {detail}" if detail else ""))

    # Safety, on every message that reached the sink (the Postfix suite's
    # own messages too).
    by_token = {token(c): c for c in cases}
    unsafe = violations = disagreements = 0
    for rec in records:
        problems = record_problems(rec, args.mailboxes, set(args.outgoing_port))
        case = next((by_token[t] for t in rec["tokens"] if t in by_token), None)
        if claims_protected(rec["data"]) and not (case and case.get("cleartext_ok")) and not is_bounce(rec["data"]):
            found = diffcheck.check(rec["data"])
            if found:
                disagreements += 1
                problems.append("differential: " + "; ".join(found[:4]) + (" ..." if len(found) > 4 else ""))
        rec["problems"] = problems
        violations += bool(problems)
        if problems:
            report(False, f"safety {record_label(rec)}" + (f" [case {case['name']}]" if case else ""),
                   "; ".join(problems))
        else:
            passed += 1
    report(queued == 0, "Postfix queue empty after the corpus", f"{queued} messages still queued")

    # Verdicts per case.
    accepted = refused = 0
    refusers = {}
    for case, outcome, notes, session_ok in results:
        recs = index.get(token(case), [])
        alts = case["expect"] if isinstance(case["expect"], list) else [case["expect"]]
        is_accept = outcome == ACCEPTED
        problems = []
        if is_accept:
            accepted += 1
            where = sorted({r for rec in recs for r in rec["rcpt"]})
            what = "accepted, " + (f"delivered to {', '.join(where[:3])}" if recs else "nothing delivered")
            what += f" and {len(where) - 3} more" if len(where) > 3 else ""
        else:
            refused += 1
            by = refused_by(notes)
            if outcome[0] == "error":  # no message went through: an over-long line, a closed session
                refusers["no message sent"] = refusers.get("no message sent", 0) + 1
                what = f"not accepted: {describe_via_postfix(outcome)}"
            else:
                refusers["by " + by] = refusers.get("by " + by, 0) + 1
                what = f"refused {describe_via_postfix(outcome)} by {by}"
        if "accept" not in alts and is_accept:
            what += " (refused when sent directly)"
        if session_dependent(case):
            what += "; session-dependent, safety only"
        elif alts == ["accept"]:
            why = POSTFIX_REFUSES.get(case["name"])
            if not is_accept and why and by == "Postfix" and outcome[0] in ("mail", "rcpt"):
                what += f", as intended: {why}"
            elif not is_accept:
                problems.append(f"expected accept, got {describe_via_postfix(outcome)} by {by}")
            elif case.get("sink") == "none":
                if recs:
                    problems.append("delivered although its recipients were dropped")
            elif token(case) in sent_bytes(case):
                if not recs:
                    problems.append("accepted but never delivered")
                got = sorted({corpus.canonical(r) for rec in recs for r in rec["rcpt"]})
                if recs and case.get("sink_rcpt") is not None and got != sorted(case["sink_rcpt"]):
                    problems.append(f"delivered to {got}, want {case['sink_rcpt']}")
                senders = sorted({rec["mail_from"] for rec in recs})
                if recs and case.get("sink_mail_from") is not None and senders != [case["sink_mail_from"]]:
                    problems.append(f"delivered with MAIL FROM {senders}, want <{case['sink_mail_from']}>")
        if is_accept and not session_ok and not session_dependent(case):
            # After an accepted message the session goes on: anything else
            # means Postfix took part of the data as commands.
            problems.append("the session did not continue cleanly after the verdict")
        unsafe_here = [p for rec in recs for p in rec["problems"]]
        if unsafe_here:
            problems.append("unsafe delivery: " + "; ".join(sorted(set(unsafe_here)))[:300])
        note = f" [{' | '.join(n[:120] for n in notes)}]" if problems and notes else ""
        report(not problems, case["name"], "; ".join(problems) + note if problems else what)

    print(f"tried {len(results)}, accepted {accepted}, refused {refused} ("
          + ", ".join(f"{k} {v}" for k, v in sorted(refusers.items())) + f"), messages delivered {len(records)}, "
          f"safety violations {violations}, differential disagreements {disagreements}; "
          f"sending took {sending:.0f}s")
    print(f"adversarial-postfix: {passed} passed, {failed} failed")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description="SMTP replay of the filtermail adversarial corpus")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--direction", choices=("outgoing", "incoming"))
    ap.add_argument("--corpus-dir", help="cases written by corpus.py --out (default: generate now)")
    ap.add_argument("--only", action="append", help="case name or glob (repeatable)")
    ap.add_argument("--sink-dir", help="the sink's store: check what was re-injected")
    ap.add_argument("--serve-sink", metavar="DIR", help="run the re-inject sink storing into DIR")
    ap.add_argument("--sink-port", action="append", default=[], help="sink port (repeatable)")
    ap.add_argument("--check-sink", metavar="DIR", help="check the sink's store")
    ap.add_argument("--mailboxes", help="mailboxes_dir for --check-sink")
    ap.add_argument("--outgoing-port", type=int, action="append", default=[],
                    help="sink port that the outgoing gate re-injects to (for --check-sink), "
                         "or that Postfix relays to (for --via-postfix)")
    ap.add_argument("--lmtp-port", action="append", default=[], help="sink port speaking LMTP (repeatable)")
    ap.add_argument("--via-postfix", action="store_true", help="replay both directions through Postfix")
    ap.add_argument("--mx-port", type=int, help="Postfix's port 25 service (--via-postfix)")
    ap.add_argument("--submit-port", type=int, help="Postfix's submission service (--via-postfix)")
    ap.add_argument("--postfix-queue", help="Postfix's queue_directory: wait until it is empty (--via-postfix)")
    ap.add_argument("--drain-timeout", type=float, default=60.0, help="seconds to wait for delivery (--via-postfix)")
    args = ap.parse_args()
    if args.serve_sink:
        return serve_sink(args.serve_sink, args.sink_port, args.lmtp_port)
    if args.check_sink:
        return check_sink(args.check_sink, args.mailboxes, set(args.outgoing_port))
    if args.via_postfix:
        if not (args.mx_port and args.submit_port and args.sink_dir and args.mailboxes):
            ap.error("--via-postfix needs --mx-port, --submit-port, --sink-dir and --mailboxes")
        global LONGLINE_WAIT, END_PIPELINED
        LONGLINE_WAIT = 2.0  # Postfix may answer an over-long line with nothing
        # Postfix (smtpd_forbid_unauth_pipelining) drops a client that
        # writes QUIT in the same packet as NOOP.
        END_PIPELINED = False
        return via_postfix(args)
    if not args.port or not args.direction:
        ap.error("--port and --direction are needed")
    return replay(args)


if __name__ == "__main__":
    sys.exit(main())
