#!/usr/bin/env python3
"""Drive a milter with concurrent sessions (loopback or UNIX socket only).

milter_storm.py SOCKET SESSIONS THREADS [SECONDS]
SOCKET is inet:PORT@127.0.0.1 or a UNIX socket path. Each session sends one
small message (connect, helo, mail, rcpt, headers, body, end). Prints one
summary line: sessions, verdict counts and connection errors.
"""
import collections, socket, struct, sys, threading, time

def pkt(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data

def z(*parts):
    return b"".join(p.encode() + b"\0" for p in parts)

def read_reply(s):
    head = b""
    while len(head) < 4:
        c = s.recv(4 - len(head))
        if not c:
            raise ConnectionError("closed")
        head += c
    n = struct.unpack(">I", head)[0]
    body = b""
    while len(body) < n:
        c = s.recv(n - len(body))
        if not c:
            raise ConnectionError("closed")
        body += c
    return body[:1], body[1:]

def until_verdict(s):
    while True:  # header changes and progress come before the verdict
        cmd, data = read_reply(s)
        if cmd not in b"hmipdfbcos+-":
            return cmd, data
        if cmd == b"c":
            return cmd, data

def connect(target):
    if target.startswith("inet:"):
        port, host = target[5:].split("@")
        assert host.startswith("127.") or host == "localhost", "loopback only"
        return socket.create_connection((host, int(port)), timeout=30)
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(target)
    return s

def session(target, i):
    s = connect(target)
    try:
        s.sendall(pkt(b"O", struct.pack(">III", 6, 0x1FF, 0)))
        read_reply(s)
        steps = [
            pkt(b"D", b"C" + z("j", "relay.test", "{daemon_name}", "VERIFYING")) + pkt(b"C", z("client.test") + b"4" + struct.pack(">H", 25) + z("127.0.0.1")),
            pkt(b"H", z("client.test")),
            pkt(b"D", b"M" + z("i", "Q%d" % i)) + pkt(b"M", z("<a%d@sender.test>" % i)),
            pkt(b"R", z("<b@relay.test>")),
            pkt(b"L", z("From", "<a%d@sender.test>" % i)),
            pkt(b"L", z("To", "<b@relay.test>")),
            pkt(b"L", z("Subject", "storm %d" % i)),
            pkt(b"L", z("Message-ID", "<storm-%d@sender.test>" % i)),
            pkt(b"N"),
            pkt(b"B", b"hello\r\n"),
            pkt(b"E"),
        ]
        for step in steps:
            s.sendall(step)
            cmd, _ = until_verdict(s)
            if cmd != b"c":
                return cmd.decode()
        return "c"
    finally:
        try:
            s.sendall(pkt(b"Q"))
        except OSError:
            pass
        s.close()

def main():
    target, sessions, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    deadline = time.monotonic() + (float(sys.argv[4]) if len(sys.argv) > 4 else 120)
    counts, lock, it = collections.Counter(), threading.Lock(), iter(range(sessions))
    def worker():
        while time.monotonic() < deadline:
            with lock:
                i = next(it, None)
            if i is None:
                return
            try:
                v = {"a": "accept", "c": "accept", "t": "tempfail", "r": "reject", "y": "reply"}.get(session(target, i), "other")
            except (OSError, ConnectionError):
                v = "connection-error"
            with lock:
                counts[v] += 1
    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts: t.start()
    for t in ts: t.join()
    n = sum(counts.values())
    print("sessions %d in %.1f s: %s" % (n, time.monotonic() - t0, " ".join("%s=%d" % kv for kv in sorted(counts.items()))))

main()
