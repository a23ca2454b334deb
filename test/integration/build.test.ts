/**
 * Building WebAssembly functions in the editor: a build before the first run, compiler errors as
 * diagnostics and a message, and a missing tool on save. Inside the real extension host of VS Code
 * (code-server), against test/fixtures/workspace.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { NexTestApi } from '../../src/vscode/extension';
import { freshApi, ScriptedUi, workspaceDir } from './support';

describe('Building WebAssembly functions in VS Code', () => {
  let api: NexTestApi;

  before(async () => {
    api = await freshApi();
  });

  it('builds a WebAssembly function from source before its first run, then runs it', async () => {
    const fn = path.join(workspaceDir(), 'wasm-echo');
    fs.rmSync(path.join(fn, 'echo.wasm'), { force: true });
    api.setUi(new ScriptedUi([]));
    await vscode.commands.executeCommand('nex.runFunction', { function: fn, subject: 'wasm.echo', payload: 'from wasm' });
    const run = api.lastRun()!;
    assert.strictEqual(run.outcome.error, undefined, JSON.stringify(run.outcome.error));
    assert.strictEqual(Buffer.from(run.outcome.reply!).toString(), 'from wasm');
    assert.ok(fs.existsSync(path.join(fn, 'echo.wasm')), 'the build wrote the artifact');
    assert.match(api.outputLines().join('\n'), /▶ wasm-echo \(echo\.wasm\) triggered on "wasm\.echo"/);
  });

  it('turns build errors into diagnostics and a clear message', async () => {
    const ui = new ScriptedUi([]);
    api.setUi(ui);
    const before = api.lastRun();
    await vscode.commands.executeCommand('nex.runFunction', { function: path.join(workspaceDir(), 'wasm-broken'), subject: 'demo', payload: '' });
    assert.strictEqual(api.lastRun(), before, 'nothing ran');
    assert.ok(ui.shown.some((s) => /^error: Nex: the build of wasm-broken failed \(exit code 1\): broken\.wat:3: unexpected token "i32\.bogus"/.test(s)), ui.shown.join('\n'));
    const diagnostics = vscode.languages.getDiagnostics(vscode.Uri.file(path.join(workspaceDir(), 'wasm-broken', 'broken.wat')));
    assert.strictEqual(diagnostics.length, 1);
    assert.strictEqual(diagnostics[0].range.start.line, 2);
    assert.match(diagnostics[0].message, /unexpected token "i32\.bogus"/);
    assert.match(api.testing.statusText(), /^\$\(error\) Nex: .*problem/, 'a failed build turns the status bar to its error state');
    assert.ok(api.testing.statusProblems().some((l) => /^wasm-broken: build failed \(broken\.wat:3\): unexpected token/.test(l)), api.testing.statusProblems().join('\n'));
    assert.match(api.testing.statusTooltip(), /\(command:nex\.openLocation\?[^)]*broken\.wat/, 'each problem links to its place');
  });

  it('a build that fails on save for a missing tool: one notification with the hint, a diagnostic on build.command, the status bar', async () => {
    const fn = path.join(workspaceDir(), 'wasm-notool');
    fs.mkdirSync(path.join(fn, 'triggers'), { recursive: true });
    const manifestFile = path.join(fn, 'nexfunction.json');
    fs.writeFileSync(manifestFile, JSON.stringify({ name: 'wasm-notool', type: 'wasm', artifact: 'fn.wasm', triggers: ['notool.*'], build: { command: 'nex-no-such-compiler fn.wat -o fn.wasm' } }, null, 2) + '\n');
    fs.writeFileSync(path.join(fn, 'triggers', 'basic.json'), '{"cases": [{"name": "replies", "subject": "notool.a", "payload": "x"}]}\n');
    const ui = new ScriptedUi([]);
    api.setUi(ui);
    const saveOnce = async () => {
      const before = api.testing.saveRuns();
      const doc = await vscode.workspace.openTextDocument(manifestFile);
      const editor = await vscode.window.showTextDocument(doc);
      await editor.edit((e) => e.insert(new vscode.Position(doc.lineCount, 0), '\n'));
      await doc.save();
      const deadline = Date.now() + 20000;
      while (api.testing.saveRuns() === before) {
        assert.ok(Date.now() < deadline, 'no run on save');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await api.refresh();
      await saveOnce();
      const hint = '"nex-no-such-compiler" was not found: install it or fix the manifest\'s build command';
      assert.deepStrictEqual(ui.shown.filter((s) => s.startsWith('error: ')), [`error: Nex: ${hint}`]);
      const diagnostics = vscode.languages.getDiagnostics(vscode.Uri.file(manifestFile)).filter((d) => d.source === 'nex build');
      assert.deepStrictEqual(diagnostics.map((d) => [d.range.start.line, d.message]), [[8, hint]], 'on the line of "command"');
      assert.match(api.testing.statusText(), /^\$\(error\) /);
      assert.ok(api.testing.statusProblems().some((l) => l === `wasm-notool: build failed (nexfunction.json:9): ${hint}`), api.testing.statusProblems().join('\n'));
      // The same failure on the next save keeps the status bar red without another notification.
      await saveOnce();
      assert.strictEqual(ui.shown.filter((s) => s.startsWith('error: ')).length, 1, ui.shown.join('\n'));
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      fs.rmSync(fn, { recursive: true, force: true });
      await api.refresh();
    }
  });
});
