// Extension-host integration tests: @vscode/test-cli runs mocha inside the real Node extension host
// of a throw-away code-server (VS Code 1.139), opened in headless Chromium by the shim.
const fs = require('fs');
const path = require('path');
const { defineConfig } = require('@vscode/test-cli');

// The files share one extension host, so their order matters: test-cli's glob gives them in the
// file system's order, which differs from machine to machine. They run in alphabetical order.
const compiled = path.join(__dirname, 'out/test/integration');
const files = fs.existsSync(compiled)
  ? fs.readdirSync(compiled, { recursive: true }).filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join(compiled, f))
  : 'out/test/integration/**/*.test.js';

module.exports = defineConfig({
  files,
  useInstallation: { fromPath: path.join(__dirname, 'scripts/vscode-host/code-server-test-shim.js') },
  workspaceFolder: 'test/fixtures/workspace',
  mocha: {
    ui: 'bdd',
    timeout: 30000,
    reporter: path.join(__dirname, 'test/support/summaryReporter.js'),
    reporterOptions: { label: 'integration' },
  },
});
