// Client shim for the npm package `eventsource` (an EventSource for Node),
// for `sse conformance client --cmd`.
//
//   node node-eventsource.mjs URL        (options in SSE_CONFORMANCE)
//
// Declared capabilities: `reconnect`, `close` (a `close` line on stdin),
// `headers` (through the `fetch` option, which the library documents for
// this). Named events are listened for by the types the runner lists.
import { EventSource } from "eventsource";

const url = process.argv[2];
const opts = JSON.parse(process.env.SSE_CONFORMANCE || "{}");
const extra = Object.fromEntries(opts.headers || []);
const es = new EventSource(url, {
  fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...extra } }),
});
const out = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const message = (e) =>
  out({ kind: "message", type: e.type, data: e.data, id: e.lastEventId, origin: e.origin });
es.onopen = () => out({ kind: "open" });
es.onerror = () =>
  out({ kind: "error", reconnecting: es.readyState === EventSource.CONNECTING, message: "error" });
es.onmessage = message;
for (const type of opts.event_types || []) es.addEventListener(type, message);

let input = "";
process.stdin.on("data", (chunk) => {
  input += chunk;
  if (input.split("\n").some((l) => l.trim() === "close")) es.close();
});
