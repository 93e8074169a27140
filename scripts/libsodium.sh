#!/usr/bin/env bash
# Install libsodium (Debian package libsodium23) when missing: the verifiable voting uses its
# ristretto255 group through pysodium. Idempotent, reads no stdin. Called by `make install`.
set -euo pipefail

if ldconfig -p 2>/dev/null | grep -q 'libsodium\.so'; then
    exit 0
fi
exec bash "$(dirname "$0")/apt-install.sh" libsodium23
