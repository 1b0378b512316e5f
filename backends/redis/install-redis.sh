#!/bin/sh
# Makes sure `redis-server`, Redis 6.2 or later (for `XADD … MINID`), is on
# PATH: the sse-redis tests, the `sse serve --redis` tests and the fanout
# benchmark start their own throwaway servers with it on 127.0.0.1 (no
# service, nothing configured system-wide). If it is missing, installs
# Debian's `redis-server` package with apt-get, as root or through
# passwordless sudo. Where that cannot be done it fails and says why: the
# tests are never skipped for want of a server.
set -eu
need=6.2

fail() {
    echo "install-redis: $*" >&2
    exit 1
}

# Succeeds if `redis-server` on PATH is at least $need.
recent_enough() {
    version=$(redis-server --version 2>/dev/null | sed -n 's/.* v=\([0-9][0-9.]*\).*/\1/p')
    [ -n "$version" ] || fail "cannot read the version of $(command -v redis-server)"
    [ "$(printf '%s\n%s\n' "$need" "$version" | sort -V | head -n 1)" = "$need" ]
}

if command -v redis-server >/dev/null 2>&1; then
    recent_enough || fail "redis-server $version at $(command -v redis-server) is older \
than $need (the tests use XADD MINID): install a newer Redis or put one first on PATH"
    echo "redis-server $version: $(command -v redis-server)"
    exit 0
fi

how="install Redis $need or later (Debian/Ubuntu: apt-get install redis-server; \
macOS: brew install redis) so that redis-server is on PATH, then run this again"
command -v apt-get >/dev/null 2>&1 || fail "redis-server is not on PATH and there is no apt-get: $how"
if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
else
    fail "redis-server is not on PATH and installing Debian's package needs root: $how"
fi

echo "redis-server not found: installing Debian's redis-server package"
# Wait for another apt/dpkg run (e.g. a second checkout installing the same
# package) instead of failing on its lock.
apt="apt-get -q -o DPkg::Lock::Timeout=600"
$as_root env DEBIAN_FRONTEND=noninteractive $apt update >/dev/null ||
    fail "apt-get update failed (is a Debian mirror reachable?): $how"
$as_root env DEBIAN_FRONTEND=noninteractive $apt install -y --no-install-recommends redis-server >/dev/null ||
    fail "apt-get install redis-server failed: $how"
hash -r 2>/dev/null || true
command -v redis-server >/dev/null 2>&1 || fail "redis-server was installed but is not on PATH ($PATH)"
recent_enough || fail "Debian's redis-server is $version, older than $need: $how"
echo "redis-server $version: $(command -v redis-server)"
