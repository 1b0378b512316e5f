#!/usr/bin/env python3
"""Interop pairs: clients and servers nobody here wrote, against `sse serve`
and `sse listen`, all on 127.0.0.1 and bounded in time.

    python3 run.py SSE_BINARY [PAIR ...]

PAIRs: node-eventsource, httpx-sse, starlette, chromium (default: all that
can run; chromium needs the Debian package). Prints PASS/FAIL per pair and
exits 1 if any failed.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import queue

HERE = os.path.dirname(os.path.abspath(__file__))
DEADLINE = 30  # seconds per pair


class Serve:
    """`sse serve` with stdin we write to."""

    def __init__(self, sse, *args):
        self.proc = subprocess.Popen(
            [sse, "serve", "--addr", "127.0.0.1:0", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), line
        self.url = line.split("listening on ", 1)[1].strip()

    def send(self, *lines):
        for line in lines:
            self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def drop_streams(self):
        self.proc.send_signal(signal.SIGUSR1)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Lines:
    """A child's JSON stdout lines on a queue."""

    def __init__(self, cmd, **kw):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.PIPE, text=True, **kw)
        self.q = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            try:
                self.q.put(json.loads(line))
            except ValueError:
                pass
        self.q.put(None)

    def next(self, kind=None, timeout=10):
        end = time.time() + timeout
        while True:
            item = self.q.get(timeout=max(0.01, end - time.time()))
            if item is None:
                raise AssertionError("client ended")
            if kind is None or item.get("kind") == kind:
                return item

    def close(self):
        self.proc.kill()
        self.proc.wait()


def check_resume(client, serve):
    """Shared script: 3 live events, a dropped stream, 2 events published
    while the client is away, which it must get on reconnect (so it sent
    Last-Event-ID), after about the server's `retry:` (300 ms), and nothing
    twice."""
    client.next("open")
    serve.send("m1", "m2", "m3")
    got = [client.next("message") for _ in range(3)]
    assert [(m["id"], m["data"]) for m in got] == [("1", "m1"), ("2", "m2"), ("3", "m3")], got
    serve.drop_streams()
    dropped = time.time()
    time.sleep(0.05)
    serve.send("m4", "m5")
    client.next("open", timeout=10)
    delay = time.time() - dropped
    got = [client.next("message") for _ in range(2)]
    assert [(m["id"], m["data"]) for m in got] == [("4", "m4"), ("5", "m5")], got
    assert delay < 2.5, f"reconnected after {delay:.2f} s: retry: 300 not honoured"
    return f"resumed from Last-Event-ID 3, reconnected after {delay * 1000:.0f} ms (retry: 300)"


def pair_node(sse):
    serve = Serve(sse, "--retry-ms", "300", "--live-only")
    client = Lines(["node", os.path.join(HERE, "node_eventsource.mjs"), serve.url], cwd=HERE)
    try:
        return check_resume(client, serve)
    finally:
        client.close()
        serve.close()


def pair_httpx(sse):
    import httpx
    from httpx_sse import connect_sse

    serve = Serve(sse, "--retry-ms", "300", "--live-only")
    seen = []
    retry = None
    try:
        with httpx.Client(timeout=10) as http:
            with connect_sse(http, "GET", serve.url) as source:
                threading.Timer(0.2, lambda: serve.send("m1", "m2", "m3")).start()
                for sse_event in source.iter_sse():
                    retry = sse_event.retry if sse_event.retry is not None else retry
                    if sse_event.data:
                        seen.append((sse_event.id, sse_event.data))
                    if len(seen) == 3:
                        break
            serve.send("m4", "m5")  # while no client is connected
            last = seen[-1][0]
            with connect_sse(http, "GET", serve.url, headers={"Last-Event-ID": last}) as source:
                for sse_event in source.iter_sse():
                    if sse_event.data:
                        seen.append((sse_event.id, sse_event.data))
                    if len(seen) == 5:
                        break
        want = [(str(i), f"m{i}") for i in range(1, 6)]
        assert seen == want, seen
        assert retry == 300, f"retry {retry}"
        return "ids 1-5 in order, resumed with Last-Event-ID, retry 300 parsed"
    finally:
        serve.close()


def pair_starlette(sse):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    venv_python = sys.executable
    app = subprocess.Popen([venv_python, os.path.join(HERE, "starlette_app.py"), str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        out = subprocess.run([sse, "listen", f"http://127.0.0.1:{port}/events", "--json", "--max-events", "3"],
                             capture_output=True, text=True, timeout=20)
        assert out.returncode == 0, out
        lines = [json.loads(l) for l in out.stdout.splitlines()]
        msgs = [(m["type"], m["id"], m["data"]) for m in lines if m["kind"] == "message"]
        assert msgs == [("message", "1", "one"), ("update", "2", "two\nlines"),
                        ("message", "3", "resumed-from-2")], msgs
        kinds = [l["kind"] for l in lines]
        assert kinds.count("open") == 2 and "error" in kinds, kinds
        return "ids, event type, multi-line data; reconnected with Last-Event-ID: 2"
    finally:
        app.terminate()
        app.wait()


def pair_chromium(sse):
    """Headless Chromium opens the page `sse serve` shows at `/`; its
    EventSource is read through the DevTools protocol."""
    import urllib.request
    import websocket  # websocket-client

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is not installed (apt-get install chromium)"
    serve = Serve(sse, "--retry-ms", "300")
    browser = None
    try:
        serve.send("m1", "m2")
        page = serve.url.rsplit("/", 1)[0] + "/"
        browser = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
             "--user-data-dir=" + os.path.join(HERE, ".chromium-profile"), page],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        for line in browser.stderr:
            if "DevTools listening on ws://" in line:
                port = int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
                break
        assert port, "no DevTools endpoint"
        threading.Thread(target=lambda: [None for _ in browser.stderr], daemon=True).start()
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5))
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        ws = websocket.create_connection(ws_url, timeout=5)
        ids = iter(range(1, 10**6))

        def page_state():
            n = next(ids)
            expr = ("[document.getElementById('state').textContent, "
                    "document.getElementById('count').textContent, "
                    "document.getElementById('last').textContent].join('|')")
            ws.send(json.dumps({"id": n, "method": "Runtime.evaluate",
                                "params": {"expression": expr, "returnByValue": True}}))
            while True:
                reply = json.loads(ws.recv())
                if reply.get("id") == n:
                    return reply["result"]["result"].get("value", "")

        def wait_for(want, timeout=10):
            end = time.time() + timeout
            state = ""
            while time.time() < end:
                state = page_state()
                if state == want:
                    return
                time.sleep(0.02)
            raise AssertionError(f"page shows {state!r}, expected {want!r}")

        wait_for("open|2|2")  # the history: events 1 and 2
        serve.drop_streams()
        dropped = time.time()
        time.sleep(0.05)
        serve.send("m3", "m4")  # while the page is away
        wait_for("open|4|4")  # 3 and 4 exactly once: it sent Last-Event-ID: 2
        delay = time.time() - dropped
        assert delay < 2.5, f"reconnected after {delay:.2f} s: retry: 300 not honoured"
        time.sleep(0.3)
        assert page_state() == "open|4|4", "an event arrived twice"
        ws.close()
        return f"got history, reconnected after a dropped stream in {delay * 1000:.0f} ms (retry: 300), resumed from Last-Event-ID 2"
    finally:
        if browser:
            browser.kill()
            browser.wait()
        shutil.rmtree(os.path.join(HERE, ".chromium-profile"), ignore_errors=True)
        serve.close()


PAIRS = {
    "node-eventsource": pair_node,
    "httpx-sse": pair_httpx,
    "starlette": pair_starlette,
    "chromium": pair_chromium,
}


def main():
    sse = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(PAIRS)
    failed = 0
    for name in names:
        started = time.time()
        result = {}

        def run():
            try:
                result["ok"] = PAIRS[name](sse)
            except BaseException as e:  # noqa: BLE001 - report every failure
                result["err"] = f"{type(e).__name__}: {e}"

        t = threading.Thread(target=run, daemon=True)
        t.start()
        t.join(DEADLINE)
        took = time.time() - started
        if "ok" in result:
            print(f"PASS {name} ({took:.1f} s): {result['ok']}")
        else:
            failed += 1
            print(f"FAIL {name} ({took:.1f} s): {result.get('err', 'timed out')}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
