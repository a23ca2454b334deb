/**
 * The Deployed view tells the truth (inside the real extension host, as extension.test.ts): the
 * triggers a workload was deployed with, not its manifest's after a change, with the drift shown;
 * every namespace the workspace deploys to; an undeployed row gone at once.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { DeployedSnapshot } from '../../src/explorer/deployedModel';
import type { NexTestApi } from '../../src/vscode/extension';
import type { InputOptions, PickItem, UserInterface } from '../../src/vscode/ui';
import type { RenderedItem } from '../../src/vscode/views/deployedView';

const EXTENSION_ID = 'nex-functions.nex-functions';

/** Creates missing keys when asked; records the rest. */
class QuietUi implements UserInterface {
  readonly shown: string[] = [];
  async pick<T>(_items: PickItem<T>[], options: { title: string }): Promise<T | undefined> {
    this.shown.push(`pick: ${options.title}`);
    return undefined;
  }
  async input(options: InputOptions): Promise<string | undefined> {
    this.shown.push(`input: ${options.title}`);
    return undefined;
  }
  async info(message: string, ...actions: string[]): Promise<string | undefined> {
    this.shown.push(`info: ${message}`);
    return actions.includes('Create Keys') ? 'Create Keys' : undefined;
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

/** Every rendered item, depth first, with the labels of the items above it. */
function flatten(items: RenderedItem[], above: string[] = []): Array<RenderedItem & { path: string[] }> {
  return items.flatMap((item) => [{ ...item, path: [...above, item.label] }, ...flatten(item.children, [...above, item.label])]);
}

describe('The Deployed view tells the truth', function () {
  this.timeout(60000);
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

  /** Waits for the view (its snapshot and tree, without asking for a refresh) to satisfy `check`. */
  const viewWhere = async (what: string, check: (snapshot: DeployedSnapshot | undefined, tree: RenderedItem[]) => boolean, ms = 15000): Promise<RenderedItem[]> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const tree = api.deployed.tree();
      if (check(api.deployed.snapshot(), tree)) {
        return tree;
      }
      assert.ok(Date.now() < deadline, `the Deployed view never showed ${what}: ${JSON.stringify(tree, null, 1)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    const ext = vscode.extensions.getExtension<NexTestApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not installed`);
    api = await ext.activate();
    keys = fs.mkdtempSync(path.join(os.tmpdir(), 'nex-keys-'));
    await vscode.workspace.getConfiguration('nex').update('deploy.keysDir', keys, vscode.ConfigurationTarget.Workspace);
    await vscode.workspace.getConfiguration('nex').update('deploy.runCasesFirst', false, vscode.ConfigurationTarget.Workspace);
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

  it('shows the triggers deployed, marks a manifest change as drift, lists team-a, and drops an undeployed row at once', async () => {
    const ui = new QuietUi();
    api.setUi(ui);
    const truthDir = fnFolder('truth', { triggers: ['truth.*'] });
    const teamDir = fnFolder('team-fn', { triggers: ['team.*'], deploy: { namespace: 'team-a' } });
    await api.refresh();

    const truth = await vscode.commands.executeCommand<{ workloadId: string; namespace: string } | undefined>('nex.deployFunction', { function: truthDir });
    assert.ok(truth, `no deploy: ${ui.shown.join(' | ')}`);
    const team = await vscode.commands.executeCommand<{ workloadId: string; namespace: string } | undefined>('nex.deployFunction', { function: teamDir });
    assert.ok(team, `no deploy: ${ui.shown.join(' | ')}`);
    assert.strictEqual(team.namespace, 'team-a');
    assert.ok(ui.shown.some((s) => /^info: team-fn is deployed on .* in the namespace team-a as /.test(s)), `the toast names the namespace: ${ui.shown.join(' | ')}`);

    // Both namespaces under the node, each workload under its own, with the triggers it was deployed with.
    let tree = await viewWhere('truth in default and team-fn in team-a', (s) =>
      (s?.nodes ?? []).some((n) => n.workloads.some((w) => w.id === truth.workloadId && w.triggers) && n.workloads.some((w) => w.id === team.workloadId && w.namespace === 'team-a')),
    );
    let rows = flatten(tree);
    const truthRow = rows.find((r) => r.label === 'truth')!;
    assert.strictEqual(truthRow.path[1], 'default');
    assert.deepStrictEqual(truthRow.children.map((c) => [c.label, c.description]), [['truth.*', 'trigger']]);
    assert.match(truthRow.description, /local source/);
    assert.strictEqual(rows.find((r) => r.label === 'team-fn')!.path[1], 'team-a');
    const functions = api.functionsView();
    assert.match(functions.find((f) => f.label === 'team-fn')!.description, /deployed in team-a/, 'the Functions view marks team-fn deployed');

    // The manifest gains a trigger: the view keeps the deployed one, and says the new one is not deployed.
    fs.writeFileSync(path.join(truthDir, 'nexfunction.json'), JSON.stringify({ name: 'truth', type: 'v8', source: 'fn.js', triggers: ['truth.*', 'truth.*.x'] }, null, 2));
    tree = await viewWhere('the trigger drift of truth', (_s, t) => /triggers changed, not deployed \(\+truth\.\*\.x\)/.test(flatten(t).find((r) => r.label === 'truth')?.description ?? ''));
    rows = flatten(tree);
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
});
