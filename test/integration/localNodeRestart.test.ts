/**
 * A stop of the local node loses its workloads, as on a real node (inside the real extension host,
 * as every file here): the editor says what was lost and offers to redeploy the workspace
 * functions; choosing it starts the node again and deploys both anew.
 */
import * as assert from 'assert';
import * as vscode from 'vscode';
import { deploySuite, RecordingUi, until } from './support';

/** Presses "Redeploy …" when offered (if told to). */
const redeployUi = (redeploy: boolean) => new RecordingUi((_kind, _message, actions) => (redeploy ? actions.find((a) => a.startsWith('Redeploy ')) : undefined));

describe('a stop of the local node says what it lost, and redeploys it', function () {
  this.timeout(90000);
  const suite = deploySuite();

  before(async () => {
    await vscode.commands.executeCommand('nex.disconnect');
    await vscode.commands.executeCommand('nex.stopLocalNode');
  });

  it('Stop Local Node with two functions deployed: the message names both, and "Redeploy 2 functions" deploys them on the new node', async () => {
    const api = suite.api();
    const ui = redeployUi(true);
    api.setUi(ui);
    const greetDir = suite.fnFolder('restart-greet', { triggers: ['restart.greet'] });
    const echoDir = suite.fnFolder('restart-echo', { triggers: ['restart.echo'], deploy: { namespace: 'team-a' } });
    await api.refresh();

    const greet = await vscode.commands.executeCommand<{ workloadId: string; node: { nodeId: string } } | undefined>('nex.deployFunction', { function: greetDir });
    assert.ok(greet, `no deploy: ${ui.shown.join(' | ')}`);
    const echo = await vscode.commands.executeCommand<{ workloadId: string; namespace: string } | undefined>('nex.deployFunction', { function: echoDir });
    assert.ok(echo, `no deploy: ${ui.shown.join(' | ')}`);
    assert.strictEqual(echo.namespace, 'team-a');
    const nodeId = api.localNode.nodeId();
    assert.strictEqual(greet.node.nodeId, nodeId, 'deployed to the local node');
    assert.match(api.localNode.status(), /Nex node: 2 functions/);

    await vscode.commands.executeCommand('nex.stopLocalNode');
    const lostMessage = /^info: The local node stopped: 2 deployed functions were lost \(restart-greet, restart-echo in team-a\)\. A Nex node does not keep workloads across restarts\. \[Redeploy 2 functions\]$/;
    await until('the message about the lost functions', () => ui.shown.some((s) => lostMessage.test(s)), 10000, () => ui.said());
    assert.strictEqual(ui.shown.filter((s) => /The local node stopped/.test(s)).length, 1, 'one message');

    // The button was pressed: the node starts again (same id), the editor connects, both are deployed anew.
    await until('"Redeployed 2 functions"', () => ui.shown.some((s) => /^info: Redeployed 2 functions \(restart-greet, restart-echo\) on the local node\.$/.test(s)), 30000, () => ui.said());
    assert.ok(!ui.shown.some((s) => /^(warn|error):/.test(s)), ui.shown.join(' | '));
    assert.strictEqual(api.localNode.nodeId(), nodeId, 'the local node keeps its id across restarts');
    assert.strictEqual(api.connections.state(), 'connected');
    assert.match(api.localNode.status(), /Nex node: 2 functions/);
    await until(
      'both in the Deployed view on the new node',
      () => {
        const node = (api.deployed.snapshot()?.nodes ?? []).find((n) => n.id === nodeId);
        const names = (node?.workloads ?? []).map((w) => `${w.name}@${w.namespace}`).sort();
        return names.join(',') === 'restart-echo@team-a,restart-greet@default' && !node!.workloads.some((w) => w.id === greet.workloadId || w.id === echo.workloadId);
      },
      15000,
      () => ui.said(),
    );
  });

  it('a stop with nothing deployed says nothing', async () => {
    const api = suite.api();
    api.setUi(redeployUi(false));
    await vscode.commands.executeCommand('nex.stopLocalNode'); // what the test before redeployed
    const ui = redeployUi(false);
    api.setUi(ui);
    await vscode.commands.executeCommand('nex.startLocalNode');
    // The notice is given while the stop finishes (the node's stop event), before the command returns.
    await vscode.commands.executeCommand('nex.stopLocalNode');
    assert.match(api.localNode.status(), /stopped/);
    assert.ok(!ui.shown.some((s) => /lost/.test(s)), ui.said());
  });
});
