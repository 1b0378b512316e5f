#!/usr/bin/env bash
# The README's test command: every test of the workspace, on a fresh machine
# with only the Rust toolchain, nothing installed by hand first.
#
#   ci/test.sh [EXTRA CARGO TEST ARGUMENTS]     e.g. ci/test.sh -- --nocapture
#
# It provides what the tests need from outside cargo, then runs
# `cargo test --workspace --all-features`:
#   - redis-server (Redis 6.2 or later) for the sse-redis tests and
#     `sse serve --redis` (cli/tests/redis.rs), from Debian's packages if it
#     is missing (backends/redis/install-redis.sh). If it cannot be had the
#     run fails here and says why; no Redis test is skipped.
# Nothing else: no test run by cargo needs another outside program. The
# interop pairs (Chromium, npm and PyPI peers: conformance/interop/run.sh)
# and the fuzzers are separate steps of .ci/run that install their own.
set -euo pipefail
cd "$(dirname "$0")/.."
sh backends/redis/install-redis.sh
exec cargo test --workspace --all-features "$@"
