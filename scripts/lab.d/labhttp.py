#!/usr/bin/python3
"""HTTPS server for two lab services (Python standard library only).

--record FILE   push-notification stand-in: every POST is appended to FILE
                as one JSON line (time, path, headers, body). The answer is
                200, unless the body starts with "status-NNN-", which makes
                it answer NNN (e.g. "status-410-..." for a token the provider
                no longer knows), so tests can drive the relay's error paths.
--root DIR      file server: GET/HEAD of the files below DIR.

Both may be given; the lab runs one instance per service address.
"""
import argparse
import base64
import functools
import http.server
import json
import re
import ssl
import threading
import time

STATUS_PREFIX = re.compile(rb"^status-([1-5][0-9][0-9])-")


class Handler(http.server.SimpleHTTPRequestHandler):
    record_file = None
    lock = threading.Lock()

    def do_POST(self):
        if self.record_file is None:
            self.send_error(405, "this lab server does not take POSTs")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        entry = {
            "time": time.time(),
            "path": self.path,
            "headers": dict(self.headers.items()),
        }
        try:
            entry["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            entry["body_base64"] = base64.b64encode(body).decode("ascii")
        with self.lock, open(self.record_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")
        match = STATUS_PREFIX.match(body)
        status = int(match.group(1)) if match else 200
        reply = b"recorded\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, fmt, *args):
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--root", default="/nonexistent")
    ap.add_argument("--record")
    args = ap.parse_args()

    Handler.record_file = args.record
    handler = functools.partial(Handler, directory=args.root)
    server = http.server.ThreadingHTTPServer((args.bind, args.port), handler)
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("listening on %s:%d" % (args.bind, args.port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
