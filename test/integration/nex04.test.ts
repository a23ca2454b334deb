/**
 * Nex 0.4 in the real extension host: the local node in 0.4.1 mode with the functions nexlet beside
 * it. The Deployed view shows node → nexlets → namespace → function → triggers; Deploy Function…
 * goes to 0.4 by itself (only 0.4 answers), a redeploy replaces the old workload, Clone Workload…
 * adds a second one, Undeploy stops both; a 0.2.7 node on the same NATS server shows beside it;
 * Lame Duck… puts the 0.4 node in lame duck mode.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { LocalNodeHost } from '../../src/devnode/localNodeHost';
import { type DeployedSnapshot, workloads04Of } from '../../src/explorer/deployedModel';
import { deployedViewWhere, deploySuite, flatten, RecordingUi, until, type ViewRow } from './support';


describe('Nex 0.4: the local node in 0.4.1 mode and the functions nexlet', function () {
  this.timeout(90000);
  const suite = deploySuite();
  const settings = vscode.workspace.getConfiguration('nex');
  let legacy: LocalNodeHost | undefined;
  let legacyState = '';

  before(async () => {
    await vscode.commands.executeCommand('nex.disconnect');
    await vscode.commands.executeCommand('nex.stopLocalNode');
    await settings.update('localNode.emulate', '0.4.1', vscode.ConfigurationTarget.Workspace);
  });
  after(async () => {
    await legacy?.stop();
    if (legacyState) {
      fs.rmSync(legacyState, { recursive: true, force: true });
    }
    await vscode.commands.executeCommand('nex.disconnect');
    await vscode.commands.executeCommand('nex.stopLocalNode');
    await settings.update('localNode.emulate', undefined, vscode.ConfigurationTarget.Workspace);
  });

  /** Waits for the view to satisfy `check`; returns its rows. */
  const viewWhere = (what: string, check: (snapshot: DeployedSnapshot | undefined, rows: ViewRow[]) => boolean, ms = 20000) => deployedViewWhere(suite.api(), what, check, ms);

  it('shows node → nexlets → namespace → function → triggers; deploys, redeploys, clones and undeploys on 0.4', async () => {
    const api = suite.api();
    const ui = new RecordingUi();
    api.setUi(ui);
    const dir = suite.fnFolder('fn04', { triggers: ['fn04.*'] }, '(subject, payload) => ({ subject, got: String.fromCharCode(...payload) });\n');
    await api.refresh();
    await vscode.commands.executeCommand('nex.startLocalNode');
    let rows = await viewWhere('the 0.4.1 node with its two nexlets', (s) => (s?.nodes04 ?? []).some((n) => (n.nexlets ?? []).length === 2 && n.workloads !== undefined));
    const nodeRow = rows.find((r) => r.path.length === 1 && /^Nex 0\.4\.1 · 2 nexlets · 0 workloads/.test(r.description));
    assert.ok(nodeRow, JSON.stringify(rows.map((r) => [r.path.join(' > '), r.description])));
    assert.deepStrictEqual(
      nodeRow.children.filter((c) => /^nexlet /.test(c.description)).map((c) => c.description.replace(/ · v\S+/, '')),
      ['nexlet v8 · healthy · 0 workloads', 'nexlet wasm · healthy · 0 workloads'],
    );
    assert.strictEqual(api.deployed.message(), undefined, 'nothing is said to be missing');

    // Deploy Function… goes to Nex 0.4 by itself: only 0.4 answers. No keys are asked for.
    const first = await vscode.commands.executeCommand<{ started: Array<{ id: string }> } | undefined>('nex.deployFunction', { function: dir });
    assert.ok(first?.started.length === 1, `no deploy: ${ui.said()}`);
    const firstId = first.started[0].id;
    assert.ok(ui.shown.some((s) => new RegExp(`^info: fn04 is deployed on Nex 0\\.4 as ${firstId}, triggered by fn04\\.\\*`).test(s)), ui.said());
    assert.ok(!ui.shown.some((s) => /Create Keys/.test(s)), 'a 0.4 deploy signs nothing: no keys asked for');
    rows = await viewWhere('fn04 under default with its trigger', (_s, r) => r.some((x) => x.label === 'fn04' && x.children.some((c) => c.label === 'fn04.*')));
    const fnRow = rows.find((r) => r.label === 'fn04')!;
    assert.strictEqual(fnRow.path[fnRow.path.length - 2], 'default');
    assert.match(fnRow.description, new RegExp(`^v8 · ${firstId} · local source$`));
    assert.deepStrictEqual(fnRow.children.map((c) => [c.label, c.description]), [['fn04.*', 'trigger']]);

    // Trigger it on its node.
    const triggered = await vscode.commands.executeCommand<{ reply: Uint8Array; workloadId?: string }>('nex.triggerDeployed', { name: 'fn04', subject: 'fn04.hi', payload: 'there' });
    assert.deepStrictEqual(JSON.parse(Buffer.from(triggered.reply).toString()), { subject: 'fn04.hi', got: 'there' });

    // Show Deployed Logs follows it from the 0.4 feeds: its log lines and each trigger's event.
    const followed = await vscode.commands.executeCommand<string[]>('nex.showDeployedLogs', { name: 'fn04', namespace: 'default' });
    assert.deepStrictEqual(followed, [firstId]);
    await vscode.commands.executeCommand('nex.triggerDeployed', { name: 'fn04', subject: 'fn04.logged', payload: 'x' });
    const logLines = () => api.deployed.logLines('fn04') ?? [];
    await until('the trigger event in fn04\'s log channel', () => logLines().some((l) => /event FUNCTIONTRIGGERED on fn04\.logged in [\d.]+ ?m?s/.test(l)), 10000, () => logLines().join('\n'));

    // A redeploy replaces the workload: a new id, the old one gone.
    const second = await vscode.commands.executeCommand<{ started: Array<{ id: string }>; replaced: Array<{ id: string; stopped: boolean }> }>('nex.deployFunction', { function: dir });
    const secondId = second.started[0].id;
    assert.deepStrictEqual(second.replaced.map((r) => [r.id, r.stopped]), [[firstId, true]]);
    await viewWhere('only the redeployed fn04', (s) => workloads04Of(s).map((w) => w.id).join(' ') === secondId);
    await until('the log channel following the redeployed fn04', () => logLines().some((l) => l.includes(`redeployed as ${secondId}`)), 10000, () => logLines().join('\n'));

    // Clone Workload…: a second instance, from the view's item or scripted.
    const copy = await vscode.commands.executeCommand<{ id: string } | undefined>('nex.cloneWorkload', { workloadId: secondId, namespace: 'default' });
    assert.ok(copy?.id && copy.id !== secondId, `no clone: ${ui.said()}`);
    await viewWhere('fn04 twice', (s) => workloads04Of(s).filter((w) => w.name === 'fn04').length === 2);
    const answeredBy = new Set<string>();
    for (let i = 0; i < 20 && answeredBy.size < 2; i++) {
      const r = await vscode.commands.executeCommand<{ workloadId?: string }>('nex.triggerDeployed', { name: 'fn04', subject: `fn04.n${i}`, payload: 'x' });
      answeredBy.add(r.workloadId ?? '');
    }
    assert.deepStrictEqual([...answeredBy].sort(), [secondId, copy.id].sort(), 'both instances share the trigger');

    // Undeploy stops every instance; the rows go.
    assert.strictEqual(await vscode.commands.executeCommand('nex.undeployFunction', { name: 'fn04', namespace: 'default' }), 2);
    await viewWhere('no fn04 left', (s) => workloads04Of(s).length === 0 && (s?.nodes04 ?? []).length === 1);
  });

  it('a 0.2.7 node on the same NATS server shows beside the 0.4.1 node; Lame Duck… puts the 0.4 node in lame duck mode', async () => {
    const api = suite.api();
    const ui = new RecordingUi();
    api.setUi(ui);
    const url = api.localNode.natsUrl();
    assert.ok(url, 'the local node runs');
    legacyState = fs.mkdtempSync(path.join(os.tmpdir(), 'nex-legacy-'));
    legacy = await LocalNodeHost.start({ stateDir: legacyState, nats: { attach: { servers: [url] } }, config: { emulate: '0.2.7', nodeName: 'legacy' } });
    await vscode.commands.executeCommand('nex.refreshDeployed');
    const rows = await viewWhere('both generations', (s) => (s?.nodes ?? []).some((n) => n.name === 'legacy') && (s?.nodes04 ?? []).length === 1);
    const top = rows.filter((r) => r.path.length === 1).map((r) => [r.label, r.description.split(' · ')[0]]);
    assert.deepStrictEqual(
      top.map(([label, version]) => [label === 'legacy' ? 'legacy' : 'the 0.4 node', version]).sort(),
      [
        ['legacy', 'Nex 0.2.7'],
        ['the 0.4 node', 'Nex 0.4.1'],
      ],
    );

    const node04 = api.deployed.snapshot()!.nodes04[0];
    const message = await vscode.commands.executeCommand<string | undefined>('nex.lameDuckNode', { node: node04.id, delay: '10m', confirmed: true });
    assert.match(message ?? '', /node entering lameduck mode, will shutdown at /, ui.said());
    await viewWhere('the 0.4 node in lame duck mode', (s) => (s?.nodes04 ?? []).some((n) => n.id === node04.id && (n.state === 'lameduck' || n.tags['nex.lameduck'] === 'true')));
    const lameRow = flatten(api.deployed.tree()).find((r) => r.path.length === 1 && /Nex 0\.4\.1/.test(r.description))!;
    assert.match(lameRow.description, /lame duck/);
  });
});
