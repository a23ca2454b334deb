#!/usr/bin/env bash
# Installs everything the product and its tests need on a fresh Debian machine with Node 20 and npm:
# Debian packages (nats-server, chromium, libkrb5-dev, pngquant, WASI toolchains for C and Rust), the npm packages of package-lock.json, and
# the offline VS Code host (code-server + Node 24, cached outside the clone). Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need_apt=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need_apt+=(nats-server)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)   # code-server's kerberos module needs gssapi.h
command -v pngquant >/dev/null 2>&1 || need_apt+=(pngquant)   # scripts/shrink-png.sh: the E2E's screenshots, the README's
# WASI toolchains for WebAssembly functions and their tests: C (clang + wasi-libc) and Rust
# (Debian's rustc with the wasm32-wasi standard library; works offline).
for pkg in clang lld wasi-libc libclang-rt-14-dev-wasm32 rustc cargo libstd-rust-dev-wasm32; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# npm packages: a clean install when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# shellcheck source=vscode-host/setup.sh
. scripts/vscode-host/setup.sh
