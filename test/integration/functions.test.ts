/**
 * The Functions view and manifests: activation, the workspace's functions and their manifest
 * problems (each shown once), new functions from a template or the file system, and the source
 * checks on save. Inside the real extension host of VS Code (code-server), against
 * test/fixtures/workspace.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { NexTestApi } from '../../src/vscode/extension';
import { freshApi, ScriptedUi, workspaceDir } from './support';

describe('Nex functions and manifests in VS Code', () => {
  let api: NexTestApi;

  before(async () => {
    api = await freshApi();
  });

  it('activates and registers its commands', async () => {
    const { activateMs, viewsReadyMs } = await api.activation();
    console.log(`      activation: ${Math.round(viewsReadyMs)} ms (from activate() to the views ready; activate() returned after ${Math.round(activateMs)} ms)`);
    const commands = await vscode.commands.getCommands(true);
    for (const id of ['nex.runFunction', 'nex.refreshFunctions', 'nex.showOutput']) {
      assert.ok(commands.includes(id), `${id} is registered`);
    }
  });

  it('lists the workspace functions, with manifest problems', () => {
    const names = api.functions().map((f) => f.manifest?.name ?? path.basename(f.dir));
    assert.deepStrictEqual([...names].sort(), ['counter', 'echo', 'endless-loop', 'invalid-manifest', 'syntax-error', 'throws', 'wasm-broken', 'wasm-echo']);
    const invalid = api.functions().find((f) => f.dir.endsWith('invalid-manifest'))!;
    assert.strictEqual(invalid.problems[0].field, 'name');
  });

  it('publishes manifest problems as diagnostics', async () => {
    const uri = vscode.Uri.file(path.join(workspaceDir(), 'invalid-manifest', 'nexfunction.json'));
    const diagnostics = vscode.languages.getDiagnostics(uri);
    assert.strictEqual(diagnostics.length, 1);
    assert.match(diagnostics[0].message, /"name": "bad name!" is not a valid workload name/);
    assert.strictEqual(diagnostics[0].range.start.line, 1);
  });

  it('shows each manifest problem once: the editor\'s JSON schema adds no copy of its own', async () => {
    // A control: the JSON language service is up once it flags this trailing comma.
    const control = await vscode.workspace.openTextDocument({ language: 'json', content: '{"a": 1,}' });
    await vscode.window.showTextDocument(control);
    const manifest = vscode.Uri.file(path.join(workspaceDir(), 'invalid-manifest', 'nexfunction.json'));
    const manifestEditor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(manifest), { preview: false });
    const deadline = Date.now() + 30000;
    while (vscode.languages.getDiagnostics(control.uri).length === 0) {
      assert.ok(Date.now() < deadline, 'the JSON language service never validated the control document');
      await new Promise((r) => setTimeout(r, 200));
    }
    // The JSON service checks a document against its schema each time it validates it. Instead of
    // waiting a while for that, make it validate the manifest twice more (unsaved: the extension reads
    // the file): with a trailing comma, which it flags, then without. Once the comma's diagnostic is
    // gone, what it reports is its whole verdict on the manifest as it is, schema included.
    const jsonService = () => vscode.languages.getDiagnostics(manifest).filter((d) => d.source !== 'nex');
    const text = manifestEditor.document.getText();
    const comma = manifestEditor.document.positionAt(text.lastIndexOf('"') + 1);
    const already = new Set(jsonService().map((d) => d.message));
    await manifestEditor.edit((e) => e.insert(comma, ','));
    let flagged: string | undefined;
    for (const probeDeadline = Date.now() + 30000; !(flagged = jsonService().find((d) => !already.has(d.message))?.message); ) {
      assert.ok(Date.now() < probeDeadline, 'the JSON language service never flagged the trailing comma in the manifest');
      await new Promise((r) => setTimeout(r, 100));
    }
    await manifestEditor.edit((e) => e.delete(new vscode.Range(comma, comma.translate(0, 1))));
    assert.strictEqual(manifestEditor.document.getText(), text);
    for (const probeDeadline = Date.now() + 30000; jsonService().some((d) => d.message === flagged); ) {
      assert.ok(Date.now() < probeDeadline, `the JSON language service never validated the manifest again: ${flagged}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const diagnostics = vscode.languages.getDiagnostics(manifest);
    assert.deepStrictEqual(diagnostics.map((d) => `${d.source}: ${d.message}`), ['nex: "name": "bad name!" is not a valid workload name: use letters, digits, "_" and "-" only (Nex 0.2.4+ refuses others)']);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await vscode.window.showTextDocument(control);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');

    // A syntax error: the JSON service reports it while the file is open, the extension when it is closed.
    const dir = path.join(workspaceDir(), 'bad-json');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'fn.js'), '(s, p) => p;\n');
    const bad = vscode.Uri.file(path.join(dir, 'nexfunction.json'));
    fs.writeFileSync(bad.fsPath, '{\n  "name": "bad-json",\n  "type": "v8",\n  "source": "fn.js",\n}\n');
    const sources = () => vscode.languages.getDiagnostics(bad).map((d) => d.source ?? '').sort();
    const waitFor = async (check: () => boolean, what: string) => {
      const until = Date.now() + 15000;
      while (!check()) {
        assert.ok(Date.now() < until, `${what}: ${JSON.stringify(vscode.languages.getDiagnostics(bad).map((d) => `${d.source}: ${d.message}`))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await api.refresh();
      await waitFor(() => (sources().length > 0 && sources().every((x) => x === 'nex')), 'closed: the extension reports the syntax error');
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(bad));
      await waitFor(() => sources().length > 0 && !sources().includes('nex'), 'open: only the JSON service reports it');
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await waitFor(() => (sources().length > 0 && sources().every((x) => x === 'nex')), 'closed again: the extension reports it again');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await api.refresh();
    }
  });

  it('creates a function from a template with scripted answers, opens it, and lists its trigger', async () => {
    const ui = new ScriptedUi([(items) => items.find((i) => i.value === 'js-kv')!.value, 'made-by-wizard', 'wizard.*']);
    api.setUi(ui);
    const dir = path.join(workspaceDir(), 'made-by-wizard');
    try {
      const created = await vscode.commands.executeCommand<string>('nex.newFunction');
      assert.strictEqual(created, dir);
      assert.deepStrictEqual(ui.shown, ['pick: New Nex Function (1/3): kind', 'input: New Nex Function (2/3): name', 'input: New Nex Function (3/3): trigger subject']);
      assert.strictEqual(vscode.window.activeTextEditor?.document.uri.fsPath, path.join(dir, 'made-by-wizard.js'));
      const def = api.functions().find((f) => f.manifest?.name === 'made-by-wizard');
      assert.deepStrictEqual(def?.manifest?.triggers, ['wizard.*']);
      const again = new ScriptedUi([(items) => items[0].value, 'made-by-wizard']);
      api.setUi(again);
      await vscode.commands.executeCommand('nex.newFunction');
      assert.ok(again.shown.some((s) => /invalid: made-by-wizard already exists in .* and is not empty/.test(s)), again.shown.join('\n'));
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('flags what a node would refuse when a function source is saved', async () => {
    const file = path.join(workspaceDir(), 'echo', 'echo.js');
    const original = fs.readFileSync(file, 'utf8');
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc);
    try {
      await editor.edit((e) => e.replace(new vscode.Range(0, 0, doc.lineCount, 0), 'export default (subject, payload) => payload;\n'));
      await doc.save();
      const deadline = Date.now() + 10000;
      let diagnostics: vscode.Diagnostic[] = [];
      while (Date.now() < deadline && !(diagnostics = vscode.languages.getDiagnostics(doc.uri)).some((d) => d.code === 'module-syntax')) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const d = diagnostics.find((x) => x.code === 'module-syntax');
      assert.ok(d, JSON.stringify(diagnostics));
      assert.strictEqual(d.range.start.line, 0);
      assert.match(d.message, /ES module syntax/);
    } finally {
      fs.writeFileSync(file, original);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });

  it('picks up a new function when its manifest appears, and drops it when deleted', async () => {
    const dir = vscode.Uri.file(path.join(workspaceDir(), 'added-later'));
    const waitFor = async (present: boolean) => {
      const deadline = Date.now() + 20000;
      while (api.functions().some((f) => f.manifest?.name === 'added-later') !== present) {
        assert.ok(Date.now() < deadline, `the file watcher did not see the function ${present ? 'appear' : 'go'}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(dir, 'fn.js'), Buffer.from('(s, p) => "new";'));
    await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(dir, 'nexfunction.json'), Buffer.from('{"name": "added-later", "type": "v8", "source": "fn.js"}'));
    try {
      await waitFor(true);
    } finally {
      await vscode.workspace.fs.delete(dir, { recursive: true });
    }
    await waitFor(false);
  });
});
