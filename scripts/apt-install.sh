#!/usr/bin/env bash
# Install Debian packages for the project's scripts: scripts/apt-install.sh PACKAGE...
# Reads no stdin; as root (CI) or through passwordless sudo; waits for another apt run's lock
# instead of failing on it. Callers decide what is missing; this installs what it is given.
set -euo pipefail

[ "$#" -gt 0 ] || exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "apt-install.sh: need root (or sudo) to install: $*" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=300 -q update </dev/null >&2
$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$@" </dev/null >&2
