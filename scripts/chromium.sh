#!/usr/bin/env bash
# Install Debian's chromium (and a Korean font, for the map's Korean interface) for the browser
# tests when missing. Idempotent, reads no stdin, works as root (CI) or through passwordless sudo.
# Playwright drives this browser through executable_path; it never downloads one.
# Prints the path of the browser on success.
set -euo pipefail

has_korean_font() {
    command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=ko family 2>/dev/null | head -n 1)" ]
}

packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
has_korean_font || packages+=(fonts-nanum)

if [ "${#packages[@]}" -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO="sudo -n"
        else
            echo "chromium.sh: need root (or sudo) to install: ${packages[*]}" >&2
            exit 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Wait for a lock held by another apt run rather than fail on it.
    $SUDO apt-get -o DPkg::Lock::Timeout=300 -q update </dev/null >&2
    $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
        "${packages[@]}" </dev/null >&2
fi

command -v chromium
