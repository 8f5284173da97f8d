#!/usr/bin/env python3
"""Delta Chat accounts across a relay's Debian 12 -> 13 upgrade.

Run inside the lab network (Tests/lab/relay-upgrade.sh does that), twice,
with the same state directory (it keeps the core's accounts):

    upgrade.py before RELAY PEER DIR   accounts u on RELAY and p on PEER
                                       (both ACME relays), a push token for
                                       u, messages both ways
    upgrade.py queue RELAY PEER DIR    u sends one more while PEER's Postfix
                                       is stopped (by the caller), so that
                                       it waits in RELAY's queue
    upgrade.py after RELAY PEER DIR    the same accounts, after the upgrade:
                                       u logs in again (same password, same
                                       pinned certificate key), receives from
                                       p, its token still makes RELAY POST;
                                       p gets the queued message (the caller
                                       starts PEER's Postfix and flushes
                                       RELAY's queue first)

Needs LAB_DELTACHAT_RPC_SERVER, LAB_CA_BUNDLE, LAB_PUSH_LOG. Prints
`ok|FAIL NAME` per step and `deltachat-upgrade: N passed, N failed` last.
"""

import json
import os
import sys
import time

from deltachat_rpc_client import DeltaChat, Rpc

import e2e
from e2e import Client, Failed, bounded, create_account, one_to_one, run_test
from labtls import verified_spki_hash


def main():
    phase, relay, peer, state_dir = sys.argv[1:5]
    rpc_server = os.environ["LAB_DELTACHAT_RPC_SERVER"]
    ca_bundle = os.environ["LAB_CA_BUNDLE"]
    push_log = os.environ["LAB_PUSH_LOG"]
    accounts_dir = os.path.join(state_dir, "accounts")
    state_file = os.path.join(state_dir, "state.json")
    os.makedirs(state_dir, exist_ok=True)

    with Rpc(accounts_dir=accounts_dir, rpc_server_path=rpc_server) as rpc:
        dc = DeltaChat(rpc)
        clients = {}
        if phase == "before":
            # The relays' certificate keys, pinned in each profile: after the
            # upgrade the same pin must still match (the certificate is kept).
            pins = []
            run_test(f"{relay} and {peer} serve keys signed by the lab CA",
                     lambda: pins.extend((h, verified_spki_hash(h, ca_bundle)) for h in (relay, peer)))
            run_test(f"account u via dcaccount:https://{relay}/new", create_account,
                     clients, dc, accounts_dir, "u", f"dcaccount:https://{relay}/new", pins)
            run_test(f"account p via dcaccount:https://{peer}/new", create_account,
                     clients, dc, accounts_dir, "p", f"dcaccount:https://{peer}/new", pins)
            if len(clients) < 2:
                return finish()
            u, p = clients["u"], clients["p"]
            run_test(f"p -> u ({peer} -> {relay})", one_to_one, p, u, "before upgrade")
            run_test(f"u -> p ({relay} -> {peer})", one_to_one, u, p, "before upgrade")
            token = []
            run_test(f"u registers a push token on {relay}",
                     lambda: token.append(e2e.register_push_token(u, relay, ca_bundle)))
            with open(state_file, "w") as f:
                json.dump({"u": u.acc.id, "p": p.acc.id, "u_addr": u.addr, "p_addr": p.addr,
                           "token": token[0] if token else None}, f)
            return finish()

        with open(state_file) as f:
            state = json.load(f)
        accounts = {a.id: a for a in dc.get_all_accounts()}
        for name in ("u", "p"):
            if state[name] not in accounts:
                raise SystemExit(f"profile {name} ({state[name]}) is missing in {accounts_dir}")
            clients[name] = Client(dc, accounts_dir, name, account=accounts[state[name]])
            clients[name].addr = state[f"{name}_addr"]
        u, p = clients["u"], clients["p"]
        if phase == "queue":
            queued = f"queued across the upgrade {time.time():.0f}"

            def send_queued():
                # PEER's Postfix is stopped: RELAY accepts the message and keeps it queued
                u.online()
                u.acc.create_chat(p.acc).send_text(queued)
                u.wait_for(f"{relay} accepting the message", lambda e: e.kind in ("MsgDelivered", "MsgFailed"))
            run_test(f"u sends a message while {peer} is down; {relay} accepts it", send_queued)
            state["queued"] = queued
            with open(state_file, "w") as f:
                json.dump(state, f)
        else:
            def log_in_again():
                u.online()
                p.online()
                if not u.acc.is_configured():
                    raise Failed(f"{u}: the profile is no longer configured")
            run_test(f"u and p log in again after {relay}'s upgrade", log_in_again)
            def queued_arrived():
                # It may have arrived while p came online (bring_online drops
                # those events): look in the chat, not at the events.
                chat = p.acc.create_chat(u.acc)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    for m in chat.get_messages():
                        snap = m.get_snapshot()
                        if snap.text == state["queued"]:
                            if not snap.show_padlock:
                                raise Failed("the queued message arrived unencrypted")
                            return
                    time.sleep(0.5)
                raise Failed(f"{p}: no message {state['queued']!r} in the chat with u within 60 s")
            run_test(f"p gets the message queued on {relay} before its upgrade", queued_arrived)
            run_test(f"p -> u ({peer} -> {relay}, upgraded)", one_to_one, p, u, "after upgrade")
            run_test(f"u -> p ({relay}, upgraded -> {peer})", one_to_one, u, p, "after upgrade")

            def push_kept():
                token = state["token"]
                if not token:
                    raise Failed("no token was registered before the upgrade")
                imap = e2e.imap_login(u, relay, ca_bundle)
                try:
                    if token not in e2e.get_metadata(imap, "INBOX", "/private/devicetoken"):
                        raise Failed(f"{relay} lost u's device token in the upgrade")
                finally:
                    imap.logout()
                before = len(e2e.push_posts(push_log))
                one_to_one(p, u, "push after upgrade")
                e2e.wait_push(push_log, token, before)
            run_test(f"u's push token survived: a message makes {relay} POST it", push_kept)
    return finish()


def finish():
    print(f"deltachat-upgrade: {e2e.passed} passed, {e2e.failed} failed", flush=True)
    return 0 if e2e.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
