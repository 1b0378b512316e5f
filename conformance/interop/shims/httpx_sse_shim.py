"""Conformance shim for the Python package `httpx-sse` (its SSE decoder).

Speaks the subprocess protocol of `sse conformance parse --cmd`: reads a raw
text/event-stream body on stdin, writes one JSON line per event the library
yields ({"type","data","id"}), then one line {"last_event_id","retry"}.

Bytes are decoded as httpx decodes a response body (an incremental UTF-8
decoder with errors="replace"), then fed through httpx-sse's own line decoder
and event decoder, exactly as `EventSource.iter_sse()` does. `retry` is the
last retry value carried by a yielded event (httpx-sse has no persistent
reconnection time); `last_event_id` is the id of the last yielded event.

Run: python3 conformance/interop/shims/httpx_sse_shim.py < body
"""

import codecs
import json
import sys

from httpx_sse._decoders import SSEDecoder, SSELineDecoder


def main() -> None:
    text_decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines = SSELineDecoder()
    decoder = SSEDecoder()
    out = []
    last_id, retry = "", None

    def feed(line_list):
        nonlocal last_id, retry
        for line in line_list:
            sse = decoder.decode(line)
            if sse is None:
                continue
            last_id = sse.id
            if sse.retry is not None:
                retry = sse.retry
            out.append(json.dumps({"type": sse.event, "data": sse.data, "id": sse.id}, ensure_ascii=False))

    while True:
        chunk = sys.stdin.buffer.read(4096)
        if not chunk:
            break
        text = text_decoder.decode(chunk)
        if text:
            feed(lines.decode(text))
    rest = text_decoder.decode(b"", final=True)
    if rest:
        feed(lines.decode(rest))
    feed(lines.flush())
    out.append(json.dumps({"last_event_id": last_id, "retry": retry}, ensure_ascii=False))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
