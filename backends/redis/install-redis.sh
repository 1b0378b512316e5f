#!/bin/sh
# Installs redis-server (the Debian package) if it is not on PATH; the
# sse-redis tests and benchmark start their own throwaway servers with it on
# 127.0.0.1 (nothing is configured system-wide, no service is enabled).
set -eu
if command -v redis-server >/dev/null 2>&1; then
    echo "redis-server present: $(redis-server --version)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server
redis-server --version
