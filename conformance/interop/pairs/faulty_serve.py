#!/usr/bin/env python3
"""A stand-in for `sse serve` with one fault at a time, to check that the
interop pairs catch it (they must FAIL for every fault but `none`):

    FAULT=no-resume SSE_BIN=conformance/interop/pairs/faulty_serve.py \\
        bash conformance/interop/run.sh node-eventsource httpx-sse chromium chromium-cors

FAULT: none, no-resume (ignores Last-Event-ID), dup (replays one event too
many), no-retry (sends no `retry:`), no-drop (ignores SIGUSR1), slow-exit
(ignores SIGINT/SIGTERM), query-wins (`?last_event_id=` over the header),
no-cors (no Access-Control-Allow-Origin). Only what the pairs use of the
contract: `serve [--addr] [--retry-ms] [--live-only] [--cors]`, stdin lines,
ids 1, 2, 3…, a page at `/` showing state|count|last id.
"""
import argparse
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

FAULT = os.environ.get("FAULT", "none")
PAGE = b"""<!doctype html><meta charset="utf-8"><title>stand-in</title>
<p><span id="state">connecting</span> <span id="count">0</span> <span id="last">-</span>
<script>
  const names = ["connecting", "open", "closed"], $ = (id) => document.getElementById(id);
  const es = new EventSource("/events");
  let count = 0;
  es.onopen = es.onerror = () => { $("state").textContent = names[es.readyState]; };
  es.onmessage = (e) => { $("count").textContent = ++count; $("last").textContent = e.lastEventId || "-"; };
</script>"""

ap = argparse.ArgumentParser()
ap.add_argument("cmd", choices=["serve"])
ap.add_argument("--addr", default="127.0.0.1:8080")
ap.add_argument("--retry-ms", type=int)
ap.add_argument("--live-only", action="store_true")
ap.add_argument("--cors")
args = ap.parse_args()

log = []  # data of event i + 1 at index i
cond = threading.Condition()
generation = [0]  # bumped by SIGUSR1: streams of an older generation end


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)
            return
        query = (parse_qs(url.query).get("last_event_id") or [None])[0]
        header = self.headers.get("Last-Event-ID")
        last = (query or header) if FAULT == "query-wins" else (header or query)
        if FAULT == "no-resume":
            last = None
        with cond:
            if last is not None and last.isdigit():
                start = int(last) - (1 if FAULT == "dup" else 0)
            else:
                start = len(log) if args.live_only else 0
            mine = generation[0]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        if args.cors and FAULT != "no-cors":
            self.send_header("Access-Control-Allow-Origin", args.cors)
        self.end_headers()
        if args.retry_ms is not None and FAULT != "no-retry":
            self.wfile.write(f"retry: {args.retry_ms}\n\n".encode())
        self.wfile.write(b": open\n\n")
        self.wfile.flush()
        i = start
        try:
            while True:
                with cond:
                    while i >= len(log) and generation[0] == mine:
                        cond.wait(0.5)
                    if generation[0] != mine:
                        break
                    batch, first, i = log[i:], i, len(log)
                for n, data in enumerate(batch, first + 1):
                    self.wfile.write(f"id: {n}\ndata: {data}\n\n".encode())
                self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True


def drop(*_):
    if FAULT != "no-drop":
        with cond:
            generation[0] += 1
            cond.notify_all()


def stop(*_):
    if FAULT != "slow-exit":
        os._exit(0)


def read_stdin():
    for line in sys.stdin:
        with cond:
            log.append(line.rstrip("\n"))
            cond.notify_all()


host, port = args.addr.rsplit(":", 1)
server = ThreadingHTTPServer((host, int(port)), Handler)
server.daemon_threads = True
print(f"listening on http://{host}:{server.server_address[1]}/events", flush=True)
signal.signal(signal.SIGUSR1, drop)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
threading.Thread(target=read_stdin, daemon=True).start()
server.serve_forever()
