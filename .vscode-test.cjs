// Extension-host integration tests: @vscode/test-cli runs mocha inside the real Node extension host
// of a throw-away code-server (VS Code 1.139), opened in headless Chromium by the shim.
const path = require('path');
const { defineConfig } = require('@vscode/test-cli');

module.exports = defineConfig({
  files: 'out/test/integration/**/*.test.js',
  useInstallation: { fromPath: path.join(__dirname, 'scripts/vscode-host/code-server-test-shim.js') },
  workspaceFolder: 'test/fixtures/workspace',
  mocha: {
    ui: 'bdd',
    timeout: 30000,
    reporter: path.join(__dirname, 'test/support/summaryReporter.js'),
    reporterOptions: { label: 'integration' },
  },
});
