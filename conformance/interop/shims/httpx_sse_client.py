"""Client shim for the Python package `httpx-sse` (`connect_sse` over an
httpx client), for `sse conformance client --cmd`.

    python3 httpx_sse_client.py URL       (options in SSE_CONFORMANCE)

httpx-sse reads one response; it has no reconnection of its own, so the
shim does not declare `reconnect`: the end of the stream or an error is
printed as an error without a reconnect and the shim exits. Declared
capabilities: `headers`, `post` (method and body go to httpx), `close`
(a `close` line on stdin ends the process, dropping the connection).

What the library does is what is printed: `open` once the response passed
httpx-sse's own content-type check (`_check_content_type`, the check
`iter_sse` makes; it does not look at the status), each event as yielded
(its `id` is the decoder's last event ID), and the origin of the response's
final URL (the client follows redirects, as an EventSource does; httpx's
default is not to).
"""

import json
import os
import sys
import threading

import httpx
from httpx_sse import SSEError, connect_sse


def out(**line):
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def watch_stdin():
    for line in sys.stdin:
        if line.strip() == "close":
            break
    os._exit(0)


def main():
    url = sys.argv[1]
    opts = json.loads(os.environ.get("SSE_CONFORMANCE") or "{}")
    headers = {name: value for name, value in opts.get("headers") or []}
    method = opts.get("method") or "GET"
    body = opts.get("body")
    threading.Thread(target=watch_stdin, daemon=True).start()
    with httpx.Client(follow_redirects=True, timeout=httpx.Timeout(None)) as client:
        try:
            with connect_sse(client, method, url, headers=headers, content=body) as source:
                source._check_content_type()
                final = source.response.url
                origin = f"{final.scheme}://{final.netloc.decode()}"
                out(kind="open")
                for event in source.iter_sse():
                    out(kind="message", type=event.event, data=event.data, id=event.id, origin=origin)
            if method == "GET":
                out(kind="error", reconnecting=False, message="the stream ended")
            else:
                out(kind="closed")
        except (SSEError, httpx.HTTPError) as e:
            out(kind="error", reconnecting=False, message=f"{type(e).__name__}: {e}")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
