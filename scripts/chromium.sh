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
    bash "$(dirname "$0")/apt-install.sh" "${packages[@]}"
fi

command -v chromium
