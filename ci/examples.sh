#!/usr/bin/env bash
# Every adapter's example client against every adapter's example clock
# server, on 127.0.0.1: each client must print two ticks and exit 0.
# sse-reqwest has a client only. Then the tokio client against the axum
# example (two events published with POST /publish) and the hand-written
# hyper server.
set -euo pipefail
cd "$(dirname "$0")/.."
adapters=(blocking smol async-std tokio)
clients=("${adapters[@]}" reqwest)
cargo build -q --examples -p sse-blocking -p sse-smol -p sse-async-std -p sse-tokio -p sse-reqwest
bin=target/debug/examples
fail=0
for server in "${adapters[@]}"; do
  out=$(mktemp)
  "$bin/$server-clock" 127.0.0.1:0 >"$out" &
  pid=$!
  for _ in $(seq 100); do grep -q '^listening on ' "$out" && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$out" | head -1)
  for client in "${clients[@]}"; do
    if got=$(timeout 15 "$bin/$client-client" "$url" --max-events 2 2>/dev/null) \
      && [ "$(printf '%s\n' "$got" | grep -c .)" -eq 2 ]; then
      echo "ok   $client client <- $server clock ($url)"
    else
      echo "FAIL $client client <- $server clock ($url): $got"
      fail=1
    fi
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$out"
done
# Starts example $1 with the rest as arguments; sets pid and url.
start() {
  out=$(mktemp)
  "$bin/$1" "${@:2}" >"$out" &
  pid=$!
  for _ in $(seq 100); do grep -q '^listening on ' "$out" && break; sleep 0.05; done
  url=$(sed -n 's/^listening on //p' "$out" | head -1)
  rm -f "$out"
}
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
check() { # name, expected line count, output
  if [ "$(printf '%s\n' "$3" | grep -c .)" -eq "$2" ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fail=1; fi
}

# The axum example over plain HTTP: published before the client connects,
# read back from the start of the history.
start tokio-axum 127.0.0.1:0
base=${url%/events}
curl -sf -d one "$base/publish" >/dev/null && curl -sf -d two "$base/publish" >/dev/null || fail=1
got=$(timeout 15 "$bin/tokio-client" "$url?last_event_id=earliest" --max-events 2 2>/dev/null || true)
check "tokio client <- tokio-axum POST /publish ($url)" 2 "$got"
stop

# The hand-written hyper server: its /count stream resumes after 7.
start tokio-hyper 127.0.0.1:0
got=$(timeout 15 "$bin/tokio-client" "${url%/events}/count?last_event_id=7" --max-events 3 2>/dev/null || true)
check "tokio client <- tokio-hyper /count after 7 ($url)" 3 "$got"
[ "$(printf '%s' "$got" | head -1)" = "message: number 8" ] || { echo "FAIL tokio-hyper resume: $got"; fail=1; }
stop
exit $fail
