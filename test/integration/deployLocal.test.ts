/**
 * Deploying from the editor to the local node: deploy, trigger, logs and undeploy; Which Function;
 * Preview Deploy and Record Trigger Cases. Inside the real extension host of VS Code (code-server),
 * against test/fixtures/workspace. Runs after deployErrors.test.ts, whose deploys leave the local
 * node's NEXFN_DEPLOYS bucket in place: the first test reads a workload's triggers from its deploy
 * record as soon as the Deployed view shows it, which holds once the bucket exists (on a first
 * deploy the record only shows at the view's next read of the nodes).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { connect } from '@nats-io/transport-node';
import type { NexTestApi } from '../../src/vscode/extension';
import { freshApi, ScriptedUi, workspaceDir } from './support';

/**
 * For deploy tests: a temp keys folder in nex.deploy.keysDir (never ~/.nex) and a UI that answers
 * "Create Keys" when asked; `restore` puts the setting back and removes the folder.
 */
async function deployKeys(api: NexTestApi): Promise<{ asked: string[]; keys: string; restore: () => Promise<void> }> {
  const keys = fs.mkdtempSync(path.join(require('os').tmpdir(), 'nex-keys-'));
  const config = vscode.workspace.getConfiguration('nex');
  await config.update('deploy.keysDir', keys, vscode.ConfigurationTarget.Workspace);
  const asked: string[] = [];
  api.setUi(
    new (class extends ScriptedUi {
      override async info(message: string): Promise<string | undefined> {
        asked.push(message);
        return /create/i.test(message) ? 'Create Keys' : undefined;
      }
    })([]),
  );
  return {
    asked,
    keys,
    restore: async () => {
      await config.update('deploy.keysDir', undefined, vscode.ConfigurationTarget.Workspace);
      fs.rmSync(keys, { recursive: true, force: true });
    },
  };
}


describe('Deploying to the local node from VS Code', () => {
  let api: NexTestApi;

  before(async () => {
    api = await freshApi();
  });

  it('deploys a function to the local node, triggers it there, follows its logs, and undeploys it', async () => {
    const dir = path.join(workspaceDir(), 'deploy-me');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'deploy-me', type: 'v8', source: 'fn.js', triggers: ['deploy.me.*'] }));
    fs.writeFileSync(path.join(dir, 'fn.js'), '(subject, payload) => { console.log("deployed run on " + subject); return "hello " + String.fromCharCode(...payload); };\n');
    const { asked, keys, restore } = await deployKeys(api);
    try {
      await api.refresh();
      const deployed = await vscode.commands.executeCommand<{ workloadId: string; name: string; version: string } | undefined>('nex.deployFunction', { function: dir });
      assert.ok(deployed, `no deploy; the UI said: ${asked.join(' | ')}`);
      assert.strictEqual(deployed.name, 'deploy-me');
      assert.strictEqual(deployed.version, '0.2.7');
      assert.ok(fs.existsSync(path.join(keys, 'issuer.nk')) && fs.existsSync(path.join(keys, 'publisher.xk')), 'the keys were created where the setting says');
      assert.strictEqual(api.connections.state(), 'connected', 'deploying connected to the local node');
      const deployedHere = async (present: boolean) => {
        const deadline = Date.now() + 15000;
        const has = () => (api.deployed.snapshot()?.nodes ?? []).some((n) => n.workloads.some((w) => w.id === deployed.workloadId));
        while (has() !== present) {
          assert.ok(Date.now() < deadline, `the Deployed view did not ${present ? 'show' : 'drop'} the workload: ${JSON.stringify(api.deployed.snapshot())}`);
          await vscode.commands.executeCommand('nex.refreshDeployed');
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      await deployedHere(true);
      const workload = api.deployed.snapshot()!.nodes.flatMap((n) => n.workloads).find((w) => w.id === deployed.workloadId)!;
      assert.deepStrictEqual(workload.triggers, ['deploy.me.*'], 'INFO has no triggers: they come from the deploy record');
      const logs = await vscode.commands.executeCommand<string[]>('nex.showDeployedLogs', { name: 'deploy-me' });
      assert.deepStrictEqual(logs, [deployed.workloadId]);
      const reply = await vscode.commands.executeCommand<{ reply: Uint8Array; size: number }>('nex.triggerDeployed', { function: dir, subject: 'deploy.me.now', payload: 'node' });
      assert.strictEqual(Buffer.from(reply.reply).toString(), '"hello node"', 'a 0.2.7 node JSON-encodes the returned string');
      assert.match(api.outputLines().join('\n'), /deploy-me on local node: "deploy\.me\.now" → 12 bytes/);
      assert.strictEqual(api.lastRun()?.subject, 'deploy.me.now', 'a remote run is the last run, for Save as Trigger Case');
      assert.strictEqual(Buffer.from(api.lastRun()!.outcome.reply!).toString(), '"hello node"');
      assert.strictEqual(await vscode.commands.executeCommand('nex.undeployFunction', { name: 'deploy-me' }), 1);
      await deployedHere(false);
      await assert.rejects(
        Promise.resolve(vscode.commands.executeCommand('nex.triggerDeployed', { function: dir, subject: 'deploy.me.again', payload: '' })).then((r) => {
          if (r === undefined) throw new Error('no reply: the command reported the error');
        }),
      );
    } finally {
      await restore();
      await vscode.commands.executeCommand('nex.disconnect');
      await vscode.commands.executeCommand('nex.stopLocalNode');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says which function handles a subject: the local function whose trigger matches it', async () => {
    const ui = new ScriptedUi([]);
    api.setUi(ui);
    await api.refresh();
    const answer = await vscode.commands.executeCommand<{ subject: string; local: Array<{ name: string; dir: string; trigger: string }>; deployed: unknown[] } | undefined>('nex.whichFunction', {
      subject: 'counter.hit',
    });
    assert.ok(answer, `no answer; the UI said: ${ui.shown.join(' | ')}`);
    assert.deepStrictEqual(
      answer.local.map((h) => [h.name, path.basename(h.dir), h.trigger]),
      [['counter', 'counter', 'counter.*']],
    );
    assert.deepStrictEqual(answer.deployed, [], 'nothing of that name is deployed');
    assert.ok(ui.shown.some((s) => /^info: A message on counter\.hit would trigger local counter \(counter\.\*\)/.test(s)), ui.shown.join('\n'));
    assert.match(api.outputLines().join('\n'), /local counter .* via counter\.\*/);
  });

  it('previews a deploy on the local node (env values hidden) and records trigger cases from a subject', async () => {
    const dir = path.join(workspaceDir(), 'record-me');
    const secret = 'preview-never-shows-this';
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'record-me', type: 'v8', source: 'fn.js', triggers: ['record.me.*'], env: { SECRET: secret } }));
    fs.writeFileSync(path.join(dir, 'fn.js'), '(subject, payload) => "got " + String.fromCharCode(...payload);\n');
    const { asked, restore } = await deployKeys(api);
    let nc: Awaited<ReturnType<typeof connect>> | undefined;
    try {
      await api.refresh();
      const deployed = await vscode.commands.executeCommand<{ workloadId: string } | undefined>('nex.deployFunction', { function: dir });
      assert.ok(deployed, `no deploy; the UI said: ${asked.join(' | ')}`);

      const preview = await vscode.commands.executeCommand<{ node: { version: string }; environment: { names: string[] }; replaces: string[]; request: Record<string, unknown> } | undefined>('nex.previewDeploy', { function: dir });
      assert.ok(preview, `no preview; the UI said: ${asked.join(' | ')}`);
      assert.strictEqual(preview.node.version, '0.2.7');
      assert.deepStrictEqual(preview.environment.names, ['SECRET']);
      assert.deepStrictEqual(preview.replaces, [deployed.workloadId], 'a deploy would replace the running one');
      assert.ok(!JSON.stringify(preview).includes(secret), 'the env value is not in the preview');
      const doc = vscode.window.activeTextEditor?.document;
      assert.ok(doc?.isUntitled, 'the preview opens as an untitled document');
      assert.strictEqual(doc.languageId, 'json');
      assert.deepStrictEqual(JSON.parse(doc.getText()), JSON.parse(JSON.stringify(preview)));
      assert.ok(!doc.getText().includes(secret));
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');

      const file = path.join(dir, 'triggers', 'recorded.json');
      const recording = Promise.resolve(
        vscode.commands.executeCommand<{ file: string; added: string[]; withReply: number } | undefined>('nex.recordTriggerCases', { function: dir, subject: 'record.me.*', count: 2, seconds: 30, file: 'triggers/recorded.json' }),
      );
      const deadline = Date.now() + 15000;
      while (!api.outputLines().some((l) => l.includes('● recording record.me.* on local node until 2 messages or 30 s'))) {
        assert.ok(Date.now() < deadline, `the recording did not start: ${api.outputLines().slice(-5).join(' | ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      nc = await connect({ servers: api.localNode.natsUrl()! });
      assert.strictEqual((await nc.request('record.me.one', 'a', { timeout: 5000 })).string(), '"got a"');
      assert.strictEqual((await nc.request('record.me.two', '{"b":2}', { timeout: 5000 })).string(), '"got {\\"b\\":2}"');
      const recorded = await recording;
      assert.deepStrictEqual(recorded, { file, added: ['record.me.one #1', 'record.me.two #1'], withReply: 2 });
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, 'utf8')), {
        cases: [
          { name: 'record.me.one #1', subject: 'record.me.one', payload: 'a', expect: { reply: '"got a"' } },
          { name: 'record.me.two #1', subject: 'record.me.two', payload: { json: { b: 2 } }, expect: { reply: '"got {\\"b\\":2}"' } },
        ],
      });
      assert.strictEqual(vscode.window.activeTextEditor?.document.uri.fsPath, file, 'the file is opened');
    } finally {
      await nc?.close();
      await restore();
      for (let i = 0; i < 5 && vscode.window.activeTextEditor?.document.isUntitled; i++) {
        await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor'); // the preview, when a check failed before it was closed
      }
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await vscode.commands.executeCommand('nex.disconnect');
      await vscode.commands.executeCommand('nex.stopLocalNode');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
