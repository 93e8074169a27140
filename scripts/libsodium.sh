#!/usr/bin/env bash
# Install libsodium (Debian package libsodium23) when missing: the verifiable voting uses its
# ristretto255 group through pysodium. Idempotent, reads no stdin, works as root (CI) or through
# passwordless sudo. Called by `make install`.
set -euo pipefail

if ldconfig -p 2>/dev/null | grep -q 'libsodium\.so'; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "libsodium.sh: need root (or sudo) to install libsodium23" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=300 -q update </dev/null >&2
$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends libsodium23 </dev/null >&2
