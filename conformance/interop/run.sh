#!/usr/bin/env bash
# Interop with software nobody here wrote, on 127.0.0.1:
#   headless Chromium, npm `eventsource` and Python httpx-sse against `sse serve`;
#   `sse listen` against a Python sse-starlette server.
# Installs what it needs (npm and PyPI packages pinned in pairs/; Debian
# chromium if missing and apt-get is usable). Each pair is bounded to 30 s.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
cargo build -q --release -p sse-cli --manifest-path "$root/Cargo.toml"
sse="$root/target/release/sse"

(cd pairs && npm install --silent --no-audit --no-fund >/dev/null)
venv=pairs/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r pairs/requirements.txt

pairs=(node-eventsource httpx-sse starlette chromium)
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q chromium >/dev/null
  else
    echo "FAIL chromium: not installed and cannot install it (apt-get install chromium)"
    exit 1
  fi
fi
"$venv/bin/python" pairs/run.py "$sse" "${pairs[@]}"
