#!/usr/bin/env bash
# Install Debian's chromium for the browser tests when it is missing. Idempotent, needs no stdin,
# works as root (CI) or through sudo. Prints the path of the browser on success.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    command -v chromium
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "chromium.sh: chromium is missing and we are not root (no sudo)" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# A lock held by another apt run is waited for rather than failed on.
APT_OPTS=(-o DPkg::Lock::Timeout=300 -y -q --no-install-recommends)
$SUDO apt-get -o DPkg::Lock::Timeout=300 -q update </dev/null >&2
$SUDO apt-get install "${APT_OPTS[@]}" chromium fonts-nanum </dev/null >&2

command -v chromium
