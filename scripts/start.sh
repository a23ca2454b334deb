#!/usr/bin/env bash
# Sets up the machine, builds and packages the extension, installs it into a local code-server
# (VS Code in the browser) and opens the example workspace. Prints the URL to open; Ctrl-C stops it.
# env: PORT (default 8080), NEX_WORKSPACE (default examples/workspace)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup-machine.sh
npm run --silent package

PORT="${PORT:-8080}"
WORKSPACE="$(cd "${NEX_WORKSPACE:-examples/workspace}" && pwd)"
STATE="${NEX_START_DIR:-$HOME/.cache/nex-functions/start}"
mkdir -p "$STATE/user-data/User" "$STATE/extensions"
[ -f "$STATE/user-data/User/settings.json" ] || cat > "$STATE/user-data/User/settings.json" <<'JSON'
{
  "workbench.startupEditor": "none",
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "chat.disableAIFeatures": true
}
JSON
export XDG_CONFIG_HOME="$STATE/xdg-config" XDG_DATA_HOME="$STATE/xdg-data"
"$CODE_SERVER_NODE" "$CODE_SERVER_ENTRY" --user-data-dir "$STATE/user-data" --extensions-dir "$STATE/extensions" \
  --install-extension dist-vsix/nex-functions.vsix --force >/dev/null

echo
echo "Nex Functions is running in VS Code (code-server) with the example workspace:"
echo "    http://127.0.0.1:$PORT/?folder=$WORKSPACE"
echo "Open the Nex view in the activity bar, or run \"Nex: Run Function…\" from the command palette (F1)."
echo "The workspace asks for trust first: functions run only in a trusted workspace; once trusted, the"
echo "local Nex node starts on a private nats-server (status bar: Nex node). Ctrl-C stops everything."
echo
exec "$CODE_SERVER_NODE" "$CODE_SERVER_ENTRY" --user-data-dir "$STATE/user-data" --extensions-dir "$STATE/extensions" \
  --bind-addr "127.0.0.1:$PORT" --auth none --disable-telemetry --disable-update-check --ignore-last-opened "$WORKSPACE"
