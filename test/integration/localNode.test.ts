/**
 * The local node from the commands: connecting to it (the built-in connection) with a saved
 * connection's secrets kept out of the settings, and Start and Stop Local Node with its status bar.
 * Inside the real extension host of VS Code (code-server), against test/fixtures/workspace.
 */
import * as assert from 'assert';
import * as vscode from 'vscode';
import { connect } from '@nats-io/transport-node';
import type { NexTestApi } from '../../src/vscode/extension';
import { freshApi, ScriptedUi } from './support';

describe('The local node and connections from the commands', () => {
  let api: NexTestApi;

  before(async () => {
    api = await freshApi();
  });

  it('connects to the local node (built in), says so in the status bar, and keeps typed secrets out of the settings', async () => {
    api.setUi(new ScriptedUi([]));
    try {
      const connection = await vscode.commands.executeCommand<{ label: string; namespace: string } | undefined>('nex.connect', { kind: 'local' });
      assert.strictEqual(connection?.label, 'local node');
      assert.strictEqual(api.connections.state(), 'connected');
      assert.match(api.connections.status(), /Nex: local node/);
      const url = api.localNode.natsUrl()!;
      api.setUi(new ScriptedUi(['team', url, (items) => items.find((i) => i.value === 'userPassword')!.value, 'ada', 'lovelace', 'prod']));
      await vscode.commands.executeCommand('nex.addConnection');
      const saved = vscode.workspace.getConfiguration('nex').get<Array<Record<string, string>>>('connections')!;
      assert.deepStrictEqual(saved.find((c) => c.name === 'team'), { name: 'team', servers: url, auth: 'userPassword', user: 'ada', namespace: 'prod' });
      assert.doesNotMatch(JSON.stringify(saved), /lovelace/, 'the password is not in the settings');
      assert.deepStrictEqual(await api.connections.secretsOf('team'), { password: 'lovelace' });
      assert.doesNotMatch(api.outputLines().join('\n') + JSON.stringify(saved), /lovelace/);
      assert.strictEqual(await vscode.commands.executeCommand('nex.removeConnection', 'team'), true);
      assert.deepStrictEqual(await api.connections.secretsOf('team'), {}, 'removing a connection removes its secrets');
      await vscode.commands.executeCommand('nex.disconnect');
      assert.strictEqual(api.connections.state(), 'disconnected');
      assert.match(api.connections.status(), /not connected/);
    } finally {
      await vscode.commands.executeCommand('nex.disconnect');
      await vscode.commands.executeCommand('nex.stopLocalNode');
    }
  });

  it('starts and stops the local Nex node from the commands, with its status bar', async () => {
    api.setUi(new ScriptedUi([]));
    const started = await vscode.commands.executeCommand<{ nodeId: string; natsUrl: string } | undefined>('nex.startLocalNode');
    assert.ok(started, 'Start Local Node returns the node');
    /** The node's PING reply on the node's NATS URL, or why there is none. */
    const ping = async (): Promise<string> => {
      let nc;
      try {
        nc = await connect({ servers: started.natsUrl, reconnect: false, timeout: 2000 });
      } catch (e) {
        return `no connection: ${(e as Error).message}`;
      }
      try {
        const reply = await nc.request(`$NEX.PING.${started.nodeId}`, '', { timeout: 5000 });
        return reply.json<{ data: { node_id: string } }>().data.node_id;
      } catch (e) {
        return `no answer: ${(e as Error).message}`;
      } finally {
        await nc.close();
      }
    };
    try {
      assert.match(api.localNode.status(), /Nex node: 0 functions/);
      assert.strictEqual(api.localNode.nodeId(), started.nodeId);
      assert.strictEqual(api.localNode.natsUrl(), started.natsUrl);
      assert.match(started.natsUrl, /^nats:\/\/127\.0\.0\.1:\d+$/, 'a private nats-server (the fixture sets no nex.localNode.natsUrl)');
      assert.strictEqual(await ping(), started.nodeId);
      const again = await vscode.commands.executeCommand<{ nodeId: string; natsUrl: string }>('nex.startLocalNode');
      assert.deepStrictEqual(again, started, 'a second start finds the running node');
    } finally {
      await vscode.commands.executeCommand('nex.stopLocalNode');
    }
    assert.match(api.localNode.status(), /stopped/);
    assert.strictEqual(api.localNode.nodeId(), undefined);
    assert.match(await ping(), /^no (connection|answer)/, 'the private nats-server is gone with the node');
  });
});
