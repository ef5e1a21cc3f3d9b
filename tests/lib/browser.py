#!/usr/bin/env python3
"""Drives headless Chromium through the DevTools protocol over a pipe
(--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4, so no
websocket library is needed), for integration tests that look at pages the
way a visitor does: real navigation, real cookies, real form posts.

    browser.py OUTDIR STEP...

Steps, run in order in one browser session (cookies persist):
    goto URL          navigate and wait for the load event
    click SELECTOR    click the element and wait for the next load event
                      (confirm() dialogs are accepted)
    follow SELECTOR   navigate to the element's href in this tab (a link
                      that opens a new tab, target="_blank")
    fill SELECTOR=VALUE  set the value of a form field
    shot NAME         screenshot of the viewport into OUTDIR/NAME.png
    expect TEXT       fail unless the page's visible text contains TEXT
    waitfor TEXT      wait (30 s at most, following the page's own refreshes)
                      until the visible text contains TEXT
    url               print the current URL
    sleep SECONDS

Every step prints one line ("ok STEP ..." or "error STEP: reason"); the exit
status is 1 at the first failed step. The viewport is a phone's (412x900).
"""
import base64
import fcntl
import json
import os
import select
import subprocess
import sys
import tempfile
import time

TIMEOUT = 20.0


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="demux-chromium-")
        # Chromium reads commands on fd 3 and writes answers on fd 4; the
        # pipe ends are moved above 10 first so the dup2 in the child cannot
        # clobber one another.
        r1, w1 = os.pipe()
        r2, w2 = os.pipe()
        to_chrome_r, self.to_chrome = fcntl.fcntl(r1, fcntl.F_DUPFD, 10), w1
        self.from_chrome, from_chrome_w = r2, fcntl.fcntl(w2, fcntl.F_DUPFD, 10)
        os.close(r1)
        os.close(w2)

        def child_fds():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.proc = subprocess.Popen(
            [
                os.environ.get("CHROMIUM", "chromium"),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--host-resolver-rules=MAP *.localhost 127.0.0.1",
                "--remote-debugging-pipe",
                "--user-data-dir=" + self.profile,
                "about:blank",
            ],
            pass_fds=(3, 4),
            preexec_fn=child_fds,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def send(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        want = self.next_id
        deadline = time.time() + TIMEOUT
        while True:
            answer = None
            for m in self.read(deadline):
                if m.get("id") == want:
                    answer = m
                else:
                    self.events.append(m)  # events that came in the same chunk
            if answer is not None:
                if "error" in answer:
                    raise RuntimeError("%s: %s" % (method, answer["error"].get("message")))
                return answer.get("result", {})

    def read(self, deadline):
        left = deadline - time.time()
        if left <= 0:
            raise RuntimeError("timed out waiting for chromium")
        r, _, _ = select.select([self.from_chrome], [], [], left)
        if not r:
            raise RuntimeError("timed out waiting for chromium")
        chunk = os.read(self.from_chrome, 1 << 20)
        if not chunk:
            raise RuntimeError("chromium closed the pipe")
        self.buf += chunk
        out = []
        while b"\0" in self.buf:
            raw, self.buf = self.buf.split(b"\0", 1)
            out.append(json.loads(raw))
        return out

    def wait_event(self, name, deadline):
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == name:
                    del self.events[i]
                    return m
                if m.get("method") == "Page.javascriptDialogOpening":
                    del self.events[i]
                    self.send("Page.handleJavaScriptDialog", {"accept": True})
                    break
            else:
                self.events.extend(self.read(deadline))

    def start(self):
        targets = self.send("Target.getTargets", session=False)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send(
            "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}, session=False
        )["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 412, "height": 900, "deviceScaleFactor": 1, "mobile": True},
        )

    def evaluate(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("script failed: %s" % r["exceptionDetails"].get("text"))
        return r.get("result", {}).get("value")

    def goto(self, url):
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        r = self.send("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise RuntimeError("navigation failed: " + r["errorText"])
        self.wait_event("Page.loadEventFired", time.time() + TIMEOUT)

    def click(self, selector):
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        found = self.evaluate(
            "(function(){var e=document.querySelector(%s);if(!e)return false;"
            "setTimeout(function(){e.click()},0);return true})()" % json.dumps(selector)
        )
        if not found:
            raise RuntimeError("no element matches " + selector)
        self.wait_event("Page.loadEventFired", time.time() + TIMEOUT)

    def shot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.send("Browser.close", session=False)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["rm", "-rf", self.profile])


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    outdir, steps = sys.argv[1], sys.argv[2:]
    os.makedirs(outdir, exist_ok=True)
    b = Browser()
    rc = 0
    try:
        b.start()
        i = 0
        while i < len(steps):
            step = steps[i]
            arg = steps[i + 1] if step != "url" and i + 1 < len(steps) else None
            i += 1 if step == "url" else 2
            try:
                if step == "goto":
                    b.goto(arg)
                elif step == "click":
                    b.click(arg)
                elif step == "follow":
                    href = b.evaluate(
                        "(function(){var e=document.querySelector(%s);return e?e.href:''})()"
                        % json.dumps(arg)
                    )
                    if not href:
                        raise RuntimeError("no link matches " + arg)
                    b.goto(href)
                elif step == "fill":
                    sel, _, value = arg.partition("=")
                    if not b.evaluate(
                        "(function(){var e=document.querySelector(%s);if(!e)return false;"
                        "e.value=%s;return true})()" % (json.dumps(sel), json.dumps(value))
                    ):
                        raise RuntimeError("no field matches " + sel)
                    arg = sel  # the value may be a password: not printed
                elif step == "shot":
                    b.shot(os.path.join(outdir, arg + ".png"))
                elif step == "expect":
                    text = b.evaluate("document.body ? document.body.innerText : ''") or ""
                    if arg not in text:
                        raise RuntimeError("page text lacks %r: %r" % (arg, text[:300]))
                elif step == "waitfor":
                    deadline = time.time() + 30
                    while True:
                        try:
                            text = b.evaluate("document.body ? document.body.innerText : ''")
                        except RuntimeError:
                            text = ""  # the page is navigating
                        if text and arg in text:
                            break
                        if time.time() > deadline:
                            raise RuntimeError("page text lacks %r: %r" % (arg, (text or "")[:300]))
                        time.sleep(0.25)
                        b.events.clear()
                elif step == "url":
                    arg = b.evaluate("location.href")
                elif step == "sleep":
                    time.sleep(float(arg))
                else:
                    raise RuntimeError("unknown step")
                print("ok %s %s" % (step, arg if arg is not None else ""))
            except Exception as e:  # one line per failed step, then stop
                print("error %s %s: %s" % (step, arg, e))
                rc = 1
                break
    except Exception as e:
        print("error starting chromium: %s" % e)
        rc = 1
    finally:
        b.close()
    sys.stdout.flush()
    return rc


if __name__ == "__main__":
    sys.exit(main())
