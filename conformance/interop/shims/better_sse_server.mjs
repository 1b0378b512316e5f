// Server shim for the npm package `better-sse` (sessions on Node's http
// server, a channel to broadcast), for `sse conformance server --cmd`.
//
//   node better_sse_server.mjs [--keep-alive-ms N] [--retry-ms N]
//
// Serves /events on 127.0.0.1 (a free port), prints `listening on URL`,
// and broadcasts each stdin line {"event","data","id"} on the channel.
// Data is sent as the text it is (`serializer: String`; the library's
// default serializes to JSON). No history: no resume.
import http from "node:http";
import readline from "node:readline";
import { createChannel, createSession } from "better-sse";

const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : undefined;
};
const keepAlive = arg("--keep-alive-ms");
const retry = arg("--retry-ms");
const channel = createChannel();

const server = http.createServer(async (req, res) => {
  if (new URL(req.url, "http://localhost").pathname !== "/events") {
    res.writeHead(404).end();
    return;
  }
  const options = { serializer: String };
  if (keepAlive !== undefined) options.keepAlive = keepAlive;
  if (retry !== undefined) options.retry = retry;
  const session = await createSession(req, res, options);
  channel.register(session);
});

server.listen(0, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/events`);
});

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  let event;
  try {
    event = JSON.parse(line);
  } catch (e) {
    console.error(`better-sse shim: not JSON: ${line}`);
    return;
  }
  channel.broadcast(event.data ?? "", event.event ?? "message", { eventId: event.id });
});
