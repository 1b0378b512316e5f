#!/usr/bin/env bash
# Interop with software nobody here wrote, on 127.0.0.1:
#   headless Chromium, npm `eventsource` and Python httpx-sse against `sse serve`;
#   headless Chromium's page and ten EventSources against `sse serve --tls-cert`
#   (HTTP/2 by ALPN, one connection; the certificate made with openssl);
#   headless Chromium's ten EventSources against the tokio axum example (HTTP/2
#   over TLS on one connection; the HTTP/1.1 six-connection limit);
#   `sse listen` against a Python sse-starlette server.
#
#   bash conformance/interop/run.sh [PAIR ...]   (default: all)
#
# Installs what it needs: the npm and PyPI packages pinned in pairs/
# (node_modules/ and a venv in pairs/.venv, both gitignored) and, if missing,
# Debian's chromium. Each pair runs in its own process under `timeout`
# (PAIR_TIMEOUT, default 60 s); prints PASS/FAIL per pair, exits 1 if any failed.
# SSE_BIN=path tests that binary instead of building this tree's.
set -euo pipefail
[ -z "${SSE_BIN:-}" ] || SSE_BIN=$(realpath "$SSE_BIN")
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
if [ -n "${SSE_BIN:-}" ]; then
  sse=$SSE_BIN # a prebuilt `sse` (or pairs/faulty_serve.py) instead of this tree's
else
  cargo build -q --release -p sse-cli --manifest-path "$root/Cargo.toml"
  sse="$root/target/release/sse"
fi
# The tokio adapter's axum example, for the chromium-h2 and chromium-h1-limit pairs.
cargo build -q --release -p sse-tokio --example tokio-axum --manifest-path "$root/Cargo.toml"
export SSE_TOKIO_AXUM="$root/target/release/examples/tokio-axum"

(cd pairs && npm ci --silent --no-audit --no-fund >/dev/null)
venv=pairs/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r pairs/requirements.txt

pairs=("$@")
[ ${#pairs[@]} -gt 0 ] || pairs=(node-eventsource httpx-sse starlette chromium chromium-cors chromium-serve-h2 chromium-h2 chromium-h1-limit)

if [[ " ${pairs[*]} " == *" chromium"* ]] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing Debian chromium"
    apt-get install -y -q chromium >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
  fi
fi

# Scratch space (the Chromium profile) that a timed-out pair cannot leak.
scratch=$(mktemp -d -t sse-interop.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch

failed=0
for pair in "${pairs[@]}"; do
  rc=0
  timeout -k 5 "${PAIR_TIMEOUT:-60}" "$venv/bin/python" pairs/run.py "$sse" "$pair" || rc=$?
  case $rc in
    0) ;;
    124 | 137) echo "FAIL $pair: timed out after ${PAIR_TIMEOUT:-60} s"; failed=1 ;;
    *) failed=1 ;;
  esac
done
exit $failed
