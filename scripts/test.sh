#!/usr/bin/env bash
# The one test command: sets up a fresh machine as needed, builds, and runs every layer:
#   unit (core, no VS Code) · nats (real nats-server) · faults (restarts, kills, hostile input, limits)
#   · examples (nexfn test, as a user's CI runs it)
#   · integration (real VS Code extension host)
#   · e2e (packaged .vsix in code-server, driven in headless Chromium, with screenshots).
# Each layer prints "N passed, N failed"; the script fails when any layer fails.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

. scripts/setup-machine.sh

echo "== build"
npm run --silent compile

status=0
layer() {
  local name=$1; shift
  echo "== $name"
  local t0; t0=$(date +%s)
  if "$@"; then echo "== $name: ok ($(( $(date +%s) - t0 )) s)"; else echo "== $name: FAILED ($(( $(date +%s) - t0 )) s)"; status=1; fi
}
package() { npm run --silent package && scripts/check-vsix.sh; }
layer package package   # webpack build (vscode:prepublish) + .vsix, at most 3 MiB
layer unit npx mocha --config test/mocharc.unit.cjs
layer nats npx mocha --config test/mocharc.nats.cjs
layer faults node out/test/faults/run.js --quick   # faults 1-5 (npm run faults adds the soak)
layer examples node dist/cli.js test examples/workspace --junit test-results/examples-junit.xml
layer integration npx vscode-test
layer e2e node test/e2e/e2e.js dist-vsix/nex-functions.vsix examples/workspace test-results/e2e

echo "== all layers done in $(( $(date +%s) - started )) s: $([ $status -eq 0 ] && echo PASSED || echo FAILED)"
if pgrep -f "nex-nats-|nex-e2e-|cs-test-" >/dev/null 2>&1; then
  echo "warning: test processes still running:" >&2
  pgrep -af "nex-nats-|nex-e2e-|cs-test-" >&2 || true
fi
exit $status
