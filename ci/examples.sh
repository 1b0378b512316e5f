#!/usr/bin/env bash
# Every adapter's example client against every adapter's example clock
# server, on 127.0.0.1: each client must print two ticks and exit 0.
# sse-reqwest has a client only.
set -euo pipefail
cd "$(dirname "$0")/.."
adapters=(blocking smol async-std)
clients=("${adapters[@]}" reqwest)
cargo build -q --examples -p sse-blocking -p sse-smol -p sse-async-std -p sse-reqwest
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
exit $fail
