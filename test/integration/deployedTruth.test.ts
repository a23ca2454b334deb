/**
 * The Deployed view tells the truth (inside the real extension host, as every file here): the
 * triggers a workload was deployed with, not its manifest's after a change, with the drift shown;
 * every namespace the workspace deploys to; an undeployed row gone at once.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { DeployedSnapshot } from '../../src/explorer/deployedModel';
import { deployedViewWhere, deploySuite, RecordingUi, until, type ViewRow } from './support';

describe('The Deployed view tells the truth', function () {
  this.timeout(60000);
  const suite = deploySuite();

  /** Waits for the view (its snapshot and rows, without asking for a refresh) to satisfy `check`; returns its rows. */
  const viewWhere = (what: string, check: (snapshot: DeployedSnapshot | undefined, rows: ViewRow[]) => boolean, ms = 15000) => deployedViewWhere(suite.api(), what, check, ms);

  it('shows the triggers deployed, marks a manifest change as drift, lists team-a, and drops an undeployed row at once', async () => {
    const api = suite.api();
    const ui = new RecordingUi();
    api.setUi(ui);
    const truthDir = suite.fnFolder('truth', { triggers: ['truth.*'] });
    const teamDir = suite.fnFolder('team-fn', { triggers: ['team.*'], deploy: { namespace: 'team-a' } });
    await api.refresh();

    const truth = await vscode.commands.executeCommand<{ workloadId: string; namespace: string } | undefined>('nex.deployFunction', { function: truthDir });
    assert.ok(truth, `no deploy: ${ui.shown.join(' | ')}`);
    const team = await vscode.commands.executeCommand<{ workloadId: string; namespace: string } | undefined>('nex.deployFunction', { function: teamDir });
    assert.ok(team, `no deploy: ${ui.shown.join(' | ')}`);
    assert.strictEqual(team.namespace, 'team-a');
    assert.ok(ui.shown.some((s) => /^info: team-fn is deployed on .* in the namespace team-a as /.test(s)), `the toast names the namespace: ${ui.shown.join(' | ')}`);

    // Both namespaces under the node, each workload under its own, with the triggers it was deployed with.
    let rows = await viewWhere('truth in default and team-fn in team-a', (s) =>
      (s?.nodes ?? []).some((n) => n.workloads.some((w) => w.id === truth.workloadId && w.triggers) && n.workloads.some((w) => w.id === team.workloadId && w.namespace === 'team-a')),
    );
    const truthRow = rows.find((r) => r.label === 'truth')!;
    assert.strictEqual(truthRow.path[1], 'default');
    assert.deepStrictEqual(truthRow.children.map((c) => [c.label, c.description]), [['truth.*', 'trigger']]);
    assert.match(truthRow.description, /local source/);
    assert.strictEqual(rows.find((r) => r.label === 'team-fn')!.path[1], 'team-a');
    const functions = api.functionsView();
    assert.match(functions.find((f) => f.label === 'team-fn')!.description, /deployed in team-a/, 'the Functions view marks team-fn deployed');

    // The manifest gains a trigger: the view keeps the deployed one, and says the new one is not deployed.
    fs.writeFileSync(path.join(truthDir, 'nexfunction.json'), JSON.stringify({ name: 'truth', type: 'v8', source: 'fn.js', triggers: ['truth.*', 'truth.*.x'] }, null, 2));
    rows = await viewWhere('the trigger drift of truth', (_s, r) => /triggers changed, not deployed \(\+truth\.\*\.x\)/.test(r.find((x) => x.label === 'truth')?.description ?? ''));
    assert.deepStrictEqual(
      rows.find((r) => r.label === 'truth')!.children.map((c) => [c.label, c.description]),
      [
        ['truth.*', 'trigger'],
        ['truth.*.x', 'in the manifest, not deployed'],
      ],
    );
    const which = await vscode.commands.executeCommand<{ deployed: unknown[]; drift: string[] }>('nex.whichFunction', { subject: 'truth.a.x' });
    assert.deepStrictEqual(which.deployed, [], 'the deployed truth does not subscribe to truth.*.x');
    assert.deepStrictEqual(which.drift, ['truth: triggers changed, not deployed (+truth.*.x)']);

    // Undeploy: the row goes with the node's confirmation, not with the next re-read (10 s away).
    const undeployed = vscode.commands.executeCommand('nex.undeployFunction', { name: 'team-fn', namespace: 'team-a' });
    assert.strictEqual(await undeployed, 1);
    await viewWhere('team-fn gone', (s) => !(s?.nodes ?? []).some((n) => n.workloads.some((w) => w.id === team.workloadId)), 2000);
    assert.strictEqual(await vscode.commands.executeCommand('nex.undeployFunction', { name: 'truth' }), 1);
  });

  it('Show Deployed Logs twice: one line per log line; the channel follows the function through a redeploy', async () => {
    const api = suite.api();
    const ui = new RecordingUi();
    api.setUi(ui);
    const dir = suite.fnFolder('logged', { triggers: ['logged.*'] }, '(subject, payload) => { console.log("ran on " + subject); return subject; };\n');
    await api.refresh();
    const first = await vscode.commands.executeCommand<{ workloadId: string } | undefined>('nex.deployFunction', { function: dir });
    assert.ok(first, ui.said());
    await vscode.commands.executeCommand('nex.showDeployedLogs', { name: 'logged' });
    await vscode.commands.executeCommand('nex.showDeployedLogs', { name: 'logged' });
    const lines = () => api.deployed.logLines('logged') ?? [];
    const count = (text: string) => lines().filter((l) => l.includes(text)).length;
    await vscode.commands.executeCommand('nex.triggerDeployed', { function: dir, subject: 'logged.one', payload: '' });
    await vscode.commands.executeCommand('nex.triggerDeployed', { function: dir, subject: 'logged.two', payload: '' });
    // Both copies of a line would come together; once the second call's line is here, the first's are all here.
    await until('the second call\'s log line', () => count('ran on logged.two') > 0, 15000, () => lines().join('\n'));
    assert.strictEqual(count(`[${first.workloadId}] ran on logged.one`), 1, lines().join('\n'));

    const second = await vscode.commands.executeCommand<{ workloadId: string } | undefined>('nex.deployFunction', { function: dir });
    assert.ok(second && second.workloadId !== first.workloadId, ui.said());
    await until('"redeployed as" in the channel', () => count(`redeployed as ${second.workloadId}`) === 1, 15000, () => lines().join('\n'));
    await vscode.commands.executeCommand('nex.triggerDeployed', { function: dir, subject: 'logged.three', payload: '' });
    await until('the new workload\'s log line', () => count(`[${second.workloadId}] ran on logged.three`) === 1, 15000, () => lines().join('\n'));
    assert.strictEqual(await vscode.commands.executeCommand('nex.undeployFunction', { name: 'logged' }), 1);
  });
});
