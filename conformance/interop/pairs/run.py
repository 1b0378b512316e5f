#!/usr/bin/env python3
"""Interop pairs: clients and servers nobody here wrote, against `sse serve`
and `sse listen`, all on 127.0.0.1.

    python3 run.py SSE_BINARY PAIR [PAIR ...]

PAIRs: node-eventsource, httpx-sse, starlette, chromium, chromium-cors, chromium-serve-h2
(`sse serve --tls-cert`), chromium-h2, chromium-h1-limit (the last two against the
tokio adapter's axum example). Prints one
`PASS name (versions; seconds): what was checked` or `FAIL name (...): why`
line per pair and exits 1 if any failed. `run.sh` runs each pair in its own
process under `timeout`, which is the hard bound; the waits below are only
there to turn a stuck client into a readable FAIL line sooner.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import queue
from importlib import metadata

HERE = os.path.dirname(os.path.abspath(__file__))
RETRY_MS = 300  # the `retry:` every pair's server sends
DEFAULT_RETRY_S = 3.0  # what every client here waits without one


def check_retry(delay, retry_ms=RETRY_MS, jitter=False):
    """A reconnect `delay` s after the drop honours `retry: retry_ms`: not
    before it (a client that ignores it and reconnects at once fails), and
    well before the 3 s default (a client that ignores it and waits the
    default fails). A client that jitters its waits (`sse listen` by
    default: drawn from [d/2, d]) may come back after half of it."""
    low, high = retry_ms / 1000 * (0.4 if jitter else 0.8), DEFAULT_RETRY_S * 0.8
    assert low <= delay < high, (
        f"reconnected {delay * 1000:.0f} ms after the drop; retry: {retry_ms} "
        f"means between {low * 1000:.0f} and {high * 1000:.0f} ms")


class Serve:
    """`sse serve` with stdin we write to (over HTTPS with scheme="https",
    whose options are in args)."""

    def __init__(self, sse, *args, scheme="http"):
        self.proc = subprocess.Popen(
            [sse, "serve", "--addr", "127.0.0.1:0", "--retry-ms", str(RETRY_MS), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith(f"listening on {scheme}://127.0.0.1:"), f"first line {line!r}"
        self.url = line.split("listening on ", 1)[1].strip()
        assert self.url.endswith("/events"), f"first line {line!r}"

    def send(self, *lines):
        for line in lines:
            self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def drop_streams(self):
        self.proc.send_signal(signal.SIGUSR1)

    def stop(self, sig=signal.SIGTERM):
        """The contract: SIGINT/SIGTERM shut down cleanly with exit 0."""
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"sse serve still running 5 s after {sig.name}")
        assert code == 0, f"sse serve exited {code} after {sig.name}"

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


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

    def next(self, kind, what, timeout=10):
        end = time.time() + timeout
        while True:
            try:
                item = self.q.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                raise AssertionError(f"no {kind} within {timeout} s: {what}") from None
            if item is None:
                raise AssertionError(f"client ended while waiting for {kind}: {what}")
            if item.get("kind") == kind:
                return item

    def close(self):
        self.proc.kill()
        self.proc.wait()


def check_resume(client, serve):
    """Shared script (`sse serve --live-only`): 3 live events, a dropped
    stream, 2 events published while the client is away, which it must get
    on reconnect (with --live-only a client that sends no Last-Event-ID gets
    nothing), after about the server's `retry: 300`, and nothing twice."""
    client.next("open", "first connect")
    time.sleep(0.1)  # the stream is subscribed by the time `open` fires; be generous
    serve.send("m1", "m2", "m3")
    got = [client.next("message", "live events m1-m3") for _ in range(3)]
    assert [(m["id"], m["data"]) for m in got] == [("1", "m1"), ("2", "m2"), ("3", "m3")], got
    serve.drop_streams()
    dropped = time.time()
    client.next("error", "the dropped stream reported")
    serve.send("m4", "m5")  # while the client is away
    client.next("open", "reconnect after the drop")
    delay = time.time() - dropped
    got = [client.next("message", "m4, m5 replayed: was Last-Event-ID: 3 sent?") for _ in range(2)]
    assert [(m["id"], m["data"]) for m in got] == [("4", "m4"), ("5", "m5")], got
    check_retry(delay)
    serve.send("m6")
    m = client.next("message", "live m6 after the resume")
    assert (m["id"], m["data"]) == ("6", "m6"), f"after the resume: {m} (a duplicate?)"
    return f"ids 1-3 live; dropped; 4-5 replayed after Last-Event-ID 3, reconnect after {delay * 1000:.0f} ms (retry: {RETRY_MS}); 6 live, none twice"


def pair_node(sse):
    serve = Serve(sse, "--live-only")
    client = Lines(["node", os.path.join(HERE, "node_eventsource.mjs"), serve.url], cwd=HERE)
    try:
        result = check_resume(client, serve)
        serve.stop(signal.SIGTERM)
        return result + "; serve exits 0 on SIGTERM"
    finally:
        client.close()
        serve.close()


def pair_httpx(sse):
    import httpx
    from httpx_sse import connect_sse

    serve = Serve(sse, "--live-only")
    seen = []
    retry = None
    try:
        with httpx.Client(timeout=10) as http:
            with connect_sse(http, "GET", serve.url) as source:
                assert source.response.status_code == 200, source.response
                ctype = source.response.headers["content-type"]
                assert ctype.startswith("text/event-stream"), ctype
                threading.Timer(0.2, lambda: serve.send("m1", "m2", "m3")).start()
                for sse_event in source.iter_sse():
                    retry = sse_event.retry if sse_event.retry is not None else retry
                    if sse_event.data:
                        seen.append((sse_event.id, sse_event.data))
                    if len(seen) == 3:
                        break
            serve.send("m4", "m5")  # while no client is connected
            last = seen[-1][0]
            try:
                with connect_sse(http, "GET", serve.url, headers={"Last-Event-ID": last}) as source:
                    for sse_event in source.iter_sse():
                        if sse_event.data:
                            seen.append((sse_event.id, sse_event.data))
                        if len(seen) == 5:
                            break
            except httpx.ReadTimeout:
                raise AssertionError(f"nothing for 10 s after reconnecting with Last-Event-ID: {last}; "
                                     f"got {seen}") from None
        want = [(str(i), f"m{i}") for i in range(1, 6)]
        assert seen == want, seen
        assert retry == RETRY_MS, f"retry {retry}"
        serve.stop(signal.SIGINT)
        return (f"ids 1-5 in order across a reconnect with Last-Event-ID: 3 (4-5 published while away); "
                f"retry {RETRY_MS} parsed; serve exits 0 on SIGINT")
    finally:
        serve.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listen(sse, url, *args, timeout=20):
    out = subprocess.run([sse, "listen", url, "--json", *args],
                         capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    return out, lines


def pair_starlette(sse):
    port = free_port()
    app = subprocess.Popen([sys.executable, os.path.join(HERE, "starlette_app.py"), str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)

        # /events: two events and `retry: 200`, the end; a reconnect that
        # sends Last-Event-ID gets one more and the end; the next gets 204.
        out, lines = listen(sse, base + "/events")
        assert out.returncode == 0, f"listen exited {out.returncode} (a 204 ends it with 0): {out.stderr!r}"
        msgs = [(m["type"], m["id"], m["data"]) for m in lines if m["kind"] == "message"]
        assert len(msgs) == 3, lines
        assert msgs[:2] == [("message", "1", "one"), ("update", "2", "two\nlines")], msgs
        kind, last, gap = msgs[2][2].split()
        assert (msgs[2][:2], kind, last) == (("message", "3"), "resumed-from", "2"), msgs
        check_retry(int(gap) / 1000, 200, jitter=True)
        kinds = [line["kind"] for line in lines]
        assert kinds.count("open") == 2, kinds
        errors = [line for line in lines if line["kind"] == "error"]
        assert [e["reconnecting"] for e in errors] in ([True, True, False], [True, True]), errors
        assert all(m["origin"] == base for m in lines if m["kind"] == "message"), lines

        # --last-event-id on the first request; --max-events stops early.
        out, lines = listen(sse, base + "/events", "--last-event-id", "41", "--max-events", "1")
        msgs = [m["data"].split()[:2] for m in lines if m["kind"] == "message"]
        assert out.returncode == 0 and msgs == [["resumed-from", "41"]], (out, lines)

        # A one-shot POST (LLM-style): headers and body sent, its end is not
        # an error and not reconnected.
        body = '{"prompt": "hi"}'
        out, lines = listen(sse, base + "/chat", "-X", "POST", "--data", body,
                            "-H", "Authorization: Bearer t0k", "-H", "Content-Type: application/json")
        msgs = [(m["type"], m["data"]) for m in lines if m["kind"] == "message"]
        assert out.returncode == 0, f"one-shot POST: listen exited {out.returncode}: {out}"
        assert msgs == [("message", "Bearer t0k"), ("done", body)], lines
        time.sleep(0.3)
        import urllib.request
        chats = json.load(urllib.request.urlopen(base + "/chats", timeout=5))["chats"]
        assert chats == 1, f"the one-shot POST was sent {chats} times"

        # A server error and a wrong content type fail for good: exit 1, one
        # error line (reconnecting: false) with a message.
        messages = []
        for path, what in (("/broken", "status 500"), ("/html", "text/html")):
            out, lines = listen(sse, base + path)
            errors = [line for line in lines if line["kind"] == "error"]
            assert out.returncode == 1, f"{what}: listen exited {out.returncode}: {out}"
            assert len(errors) == 1 and not errors[0]["reconnecting"] and errors[0]["message"], f"{what}: {out}"
            assert len(lines) == 1, f"{what}: {lines}"
            messages.append(errors[0]["message"])
        return ("ids, event type, multi-line data, origin; end of stream -> reconnect "
                f"{int(gap)} ms later (retry: 200) with Last-Event-ID: 2; 204 -> exit 0; "
                f"--last-event-id, --max-events; -X POST --data -H one-shot: sent once, end -> exit 0; 500 and text/html -> exit 1 ({'; '.join(messages)})")
    finally:
        app.terminate()
        app.wait()


class Chromium:
    """Headless Chromium showing one page; `state()` evaluates an expression
    in it through the DevTools protocol."""

    EXPR = ("[document.getElementById('state').textContent, "
            "document.getElementById('count').textContent, "
            "document.getElementById('last').textContent].join('|')")

    def __init__(self, page, expr=EXPR, flags=()):
        import urllib.request
        import websocket  # websocket-client

        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        assert chromium, "chromium is not installed (apt-get install chromium)"
        self.expr = expr
        self.ws = None
        self.profile = tempfile.mkdtemp(prefix="sse-interop-chromium-")
        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--remote-debugging-port=0", "--user-data-dir=" + self.profile,
             *flags, page],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            port = None
            for line in self.proc.stderr:
                if "DevTools listening on ws://" in line:
                    port = int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
                    break
            assert port, "no DevTools endpoint"
            threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
            ws_url = None
            for _ in range(100):
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5))
                ws_url = next((t["webSocketDebuggerUrl"] for t in targets
                               if t.get("type") == "page" and t.get("url", "").startswith(page)), None)
                if ws_url:
                    break
                time.sleep(0.05)
            assert ws_url, f"no page target for {page}"
            self.ws = websocket.create_connection(ws_url, timeout=5)
        except BaseException:
            self.close()
            raise
        self.ids = iter(range(1, 10**6))
        self.events = []  # DevTools events (e.g. after Network.enable), in order

    def state(self):
        """The page's state expression; while the page is still loading (its
        elements not there yet) the text `loading: ERROR` instead of a throw,
        so a wait that starts before the document does keeps waiting."""
        guarded = f"(() => {{ try {{ return {self.expr}; }} catch (e) {{ return 'loading: ' + e; }} }})()"
        return self.eval(guarded)

    def command(self, method, params=None):
        """A DevTools command's result; the events that arrive before it
        go to self.events."""
        n = next(self.ids)
        self.ws.send(json.dumps({"id": n, "method": method, "params": params or {}}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == n:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply["result"]
            if "method" in reply:
                self.events.append(reply)

    def eval(self, expr, await_promise=False):
        """The value of a JavaScript expression in the page (a promise's
        result with await_promise)."""
        result = self.command("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                                   "awaitPromise": await_promise})
        assert "exceptionDetails" not in result, f"{expr!r} threw: {result['exceptionDetails']}"
        return result["result"].get("value", "")

    def wait_for(self, pred, what, timeout=10):
        end = time.time() + timeout
        state = ""
        while time.time() < end:
            state = self.state()
            if pred(state):
                return state
            time.sleep(0.01)
        raise AssertionError(f"page shows {state!r}, expected {what}")

    def close(self):
        if self.ws:
            self.ws.close()
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def pair_chromium(sse):
    """Headless Chromium opens the page `sse serve` shows at `/` (its
    EventSource; the page shows state|count|last id)."""
    serve = Serve(sse)
    browser = None
    try:
        serve.send("m1", "m2")
        browser = Chromium(serve.url.rsplit("/", 1)[0] + "/")
        browser.wait_for(lambda s: s == "open|2|2", "open|2|2: the history, events 1 and 2")
        serve.drop_streams()
        dropped = time.time()
        browser.wait_for(lambda s: s.startswith("connecting|"), "connecting: the dropped stream noticed")
        serve.send("m3", "m4")  # while the page is away
        browser.wait_for(lambda s: s.startswith("open|"), "open again")
        delay = time.time() - dropped
        # 3 and 4 exactly once: it sent Last-Event-ID: 2 (without it the
        # history would come again, count 6).
        browser.wait_for(lambda s: s == "open|4|4", "open|4|4: 3 and 4 once (Last-Event-ID: 2 sent)")
        check_retry(delay)
        serve.send("m5")
        browser.wait_for(lambda s: s == "open|5|5", "open|5|5: live m5")
        time.sleep(0.3)
        state = browser.state()
        assert state == "open|5|5", f"page shows {state!r} 300 ms later: an event arrived twice"
        serve.stop(signal.SIGTERM)
        return (f"the page at / gets the history (1, 2); dropped; reconnect after {delay * 1000:.0f} ms "
                f"(retry: {RETRY_MS}) with Last-Event-ID: 2, 3 and 4 once; 5 live; serve exits 0 on SIGTERM")
    finally:
        if browser:
            browser.close()
        serve.close()


CORS_PAGE = """<!doctype html><meta charset="utf-8"><title>cross-origin</title>
<p><span id="state">connecting</span> <span id="count">0</span> <span id="last">-</span>
<span id="other">connecting</span>
<script>
  const names = ["connecting", "open", "closed"];
  const $ = (id) => document.getElementById(id);
  const q = new URLSearchParams(location.search);
  let count = 0;
  const es = new EventSource(q.get("allowed"));
  es.onopen = es.onerror = () => { $("state").textContent = names[es.readyState]; };
  es.onmessage = (e) => { $("count").textContent = ++count; $("last").textContent = e.lastEventId; };
  const other = new EventSource(q.get("refused"));
  other.onopen = other.onerror = () => { $("other").textContent = names[other.readyState]; };
</script>"""


def pair_chromium_cors(sse):
    """A page from another origin: an EventSource on `sse serve --cors
    ORIGIN` with `?last_event_id=` (a browser cannot set the header on its
    first request) works and resumes after a drop with the header (which must
    win over the query still in the URL); one on a server without --cors
    fails for good."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = CORS_PAGE.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{site.server_address[1]}"
    allowed = Serve(sse, "--cors", origin)
    refused = Serve(sse)
    browser = None
    try:
        allowed.send("m1", "m2", "m3")
        from urllib.parse import urlencode
        page = origin + "/?" + urlencode({"allowed": allowed.url + "?last_event_id=1", "refused": refused.url})
        expr = Chromium.EXPR.replace("].join", ", document.getElementById('other').textContent].join")
        browser = Chromium(page, expr)
        browser.wait_for(lambda s: s == "open|2|3|closed",
                         "open|2|3|closed: 2 and 3 after ?last_event_id=1; the server without --cors refused")
        allowed.drop_streams()
        browser.wait_for(lambda s: s.startswith("connecting|"), "connecting: the dropped stream noticed")
        allowed.send("m4")
        browser.wait_for(lambda s: s == "open|3|4|closed",
                         "open|3|4|closed: 4 once (Last-Event-ID: 3 wins over ?last_event_id=1)")
        time.sleep(0.3)
        state = browser.state()
        assert state == "open|3|4|closed", f"page shows {state!r} 300 ms later: an event arrived twice"
        return (f"page on {origin}: ?last_event_id=1 -> 2, 3; dropped; resumed with Last-Event-ID: 3 "
                "across origins (the header wins over the query), 4 once; no --cors -> EventSource closed")
    finally:
        if browser:
            browser.close()
        allowed.close()
        refused.close()
        site.shutdown()


class Axum:
    """The tokio adapter's axum example (adapters/tokio/examples/axum.rs),
    over TLS with a certificate it makes itself (rcgen) or over plain HTTP."""

    def __init__(self, tls):
        binary = os.environ.get("SSE_TOKIO_AXUM") or os.path.join(
            HERE, "..", "..", "..", "target", "release", "examples", "tokio-axum")
        args = [binary, "127.0.0.1:0"] + (["--tls-self-signed"] if tls else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), f"first line {line!r}"
        self.url = line.split("listening on ", 1)[1].strip()
        self.base = self.url.rsplit("/", 1)[0]

    def stats(self):
        """The server's own count of connections and streams, over a
        connection of this process (not the browser's)."""
        import ssl
        import urllib.request
        context = ssl._create_unverified_context()  # the example's self-signed certificate
        return json.load(urllib.request.urlopen(self.base + "/stats", timeout=5, context=context))

    def close(self):
        self.proc.kill()
        self.proc.wait()


# Chromium as the must-show asks: a browser that accepts the test's
# certificate, talks HTTP/2 over TCP (no QUIC) and nothing else.
BROWSER_FLAGS = ("--disable-quic", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--ignore-certificate-errors")

# Ten EventSources from one page, each recording its state and events.
OPEN_TEN = """(() => {
  const names = ["connecting", "open", "closed"];
  window.streams = [];
  for (let i = 0; i < 10; i++) {
    const s = {state: "connecting", events: []};
    window.streams.push(s);
    const es = new EventSource("/events");
    es.onopen = es.onerror = () => { s.state = names[es.readyState]; };
    es.onmessage = (e) => { s.events.push(e.lastEventId + ":" + e.data); };
  }
  return true;
})()"""
STREAMS = "JSON.stringify(window.streams)"


def open_ten(browser, origin):
    """Once the page of `origin` has loaded (the target exists before its
    document does), opens the ten streams from it."""
    end = time.time() + 10
    while browser.eval("location.origin + '|' + document.readyState") != origin + "|complete":
        assert time.time() < end, f"the page of {origin} did not load"
        time.sleep(0.02)
    browser.eval(OPEN_TEN)


def wait_streams(browser, pred, what, timeout=10):
    end = time.time() + timeout
    streams = []
    while time.time() < end:
        streams = json.loads(browser.eval(STREAMS))
        if pred(streams):
            return streams
        time.sleep(0.02)
    raise AssertionError(f"{what}; the streams: {[(s['state'], len(s['events'])) for s in streams]}")


def pair_chromium_h2(_sse):
    """Ten EventSources from one page on the axum example over TLS: HTTP/2
    by ALPN, all ten on one connection, each gets the same three events
    (published by the page itself, on that connection too)."""
    server = Axum(tls=True)
    browser = None
    try:
        # A page of the server's origin that opens no stream of its own.
        browser = Chromium(server.base + "/stats", flags=BROWSER_FLAGS)
        open_ten(browser, server.base)
        wait_streams(browser, lambda ss: all(s["state"] == "open" for s in ss), "all ten open")
        browser.eval("""(async () => {
          for (const data of ["one", "two", "three"]) {
            await fetch("/publish", {method: "POST", body: data});
          }
          return true;
        })()""", await_promise=True)
        want = ["1:one", "2:two", "3:three"]
        wait_streams(browser, lambda ss: all(s["events"] == want for s in ss),
                     f"all ten receive {want}")
        seen = json.loads(browser.eval("fetch('/stats').then(r => r.text())", await_promise=True))
        # Every connection that carried a request (the page, its ten
        # streams, the publishes, this fetch): exactly one, HTTP/2.
        used = seen["connections"]
        assert [(c["version"], c["streams"]) for c in used] == [("HTTP/2.0", 10)], seen
        idle = seen["accepted"] - len(used)
        return ("TLS (rcgen) + ALPN: ten EventSources, the page, 3 publishes on one HTTP/2 connection "
                f"({used[0]['requests']} requests; each stream got 1-3 in order); "
                f"{idle} more connection(s) opened by Chromium carried no request")
    finally:
        if browser:
            browser.close()
        server.close()


def self_signed(directory):
    """A self-signed certificate for 127.0.0.1 and its key (PEM files in
    `directory`), made with the openssl command."""
    assert shutil.which("openssl"), "openssl is not installed (apt-get install openssl)"
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert,
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def pair_chromium_serve_h2(sse):
    """`sse serve --tls-cert --tls-key` and its page at `/` over HTTPS: the
    page's EventSource and ten more opened from it all get the same events,
    and Chromium's own record (DevTools Network events) shows every request
    (the page, its eleven streams) on one HTTP/2 connection."""
    directory = tempfile.mkdtemp(prefix="sse-interop-tls-")
    cert, key = self_signed(directory)
    serve = Serve(sse, "--tls-cert", cert, "--tls-key", key, scheme="https")
    base = serve.url.rsplit("/", 1)[0]
    browser = None
    try:
        serve.send("m1", "m2")  # the history every new stream gets first
        browser = Chromium("about:blank", flags=BROWSER_FLAGS)
        browser.command("Network.enable")
        browser.command("Page.navigate", {"url": base + "/"})
        browser.wait_for(lambda s: s == "open|2|2", "open|2|2: the page's own stream got the history")
        open_ten(browser, base)
        history = ["1:m1", "2:m2"]
        wait_streams(browser, lambda ss: all(s["state"] == "open" and s["events"] == history for s in ss),
                     f"all ten open with the history {history}")
        serve.send("m3", "m4", "m5")
        want = history + ["3:m3", "4:m4", "5:m5"]
        wait_streams(browser, lambda ss: all(s["events"] == want for s in ss), f"all ten receive {want}")
        browser.wait_for(lambda s: s == "open|5|5", "open|5|5: the page's own stream got 3-5 too")
        time.sleep(0.3)
        streams = json.loads(browser.eval(STREAMS))
        assert all(s["events"] == want for s in streams), f"300 ms later: {streams}"
        responses = [e["params"]["response"] for e in browser.events
                     if e["method"] == "Network.responseReceived"
                     and e["params"]["response"]["url"].startswith(base)]
        # Every response from the origin (the favicon Chromium may ask for
        # too) on one connection, and that one HTTP/2.
        seen = sorted({(r["protocol"], r["connectionId"]) for r in responses})
        paths = sorted(r["url"][len(base):] for r in responses)
        favicons = paths.count("/favicon.ico")
        assert [p for p in paths if p != "/favicon.ico"] == ["/"] + ["/events"] * 11, paths
        assert len(seen) == 1 and seen[0][0] == "h2", f"(protocol, connection) of the responses: {seen}"
        serve.stop(signal.SIGTERM)
        return ("TLS (openssl self-signed) + ALPN: the page at /, its 11 EventSources (its own and "
                f"ten more) and {favicons} favicon request(s) on one HTTP/2 connection (Chromium's "
                f"connection id {seen[0][1]}); each stream got the history 1-2 and 3-5 live, once; "
                "serve exits 0 on SIGTERM")
    finally:
        if browser:
            browser.close()
        serve.close()
        shutil.rmtree(directory, ignore_errors=True)


def pair_chromium_h1_limit(_sse):
    """The same page over plain HTTP/1.1: the browser opens six connections
    to the origin and no more, so six streams open and the seventh (and the
    rest) stall in `connecting`; the server saw six streams. This is what
    the HTTP/2 pair is the cure for, and proves that pair can fail."""
    server = Axum(tls=False)
    browser = None
    try:
        browser = Chromium(server.base + "/stats", flags=BROWSER_FLAGS)
        open_ten(browser, server.base)
        wait_streams(browser, lambda ss: sum(s["state"] == "open" for s in ss) >= 6, "six open")
        time.sleep(1.5)  # long enough for a seventh connection, were one allowed
        streams = json.loads(browser.eval(STREAMS))
        states = [s["state"] for s in streams]
        assert states.count("open") == 6 and states.count("connecting") == 4, states
        seen = server.stats()
        streams = [c["streams"] for c in seen["connections"] if c["streams"]]
        assert streams == [1] * 6, seen
        assert all(c["version"] == "HTTP/1.1" for c in seen["connections"]), seen
        return (f"plain HTTP/1.1: six streams open on six connections, the seventh to tenth stall "
                f"(states {states.count('open')} open, {states.count('connecting')} connecting)")
    finally:
        if browser:
            browser.close()
        server.close()


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def versions(name):
    py = lambda *pkgs: ", ".join(f"{p} {metadata.version(p)}" for p in pkgs)
    if name == "node-eventsource":
        with open(os.path.join(HERE, "node_modules", "eventsource", "package.json")) as f:
            return f"eventsource {json.load(f)['version']}, Node {version(['node', '--version'])}"
    if name == "httpx-sse":
        return py("httpx-sse", "httpx")
    if name == "starlette":
        return py("sse-starlette", "starlette", "uvicorn")
    if name.startswith("chromium"):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
        return f"{version([chromium, '--version'])}, " + py("websocket-client")
    return "?"


PAIRS = {
    "node-eventsource": pair_node,
    "httpx-sse": pair_httpx,
    "starlette": pair_starlette,
    "chromium": pair_chromium,
    "chromium-cors": pair_chromium_cors,
    "chromium-serve-h2": pair_chromium_serve_h2,
    "chromium-h2": pair_chromium_h2,
    "chromium-h1-limit": pair_chromium_h1_limit,
}


def main():
    sse = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(PAIRS)
    failed = 0
    for name in names:
        started = time.time()
        try:
            about = versions(name)
        except Exception as e:  # noqa: BLE001
            about = f"versions unknown: {e}"
        try:
            ok, text = True, PAIRS[name](sse)
        except Exception as e:  # noqa: BLE001 - report every failure
            ok, text = False, f"{type(e).__name__}: {e}"
        took = time.time() - started
        print(f"{'PASS' if ok else 'FAIL'} {name} ({about}; {took:.1f} s): {text}", flush=True)
        failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
