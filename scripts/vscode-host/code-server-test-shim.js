#!/usr/bin/env node
// Stand-in for a VS Code executable, for @vscode/test-electron (vscodeExecutablePath) and
// @vscode/test-cli (useInstallation.fromPath). It accepts the same flags VS Code gets from them
// (--extensionDevelopmentPath=, --extensionTestsPath=, [folder]) and runs the tests in the real
// Node extension host of a throw-away code-server, opened in headless Debian Chromium.
// Exit code = test result (0 ok, 1 failures, 2 infrastructure error).
//
// env: CODE_SERVER_NODE  node >= the version code-server needs (default: `node` on PATH)
//      CODE_SERVER_ENTRY path to code-server/out/node/entry.js (required)
//      CHROMIUM          default /usr/bin/chromium
//      VSCODE_TEST_TIMEOUT_MS default 600000; VSCODE_TEST_VERBOSE=1 prints every workbench log line
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const util = require('util');
const http = require('http');
const { chromium } = require('playwright-core');

const argv = process.argv.slice(2);
const devPaths = [];
let testsPath, disableExtensions = false;
const positional = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
  if (!m) { positional.push(a); continue; }
  const [, k, v] = m;
  const val = () => (v !== undefined ? v : argv[++i]);
  if (k === 'extensionDevelopmentPath') devPaths.push(path.resolve(val()));
  else if (k === 'extensionTestsPath') testsPath = path.resolve(val());
  else if (k === 'disable-extensions') disableExtensions = true;
  else if (['user-data-dir', 'extensions-dir', 'locale', 'profile'].includes(k) && v === undefined) i++; // swallow value
  // every other VS Code desktop flag (--no-sandbox, --disable-updates, ...) is ignored
}
if (!testsPath || devPaths.length === 0) { console.error('shim: need --extensionDevelopmentPath and --extensionTestsPath'); process.exit(2); }
const target = positional[0] ? path.resolve(positional[0]) : undefined;

const freePort = () => new Promise((res, rej) => { const s = net.createServer(); s.once('error', rej); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
const healthy = (port) => new Promise(res => http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, r => { r.resume(); res(r.statusCode === 200); }).on('error', () => res(false)));
const NOISE = /^(Resolving connection token|Resolved connection token|Creating a socket|\[reconnection-grace-time\]|Updating additional builtin|\[Service Worker\]|\[AgentHost|\[AccountPolicyGate\]|getaddrinfo ENOTFOUND|Started local extension host|Extension host with pid|Timed out waiting for authentication provider)/;

(async () => {
  const t0 = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-test-'));
  const ud = path.join(tmp, 'ud');
  fs.mkdirSync(path.join(ud, 'User'), { recursive: true });
  fs.mkdirSync(path.join(tmp, 'ext'));
  fs.writeFileSync(path.join(ud, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none', 'chat.disableAIFeatures': true, 'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false, 'telemetry.telemetryLevel': 'off', 'update.mode': 'none', 'git.enabled': false,
  }));
  const port = await freePort();
  const entry = process.env.CODE_SERVER_ENTRY;
  if (!entry) { console.error('shim: set CODE_SERVER_ENTRY'); process.exit(2); }
  const cs = spawn(process.env.CODE_SERVER_NODE || 'node', [entry,
    '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--disable-getting-started-override', '--vscode-option', 'enable-smoke-test-driver',
    '--user-data-dir', ud, '--extensions-dir', path.join(tmp, 'ext'), '--ignore-last-opened'],
    { detached: true, stdio: ['ignore', fs.openSync(path.join(tmp, 'code-server.log'), 'a'), fs.openSync(path.join(tmp, 'code-server.log'), 'a')],
      // keep code-server's own config.yaml / coder-logs out of $HOME
      env: { ...process.env, XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'), XDG_DATA_HOME: path.join(tmp, 'xdg-data') } });
  let browser, udd, code = 2;
  const cleanup = () => {
    try { process.kill(-cs.pid, 'SIGTERM'); } catch {}
    if (process.env.VSCODE_TEST_KEEP !== '1') fs.rmSync(tmp, { recursive: true, force: true });
    if (udd) fs.rmSync(udd, { recursive: true, force: true });
  };
  try {
    let up = false;
    for (let i = 0; i < 300 && !up; i++) { up = await healthy(port); if (!up) await new Promise(r => setTimeout(r, 100)); }
    if (!up) throw new Error('code-server did not come up; log:\n' + fs.readFileSync(path.join(tmp, 'code-server.log'), 'utf8'));
    const authority = `127.0.0.1:${port}`;
    const payload = devPaths.map(p => ['extensionDevelopmentPath', `vscode-remote://${authority}${p}`]);
    payload.push(['extensionTestsPath', `vscode-remote://${authority}${testsPath}`]);
    if (disableExtensions) payload.push(['disableExtensions', 'true']);
    let url = `http://${authority}/`;
    if (target && /\.code-workspace$/.test(target)) url += `?workspace=${encodeURIComponent(target)}`;
    else if (target) url += `?folder=${encodeURIComponent(target)}`;
    else url += '?ew=true';
    url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;

    udd = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-test-chrome-'));
    const ctx = await chromium.launchPersistentContext(udd, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
      env: { ...process.env, XDG_CONFIG_HOME: path.join(tmp, 'xdg-config') },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    browser = ctx;
    const page = ctx.pages()[0] || await ctx.newPage();
    let done, finished = false;
    const exited = new Promise(r => (done = r));
    await page.exposeFunction('codeAutomationExit', (c) => { finished = true; done(c); });
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      let line;
      try { line = util.format(...args); } catch { line = String(args); }
      if (process.env.VSCODE_TEST_VERBOSE !== '1' && (finished || NOISE.test(line))) return;
      (type === 'error' ? process.stderr : process.stdout).write(line + '\n');
    });
    page.on('pageerror', e => console.error('[workbench pageerror]', String(e)));
    await page.goto(url);
    const limit = Number(process.env.VSCODE_TEST_TIMEOUT_MS || 600000);
    const res = await Promise.race([exited, new Promise(r => setTimeout(() => r('timeout'), limit))]);
    if (res === 'timeout') { console.error(`shim: tests did not finish within ${limit} ms`); code = 2; }
    else code = res === 0 ? 0 : 1;
    console.log(`shim: extension host tests exit code ${res} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  } catch (e) {
    console.error('shim:', e && e.stack || e); code = 2;
  } finally {
    try { if (browser) await browser.close(); } catch {}
    cleanup();
  }
  process.exit(code);
})();
