#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs what the tests need first.
#   - a Python venv at .venv with telnetlib3 5.0.1 from PyPI (the interop peer);
#   - Debian packages for the peers the tests start (telnet programs, HAProxy, asciinema, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests start (none is optional: a missing one fails its test).
packages=(inetutils-telnet inetutils-telnetd busybox-static tmux tintin++ putty-tools socat openssl telnet-ssl haproxy asciinema systemd gcc-mingw-w64-x86-64)
if ((${#packages[@]})) && ! dpkg -s "${packages[@]}" >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

if ! .venv/bin/python -c 'import telnetlib3, prometheus_client, sys; sys.exit(telnetlib3.__version__ != "5.0.1")' 2>/dev/null; then
    rm -rf .venv
    python3 -m venv .venv
    # prometheus_client: its text-format parser reads the server's /metrics in the tests.
    .venv/bin/pip install --quiet --disable-pip-version-check telnetlib3==5.0.1 prometheus_client==0.26.0
fi
export TELNETLIB3_PYTHON="$PWD/.venv/bin/python"

cargo test --workspace --all-targets
cargo test --workspace --doc
# The library and the client build for Windows (checked, not run).
bash scripts/check-windows.sh
