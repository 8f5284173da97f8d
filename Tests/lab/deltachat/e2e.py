#!/usr/bin/env python3
"""Two lab relays against the real Delta Chat core (deltachat-rpc-server).

Run inside the lab network (Tests/lab/relay-deltachat.sh does that):

    e2e.py RELAY1 RELAY2

RELAY1 is an ACME relay (certificate from the lab's pebble), RELAY2 a
self-signed one whose domain starts with `_`. Needs in the environment:
LAB_DELTACHAT_RPC_SERVER, LAB_CA_BUNDLE, LAB_PUSH_LOG.

Prints `ok|FAIL NAME (SECONDS s)` per test, a delivery-time table, and
`deltachat: N passed, N failed` last; exits 1 on any failure. Every wait is
bounded (WAIT seconds), so a broken relay fails fast instead of hanging.
"""

import base64
import hashlib
import imaplib
import json
import os
import queue
import ssl
import sys
import tempfile
import threading
import time
import tomllib
from collections import deque

from deltachat_rpc_client import DeltaChat, Rpc
from deltachat_rpc_client._utils import AttrDict

from labtls import pin_spki, verified_spki_hash   # TLS trust for relay1 (pebble CA)

WAIT = 60           # seconds any single wait may take
ATTACHMENT = 1_000_000

passed = failed = 0
deliveries = []     # (what, from, to, bytes, seconds)


class Failed(Exception):
    pass


def run_test(name, fn, *args):
    """Runs one test; a test that raises is a failure, the rest go on."""
    global passed, failed
    t0 = time.monotonic()
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - every error is a test failure
        failed += 1
        print(f"FAIL {name} ({time.monotonic() - t0:.1f} s)", flush=True)
        for line in f"{type(e).__name__}: {e}".splitlines()[:30]:
            print(f"     | {line}", flush=True)
        return False
    passed += 1
    print(f"ok   {name} ({time.monotonic() - t0:.1f} s)", flush=True)
    return True


def bounded(what, fn, *args, timeout=WAIT):
    """Calls fn in a thread: JSON-RPC calls block without a time limit."""
    box = {}

    def call():
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            box["error"] = e

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise Failed(f"{what}: no answer within {timeout} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


# ---- accounts -------------------------------------------------------------

class Client:
    """One Delta Chat profile, with bounded event waits and a memory of its
    recent warnings and errors (printed when a wait fails)."""

    def __init__(self, dc, accounts_dir, name, account=None):
        """A new profile, or the existing `account` (a later run on the same
        accounts directory)."""
        self.dc = dc
        self.acc = account or dc.add_account()
        self.name = name
        self.addr = None
        self.recent = deque(maxlen=12)
        with open(os.path.join(accounts_dir, "accounts.toml"), "rb") as f:
            dirs = {a["id"]: a["dir"] for a in tomllib.load(f)["accounts"]}
        self.db = os.path.join(accounts_dir, dirs[self.acc.id], "dc.db")

    def __str__(self):
        return f"{self.name} <{self.addr}>"

    def pin(self, host, spki_hash):
        """The core accepts exactly this key for host (labtls.pin_spki)."""
        pin_spki(self.db, host, spki_hash)

    def next_event(self, deadline, what):
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise queue.Empty
            ev = AttrDict(self.dc.rpc.get_queue(self.acc.id).get(timeout=remaining))
        except queue.Empty:
            hint = "\n".join(self.recent)
            raise Failed(f"{self}: {what} not seen within {WAIT} s"
                         + (f"\nrecent core warnings/errors:\n{hint}" if hint else "")) from None
        if ev.kind in ("Warning", "Error", "ErrorSelfNotInGroup"):
            self.recent.append(f"{ev.kind}: {ev.get('msg', '')}"[:300])
        return ev

    def wait_for(self, what, pred, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next_event(deadline, what)
            if pred(ev):
                return ev

    def wait_for_text(self, text, timeout=WAIT):
        """Waits for an incoming message with this text; returns its snapshot.
        A large attachment first arrives as a pre-message whose text is
        followed by " [NAME – SIZE]"."""
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next_event(deadline, f"incoming message {text!r}")
            if ev.kind == "IncomingMsg":
                snap = self.acc.get_message_by_id(ev.msg_id).get_snapshot()
                if snap.text == text or snap.text.startswith(text + " ["):
                    return snap

    def wait_downloaded(self, msg_id, timeout=WAIT):
        """Large messages may arrive as a pre-message first: waits for the full one."""
        deadline = time.monotonic() + timeout
        msg = self.acc.get_message_by_id(msg_id)
        while (snap := msg.get_snapshot()).download_state != "Done":
            self.next_event(deadline, f"full download of message {msg_id}")
        return snap

    def online(self):
        bounded(f"{self}: start I/O", self.acc.bring_online)


def create_account(clients, dc, accounts_dir, name, qr, pins=()):
    c = Client(dc, accounts_dir, name)
    for host, spki_hash in pins:
        c.pin(host, spki_hash)
    bounded(f"{name}: add_transport_from_qr({qr})", c.acc.add_transport_from_qr, qr)
    [transport] = bounded(f"{name}: list_transports", c.acc.list_transports)
    c.addr = transport["addr"]
    c.acc.set_config("displayname", name)
    c.online()
    clients[name] = c
    return c


# ---- messages -------------------------------------------------------------

def timed_delivery(what, sender, chat, text, receivers, nbytes=None, file=None):
    """Sends text (and file) from sender, waits until every receiver has it,
    records one delivery time per receiver, returns the receivers' snapshots."""
    t0 = time.monotonic()
    if file:
        chat.send_message(text=text, file=file)
    else:
        chat.send_text(text)
    snaps = {}
    for r in receivers:
        snap = r.wait_for_text(text)
        if file:
            snap = r.wait_downloaded(snap.id)
        deliveries.append((what, sender.name, r.name, nbytes or len(text), time.monotonic() - t0))
        if not snap.show_padlock:
            raise Failed(f"{r}: message {text!r} from {sender} arrived unencrypted")
        snaps[r.name] = snap
    return snaps


def one_to_one(sender, receiver, what):
    chat = sender.acc.create_chat(receiver.acc)
    timed_delivery(what, sender, chat, f"{what}: hello from {sender.name} {time.time():.0f}", [receiver])


# ---- push -----------------------------------------------------------------

imaplib.Commands.setdefault("SETMETADATA", ("AUTH", "SELECTED"))
imaplib.Commands.setdefault("GETMETADATA", ("AUTH", "SELECTED"))


def imap_login(c, host, ca_bundle):
    [transport] = bounded(f"{c}: list_transports", c.acc.list_transports)
    ctx = ssl.create_default_context(cafile=ca_bundle)
    if host.startswith("_"):    # self-signed relay: the name is all there is
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    imap = imaplib.IMAP4_SSL(host, 993, ssl_context=ctx, timeout=WAIT)
    imap.login(transport["addr"], transport["password"])
    return imap


def get_metadata(imap, mailbox, key):
    """The value of one METADATA entry, as text ("" when unset)."""
    typ, data = imap._simple_command("GETMETADATA", mailbox or '""', key)
    got = imap.untagged_responses.pop("METADATA", [])
    if typ != "OK":
        raise Failed(f"GETMETADATA {key}: {typ} {data}")
    return " ".join(p.decode(errors="replace") if isinstance(p, bytes) else
                    " ".join(x.decode(errors="replace") for x in p) for p in got)


def register_push_token(c, host, ca_bundle):
    """Registers a device token the way the core does on Apple/Google phones:
    SETMETADATA INBOX /private/devicetoken "openpgp:<base64>". The RPC server
    has no call for it (the token comes from the phone's push service), so the
    test speaks the IMAP command itself, with the account's own login."""
    token = "openpgp:" + base64.b64encode(os.urandom(600)).decode()
    imap = imap_login(c, host, ca_bundle)
    try:
        typ, data = imap._simple_command("SETMETADATA", "INBOX", f'(/private/devicetoken "{token}")')
        if typ != "OK":
            raise Failed(f"{c}: SETMETADATA devicetoken: {typ} {data}")
        if token not in get_metadata(imap, "INBOX", "/private/devicetoken"):
            raise Failed(f"{c}: GETMETADATA /private/devicetoken does not return the token")
    finally:
        imap.logout()
    return token


def push_posts(push_log):
    try:
        with open(push_log) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def wait_push(push_log, token, after, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for post in push_posts(push_log)[after:]:
            if post.get("body", "").strip() == token:
                return post
        time.sleep(0.2)
    raise Failed(f"no POST with the device token reached {push_log} within {timeout} s")


# ---- the suite ------------------------------------------------------------

def main():
    relay1, relay2 = sys.argv[1:3]
    rpc_server = os.environ["LAB_DELTACHAT_RPC_SERVER"]
    ca_bundle = os.environ["LAB_CA_BUNDLE"]
    push_log = os.environ["LAB_PUSH_LOG"]
    clients = {}
    pins = []

    with tempfile.TemporaryDirectory(prefix="dc-e2e-") as accounts_dir, \
            Rpc(accounts_dir=accounts_dir, rpc_server_path=rpc_server) as rpc:
        dc = DeltaChat(rpc)
        print(f"# Delta Chat core {dc.get_system_info().get('deltachat_core_version')}", flush=True)

        def need(*names):
            missing = [n for n in names if n not in clients]
            if missing:
                raise Failed(f"skipped: account(s) {', '.join(missing)} missing")
            return [clients[n] for n in names]

        # -- TLS trust for the ACME relay
        def trust_relay1():
            pins.append((relay1, verified_spki_hash(relay1, ca_bundle)))
        run_test(f"{relay1} serves one key on 443/465/993, signed by the lab CA", trust_relay1)

        def strict_without_pin():
            c = Client(dc, accounts_dir, "nopin")
            try:
                bounded("add_transport_from_qr", c.acc.add_transport_from_qr, f"dcaccount:https://{relay1}/new")
            except Exception as e:  # noqa: BLE001 - the refusal is what we want
                if "certificate" not in str(e).lower() and "issuer" not in str(e).lower():
                    raise Failed(f"refused, but not for the certificate: {e}") from e
                return
            raise Failed("the core accepted the lab CA without the pin: the test would not check TLS")
        run_test(f"core refuses {relay1} without the pinned key (strict TLS stays on)", strict_without_pin)

        # -- accounts, the ways users make them
        run_test(f"account a1 via dcaccount:https://{relay1}/new", create_account,
                 clients, dc, accounts_dir, "a1", f"dcaccount:https://{relay1}/new", pins)
        run_test(f"account a2 via dcaccount:{relay1} (client-made login)", create_account,
                 clients, dc, accounts_dir, "a2", f"dcaccount:{relay1}", pins)
        run_test(f"account b1 via dcaccount:https://{relay2}/new", create_account,
                 clients, dc, accounts_dir, "b1", f"dcaccount:https://{relay2}/new")
        run_test(f"account b2 via dcaccount:{relay2} (client-made login)", create_account,
                 clients, dc, accounts_dir, "b2", f"dcaccount:{relay2}")

        def addresses():
            for name, relay in (("a1", relay1), ("a2", relay1), ("b1", relay2), ("b2", relay2)):
                if name in clients and not clients[name].addr.endswith("@" + relay):
                    raise Failed(f"{name}: address {clients[name].addr} is not on {relay}")
        run_test("accounts have addresses on their relay", addresses)

        # -- the client sees a chatmail relay
        def chatmail_seen(name, relay):
            [c] = need(name)
            admin = c.acc.get_info().get("imap_server_admin") or ""
            if "mailto:" not in admin:
                raise Failed(f"{c}: the core has no /shared/admin from the relay's METADATA ({admin!r})")
            html = rpc.get_connectivity_html(c.acc.id)
            if "Connected" not in html or " used" not in html:
                raise Failed(f"{c}: connectivity shows no connected inbox with quota")
            imap = imap_login(c, relay, ca_bundle)
            try:
                caps = set(imap.capability()[1][0].decode().upper().split())
                missing = {"XCHATMAIL", "XDELTAPUSH", "METADATA", "QUOTA", "IDLE", "MOVE"} - caps
                if missing:
                    raise Failed(f"{relay}: IMAP capabilities lack {sorted(missing)}: {sorted(caps)}")
                for key, want in (("maxsmtprecipients", "1000"), ("appversions", "{")):
                    got = get_metadata(imap, "", f"/shared/vendor/deltachat/{key}")
                    if want not in got:
                        raise Failed(f"{relay}: GETMETADATA /shared/vendor/deltachat/{key} = {got!r:.100}")
            finally:
                imap.logout()
        run_test(f"{relay1} looks like chatmail to the client (XCHATMAIL, METADATA, quota)", chatmail_seen, "a1", relay1)
        run_test(f"{relay2} looks like chatmail to the client (XCHATMAIL, METADATA, quota)", chatmail_seen, "b1", relay2)

        # -- one-to-one on relay1, both directions
        run_test(f"1:1 a1 -> a2 on {relay1}", lambda: one_to_one(*need("a1", "a2"), "1:1 relay1"))
        run_test(f"1:1 a2 -> a1 on {relay1}", lambda: one_to_one(*need("a2", "a1"), "1:1 relay1"))

        # -- across relays (DKIM-signed, TLS between the relays)
        run_test(f"1:1 a1 -> b1 ({relay1} -> {relay2})", lambda: one_to_one(*need("a1", "b1"), "cross-relay"))
        run_test(f"1:1 b1 -> a1 ({relay2} -> {relay1})", lambda: one_to_one(*need("b1", "a1"), "cross-relay"))

        # -- a group of three across both relays, and a 1 MB attachment
        group = {}

        def group_text():
            a1, a2, b1 = need("a1", "a2", "b1")
            chat = a1.acc.create_group("lab group")
            for other in (a2, b1):
                chat.add_contact(a1.acc.create_contact(other.acc))
            group["a1"] = chat
            snaps = timed_delivery("group", a1, chat, f"group: hello from a1 {time.time():.0f}", [a2, b1])
            group["b1"] = snaps["b1"].chat
            group["b1"].accept()
        run_test("group of a1, a2 (relay1) and b1 (relay2): a1 writes", group_text)

        def group_reply():
            a1, a2, b1 = need("a1", "a2", "b1")
            if "b1" not in group:
                raise Failed("skipped: no group")
            timed_delivery("group", b1, group["b1"], f"group: reply from b1 {time.time():.0f}", [a1, a2])
        run_test("group: b1 answers, a1 and a2 get it", group_reply)

        def group_attachment():
            a1, a2, b1 = need("a1", "a2", "b1")
            if "a1" not in group:
                raise Failed("skipped: no group")
            data = os.urandom(ATTACHMENT)
            path = os.path.join(accounts_dir, "attachment.bin")
            with open(path, "wb") as f:
                f.write(data)
            want = hashlib.sha256(data).hexdigest()
            snaps = timed_delivery("group 1 MB file", a1, group["a1"], f"group: file {time.time():.0f}",
                                   [a2, b1], nbytes=ATTACHMENT, file=path)
            for name, snap in snaps.items():
                if not snap.file:
                    raise Failed(f"{name}: message arrived without the file")
                with open(snap.file, "rb") as f:
                    got = f.read()
                if hashlib.sha256(got).hexdigest() != want:
                    raise Failed(f"{name}: file differs ({len(got)} bytes, want {ATTACHMENT})")
        run_test("group: a1 sends a 1 MB attachment, a2 and b1 get it intact", group_attachment)

        # -- secure-join (QR verification) across relays
        def securejoin():
            a2, b2 = need("a2", "b2")
            qr = a2.acc.get_qr_code()
            t0 = time.monotonic()
            b2.acc.secure_join(qr)
            b2.wait_for("joiner progress 1000",
                        lambda e: e.kind == "SecurejoinJoinerProgress" and e.progress == 1000)
            a2.wait_for("inviter progress 1000",
                        lambda e: e.kind == "SecurejoinInviterProgress" and e.progress == 1000)
            deliveries.append(("secure-join handshake", "b2", "a2", 0, time.monotonic() - t0))
            # Core 2.x shows no "verified" flag any more; the handshake's end
            # (progress 1000 on both sides) is the verification. After it the
            # inviter is a key contact with a key to encrypt to.
            contact = b2.acc.get_contact_by_addr(a2.addr)
            snap = contact.get_snapshot() if contact else {}
            if not snap or not snap.get("is_key_contact") or not snap.get("e2ee_avail"):
                raise Failed(f"{b2}: after secure-join {a2.addr} is no key contact with encryption: {dict(snap)}")
            one_to_one(b2, a2, "after secure-join")
        run_test(f"secure-join a2 ({relay1}) <- b2 ({relay2}), then a verified chat", securejoin)

        # -- push: a device token, then a message makes the notifier POST
        def push(name, relay, sender_name):
            c, sender = need(name, sender_name)
            token = register_push_token(c, relay, ca_bundle)
            before = len(push_posts(push_log))
            t0 = time.monotonic()
            one_to_one(sender, c, "push")
            post = wait_push(push_log, token, before)
            deliveries.append((f"push POST ({relay})", sender.name, "notifier", len(token), time.monotonic() - t0))
            if post.get("path") != "/notify":
                raise Failed(f"push went to {post.get('path')}, want /notify")
        run_test(f"push: token for a1 on {relay1}, a message from b1 makes {relay1} POST it", push, "a1", relay1, "b1")
        run_test(f"push: token for b2 on {relay2}, a message from a1 makes {relay2} POST it", push, "b2", relay2, "a1")

        if deliveries:
            print("\n# delivery times: send call -> IncomingMsg at the receiver (a file: fully downloaded; push POST: the notifier's POST)")
            print(f"# {'what':<24} {'from':<5} {'to':<9} {'bytes':>9} {'seconds':>8}")
            for what, frm, to, n, secs in deliveries:
                print(f"# {what:<24} {frm:<5} {to:<9} {n:>9} {secs:>8.2f}")
            print()

    print(f"deltachat: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
