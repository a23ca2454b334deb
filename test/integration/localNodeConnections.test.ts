/**
 * The local node and the connections, inside the real extension host of VS Code (code-server):
 * Start Local Node connects to it and hides itself from the menus, the node keeps its name and URL
 * across restarts, and a connection is tried when it is added or edited.
 */
import * as assert from 'assert';
import * as vscode from 'vscode';
import { connect } from '@nats-io/transport-node';
import type { NexTestApi } from '../../src/vscode/extension';
import type { PickItem } from '../../src/vscode/ui';
import { NatsServerHandle, startNatsServer as startServer } from '../../src/nats/natsServerProcess';
import { ScriptedAnswer, ScriptedUi } from './support';

const EXTENSION_ID = 'nex-functions.nex-functions';

/** The shared scripted UI, its inputs shown with the value they were prefilled with ("input: title [value]"). */
const scripted = (answers: ScriptedAnswer[]) => new ScriptedUi(answers, { showPrefilled: true });

/** A nats-server of the test's own (the product's starter, which stops it with the extension host at the latest). */
const startNatsServer = (extraArgs: string[] = []) => startServer({ extraArgs, jetStream: false });

const userPassword = (items: PickItem<unknown>[]) => items.find((i) => i.value === 'userPassword')!.value;

describe('the local node and connections in VS Code', () => {
  let api: NexTestApi;

  before(async () => {
    const ext = vscode.extensions.getExtension<NexTestApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not installed`);
    api = await ext.activate();
    assert.ok(api, 'activate() returns the test API outside production');
    await vscode.commands.executeCommand('nex.disconnect');
    await vscode.commands.executeCommand('nex.stopLocalNode');
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('nex.disconnect');
    await vscode.commands.executeCommand('nex.stopLocalNode');
  });

  it('Start Local Node connects to it, the Deployed view shows it by its name, and the menus offer Stop instead of Start', async () => {
    const ui = scripted([]);
    api.setUi(ui);
    assert.strictEqual(api.connections.state(), 'disconnected');
    assert.strictEqual(api.localNode.runningContext(), false, 'stopped: Start Local Node is offered');
    const started = await vscode.commands.executeCommand<{ nodeId: string; natsUrl: string } | undefined>('nex.startLocalNode');
    assert.ok(started, `no start; the UI said: ${ui.shown.join(' | ')}`);
    assert.strictEqual(api.connections.state(), 'connected', `not connected; the UI said: ${ui.shown.join(' | ')}`);
    assert.match(api.connections.status(), /Nex: local node/);
    assert.doesNotMatch(api.connections.status(), /not connected/);
    assert.strictEqual(api.localNode.runningContext(), true, 'running: Start Local Node is hidden, Stop offered');
    const deadline = Date.now() + 15000;
    while (!(api.deployed.snapshot()?.nodes ?? []).some((n) => n.id === started.nodeId)) {
      assert.ok(Date.now() < deadline, `the Deployed view does not show the node: ${JSON.stringify(api.deployed.snapshot())}`);
      await vscode.commands.executeCommand('nex.refreshDeployed');
      await new Promise((r) => setTimeout(r, 200));
    }
    const shown = api.deployed.snapshot()!.nodes.find((n) => n.id === started.nodeId)!;
    assert.match(shown.name ?? '', /^vscode-/, 'the editor\'s node is named vscode-<host> (nexfn node: nexfn-<host>)');
    await vscode.commands.executeCommand('nex.stopLocalNode');
    assert.strictEqual(api.localNode.runningContext(), false, 'stopped again: Start offered, Stop hidden');
    assert.strictEqual(api.connections.state(), 'disconnected');
  });

  it('Start Local Node leaves another connection alone', async () => {
    const server = await startNatsServer();
    try {
      api.setUi(scripted(['other', server.url, 'No authentication', 'default']));
      assert.ok(await vscode.commands.executeCommand('nex.addConnection'));
      await vscode.commands.executeCommand('nex.connect', { kind: 'saved', name: 'other' });
      assert.strictEqual(api.connections.state(), 'connected');
      assert.ok(await vscode.commands.executeCommand('nex.startLocalNode'));
      assert.match(api.connections.status(), /Nex: other/, 'still connected to the other server');
    } finally {
      await vscode.commands.executeCommand('nex.removeConnection', 'other');
      await server.stop();
    }
  });

  it('keeps the node\'s URL when it is started again', async () => {
    api.setUi(scripted([]));
    const first = await vscode.commands.executeCommand<{ natsUrl: string }>('nex.startLocalNode');
    await vscode.commands.executeCommand('nex.stopLocalNode');
    const second = await vscode.commands.executeCommand<{ natsUrl: string }>('nex.startLocalNode');
    assert.ok(first && second);
    assert.strictEqual(second.natsUrl, first.natsUrl, 'a saved connection to the node survives its restart');
    const nc = await connect({ servers: second.natsUrl, reconnect: false, timeout: 2000 });
    await nc.close();
  });

  describe('connections are tried when added or edited', () => {
    let server: NatsServerHandle;
    before(async () => {
      server = await startNatsServer(['--user', 'ada', '--pass', 'lovelace']);
    });
    after(async () => {
      await server?.stop();
    });
    afterEach(async () => {
      await vscode.commands.executeCommand('nex.removeConnection', 'team');
    });
    const saved = () => vscode.workspace.getConfiguration('nex').get<Array<Record<string, string>>>('connections')!.find((c) => c.name === 'team');

    it('Add Connection… with a wrong password says what the server said, and Edit Again asks again pre-filled', async () => {
      const ui = scripted(['team', server.url, userPassword, 'ada', 'wrong', 'prod', 'Edit Again', 'team', server.url, userPassword, 'ada', 'lovelace', 'prod']);
      api.setUi(ui);
      const result = await vscode.commands.executeCommand<{ name: string } | undefined>('nex.addConnection');
      assert.strictEqual(result?.name, 'team', ui.shown.join('\n'));
      const warnings = ui.shown.filter((s) => s.startsWith('warn: '));
      assert.strictEqual(warnings.length, 1, ui.shown.join('\n'));
      assert.match(warnings[0], /the connection team did not connect: .*refused the credentials \(the server said: Authorization Violation\)/);
      assert.ok(ui.shown.includes(`input: Nex connection (2/4): servers [${server.url}]`), `asked again with what was typed: ${ui.shown.join('\n')}`);
      assert.ok(ui.shown.includes('input: Nex connection (4/4): Nex namespace [prod]'), ui.shown.join('\n'));
      assert.deepStrictEqual(saved(), { name: 'team', servers: server.url, auth: 'userPassword', user: 'ada', namespace: 'prod' });
      assert.deepStrictEqual(await api.connections.secretsOf('team'), { password: 'lovelace' });
    });

    it('Add Connection… saves a failing connection only when told to', async () => {
      api.setUi(scripted(['team', server.url, userPassword, 'ada', 'wrong', 'default']));
      assert.strictEqual(await vscode.commands.executeCommand('nex.addConnection'), undefined, 'dismissed: nothing saved');
      assert.strictEqual(saved(), undefined);
      api.setUi(scripted(['team', server.url, userPassword, 'ada', 'wrong', 'default', 'Save Anyway']));
      assert.ok(await vscode.commands.executeCommand('nex.addConnection'));
      assert.strictEqual(saved()?.user, 'ada');
    });

    it('a password left empty is said as such, not as refused credentials', async () => {
      const ui = scripted(['team', server.url, userPassword, 'ada', '', 'default']);
      api.setUi(ui);
      await vscode.commands.executeCommand('nex.addConnection');
      const warning = ui.shown.find((s) => s.startsWith('warn: ')) ?? '';
      assert.match(warning, /password: no password was given for the user "ada"/);
      assert.doesNotMatch(warning, /refused the credentials/);
    });

    it('Edit Connection… on the current connection reconnects with the edited settings', async () => {
      api.setUi(scripted(['team', server.url, userPassword, 'ada', 'wrong', 'default', 'Save Anyway']));
      assert.ok(await vscode.commands.executeCommand('nex.addConnection'));
      await vscode.commands.executeCommand('nex.connect', { kind: 'saved', name: 'team' });
      assert.strictEqual(api.connections.state(), 'offline', 'the wrong password does not connect');
      const ui = scripted(['team', server.url, userPassword, 'ada', 'lovelace', 'default']);
      api.setUi(ui);
      assert.ok(await vscode.commands.executeCommand('nex.editConnection', 'team'));
      assert.strictEqual(api.connections.state(), 'connected', ui.shown.join('\n'));
      assert.match(api.connections.status(), /Nex: team/);
      assert.ok(!ui.shown.some((s) => s.startsWith('warn: ')), 'the right password connects: no question');
    });
  });
});
