#!/usr/bin/env bash
# The field's table: the client and server suites of `sse conformance`
# against our own `sse listen` / `sse serve` and against clients and
# servers nobody here wrote, through the subprocess protocols
# (conformance/fixtures/client/README.md, conformance/fixtures/server/README.md).
#
#   bash conformance/interop/field.sh [NAME ...]      (default: all)
#
# NAMEs: clients sse-listen chromium node-eventsource httpx-sse
# reqwest-eventsource ld-eventsource-client; servers sse-serve
# sse-starlette axum-sse better-sse.
#
# Installs what the named shims need (conformance/interop/shims/: npm ci,
# a venv from requirements.txt, `cargo build --release` of the Rust shims,
# which are one cargo project outside the workspace, and Debian's chromium
# if missing and root). A shim whose tools do not install is reported as
# not run. Each run's full output goes to $FIELD_OUT (default a temporary
# directory); then one summary row per implementation. Exit status 1 only
# when one of ours (sse-listen, sse-serve) failed a scenario or a run broke
# down (no summary line): the others' failures are findings, listed in
# docs/INTEROP.md, and a shim whose tools did not install is reported as
# not run. Options for every run: FIELD_ARGS (e.g.
# "--time-scale 0.2 --tolerance-ms 100"). SSE_BIN=path uses that `sse`.
set -uo pipefail
if [ -n "${SSE_BIN:-}" ]; then
  SSE_BIN=$(realpath "$SSE_BIN") || exit 1
fi
cd "$(dirname "$0")"
here=$(pwd)
root=$(cd ../.. && pwd)
shims=$here/shims
if [ -n "${SSE_BIN:-}" ]; then
  sse=$SSE_BIN
else
  cargo build -q --release -p sse-cli --manifest-path "$root/Cargo.toml" || exit 1
  sse=$root/target/release/sse
fi
out=${FIELD_OUT:-$(mktemp -d -t sse-field.XXXXXX)}
mkdir -p "$out"

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(sse-listen chromium node-eventsource httpx-sse reqwest-eventsource
  ld-eventsource-client sse-serve sse-starlette axum-sse better-sse)
wants() { [[ " ${names[*]} " == *" $1 "* ]]; }
any() { for n in "$@"; do wants "$n" && return 0; done; return 1; }

# What the named shims need.
missing=()
if any node-eventsource better-sse; then
  (cd "$shims" && npm ci --silent --no-audit --no-fund >/dev/null 2>&1) || missing+=(node-eventsource better-sse)
fi
venv=$shims/.venv
if any chromium httpx-sse sse-starlette; then
  { [ -x "$venv/bin/python" ] || python3 -m venv "$venv"; } &&
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$shims/requirements.txt" >/dev/null 2>&1 ||
    missing+=(chromium httpx-sse sse-starlette)
fi
if any chromium && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q chromium >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null 2>&1; }
  fi
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fi
rust=$shims/rust/target/release
if any reqwest-eventsource ld-eventsource-client axum-sse; then
  cargo build -q --release --manifest-path "$shims/rust/Cargo.toml" ||
    missing+=(reqwest-eventsource ld-eventsource-client axum-sse)
fi

py=$venv/bin/python
# Our own client, with every option the protocol has a placeholder for
# and commands on stdin (close, reopen, last-event-id).
listen="$sse listen {url} --json [--no-backoff{no_backoff}] [--backoff-max-ms {backoff_max_ms}] [--no-jitter{no_jitter}] [--seed {seed}] [--backoff-reset-ms {backoff_reset_ms}] [--retry-ms {retry_ms}] [--last-event-id {last_event_id}] [-H {header}] [-X {method}] [--data {body}] [--reconnect{reconnect_always}] [--timeout-ms {idle_timeout_ms}] [--connect-timeout-ms {connect_timeout_ms}] [--max-redirects {max_redirects}] [--retry-status {retry_status}] [--max-error-body {max_error_body}] [--max-line-bytes {max_line_len}] [--comments{comments}] --stdin-commands"
serve="$sse serve --json --addr 127.0.0.1:0 [--retry-ms {retry_ms}] [--keep-alive-ms {keep_alive_ms}]"
servers="[--keep-alive-ms {keep_alive_ms}] [--retry-ms {retry_ms}]"
declare -A suite cmd caps
suite[sse-listen]=client;            cmd[sse-listen]=$listen;                                caps[sse-listen]=reconnect,close,reopen,set-last-event-id
suite[chromium]=client;              cmd[chromium]="$py $shims/chromium_eventsource.py {url}"; caps[chromium]=reconnect,close
suite[node-eventsource]=client;      cmd[node-eventsource]="node $shims/node-eventsource.mjs {url}"; caps[node-eventsource]=reconnect,close,headers
suite[httpx-sse]=client;             cmd[httpx-sse]="$py $shims/httpx_sse_client.py {url}";  caps[httpx-sse]=close,headers,post
suite[reqwest-eventsource]=client;   cmd[reqwest-eventsource]="$rust/reqwest-eventsource {url}"; caps[reqwest-eventsource]=reconnect,close,retry,headers
suite[ld-eventsource-client]=client; cmd[ld-eventsource-client]="$rust/ld-eventsource-client {url}"; caps[ld-eventsource-client]=reconnect,close,retry,last-event-id,headers,max-redirects
suite[sse-serve]=server;             cmd[sse-serve]=$serve;                                  caps[sse-serve]=resume,resume-query,ids
suite[sse-starlette]=server;         cmd[sse-starlette]="$py $shims/sse_starlette_server.py $servers"; caps[sse-starlette]=
suite[axum-sse]=server;              cmd[axum-sse]="$rust/axum-sse $servers";                caps[axum-sse]=
suite[better-sse]=server;            cmd[better-sse]="node $shims/better_sse_server.mjs $servers"; caps[better-sse]=

status=0
rows=()
for name in "${names[@]}"; do
  if [ -z "${suite[$name]:-}" ]; then
    echo "unknown implementation $name" >&2
    status=1
    continue
  fi
  if [[ " ${missing[*]:-} " == *" $name "* ]]; then
    rows+=("| $name | ${suite[$name]} | not run: its tools did not install |")
    continue
  fi
  started=$SECONDS
  # shellcheck disable=SC2086 # FIELD_ARGS is a list of options
  "$sse" conformance "${suite[$name]}" --cmd "${cmd[$name]}" ${caps[$name]:+--caps "${caps[$name]}"} \
    --verbose ${FIELD_ARGS:-} >"$out/$name.txt" 2>&1
  summary=$(tail -n 1 "$out/$name.txt")
  rows+=("| $name | ${suite[$name]} | $summary ($((SECONDS - started)) s) |")
  grep -E '^FAIL ' "$out/$name.txt" | sed "s/^/$name: /"
  if ! [[ $summary =~ ^[0-9]+\ passed ]]; then
    status=1 # could not run at all
  elif [[ $name == sse-listen || $name == sse-serve ]] && ! [[ $summary == *" 0 failed"* ]]; then
    status=1 # ours must pass
  fi
done
echo
echo "| implementation | suite | result |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "full output: $out"
exit $status
