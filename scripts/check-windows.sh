#!/usr/bin/env bash
# Checks that the library and the client build for Windows (x86_64-pc-windows-gnu):
# `cargo check`, since this machine cannot run Windows programs. Installs what it needs:
# the target's standard library (rustup) and MinGW's gcc (ring's build script compiles C).
# Exits 0 with a note when the target's standard library cannot be downloaded (no access
# to static.rust-lang.org); any compile error fails.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-pc-windows-gnu

if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    if ! rustup target add "$target" >/dev/null 2>&1; then
        echo "check-windows: SKIPPED: cannot download the $target standard library (rustup target add)"
        exit 0
    fi
fi
if ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gcc-mingw-w64-x86-64 >/dev/null
fi
export RUSTFLAGS="-D warnings"
cargo check --quiet --target "$target" -p telnetlib3-proto -p telnetlib3 --all-features
cargo check --quiet --target "$target" -p telnetlib3-cli --bin telnetlib3-client
echo "check-windows: the library and telnetlib3-client build for $target"
