/**
 * Running functions from the editor: Run Function with scripted arguments, Quick Run, the invoke
 * panel, errors with their lines, the time limit, bare files and invalid functions. Inside the real
 * extension host of VS Code (code-server), against test/fixtures/workspace.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { NexTestApi } from '../../src/vscode/extension';
import { freshApi, ScriptedUi, workspaceDir } from './support';

describe('Running functions in VS Code', () => {
  let api: NexTestApi;

  before(async () => {
    api = await freshApi();
  });

  it('runs a function from the command with scripted arguments and logs the reply', async () => {
    await vscode.commands.executeCommand('nex.runFunction', { function: path.join(workspaceDir(), 'echo'), subject: 'demo.echo', payload: 'hello' });
    const run = api.lastRun()!;
    assert.strictEqual(run.functionName, 'echo');
    assert.strictEqual(Buffer.from(run.outcome.reply!).toString(), 'hello');
    const out = api.outputLines().join('\n');
    assert.match(out, /▶ echo \(echo\.js\) triggered on "demo\.echo" with 5 bytes/);
    assert.match(out, /console\.log: echo: 5 bytes on demo\.echo/);
    assert.match(out, /✔ reply \(5 bytes\) in [\d.]+ ms .*: hello/);
  });

  it('asks for the function, subject and payload when quick-run from the palette', async () => {
    const ui = new ScriptedUi(['echo', 'orders.created', 'from the palette']);
    api.setUi(ui);
    await vscode.commands.executeCommand('nex.quickRunFunction');
    assert.deepStrictEqual(ui.shown, ['pick: Run Nex Function', 'input: Run echo (1/2): trigger subject', 'input: Run echo (2/2): payload']);
    assert.strictEqual(Buffer.from(api.lastRun()!.outcome.reply!).toString(), 'from the palette');
    assert.strictEqual(api.lastRun()!.subject, 'orders.created');
  });

  it('opens an invoke panel from Run Function: trigger subjects offered, a JSON payload, the response with its calls and hints', async () => {
    const dir = path.join(workspaceDir(), 'counter');
    api.setUi(new ScriptedUi([]));
    await api.hostServices.receive(dir, { type: 'mocks.reset' });
    await vscode.commands.executeCommand('nex.runFunction', vscode.Uri.file(dir));
    try {
      assert.ok(api.invoke.isOpen(dir), 'Run Function on a function opens its panel');
      const initial = api.invoke.initial(dir)!;
      assert.deepStrictEqual(initial.suggestions, ['counter.test'], 'a concrete example of the trigger counter.*');
      assert.notStrictEqual(initial.subject, 'counter', 'never the function name as a subject');
      assert.ok(initial.samples.some((s) => s.source === 'case' && s.label === 'counts on from the mocks'), JSON.stringify(initial.samples));
      const response = (await api.invoke.receive(dir, { type: 'run', subject: 'counter.hit', payload: { kind: 'json', text: '{\n  "n": 1\n}' } })) as {
        ok: boolean; reply: { kind: string; text: string; size: number }; hostCalls: Array<{ call: string }>; hints: Array<{ message: string }>; subjectNote?: string;
      };
      assert.strictEqual(response.ok, true, JSON.stringify(response));
      assert.strictEqual(response.reply.kind, 'json');
      assert.deepStrictEqual(JSON.parse(response.reply.text), { subject: 'counter.hit', count: 42 });
      assert.deepStrictEqual(response.hostCalls.map((c) => c.call.split('(')[0]), ['kv.get', 'kv.set', 'messaging.publish']);
      assert.ok(response.hints.some((h) => /hostServices exists on Nex 0\.2 nodes only/.test(h.message)), JSON.stringify(response.hints));
      assert.strictEqual(response.subjectNote, undefined);
      assert.strictEqual(api.lastRun()?.subject, 'counter.hit', 'Save as Trigger Case takes this run');
      // A subject no trigger matches runs, and says so.
      const other = (await api.invoke.receive(dir, { type: 'run', subject: 'elsewhere.hit', payload: { kind: 'text', text: '' } })) as { ok: boolean; subjectNote?: string };
      assert.match(other.subjectNote ?? '', /"elsewhere\.hit" matches none of counter's triggers \(counter\.\*\): a node would never deliver it/);
      // A refused payload is reported and not remembered: Run again takes the last good one.
      assert.match(String(await api.invoke.receive(dir, { type: 'run', subject: 'counter.bad', payload: { kind: 'json', text: '{oops' } })), /the payload is not valid JSON/);
      assert.match(String(await api.invoke.receive(dir, { type: 'run', subject: 'counter.bad', payload: { kind: 'base64', text: '!!' } })), /not valid base64/);
      const again = (await api.invoke.receive(dir, { type: 'runAgain' })) as { subject: string };
      assert.strictEqual(again.subject, 'elsewhere.hit');
      assert.strictEqual(api.invoke.initial(dir)!.subject, 'elsewhere.hit', 'the last good subject is the default');
      // Run again in the host-services panel re-runs it too, without asking.
      const ui = new ScriptedUi([]);
      api.setUi(ui);
      await api.hostServices.receive(dir, { type: 'run' });
      assert.deepStrictEqual(ui.shown, [], 'nothing asked');
      assert.strictEqual(api.lastRun()?.subject, 'elsewhere.hit');
      // Messages are validated.
      assert.match(String(await api.invoke.receive(dir, { type: 'run', subject: 5, payload: { kind: 'text', text: '' } })), /refused a malformed message from the invoke panel/);
      assert.match(String(await api.invoke.receive(dir, { type: 'run', subject: 'a', payload: { kind: 'html', text: '' } })), /refused a malformed message/);
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await api.hostServices.receive(dir, { type: 'mocks.reset' });
    }
  });

  it('refuses a wildcard subject while typing', async () => {
    const ui = new ScriptedUi(['echo', 'orders.*']);
    api.setUi(ui);
    const before = api.lastRun();
    await vscode.commands.executeCommand('nex.quickRunFunction');
    assert.ok(ui.shown.some((s) => /invalid: .*wildcards/.test(s)), ui.shown.join('\n'));
    assert.strictEqual(api.lastRun(), before, 'nothing ran');
  });

  it('reports a syntax error with its line', async () => {
    const ui = new ScriptedUi([]);
    api.setUi(ui);
    await vscode.commands.executeCommand('nex.runFunction', { function: path.join(workspaceDir(), 'syntax-error'), subject: 'demo', payload: 'x' });
    const error = api.lastRun()!.outcome.error!;
    assert.strictEqual(error.kind, 'syntax');
    assert.strictEqual(error.line, 2);
    assert.match(api.outputLines().join('\n'), /✖ syntax error at broken\.js:2:\d+: SyntaxError/);
    assert.ok(ui.shown.some((s) => /^error: syntax-error: SyntaxError: .*\(line 2\)/.test(s)), ui.shown.join('\n'));
    const diagnostics = vscode.languages.getDiagnostics(vscode.Uri.file(path.join(workspaceDir(), 'syntax-error', 'broken.js')));
    assert.strictEqual(diagnostics[0].severity, vscode.DiagnosticSeverity.Error);
    assert.strictEqual(diagnostics[0].range.start.line, 1);
    assert.match(diagnostics[0].message, /SyntaxError/);
  });

  it('reports a thrown exception on an empty payload', async () => {
    api.setUi(new ScriptedUi([]));
    await vscode.commands.executeCommand('nex.runFunction', { function: path.join(workspaceDir(), 'throws'), subject: 'demo', payload: '' });
    const error = api.lastRun()!.outcome.error!;
    assert.strictEqual(error.kind, 'exception');
    assert.strictEqual(error.line, 3);
    assert.match(error.message, /empty payload on demo/);
  });

  it('stops an endless loop at the configured limit and stays responsive', async () => {
    api.setUi(new ScriptedUi([]));
    const started = Date.now();
    const running = vscode.commands.executeCommand('nex.runFunction', { function: path.join(workspaceDir(), 'endless-loop'), subject: 'demo', payload: '' });
    // The extension host keeps answering while the function spins in its worker.
    const t0 = Date.now();
    await vscode.commands.getCommands(true);
    assert.ok(Date.now() - t0 < 1000, 'the extension host stayed responsive');
    await running;
    const error = api.lastRun()!.outcome.error!;
    assert.strictEqual(error.kind, 'timeout');
    assert.match(error.message, /1500 ms/, 'uses nex.run.timeoutMs from the workspace settings');
    assert.ok(Date.now() - started >= 1500);
    await vscode.commands.executeCommand('nex.runFunction', { function: path.join(workspaceDir(), 'echo'), subject: 'after', payload: 'ok' });
    assert.strictEqual(Buffer.from(api.lastRun()!.outcome.reply!).toString(), 'ok');
  });

  it('runs a bare JavaScript file that belongs to no function, asking for its profile once', async () => {
    const dir = path.join(workspaceDir(), 'scratch');
    const file = path.join(dir, 'shout.js');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, '(subject, payload) => String.fromCharCode(...payload).toUpperCase();\n');
    try {
      const ui = new ScriptedUi([(items) => items.find((i) => i.value === 'docs')!.value]);
      api.setUi(ui);
      await vscode.commands.executeCommand('nex.runFunction', { function: file, subject: 'demo.shout', payload: 'hey' });
      assert.strictEqual(Buffer.from(api.lastRun()!.outcome.reply!).toString(), 'HEY');
      assert.strictEqual(api.lastRun()!.functionName, 'shout');
      assert.deepStrictEqual(ui.shown, ['pick: Run shout.js: it has no nexfunction.json']);
      assert.match(api.outputLines().join('\n'), /shout\.js has no nexfunction\.json: running it as the JavaScript function "shout", profile docs/);
      const again = new ScriptedUi([]);
      api.setUi(again);
      await vscode.commands.executeCommand('nex.runFunction', { function: file, subject: 'demo.shout', payload: 'again' });
      assert.strictEqual(Buffer.from(api.lastRun()!.outcome.reply!).toString(), 'AGAIN');
      assert.deepStrictEqual(again.shown, [], 'the profile is asked once per file');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('explains why an invalid function cannot run', async () => {
    const ui = new ScriptedUi([]);
    api.setUi(ui);
    await vscode.commands.executeCommand('nex.runFunction', { function: path.join(workspaceDir(), 'invalid-manifest'), subject: 'demo', payload: '' });
    assert.ok(ui.shown.some((s) => /^error: invalid-manifest cannot run: "name" "bad name!" is not a valid workload name/.test(s)), ui.shown.join('\n'));
  });
});
