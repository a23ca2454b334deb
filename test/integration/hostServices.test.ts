/**
 * Host services in the editor: runs against the mocks with fidelity hints, state carried from run
 * to run, reset and saved, the host-services panel, and mocks file problems as the user types.
 * Inside the real extension host of VS Code (code-server), against test/fixtures/workspace.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { NexTestApi } from '../../src/vscode/extension';
import { freshApi, ScriptedUi, workspaceDir } from './support';

describe('Host services in VS Code', () => {
  let api: NexTestApi;

  before(async () => {
    api = await freshApi();
  });

  it('runs a host-service function against its mocks and shows fidelity hints as diagnostics', async () => {
    api.setUi(new ScriptedUi([]));
    await api.hostServices.receive(path.join(workspaceDir(), 'counter'), { type: 'mocks.reset' });
    await vscode.commands.executeCommand('nex.runFunction', { function: path.join(workspaceDir(), 'counter'), subject: 'counter.hit', payload: 'x' });
    const run = api.lastRun()!;
    assert.strictEqual(run.outcome.error, undefined, JSON.stringify(run.outcome.error));
    assert.deepStrictEqual(JSON.parse(Buffer.from(run.outcome.reply!).toString()), { subject: 'counter.hit', count: 42 });
    assert.deepStrictEqual(run.outcome.hostCalls.map((c) => `${c.service}.${c.method}`), ['kv.get', 'kv.set', 'messaging.publish']);
    const out = api.outputLines().join('\n');
    assert.match(out, /host kv\.get\(bucket="hs_default_counter_kv" key="counter_hit"\) → 41/);
    const diagnostics = vscode.languages.getDiagnostics(vscode.Uri.file(path.join(workspaceDir(), 'counter', 'counter.js')));
    const hint = diagnostics.find((d) => d.code === 'api-0.2-only');
    assert.ok(hint, JSON.stringify(diagnostics));
    assert.strictEqual(hint.severity, vscode.DiagnosticSeverity.Information, "a version choice is a note, not a warning");
    assert.strictEqual(hint.range.start.line, 10, 'on the line of the first host call');
  });

  it('carries host-service state from run to run, resets it to the mocks file, and saves it back', async () => {
    const fn = path.join(workspaceDir(), 'counter');
    const count = () => JSON.parse(Buffer.from(api.lastRun()!.outcome.reply!).toString()).count;
    await api.hostServices.receive(fn, { type: 'mocks.reset' });
    await vscode.commands.executeCommand('nex.runFunction', { function: fn, subject: 'counter.hit', payload: 'x' });
    assert.strictEqual(count(), 42, 'the first run after a reset starts from the mocks file (41)');
    await vscode.commands.executeCommand('nex.runFunction', { function: fn, subject: 'counter.hit', payload: 'x' });
    assert.strictEqual(count(), 43, 'the next run sees the state the previous one left');
    const mocksFile = path.join(fn, 'mocks.json');
    const original = fs.readFileSync(mocksFile, 'utf8');
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(fn, 'counter.js')));
    try {
      await vscode.commands.executeCommand('nex.saveMocks');
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(mocksFile, 'utf8')), { kv: { counter_hit: '43' } });
      await vscode.commands.executeCommand('nex.runFunction', { function: fn, subject: 'counter.hit', payload: 'x' });
      assert.strictEqual(count(), 44);
    } finally {
      fs.writeFileSync(mocksFile, original);
    }
    await vscode.commands.executeCommand('nex.resetMocks');
    await vscode.commands.executeCommand('nex.runFunction', { function: fn, subject: 'counter.hit', payload: 'x' });
    assert.strictEqual(count(), 42, 'after a reset the state comes from the mocks file again');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('puts mocks file problems at their lines as the user types, and a case\'s mocks problems in its trigger file', async () => {
    const mocksFile = path.join(workspaceDir(), 'counter', 'mocks.json');
    const original = fs.readFileSync(mocksFile, 'utf8');
    const doc = await vscode.workspace.openTextDocument(mocksFile);
    const editor = await vscode.window.showTextDocument(doc);
    const mocksDiagnostics = () => vscode.languages.getDiagnostics(doc.uri).filter((d) => d.source === 'nex mocks');
    const waitFor = async (check: () => boolean, what: string) => {
      const deadline = Date.now() + 10000;
      while (!check()) {
        assert.ok(Date.now() < deadline, what);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const casesFile = path.join(workspaceDir(), 'counter', 'triggers', 'badmocks.json');
    try {
      await editor.edit((e) => e.replace(new vscode.Range(0, 0, doc.lineCount, 0), '{\n  "kv": {\n    "counter_hit": 41\n  },\n  "kvs": {}\n}\n'));
      await waitFor(() => mocksDiagnostics().length === 2, `mocks diagnostics: ${JSON.stringify(mocksDiagnostics().map((d) => d.message))}`);
      assert.deepStrictEqual(
        mocksDiagnostics().map((d) => [d.range.start.line, d.message]),
        [
          [2, '"kv.counter_hit": a value is text, {"json": ...} or {"base64": "..."}'],
          [4, '"kvs": unknown field "kvs": a mocks file has kv, kvBuckets, objects, objectStores, requestReplies, http'],
        ],
      );
      await editor.edit((e) => e.replace(new vscode.Range(0, 0, doc.lineCount, 0), original));
      await waitFor(() => mocksDiagnostics().length === 0, 'the diagnostics go when the file is fixed');
      fs.writeFileSync(casesFile, '{\n  "cases": [\n    { "name": "m", "subject": "counter.hit", "payload": "x",\n      "mocks": { "kv": { "counter_hit": 7 } } }\n  ]\n}\n');
      await api.refresh();
      const caseDiagnostics = () => vscode.languages.getDiagnostics(vscode.Uri.file(casesFile)).filter((d) => d.source === 'nex triggers');
      await waitFor(() => caseDiagnostics().length === 1, 'a diagnostic for the case mocks');
      assert.deepStrictEqual([caseDiagnostics()[0].range.start.line, caseDiagnostics()[0].message], [3, '"cases[0].mocks.kv.counter_hit": a value is text, {"json": ...} or {"base64": "..."}']);
    } finally {
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      fs.writeFileSync(mocksFile, original);
      fs.rmSync(casesFile, { force: true });
      await api.refresh();
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });

  it('shows and shapes host services in the panel: edits apply to the next run, the call log fills', async () => {
    const fn = path.join(workspaceDir(), 'counter');
    assert.strictEqual(await api.hostServices.receive(fn, { type: 'mocks.reset' }), undefined);
    assert.strictEqual(await api.hostServices.receive(fn, { type: 'kv.set', bucket: 'hs_default_counter_kv', key: 'counter_hit', value: { text: '99', encoding: 'text' } }), undefined);
    assert.strictEqual(api.hostServices.snapshot(fn)!.dirty, true);
    await vscode.commands.executeCommand('nex.runFunction', { function: fn, subject: 'counter.hit', payload: 'x' });
    const s = api.hostServices.snapshot(fn)!;
    assert.deepStrictEqual(JSON.parse(s.lastRun!.reply!.text), { subject: 'counter.hit', count: 100 });
    assert.strictEqual(s.kv.find((e) => e.key === 'counter_hit')!.value.text, '100');
    assert.deepStrictEqual(s.kv.find((e) => e.key === 'counter_hit')!.history.map((h) => h.value?.text), ['41', '99']);
    const lastRunCalls = s.calls.filter((c) => c.run === Math.max(...s.calls.map((x) => x.run)));
    assert.deepStrictEqual(lastRunCalls.map((c) => `${c.service}.${c.method}`), ['kv.get', 'kv.set', 'messaging.publish']);
    assert.deepStrictEqual(s.messages.slice(-1).map((m) => [m.kind, m.subject, m.payload.text]), [['publish', 'counter.changed', 'counter.hit=100']]);
    const refused = await api.hostServices.receive(fn, { type: 'kv.set', bucket: 'hs_default_counter_kv', key: 'counter_hit' });
    assert.match(refused!, /refused a malformed message/);
    assert.match((await api.hostServices.receive(fn, { type: 'kv.set', bucket: 'b', key: 'k', value: { text: '{', encoding: 'json' } }))!, /not valid JSON/);
    assert.strictEqual(api.hostServices.snapshot(fn)!.kv.find((e) => e.key === 'counter_hit')!.value.text, '100', 'refused messages change nothing');
    const panel = await vscode.commands.executeCommand<vscode.WebviewPanel>('nex.showHostServices', { function: fn });
    try {
      assert.strictEqual(panel.title, 'Host Services: counter');
      assert.match(panel.webview.html, /Content-Security-Policy" content="default-src 'none'; .*script-src 'nonce-[^']+'/);
      const urls = [...panel.webview.html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
      assert.ok(urls.length >= 3, 'stylesheets and script are referenced');
      const origin = (u: string) => new URL(u).host;
      const local = origin(panel.webview.asWebviewUri(vscode.Uri.file(__filename)).toString());
      assert.deepStrictEqual([...new Set(urls.map(origin))], [local], 'only local resources (no remote ones)');
    } finally {
      panel.dispose();
      await api.hostServices.receive(fn, { type: 'mocks.reset' });
    }
  });
});
