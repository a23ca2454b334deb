#!/usr/bin/env node
// UI end-to-end test: installs the packaged .vsix into a fresh code-server, opens the example
// workspace in headless Chromium and uses the extension the way a user does: the Nex view, the
// command palette, the prompts, the output. Saves a PNG screenshot per step.
//
// usage: node test/e2e/e2e.js [vsix] [workspace] [screenshot dir]
// env:   CODE_SERVER_NODE, CODE_SERVER_ENTRY (from scripts/vscode-host/setup.sh), CHROMIUM
'use strict';
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const ROOT = path.resolve(__dirname, '../..');
const VSIX = path.resolve(process.argv[2] || path.join(ROOT, 'dist-vsix/nex-functions.vsix'));
const WORKSPACE_SRC = path.resolve(process.argv[3] || path.join(ROOT, 'examples/workspace'));
const SHOTS = path.resolve(process.argv[4] || path.join(ROOT, 'test-results/e2e'));
const NODE = process.env.CODE_SERVER_NODE || 'node';
const ENTRY = process.env.CODE_SERVER_ENTRY;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const freePort = () =>
  new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
const healthy = (port) =>
  new Promise((res) =>
    http
      .get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (r) => {
        r.resume();
        res(r.statusCode === 200);
      })
      .on('error', () => res(false)),
  );

/**
 * The screenshots become the README's (docs/*.png), which ship in the .vsix: they are shrunk to
 * palette PNGs as they are taken (scripts/shrink-png.sh), so that the package stays within 3 MiB.
 */
function shrinkScreenshots() {
  const shots = fs.readdirSync(SHOTS).filter((f) => f.endsWith('.png')).map((f) => path.join(SHOTS, f));
  if (shots.length === 0) return;
  try {
    execFileSync('bash', [path.join(ROOT, 'scripts/shrink-png.sh'), ...shots], { stdio: 'inherit' });
  } catch (e) {
    console.log(`e2e: the screenshots were left as taken (${String(e.message).split('\n')[0]})`);
  }
}

/** The first file named `name` under `dir` (depth first), or undefined. */
function findFile(dir, name) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return full;
    if (entry.isDirectory()) {
      const found = findFile(full, name);
      if (found) return found;
    }
  }
  return undefined;
}

async function main() {
  if (!ENTRY) throw new Error('set CODE_SERVER_ENTRY (source scripts/vscode-host/setup.sh)');
  if (!fs.existsSync(VSIX)) throw new Error(`${VSIX} not found: run npm run package first`);
  fs.rmSync(SHOTS, { recursive: true, force: true });
  fs.mkdirSync(SHOTS, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nex-e2e-'));
  const ud = path.join(tmp, 'user-data');
  const extDir = path.join(tmp, 'extensions');
  const ws = path.join(tmp, 'workspace');
  fs.cpSync(WORKSPACE_SRC, ws, { recursive: true });
  const keysDir = path.join(tmp, 'nex-keys');
  fs.mkdirSync(path.join(ud, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(ud, 'User', 'settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'chat.disableAIFeatures': true,
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'git.enabled': false,
      'workbench.tips.enabled': false,
      'window.commandCenter': false,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      // Workspace Trust stays on, as for users: the workspace opens in Restricted Mode.
      'security.workspace.trust.startupPrompt': 'never',
      'editor.autoClosingBrackets': 'never',
      'editor.autoClosingQuotes': 'never',
      // Deploying signs with keys the extension creates when asked: here, never in ~/.nex.
      'nex.deploy.keysDir': keysDir,
    }),
  );
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'), XDG_DATA_HOME: path.join(tmp, 'xdg-data') };
  execFileSync(NODE, [ENTRY, '--user-data-dir', ud, '--extensions-dir', extDir, '--install-extension', VSIX], { env, stdio: 'pipe' });
  const port = await freePort();
  const logFile = fs.openSync(path.join(tmp, 'code-server.log'), 'a');
  const cs = spawn(
    NODE,
    [ENTRY, '--user-data-dir', ud, '--extensions-dir', extDir, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry',
      '--disable-update-check', '--disable-getting-started-override', '--reconnection-grace-time', '10', '--ignore-last-opened'],
    { detached: true, env, stdio: ['ignore', logFile, logFile] },
  );
  // If this script is interrupted, code-server (its own process group) must not outlive it.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      try {
        process.kill(-cs.pid, 'SIGKILL');
      } catch {
        // gone
      }
      process.exit(130);
    });
  }
  let ctx;
  let browserDir;
  let node04;
  const results = [];
  try {
    let up = false;
    for (let i = 0; i < 300 && !up; i++) {
      up = await healthy(port);
      if (!up) await new Promise((r) => setTimeout(r, 100));
    }
    if (!up) throw new Error('code-server did not come up:\n' + fs.readFileSync(path.join(tmp, 'code-server.log'), 'utf8'));
    browserDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nex-e2e-chrome-'));
    ctx = await chromium.launchPersistentContext(browserDir, {
      executablePath: CHROMIUM,
      headless: true,
      env,
      viewport: { width: 1400, height: 860 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = ctx.pages()[0] || (await ctx.newPage());
    page.setDefaultTimeout(30000);

    const step = async (name, fn) => {
      const t0 = Date.now();
      try {
        await fn();
        results.push({ name, ok: true });
        console.log(`  ✔ ${name} (${Date.now() - t0} ms)`);
      } catch (e) {
        results.push({ name, ok: false });
        console.log(`  ✖ ${name}: ${String((e && e.message) || e).split('\n')[0]}`);
        await page.screenshot({ path: path.join(SHOTS, `failed-${results.length}.png`) }).catch(() => {});
      }
    };
    const palette = async (command) => {
      // The palette lists extension commands once the workbench has them; on a loaded machine
      // that can lag behind the first keystrokes, so look again rather than fail.
      for (let attempt = 1; ; attempt++) {
        await page.keyboard.press('F1');
        const input = page.locator('.quick-input-widget input.input');
        await input.fill(`>${command}`);
        const row = page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first();
        try {
          await row.waitFor({ timeout: attempt < 3 ? 5000 : 30000 });
          break;
        } catch (e) {
          if (attempt >= 3) throw e;
          await page.keyboard.press('Escape');
          await page.waitForTimeout(1000);
        }
      }
      // The matching row, not the first one (a recently used command may be listed first).
      await page.locator('.quick-input-list .monaco-list-row', { hasText: command }).first().click();
    };
    const answer = async (title, value, screenshot) => {
      await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor();
      await page.locator('.quick-input-widget input.input').fill(value);
      if (screenshot) await page.screenshot({ path: path.join(SHOTS, screenshot) });
      await page.keyboard.press('Enter');
    };
    const runFunction = async (name, subject, payload, screenshot) => {
      await palette('Nex: Quick Run Function…');
      await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Run Nex Function' }).waitFor();
      await page.locator('.quick-input-widget input.input').fill(name);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor();
      await page.keyboard.press('Enter');
      await answer(`Run ${name} (1/2): trigger subject`, subject, screenshot);
      await answer(`Run ${name} (2/2): payload`, payload);
    };

    const nexView = async () => {
      if (!(await page.locator('.pane-header', { hasText: 'Functions' }).first().isVisible())) {
        await page.locator('.activitybar [aria-label^="Nex"]').first().click();
      }
    };
    /** A function's row in the Functions view, by its description ("JavaScript · echo.js"). */
    const functionRow = (source) => page.locator('.pane-body .monaco-list-row', { hasText: `JavaScript · ${source}` }).first();
    const openSource = async (source) => {
      // Through the Nex view: its rows open the function's source.
      await nexView();
      await functionRow(source).click();
      await page.locator('.tabs-container .tab.active', { hasText: source }).waitFor();
    };
    /** The Deployed view's pane (its rows are nodes, workloads and triggers). */
    const deployedPane = () => page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Deployed' }) }).first();
    const toast = (text) => page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
    // Room for a tree in a picture: the side bar widened by dragging its edge, as a user does; returns how to put it back.
    const widenSideBar = async (by) => {
      const sidebar = await page.locator('.part.sidebar').boundingBox();
      const edge = sidebar.x + sidebar.width;
      const y = sidebar.y + sidebar.height / 2;
      const drag = async (from, to) => {
        await page.mouse.move(from, y);
        await page.mouse.down();
        await page.mouse.move(to, y, { steps: 10 });
        await page.mouse.up();
      };
      await drag(edge, edge + by);
      return async () => {
        const wide = await page.locator('.part.sidebar').boundingBox();
        await drag(wide.x + wide.width, edge);
      };
    };
    const triggerDeployed = async (name, subject, payload, screenshot) => {
      await palette('Nex: Trigger Deployed Function…');
      await answer(`Trigger ${name} on its node: subject`, subject);
      // The payload's kind first (text, JSON, a file or a saved trigger case), then the text.
      await page.locator('.quick-input-widget .quick-input-title', { hasText: `Trigger ${name} on its node: payload` }).waitFor();
      await page.locator('.quick-input-widget input.input').fill('Text');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Text' }).first().waitFor();
      await page.keyboard.press('Enter');
      await answer(`Trigger ${name} on its node: payload (text)`, payload, screenshot);
    };

    console.log('e2e: Nex Functions in code-server + Chromium');
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
    await page.locator('.activitybar [aria-label^="Nex"]').first().waitFor({ timeout: 60000 });

    await step('in Restricted Mode, Run Function refuses and offers to manage trust', async () => {
      await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 60000 });
      await palette('Nex: Run Function…');
      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Nex functions run only in a trusted workspace' });
      await toast.waitFor();
      await page.waitForTimeout(500); // let the toast finish sliding in
      await page.screenshot({ path: path.join(SHOTS, '00-restricted-mode.png') });
      await toast.locator('a.monaco-button', { hasText: 'Manage Workspace Trust' }).click();
      await page.getByRole('button', { name: 'Trust', exact: true }).first().click();
      await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ state: 'detached' });
      await page.keyboard.press('Control+K');
      await page.keyboard.press('Control+W'); // close the trust editor
    });

    await step('the Nex view lists the workspace functions', async () => {
      const nex = page.locator('.activitybar [aria-label^="Nex"]').first();
      await nex.waitFor({ timeout: 60000 });
      await nex.click();
      await page.locator('.pane-body .monaco-list-row', { hasText: 'echo' }).first().waitFor();
      await page.locator('.pane-body .monaco-list-row', { hasText: 'greet' }).first().waitFor();
      await page.locator('.pane-body .monaco-list-row', { hasText: 'JavaScript · greet.js' }).first().waitFor();
      await page.locator('.pane-body .monaco-list-row', { hasText: 'greet' }).first().click();
      await page.locator('.tabs-container .tab', { hasText: 'greet.js' }).waitFor();
      await page.screenshot({ path: path.join(SHOTS, '01-functions-view.png') });
    });

    await step('Nex: Quick Run Function… asks for subject and payload and shows the reply in the output', async () => {
      await runFunction('greet', 'greetings.hello', 'Nex', '02-run-prompt.png');
      const panel = page.locator('.part.panel');
      await panel.locator('.view-lines', { hasText: 'Hello, Nex!' }).first().waitFor();
      await panel.locator('.view-lines', { hasText: '✔ reply (' }).first().waitFor();
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(SHOTS, '03-run-output.png') });
    });

    await step('a throwing function gives a clear error with its line', async () => {
      await runFunction('greet', 'greetings.hello', 'x'.repeat(50));
      const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'name too long (50 characters)' });
      await toast.waitFor();
      await toast.locator('text=(line 5)').first().waitFor();
      await page.locator('.part.panel .view-lines', { hasText: '✖ the function threw at greet.js:5' }).first().waitFor();
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(SHOTS, '04-error.png') });
    });

    await step('Go to Error opens the source at the failing line', async () => {
      await page.locator('.notifications-toasts .notification-toast a.monaco-button', { hasText: 'Go to Error' }).first().click();
      await page.locator('.editor-group-container .tab.active', { hasText: 'greet.js' }).waitFor();
      await page.locator('.statusbar-item', { hasText: 'Ln 5' }).first().waitFor();
    });

    await step('Nex: New Function… creates a function from a template, and its trigger cases pass', async () => {
      await palette('Nex: New Function…');
      await page.locator('.quick-input-widget .quick-input-title', { hasText: 'New Nex Function (1/3): kind' }).waitFor();
      await page.locator('.quick-input-widget input.input').fill('key-value');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'JavaScript: key-value counter' }).first().waitFor();
      await page.keyboard.press('Enter');
      await answer('New Nex Function (2/3): name', 'visits');
      await answer('New Nex Function (3/3): trigger subject', 'visits.*');
      await page.locator('.tabs-container .tab', { hasText: 'visits.js' }).waitFor();
      // Triggers and case files make the Functions view long: scroll to its end, where visits is.
      const functionsPane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Functions' }) }).first().locator('.pane-body');
      await functionsPane.hover();
      await page.mouse.wheel(0, 3000);
      await page.locator('.pane-body .monaco-list-row', { hasText: 'visits' }).first().waitFor();
      await page.locator('.pane-body .monaco-list-row', { hasText: 'visits.*' }).first().waitFor();
      await palette('Nex: Run Trigger Cases');
      await page.locator('.part.panel .view-lines', { hasText: 'visits: 1 passed, 0 failed' }).first().waitFor();
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(SHOTS, '05-new-function.png') });
    });

    await step('the host-services panel edits a KV value; the next run uses it and the call log shows it', async () => {
      await palette('Nex: Show Host Services');
      const wv = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
      await wv.locator('h1', { hasText: 'visits' }).waitFor();
      await wv.locator('#kv-key').fill('visits_test');
      await wv.locator('#kv-value').fill('41');
      await wv.locator('#kv-set').click();
      await wv.locator('#kv tr[data-key="visits_test"]', { hasText: '41' }).waitFor();
      await wv.locator('#run').click();
      await answer('Run visits (1/2): trigger subject', 'visits.test');
      await answer('Run visits (2/2): payload', '');
      await wv.locator('#last-reply', { hasText: '"count": 42' }).waitFor();
      await wv.locator('#calls', { hasText: 'kv.set' }).first().waitFor();
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(SHOTS, '06-host-services.png') });
      await page.keyboard.press('Control+K');
      await page.keyboard.press('Control+W');
    });

    await step('saving a function re-runs its trigger cases: status bar and Test Explorer show the failure', async () => {
      await openSource('echo.js');
      await page.locator('.view-line', { hasText: 'return payload;' }).first().click();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Delete');
      await page.keyboard.insertText('(subject, payload) => "oops";\n');
      await page.keyboard.press('Control+S');
      await page.locator('.statusbar-item', { hasText: 'Nex: 2 failed' }).first().waitFor();
      // The Functions view says so too, and the status bar's tooltip lists what is wrong, linked.
      await nexView();
      await page.locator('.pane-body .monaco-list-row', { hasText: 'echo.js · 2 failing' }).first().waitFor();
      await page.locator('.statusbar-item', { hasText: 'Nex: 2 failed' }).first().hover();
      await page.locator('.monaco-hover', { hasText: 'What is wrong' }).first().waitFor();
      await page.locator('.monaco-hover', { hasText: 'echoes text failed' }).first().waitFor();
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(SHOTS, '07-status-error.png') });
      await page.mouse.move(700, 300);
      await palette('Testing: Focus on Test Explorer View');
      const row = (text) => page.locator('.test-explorer .monaco-list-row', { hasText: text }).first();
      await row('echo').click();
      await row('basic.json').click();
      await row('echoes text').waitFor();
      await row('echoes text').click();
      await page.waitForTimeout(500);
      await page.screenshot({ path: path.join(SHOTS, '07-run-on-save.png') });
      await page.keyboard.press('Escape');
      await page.locator('.tabs-container .tab', { hasText: 'echo.js' }).first().click();
      await page.locator('.tabs-container .tab.active', { hasText: 'echo.js' }).waitFor();
      await page.locator('.view-line', { hasText: 'oops' }).first().click();
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Delete');
      await page.keyboard.insertText(fs.readFileSync(path.join(WORKSPACE_SRC, 'echo', 'echo.js'), 'utf8'));
      await page.keyboard.press('Control+S');
      await page.locator('.statusbar-item', { hasText: /Nex: \d+ passed/ }).first().waitFor();
    });

    await step('Nex: Deploy Function… deploys greet (palette) and echo (inline action) to the local node, creating the keys when asked', async () => {
      // The example workspace starts the local node once trusted; the extension connects to it.
      await page.locator('.statusbar-item', { hasText: /Nex node: 0 functions/ }).first().waitFor({ timeout: 60000 });
      await page.locator('.statusbar-item', { hasText: 'Nex: local node' }).first().waitFor();
      // greet: from the palette, with its source open. Its trigger cases run first, then the keys prompt.
      await openSource('greet.js');
      await palette('Nex: Deploy Function…');
      const ask = toast(`issuer.nk and publisher.xk are missing in ${keysDir}: create them (as the nex CLI does)?`);
      await ask.waitFor();
      await page.waitForTimeout(500); // let the toast finish sliding in
      await page.screenshot({ path: path.join(SHOTS, '09-deploy-keys.png') });
      await ask.locator('a.monaco-button', { hasText: 'Create Keys' }).click();
      await toast('greet is deployed on').waitFor();
      await toast('triggered by greetings.*').waitFor();
      for (const f of ['issuer.nk', 'publisher.xk']) {
        if (!fs.existsSync(path.join(keysDir, f))) throw new Error(`${f} was not created in ${keysDir}`);
      }
      await page.locator('.statusbar-item', { hasText: 'Nex node: 1 function' }).first().waitFor();
      // echo: the cloud-upload inline action on its row in the Functions view; the keys exist now,
      // so no prompt comes between (one would hold the deploy and the wait below would fail).
      await nexView();
      const row = functionRow('echo.js');
      await row.hover();
      await row.locator('.action-label[aria-label^="Deploy Function"]').click();
      await toast('echo is deployed on').waitFor();
      await toast('triggered by demo.echo').waitFor();
      await page.locator('.statusbar-item', { hasText: 'Nex node: 2 functions' }).first().waitFor();
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(SHOTS, '10-deployed.png') });
      await palette('Notifications: Clear All Notifications');
      await page.locator('.notifications-toasts .notification-toast').first().waitFor({ state: 'detached' });
    });

    await step('the Deployed view: each namespace under the node, the triggers deployed, and a manifest change shown as drift', async () => {
      // A second namespace and a trigger drift, as a user gets them: quote's manifest deploys it to
      // team-a, and greet's manifest gains a trigger after greet was deployed.
      const edit = (fn, change) => {
        const file = path.join(ws, fn, 'nexfunction.json');
        const before = fs.readFileSync(file, 'utf8');
        fs.writeFileSync(file, JSON.stringify(change(JSON.parse(before)), null, 2) + '\n');
        return () => fs.writeFileSync(file, before);
      };
      edit('quote', (m) => ({ ...m, deploy: { namespace: 'team-a' } }));
      await openSource('quote.js');
      await palette('Nex: Deploy Function…');
      await toast(/quote is deployed on .* in the namespace team-a as/).waitFor({ timeout: 30000 });
      await page.locator('.statusbar-item', { hasText: 'Nex node: 3 functions' }).first().waitFor();
      await palette('Notifications: Clear All Notifications');
      const restoreGreet = edit('greet', (m) => ({ ...m, triggers: ['greetings.*', 'greetings.*.x'] }));
      await nexView();
      const pane = deployedPane();
      const header = pane.locator('.pane-header');
      if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
      const row = (text) => pane.locator('.monaco-list-row', { hasText: text }).first();
      const node = row(/Nex [\d.]+ · 3 workloads · up .* · local/);
      await node.waitFor();
      if ((await node.getAttribute('aria-expanded')) === 'false') await node.click();
      for (const namespace of [row(/^default\s*2 workloads/), row(/^team-a\s*1 workload/)]) {
        await namespace.waitFor();
        if ((await namespace.getAttribute('aria-expanded')) === 'false') await namespace.click();
      }
      const workloadRow = (name) => pane.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${name}$`) }) }).first();
      for (const [name, description, triggers] of [
        ['greet', /^v8 · \S+ · triggers changed, not deployed \(\+greetings\.\*\.x\)$/, ['greetings.*', 'greetings.*.x']],
        ['echo', /^v8 · \S+ · local source$/, ['demo.echo']],
        ['quote', /^v8 · \S+ · local source$/, ['quotes.get']],
      ]) {
        const workload = workloadRow(name);
        await workload.waitFor();
        await workload.locator('.label-description', { hasText: description }).waitFor();
        if ((await workload.getAttribute('aria-expanded')) === 'false') await workload.click();
        for (const trigger of triggers) await row(trigger).waitFor();
      }
      await row(/greetings\.\*\.x\s*in the manifest, not deployed/).waitFor();
      // Give the tree the room for the picture: fold the Functions view and widen the side bar
      // (dragging its edge, as a user does); then put both back.
      const functions = page.locator('.pane-header', { hasText: 'Functions' }).first();
      await functions.click();
      const restoreSideBar = await widenSideBar(300);
      await pane.locator('.monaco-list-row', { hasText: /· up .* · local$/ }).first().waitFor();
      await page.mouse.move(900, 300); // no hover highlight in the picture
      await page.waitForTimeout(500);
      await page.screenshot({ path: path.join(SHOTS, '11-deployed-view.png') });
      await restoreSideBar();
      await functions.click();
      restoreGreet();
      await workloadRow('greet').locator('.label-description', { hasText: /^v8 · \S+ · local source$/ }).waitFor();
    });

    await step('Nex: Trigger Deployed Function… sends a request to greet on the node and shows the reply', async () => {
      await openSource('greet.js');
      await triggerDeployed('greet', 'greetings.deployed', 'Nex node');
      const panel = page.locator('.part.panel');
      await panel.locator('.view-lines', { hasText: '▶ greet on local node: "greetings.deployed" →' }).first().waitFor();
      await panel.locator('.view-lines', { hasText: 'Hello, Nex node!' }).first().waitFor();
      await page.locator('.statusbar-item', { hasText: /Nex: greet replied \d+ bytes in .* \(deployed\)/ }).first().waitFor();
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(SHOTS, '12-deployed-trigger.png') });
    });

    await step('Nex: Show Deployed Logs follows greet in a log channel of its own', async () => {
      await palette('Nex: Show Deployed Logs');
      const panel = page.locator('.part.panel');
      await panel.locator('.view-lines', { hasText: /following\sthe\slogs\sof\sgreet\s\(\w+\)\son\slocal\snode/ }).first().waitFor();
      // A call makes the node log a line; the trigger shows the Nex Functions output, so pick the log channel again.
      await triggerDeployed('greet', 'greetings.logs', 'logs');
      await panel.locator('.view-lines', { hasText: '"greetings.logs"' }).first().waitFor();
      await palette('Output: Show Output Channels');
      await page.locator('.quick-input-widget input.input').fill('Nex: greet (deployed)');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Nex: greet (deployed)' }).first().waitFor();
      await page.keyboard.press('Enter');
      await panel.locator('.view-lines', { hasText: 'calling js function via trigger subject: greetings.logs' }).first().waitFor();
      await page.keyboard.press('Control+1'); // focus back in the editor: no cursor in the log for the picture
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(SHOTS, '13-deployed-logs.png') });
    });

    await step('the Deployed view with a Nex 0.4 node beside the 0.2.7 one: its nexlets, and its functions with their triggers', async () => {
      // A 0.4.1 node with the functions nexlet, on the local node's NATS server, as a user runs one
      // (nexfn node --emulate 0.4.1); quote and echo deployed to it with nexfn deploy --nex-version 0.4.
      const portFile = findFile(ud, 'nats-port.json');
      if (!portFile) throw new Error(`no nats-port.json of the local node under ${ud}`);
      const url = `nats://127.0.0.1:${JSON.parse(fs.readFileSync(portFile, 'utf8')).port}`;
      const cli = path.join(ROOT, 'dist/cli.js');
      node04 = spawn(process.execPath, [cli, 'node', '--emulate', '0.4.1', '--nats', url, '--state', path.join(tmp, 'node04')], { stdio: ['ignore', 'pipe', 'pipe'], env });
      const ready = new Promise((resolve, reject) => {
        let out = '';
        const seen = (chunk) => {
          out += chunk;
          if (/functions nexlet: registered with node/.test(out)) resolve();
        };
        node04.stdout.on('data', seen);
        node04.stderr.on('data', seen);
        node04.once('exit', (code) => reject(new Error(`nexfn node --emulate 0.4.1 exited ${code}: ${out}`)));
      });
      await Promise.race([ready, new Promise((_r, reject) => setTimeout(() => reject(new Error('the 0.4.1 node did not start in 30 s')), 30000))]);
      for (const fn of ['quote', 'echo']) {
        execFileSync(process.execPath, [cli, 'deploy', path.join(ws, fn), '--nex-version', '0.4', '--server', url], { env, stdio: 'pipe' });
      }
      await nexView();
      const pane = deployedPane();
      const row = (text) => pane.locator('.monaco-list-row', { hasText: text }).first();
      await palette('Nex: Refresh Deployed');
      const node = row(/Nex 0\.4\.1 · 2 nexlets · 2 workloads · up .* · local/);
      await node.waitFor({ timeout: 30000 });
      if ((await node.getAttribute('aria-expanded')) === 'false') await node.click();
      await row(/nexlet v8 · v\S+ · healthy · 2 workloads/).waitFor();
      await row(/nexlet wasm · v\S+ · healthy · 0 workloads/).waitFor();
      // Fold the 0.2.7 node's namespaces so both nodes fit, and open the 0.4 functions' triggers.
      const legacy = row(/Nex 0\.2\.7 · /);
      if ((await legacy.getAttribute('aria-expanded')) === 'true') await legacy.click();
      for (const name of ['quote', 'echo']) {
        const fn = pane.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${name}$`) }) }).last();
        await fn.waitFor();
        if ((await fn.getAttribute('aria-expanded')) === 'false') await fn.click();
      }
      await row(/quotes\.get\s*trigger/).waitFor();
      await row(/demo\.echo\s*trigger/).waitFor();
      // Room for the tree: the Functions view folded and the side bar widened by dragging its edge; then both put back.
      const functions = page.locator('.pane-header', { hasText: 'Functions' }).first();
      await functions.click();
      const restoreSideBar = await widenSideBar(380);
      await page.mouse.move(1300, 500); // no hover highlight in the picture
      await page.waitForTimeout(500);
      await page.screenshot({ path: path.join(SHOTS, '17-deployed-nex04.png') });
      // Both generations, each node open.
      await legacy.click();
      await row(/^default\s*2 workloads/).waitFor();
      await page.mouse.move(1300, 500);
      await page.waitForTimeout(500);
      await page.screenshot({ path: path.join(SHOTS, '18-deployed-both.png') });
      await restoreSideBar();
      await functions.click();
      node04.kill('SIGTERM');
    });

    await step('Nex: Run Function… opens the invoke panel of greet: a JSON reply, folded open, with its size and time', async () => {
      await palette('Nex: Run Function…');
      await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Run Nex Function' }).waitFor();
      await page.locator('.quick-input-widget input.input').fill('greet');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'greet' }).first().waitFor();
      await page.keyboard.press('Enter');
      const frame = page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
      await frame.locator('#subject').waitFor({ timeout: 30000 });
      await frame.locator('#subject').fill('greetings.hello');
      await frame.locator('#payload').fill('Ada Lovelace');
      await frame.locator('#payload').press('Control+Enter');
      await frame.locator('#reply-json', { hasText: 'Hello, Ada Lovelace!' }).waitFor();
      await frame.locator('#duration').waitFor();
      // The panel's group maximized: the form and the response side by side, as a user with room sees them.
      // Without the side bar and the panel: the form and the response side by side, as a user with room sees them.
      // (Commands from the palette: keys pressed while the webview has focus may not reach the workbench.)
      await palette('View: Toggle Primary Side Bar Visibility');
      await page.locator('.part.sidebar').first().waitFor({ state: 'hidden' });
      await palette('View: Toggle Panel Visibility');
      await page.locator('.part.panel').first().waitFor({ state: 'hidden' });
      await frame.locator('#reply-json', { hasText: 'Hello, Ada Lovelace!' }).waitFor();
      await page.waitForTimeout(700);
      await page.screenshot({ path: path.join(SHOTS, '16-invoke-panel.png') });
      await palette('View: Toggle Primary Side Bar Visibility');
      await page.locator('.part.sidebar').first().waitFor();
      await palette('View: Toggle Panel Visibility');
      await page.locator('.part.panel').first().waitFor();
      await page.keyboard.press('Control+K');
      await page.keyboard.press('Control+W');
    });

    await step('Nex: Debug Function… stops greet at a breakpoint on V8, with its variables; continuing gives the reply', async () => {
      await openSource('greet.js');
      await page.keyboard.press('Control+G');
      await page.locator('.quick-input-widget input.input').fill(':7');
      // Enter only once the picker has read the line; the cursor must be on line 7 before F9.
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'go to line 7' }).first().waitFor();
      for (let attempt = 1; ; attempt++) {
        await page.keyboard.press('Enter');
        try {
          await page.locator('.statusbar-item', { hasText: /^Ln 7, Col/ }).first().waitFor({ timeout: 3000 });
          break;
        } catch (e) {
          if (attempt >= 3 || !(await page.locator('.quick-input-widget input.input').isVisible())) throw e;
        }
      }
      await page.keyboard.press('F9'); // a breakpoint on "return { greeting: ... }"
      await page.locator('.codicon-debug-breakpoint').first().waitFor();
      await palette('Nex: Debug Function…');
      await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Debug Nex Function' }).waitFor();
      await page.locator('.quick-input-widget input.input').fill('greet');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'greet' }).first().waitFor();
      await page.keyboard.press('Enter');
      await answer('Debug greet (1/2): trigger subject', 'greetings.debug');
      await answer('Debug greet (2/2): payload', 'Nex');
      await page.locator('.debug-toolbar').first().waitFor({ timeout: 60000 });
      await page.locator('.debug-top-stack-frame-line').first().waitFor({ timeout: 60000 });
      // The Run and Debug view shows the paused function's locals.
      const local = page.locator('.debug-view-content .monaco-list-row', { hasText: 'Local' }).first();
      await local.waitFor({ timeout: 30000 });
      if ((await local.getAttribute('aria-expanded')) !== 'true') await local.click();
      await page.locator('.debug-view-content .monaco-list-row', { hasText: "'Nex'" }).first().waitFor({ timeout: 30000 });
      await page.waitForTimeout(500);
      await page.screenshot({ path: path.join(SHOTS, '15-debug-breakpoint.png') });
      await page.keyboard.press('F5'); // continue
      await page.locator('.debug-toolbar').first().waitFor({ state: 'hidden', timeout: 30000 });
      await palette('Nex: Show Output');
      await page.locator('.part.panel .view-lines', { hasText: 'triggered on "greetings.debug"' }).first().waitFor();
      await page.keyboard.press('F9'); // the breakpoint goes again
    });

    await step('an empty workspace shows the welcome view', async () => {
      const empty = path.join(tmp, 'empty-workspace');
      fs.mkdirSync(empty);
      await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(empty)}`);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
      const nex = page.locator('.activitybar [aria-label^="Nex"]').first();
      await nex.waitFor({ timeout: 60000 });
      if (!(await page.locator('.pane-header', { hasText: 'Functions' }).first().isVisible())) await nex.click();
      await page.locator('.welcome-view-content', { hasText: 'No Nex functions found in this workspace' }).waitFor();
      await page.screenshot({ path: path.join(SHOTS, '14-welcome.png') });
    });
  } finally {
    if (node04 && node04.exitCode === null) node04.kill('SIGKILL');
    if (ctx) await ctx.close().catch(() => {});
    // Stop code-server and everything it started, and wait for them to be gone.
    const exited = new Promise((resolve) => (cs.exitCode !== null ? resolve() : cs.once('exit', resolve)));
    try {
      process.kill(-cs.pid, 'SIGTERM');
    } catch {
      // gone
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    try {
      process.kill(-cs.pid, 'SIGKILL');
    } catch {
      // gone
    }
    if (browserDir) fs.rmSync(browserDir, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  shrinkScreenshots();
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`screenshots: ${SHOTS}`);
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error('e2e:', (e && e.stack) || e);
    console.log('e2e: 0 passed, 1 failed');
    process.exit(2);
  },
);
