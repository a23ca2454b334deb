/**
 * A stop of the local node loses its workloads, as on a real node (inside the real extension host,
 * as extension.test.ts): the editor says what was lost and offers to redeploy the workspace
 * functions; choosing it starts the node again and deploys both anew.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { NexTestApi } from '../../src/vscode/extension';
import type { InputOptions, PickItem, UserInterface } from '../../src/vscode/ui';

const EXTENSION_ID = 'nex-functions.nex-functions';

/** Creates missing keys when asked, presses "Redeploy …" when offered (if told to), records everything. */
class RedeployUi implements UserInterface {
  readonly shown: string[] = [];
  constructor(private readonly redeploy: boolean) {}
  async pick<T>(_items: PickItem<T>[], options: { title: string }): Promise<T | undefined> {
    this.shown.push(`pick: ${options.title}`);
    return undefined;
  }
  async input(options: InputOptions): Promise<string | undefined> {
    this.shown.push(`input: ${options.title}`);
    return undefined;
  }
  async info(message: string, ...actions: string[]): Promise<string | undefined> {
    this.shown.push(`info: ${message}${actions.length ? ` [${actions.join('|')}]` : ''}`);
    if (actions.includes('Create Keys')) {
      return 'Create Keys';
    }
    return this.redeploy ? actions.find((a) => a.startsWith('Redeploy ')) : undefined;
  }
  async warn(message: string): Promise<string | undefined> {
    this.shown.push(`warn: ${message}`);
    return undefined;
  }
  async error(message: string): Promise<string | undefined> {
    this.shown.push(`error: ${message}`);
    return undefined;
  }
}

describe('a stop of the local node says what it lost, and redeploys it', function () {
  this.timeout(90000);
  let api: NexTestApi;
  let keys: string;
  const workspaceDir = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
  const created: string[] = [];

  const fnFolder = (name: string, manifest: Record<string, unknown>): string => {
    const dir = path.join(workspaceDir(), name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name, type: 'v8', source: 'fn.js', ...manifest }, null, 2));
    fs.writeFileSync(path.join(dir, 'fn.js'), '(subject, payload) => subject;\n');
    created.push(dir);
    return dir;
  };

  /** Waits until `check` holds, saying `what` (and what the UI showed) when it never does. */
  const until = async (what: string, check: () => boolean, ui: RedeployUi, ms = 30000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!check()) {
      assert.ok(Date.now() < deadline, `${what} never happened; the UI said: ${ui.shown.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    const ext = vscode.extensions.getExtension<NexTestApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not installed`);
    api = await ext.activate();
    keys = fs.mkdtempSync(path.join(os.tmpdir(), 'nex-keys-'));
    await vscode.workspace.getConfiguration('nex').update('deploy.keysDir', keys, vscode.ConfigurationTarget.Workspace);
    await vscode.workspace.getConfiguration('nex').update('deploy.runCasesFirst', false, vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('nex.disconnect');
    await vscode.commands.executeCommand('nex.stopLocalNode');
  });

  after(async () => {
    await vscode.workspace.getConfiguration('nex').update('deploy.keysDir', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.workspace.getConfiguration('nex').update('deploy.runCasesFirst', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('nex.disconnect');
    await vscode.commands.executeCommand('nex.stopLocalNode');
    fs.rmSync(keys, { recursive: true, force: true });
    for (const dir of created) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    await api.refresh();
  });

  it('Stop Local Node with two functions deployed: the message names both, and "Redeploy 2 functions" deploys them on the new node', async () => {
    const ui = new RedeployUi(true);
    api.setUi(ui);
    const greetDir = fnFolder('restart-greet', { triggers: ['restart.greet'] });
    const echoDir = fnFolder('restart-echo', { triggers: ['restart.echo'], deploy: { namespace: 'team-a' } });
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
    await until('the message about the lost functions', () => ui.shown.some((s) => lostMessage.test(s)), ui, 10000);
    assert.strictEqual(ui.shown.filter((s) => /The local node stopped/.test(s)).length, 1, 'one message');

    // The button was pressed: the node starts again (same id), the editor connects, both are deployed anew.
    await until('"Redeployed 2 functions"', () => ui.shown.some((s) => /^info: Redeployed 2 functions \(restart-greet, restart-echo\) on the local node\.$/.test(s)), ui);
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
      ui,
      15000,
    );
  });

  it('a stop with nothing deployed says nothing', async () => {
    api.setUi(new RedeployUi(false));
    await vscode.commands.executeCommand('nex.stopLocalNode'); // what the test before redeployed
    const ui = new RedeployUi(false);
    api.setUi(ui);
    await vscode.commands.executeCommand('nex.startLocalNode');
    await vscode.commands.executeCommand('nex.stopLocalNode');
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!ui.shown.some((s) => /lost/.test(s)), ui.shown.join(' | '));
  });
});
