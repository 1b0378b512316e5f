"""Server shim for the Python package `sse-starlette` (`EventSourceResponse`
in a Starlette app on uvicorn), for `sse conformance server --cmd`.

    python3 sse_starlette_server.py [--keep-alive-ms N] [--retry-ms N]

Serves /events on 127.0.0.1 (a free port), prints `listening on URL`, and
sends each stdin line {"event","data","id"} to every open stream (one
asyncio queue per stream). Keep-alives are the library's pings (`ping=`
seconds); the retry hint is a first `ServerSentEvent(retry=...)`. No
history: no resume.
"""

import argparse
import asyncio
import json
import socket
import sys
import threading

import uvicorn
from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.routing import Route

ap = argparse.ArgumentParser()
ap.add_argument("--keep-alive-ms", type=int)
ap.add_argument("--retry-ms", type=int)
args = ap.parse_args()

streams = set()


async def events(request):
    queue = asyncio.Queue()
    streams.add(queue)

    async def generate():
        try:
            if args.retry_ms is not None:
                yield ServerSentEvent(retry=args.retry_ms)
            while True:
                e = await queue.get()
                yield ServerSentEvent(data=e.get("data", ""), event=e.get("event"), id=e.get("id"))
        finally:
            streams.discard(queue)

    ping = None if args.keep_alive_ms is None else args.keep_alive_ms / 1000
    return EventSourceResponse(generate(), ping=ping)


def read_stdin(loop):
    for line in sys.stdin:
        try:
            e = json.loads(line)
        except ValueError:
            print(f"sse-starlette shim: not JSON: {line!r}", file=sys.stderr)
            continue
        loop.call_soon_threadsafe(lambda e=e: [q.put_nowait(e) for q in list(streams)])


async def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    app = Starlette(routes=[Route("/events", events)])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=read_stdin, args=(asyncio.get_running_loop(),), daemon=True).start()
    print(f"listening on http://127.0.0.1:{port}/events", flush=True)
    await server.serve(sockets=[sock])


asyncio.run(main())
