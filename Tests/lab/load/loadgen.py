#!/usr/bin/env python3
"""Load on a lab relay pair: accounts, encrypted mail, accounting.

Runs as a lab client (scripts/lab exec), talks only to the lab relays.

  loadgen.py accounts DOMAIN COUNT OUT        create COUNT accounts (first IMAP login)
  loadgen.py send OUT ACCOUNTS... [options]   send encrypted mail, one JSON line per message
  loadgen.py report SENT DELIVERED WINDOWS    account for every Message-ID, print numbers and checks

ACCOUNTS files have "address password" lines. A message goes to an account of
the same relay or of the other one (--cross). Temporary failures (4xx, a
dropped or refused connection) are retried until --retry-for seconds passed;
5xx is final.
"""
import argparse, concurrent.futures, json, os, random, smtplib, socket, ssl, string, sys, threading, time, imaplib

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "..", "ChatmaildTests", "Filtermail", "Fixtures", "encrypted.eml")


def tls_context(domain):
    ctx = ssl.create_default_context()
    if domain.startswith("_"):  # self-signed relay, like the other lab suites' curl -k
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def cmd_accounts(a):
    alphabet = string.ascii_lowercase + string.digits
    rng = random.SystemRandom()

    def make(_):
        for attempt in range(20):
            user = "".join(rng.choice(alphabet) for _ in range(9)) + "@" + a.domain
            password = "".join(rng.choice(alphabet) for _ in range(20))
            try:
                with imaplib.IMAP4_SSL(a.domain, 993, ssl_context=tls_context(a.domain), timeout=30) as m:
                    m.login(user, password)
                return user, password
            except (imaplib.IMAP4.error, OSError) as e:
                err = e
                time.sleep(0.5)
        raise SystemExit("account on %s: %s" % (a.domain, err))

    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        accounts = list(ex.map(make, range(a.count)))
    with open(a.out, "w") as f:
        for user, password in accounts:
            f.write("%s %s\n" % (user, password))
    print("accounts: %d on %s in %.1f s" % (len(accounts), a.domain, time.time() - t0))


def read_accounts(path):
    with open(path) as f:
        return [tuple(line.split()) for line in f if line.strip()]


class Sender:
    def __init__(self, a, template):
        self.a, self.template, self.lock = a, template, threading.Lock()
        self.out = open(a.out, "w")
        self.counts = {"sent": 0, "retries": 0, "failed": 0}
        self.good_logins = set()

    def message(self, m):
        text = (self.template.replace("{from_addr}", m["from"]).replace("{to_addr}", m["to"])
                .replace("{subject}", "load " + m["id"]))
        lines = []
        for line in text.replace("\r\n", "\n").split("\n"):
            if line.startswith("Message-ID:"):
                line = "Message-ID: <%s>" % m["id"]
            elif line.startswith("Date:"):
                line = "Date: " + time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
            lines.append(line)
        return "\r\n".join(lines).encode()

    def session(self, user, password, domain, via443):
        ctx = tls_context(domain)
        if via443:
            ctx.set_alpn_protocols(["smtp"])  # nginx on 443 passes it to 465
        s = smtplib.SMTP_SSL(domain, 443 if via443 else 465, context=ctx, timeout=self.a.timeout)
        try:
            s.login(user, password)
        except smtplib.SMTPAuthenticationError as e:
            # A login that worked before and is refused now is the relay's
            # fault (seen while Dovecot restarts): retried like a real client,
            # and listed by the report.
            if e.smtp_code < 500:
                raise smtplib.SMTPServerDisconnected("%d %s" % (e.smtp_code, e.smtp_error.decode(errors="replace")))
            if user in self.good_logins:
                raise smtplib.SMTPServerDisconnected("login of a working account refused: %d %s"
                                                     % (e.smtp_code, e.smtp_error.decode(errors="replace")))
            raise
        self.good_logins.add(user)
        return s

    def send_batch(self, batch):
        """One sender's messages in one session; failed ones again in a new one."""
        user, password, domain = batch["user"], batch["password"], batch["domain"]
        pending = list(batch["messages"])
        for m in pending:
            m.setdefault("attempts", [])
        while pending:
            s = None
            try:
                s = self.session(user, password, domain, batch["via443"])
                while pending:
                    m = pending[0]
                    m["attempts"].append([time.time(), None])
                    if "t_first" not in m:
                        m["t_first"] = m["attempts"][-1][0]
                    s.sendmail(m["from"], [m["to"]], self.message(m))
                    m["t_accepted"] = time.time()
                    self.done(m, "sent")
                    pending.pop(0)
                try:
                    s.quit()
                except (smtplib.SMTPException, OSError):
                    pass
            except smtplib.SMTPRecipientsRefused as e:
                self.fail_or_retry(pending, str(e), permanent=all(c >= 500 for c, _ in e.recipients.values()))
            except smtplib.SMTPResponseException as e:
                self.fail_or_retry(pending, "%d %s" % (e.smtp_code, e.smtp_error.decode(errors="replace")), e.smtp_code >= 500)
            except (smtplib.SMTPException, OSError) as e:
                self.fail_or_retry(pending, "%s: %s" % (type(e).__name__, e), False)
            finally:
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

    def fail_or_retry(self, pending, error, permanent):
        now = time.time()
        m = pending[0]
        if not m["attempts"] or m["attempts"][-1][1] is not None:
            m["attempts"].append([now, None])  # failed before the message started (connect, login)
            m.setdefault("t_first", now)
        m["attempts"][-1][1] = error
        if permanent or now - m["t_first"] > self.a.retry_for:
            self.done(m, "failed")
            pending.pop(0)
            return
        with self.lock:
            self.counts["retries"] += 1
        time.sleep(min(0.5 * 2 ** min(len(m["attempts"]), 4), 5))

    def done(self, m, status):
        m["status"] = status
        with self.lock:
            self.counts[status] += 1
            self.out.write(json.dumps(m) + "\n")
            self.out.flush()


def cmd_send(a):
    with open(FIXTURE) as f:
        template = f.read()
    relays = [read_accounts(p) for p in a.accounts]
    rng = random.Random(a.seed)
    run = a.run_id or "%x" % int(time.time())
    batches, n = [], 0
    while n < a.messages:
        r = rng.randrange(len(relays))
        user, password = relays[r][(len(batches) // len(relays)) % len(relays[r])]
        domain = user.split("@")[1]
        msgs = []
        for _ in range(min(a.batch, a.messages - n)):
            other = (r + 1) % len(relays) if rng.random() < a.cross else r
            to = rng.choice(relays[other])[0]
            msgs.append({"id": "load-%s-%d@%s" % (run, n, domain), "from": user, "to": to,
                         "cross": other != r})
            n += 1
        batches.append({"user": user, "password": password, "domain": domain, "messages": msgs,
                        "via443": rng.random() < a.via443})
    sender = Sender(a, template)
    t0 = time.time()
    interval = a.duration / max(len(batches), 1)

    def paced(i_batch):
        i, batch = i_batch
        delay = t0 + i * interval - time.time()
        if delay > 0:
            time.sleep(delay)
        sender.send_batch(batch)

    with concurrent.futures.ThreadPoolExecutor(a.concurrency) as ex:
        for f in [ex.submit(paced, b) for b in enumerate(batches)]:
            f.result()
    c = sender.counts
    print("send: %d messages in %.1f s (%d sessions, %d via 443): %d accepted, %d retries, %d failed"
          % (n, time.time() - t0, len(batches), sum(b["via443"] for b in batches), c["sent"], c["retries"], c["failed"]))


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def cmd_report(a):
    sent = [json.loads(l) for l in open(a.sent) if l.strip()]
    deliveries = {}
    for path in a.delivered:
        for line in open(path):
            parts = line.split()
            if len(parts) == 3:
                deliveries.setdefault(parts[0].strip("<>"), []).append((parts[1], float(parts[2])))
    windows = []
    for line in open(a.windows):
        name, start, end = line.split()
        windows.append((name, float(start), float(end)))

    def window_of(t):
        for name, start, end in windows:
            if start - a.grace <= t <= end + a.grace:
                return name
        return None

    checks = []
    check = lambda ok, text: checks.append((ok, text))
    accepted = [m for m in sent if m["status"] == "sent"]
    failed = [m for m in sent if m["status"] != "sent"]
    lost = [m for m in accepted if m["id"] not in deliveries]
    wrong = [m for m in sent if m["id"] in deliveries and any(u != m["to"] for u, _ in deliveries[m["id"]])]
    known = {m["id"] for m in sent}
    runs = {i.split("-")[1] for i in known}
    strays = [i for i in deliveries if i.split("-")[1:2] and i.split("-")[1] in runs and i not in known]
    dups = [m for m in sent if len(deliveries.get(m["id"], [])) > 1]
    explained, unexplained = [], []
    for m in dups:
        times = [t for _, t in deliveries[m["id"]]] + [t for t, err in m["attempts"] if err]
        names = sorted({w for w in map(window_of, times) if w})
        (explained if names else unexplained).append((m, names))
    # Known relay gap: around a restart of Dovecot itself an auth worker may
    # die mid-request, and Postfix words that failure as a permanent 535.
    # A doveauth restart has no gap any more (its socket unit keeps the
    # socket open, lookups wait in the queue): a 535 there is a failure.
    gap_units = ("dovecot@",)
    refused_logins = [(m, t, err) for m in sent for t, err in m["attempts"] if err and "login of a working account refused" in err]
    outside = [(m, t, err) for m, t, err in refused_logins if not (window_of(t) or "").startswith(gap_units)]
    check(not outside, "a working account's login refused (535) only around a Dovecot restart, a known relay gap (%d of %d elsewhere)"
          % (len(outside), len(refused_logins)))
    for m, t, err in refused_logins:
        print("     %s: %s at %.1f s, %s (%s)" % ("refused login" if (m, t, err) in outside else "known relay gap",
                                               m["from"], t - a.t0, window_of(t) or "no restart", err.split(": ", 1)[1]))
    check(len(sent) == a.expect, "every planned message was handed to a relay or given up on (%d of %d)" % (len(sent), a.expect))
    check(not failed, "no message refused for good or given up (%d)" % len(failed))
    check(not lost, "every accepted message delivered, by Message-ID (%d missing)" % len(lost))
    check(not wrong, "each delivered to its recipient only (%d misdelivered)" % len(wrong))
    check(not strays, "no unknown load message in the mailboxes (%d)" % len(strays))
    if windows:
        check(not unexplained, "duplicates only where a restart interrupted the delivery (%d of %d)" % (len(unexplained), len(dups)))
    else:
        check(not dups, "no duplicates (%d)" % len(dups))
    for m in failed[:10]:
        print("     failed %s: %s" % (m["id"], m["attempts"][-1][1] if m["attempts"] else "?"))
    for m in lost[:10]:
        print("     missing %s (%s -> %s)" % (m["id"], m["from"], m["to"]))
    for m, names in explained + unexplained:
        errs = "; ".join("%.1f %s" % (t - a.t0, e) for t, e in m["attempts"] if e) or "no client error"
        print("     duplicate %s x%d, restart %s; client: %s" % (m["id"], len(deliveries[m["id"]]), ",".join(names) or "none", errs))

    lat = [min(t for _, t in deliveries[m["id"]]) - m["t_first"] for m in accepted if m["id"] in deliveries]
    same = [min(t for _, t in deliveries[m["id"]]) - m["t_first"] for m in accepted if m["id"] in deliveries and not m["cross"]]
    cross = [min(t for _, t in deliveries[m["id"]]) - m["t_first"] for m in accepted if m["id"] in deliveries and m["cross"]]
    def calm(m):  # neither sent nor delivered across a restart window
        t1 = m["t_first"]; t2 = min(t for _, t in deliveries[m["id"]])
        return not any(t1 <= end + a.grace and t2 >= start - a.grace for _, start, end in windows)
    calm_lat = [min(t for _, t in deliveries[m["id"]]) - m["t_first"] for m in accepted if m["id"] in deliveries and calm(m)]
    if accepted:
        t_start = min(m["t_first"] for m in sent)
        t_acc = max(m["t_accepted"] for m in accepted)
        t_del = max((t for m in accepted for _, t in deliveries.get(m["id"], [])), default=t_acc)
        retried = sum(1 for m in sent if any(err for _, err in m["attempts"]))
        print("numbers: %d messages (%d cross-relay), %d retried after a temporary error"
              % (len(sent), sum(m["cross"] for m in sent), retried))
        print("numbers: accepted %.1f msgs/s, delivered %.1f msgs/s (first send to last delivery %.1f s)"
              % (len(accepted) / max(t_acc - t_start, 1e-3), len(lat) / max(t_del - t_start, 1e-3), t_del - t_start))
        print("numbers: delivery latency p50 %.2f s, p99 %.2f s, max %.2f s (same relay p50 %.2f p99 %.2f; cross-relay p50 %.2f p99 %.2f)"
              % (pct(lat, 50), pct(lat, 99), max(lat or [0]), pct(same, 50), pct(same, 99), pct(cross, 50), pct(cross, 99)))
        if windows:
            print("numbers: outside the restart windows (%d messages): p50 %.2f s, p99 %.2f s, max %.2f s"
                  % (len(calm_lat), pct(calm_lat, 50), pct(calm_lat, 99), max(calm_lat or [0])))
    for ok, text in checks:
        print(("ok   " if ok else "FAIL ") + text)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("accounts")
    s.add_argument("domain"); s.add_argument("count", type=int); s.add_argument("out")
    s = sub.add_parser("send")
    s.add_argument("out"); s.add_argument("accounts", nargs="+")
    s.add_argument("--messages", type=int, default=2000)
    s.add_argument("--duration", type=float, default=90, help="spread the sessions over this many seconds")
    s.add_argument("--concurrency", type=int, default=24)
    s.add_argument("--batch", type=int, default=5, help="messages per SMTP session (one sender)")
    s.add_argument("--cross", type=float, default=0.5, help="share of messages to the other relay")
    s.add_argument("--via443", type=float, default=0.2, help="share of sessions through nginx on 443 (ALPN smtp)")
    s.add_argument("--retry-for", type=float, default=120)
    s.add_argument("--timeout", type=float, default=60)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--run-id")
    s = sub.add_parser("report")
    s.add_argument("sent"); s.add_argument("windows"); s.add_argument("delivered", nargs="+")
    s.add_argument("--expect", type=int, required=True)
    s.add_argument("--grace", type=float, default=10, help="seconds around a restart window")
    s.add_argument("--t0", type=float, default=0)
    a = p.parse_args()
    {"accounts": cmd_accounts, "send": cmd_send, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
