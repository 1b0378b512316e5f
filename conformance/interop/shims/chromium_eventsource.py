"""Client shim for headless Chromium's own `EventSource`, for
`sse conformance client --cmd`.

    python3 chromium_eventsource.py URL       (options in SSE_CONFORMANCE)

Starts a headless Chromium with a fresh profile on about:blank, creates
`new EventSource(URL)` there through the DevTools protocol, and prints one
protocol line per `open`, message and `error` event as the page reports it
(a DevTools binding, so each line is printed the moment the event fires).
`reconnecting` is whether `readyState` is CONNECTING when `error` fires;
messages carry `type`, `data`, `lastEventId` and `origin` as the page sees
them; named events are listened for by the types the runner lists. A
`close` line on stdin calls `es.close()`.

The page's origin (about:blank) differs from the stream's, and the
scenarios' servers send no CORS headers: Chromium runs with
`--disable-web-security`, which drops the CORS check and nothing else of
EventSource's processing (requests, redirects, reconnection, parsing).
Declared capabilities: `reconnect`, `close`.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import websocket  # websocket-client

PAGE_SCRIPT = """
(() => {
  const es = new EventSource(%(url)s);
  window.__es = es;
  const send = (line) => report(JSON.stringify(line));
  const message = (e) => send({kind: "message", type: e.type, data: e.data,
                               id: e.lastEventId, origin: e.origin});
  es.onopen = () => send({kind: "open"});
  es.onerror = () => send({kind: "error", reconnecting: es.readyState === EventSource.CONNECTING,
                           message: "error event"});
  es.onmessage = message;
  for (const t of %(types)s) es.addEventListener(t, message);
})()
"""


class Browser:
    def __init__(self):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if not chromium:
            sys.exit("chromium is not installed (apt-get install chromium)")
        self.profile = tempfile.mkdtemp(prefix="sse-shim-chromium-")
        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--disable-web-security", "--remote-debugging-port=0",
             "--user-data-dir=" + self.profile, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        for line in self.proc.stderr:
            if "DevTools listening on ws://" in line:
                port = int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
                break
        if not port:
            self.close()
            sys.exit("chromium gave no DevTools endpoint")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        target = None
        for _ in range(200):
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5))
            target = next((t for t in targets if t.get("type") == "page"), None)
            if target:
                break
            time.sleep(0.05)
        self.ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=None)
        self.lock = threading.Lock()
        self.ids = iter(range(1, 10**9))

    def send(self, method, **params):
        with self.lock:
            self.ws.send(json.dumps({"id": next(self.ids), "method": method, "params": params}))

    def close(self):
        try:
            self.proc.kill()
            self.proc.wait(5)
        except Exception:  # noqa: BLE001 - best effort at the end
            pass
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    url = sys.argv[1]
    opts = json.loads(os.environ.get("SSE_CONFORMANCE") or "{}")
    browser = Browser()

    def stop(*_):
        browser.close()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def watch_stdin():
        for line in sys.stdin:
            if line.strip() == "close":
                browser.send("Runtime.evaluate", expression="window.__es && window.__es.close()")

    threading.Thread(target=watch_stdin, daemon=True).start()
    browser.send("Runtime.enable")
    browser.send("Runtime.addBinding", name="report")
    script = PAGE_SCRIPT % {"url": json.dumps(url), "types": json.dumps(opts.get("event_types") or [])}
    browser.send("Runtime.evaluate", expression=script)
    try:
        while True:
            reply = json.loads(browser.ws.recv())
            if reply.get("method") == "Runtime.bindingCalled" and reply["params"]["name"] == "report":
                sys.stdout.write(reply["params"]["payload"] + "\n")
                sys.stdout.flush()
            elif "error" in reply:
                sys.stderr.write(f"DevTools error: {reply['error']}\n")
    except (websocket.WebSocketException, OSError):
        pass  # the browser went away (stopped with us)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
