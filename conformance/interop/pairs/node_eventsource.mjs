// The npm `eventsource` client (Node's EventSource) against a URL: prints one
// JSON line per open, message and error, with a millisecond timestamp.
import { EventSource } from "eventsource";

const url = process.argv[2];
const es = new EventSource(url);
const t0 = Date.now();
const out = (o) => process.stdout.write(JSON.stringify({ t: Date.now() - t0, ...o }) + "\n");
es.onopen = () => out({ kind: "open" });
es.onmessage = (e) => out({ kind: "message", id: e.lastEventId, data: e.data });
es.onerror = () => out({ kind: "error", readyState: es.readyState });
process.stdin.on("data", () => {}); // keep alive until killed
