// Conformance shim for the npm package `eventsource-parser`.
//
// Speaks the subprocess protocol of `sse conformance parse --cmd`: reads a raw
// text/event-stream body on stdin, writes one JSON line per dispatched event
// ({"type","data","id"}, id = the last event ID at dispatch), then one line
// {"last_event_id","retry"}. Bytes are decoded as a browser's fetch body
// would be (TextDecoder: UTF-8, BOM stripped once, U+FFFD for invalid bytes).
//
// eventsource-parser reports the `id` field of each event's own block only;
// like every EventSource built on it (the npm `eventsource` package does the
// same), this shim carries the last event ID from event to event.
//
// Run: node conformance/interop/shims/eventsource-parser.mjs < body
import { createParser } from 'eventsource-parser';

let lastEventId = '';
let retry = null;
const out = [];
const parser = createParser({
  onEvent(event) {
    if (event.id !== undefined) lastEventId = event.id;
    out.push(JSON.stringify({ type: event.event ?? 'message', data: event.data, id: lastEventId }));
  },
  onRetry(ms) {
    retry = ms;
  },
});

const decoder = new TextDecoder('utf-8');
for await (const chunk of process.stdin) {
  parser.feed(decoder.decode(chunk, { stream: true }));
}
parser.feed(decoder.decode());
out.push(JSON.stringify({ last_event_id: lastEventId, retry }));
process.stdout.write(out.join('\n') + '\n');
