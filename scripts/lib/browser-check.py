#!/usr/bin/env python3
"""Render a page in headless Chromium and report everything it complains about.

Talks the DevTools protocol over --remote-debugging-pipe (fds 3 and 4), so it
needs nothing beyond Python and Debian's chromium. For one URL it:
  - emulates a viewport WIDTH pixels wide (a phone below 600 px), light or dark;
  - records console messages, uncaught exceptions and browser log entries
    (failed resource loads such as a 404 image land there);
  - optionally clicks SELECTOR and waits until TARGET's text contains TEXT;
  - saves a full-page PNG screenshot.
Exit status 0 only when nothing was reported. Usage:
  browser-check.py URL SCREENSHOT.png --width 390 [--dark] [--click SEL --expect SEL TEXT]
"""
import argparse, base64, json, os, shutil, subprocess, sys, tempfile, time


class Browser:
    def __init__(self, profile):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def wire_fds():  # the child reads commands on fd 3 and answers on fd 4
            r, w = os.dup(to_child_r), os.dup(from_child_w)  # out of the way of 3 and 4 first
            os.dup2(r, 3)  # dup2 makes them inheritable
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", "--remote-debugging-pipe", "--user-data-dir=" + profile, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=False, preexec_fn=wire_fds)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while time.time() < deadline:
            reply = self.read(deadline)
            if reply is None:
                break
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)
        raise TimeoutError(method)

    def read(self, deadline):
        import select
        while b"\0" not in self.buffer:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.from_child], [], [], left)[0]:
                return None
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                return None
            self.buffer += chunk
        msg, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(msg)

    def wait_event(self, method, timeout):
        deadline = time.time() + timeout
        while True:
            for e in self.events:
                if e.get("method") == method:
                    return True
            msg = self.read(deadline)
            if msg is None:
                return False
            self.events.append(msg)

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def problems(events):
    found = []
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            found.append(f"console.{p.get('type')}: {text}")
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            found.append("exception: " + d.get("exception", {}).get("description", d.get("text", "")))
        elif m == "Log.entryAdded":
            entry = p.get("entry", {})
            found.append(f"log {entry.get('level')}: {entry.get('text')} {entry.get('url', '')}".strip())
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("screenshot")
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--dark", action="store_true")
    ap.add_argument("--click")
    ap.add_argument("--expect", nargs=2, metavar=("SELECTOR", "TEXT"))
    args = ap.parse_args()

    profile = tempfile.mkdtemp(prefix="browser-check-")
    browser = Browser(profile)
    status = 1
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            browser.send(domain + ".enable", session=s)
        metrics = {"width": args.width, "height": 800, "deviceScaleFactor": 1, "mobile": args.width < 600}
        browser.send("Emulation.setDeviceMetricsOverride", metrics, session=s)
        scheme = "dark" if args.dark else "light"
        browser.send("Emulation.setEmulatedMedia",
                     {"features": [{"name": "prefers-color-scheme", "value": scheme}]}, session=s)
        browser.events.clear()
        browser.send("Page.navigate", {"url": args.url}, session=s)
        if not browser.wait_event("Page.loadEventFired", 20):
            print(f"{args.url}: page did not finish loading")
            return 1
        time.sleep(0.3)  # let scripts that run after load report their problems

        ok = True
        if args.click:
            browser.send("Runtime.evaluate",
                         {"expression": f"document.querySelector({json.dumps(args.click)}).click()"}, session=s)
        if args.expect:
            sel, text = args.expect
            expr = f"(document.querySelector({json.dumps(sel)}) || {{}}).textContent || ''"
            deadline, seen = time.time() + 10, ""
            while time.time() < deadline:
                seen = browser.send("Runtime.evaluate", {"expression": expr}, session=s)["result"].get("value", "")
                if text in seen:
                    break
                time.sleep(0.1)
            if text not in seen:
                print(f"{args.url}: {sel} never showed {text!r} (last: {seen!r})")
                ok = False

        size = browser.send("Page.getLayoutMetrics", session=s)["cssContentSize"]
        metrics["height"] = max(1, int(size["height"]))
        browser.send("Emulation.setDeviceMetricsOverride", metrics, session=s)
        shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=s)
        with open(args.screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))

        # Drain what arrived meanwhile, then judge.
        while (msg := browser.read(time.time() + 0.2)) is not None:
            browser.events.append(msg)
        for p in problems(browser.events):
            print(f"{args.url}: {p}")
            ok = False
        status = 0 if ok else 1
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
