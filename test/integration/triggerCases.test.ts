/**
 * Trigger cases in the editor: the status bar, the Test Explorer and the Problems panel tell what
 * is broken; case summaries in the Functions view, CodeLens, run on save, Save as Trigger Case, and
 * the run settings applied to cases. Inside the real extension host of VS Code (code-server),
 * against test/fixtures/workspace.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { NexTestApi } from '../../src/vscode/extension';
import { freshApi, ScriptedUi, workspaceDir } from './support';

describe('Trigger cases in VS Code', () => {
  let api: NexTestApi;

  before(async () => {
    api = await freshApi();
  });

  it('tells the truth about what is broken: the status bar, the Test Explorer and the Problems panel', async () => {
    // The fixture has an invalid manifest: never "passed" in green while it is there.
    assert.match(api.testing.statusText(), /^\$\(error\) Nex: /);
    assert.ok(api.testing.statusProblems().some((l) => /invalid-manifest: invalid nexfunction\.json/.test(l)), api.testing.statusProblems().join('\n'));
    assert.ok(api.testing.erroredItems().some((l) => /^invalid-manifest: .*not a valid workload name/.test(l)), api.testing.erroredItems().join('\n'));
    // A trigger file that breaks: errored in the Test Explorer, in the status bar, and diagnostics at its lines.
    const file = path.join(workspaceDir(), 'counter', 'triggers', 'broken.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{\n  "cases": [\n    { "name": "no subject", "payload": "x" },\n    { "name": "wrong subject", "subject": "other.thing", "payload": "x" }\n  ]\n}\n');
    try {
      await api.refresh();
      let problems: string[] = [];
      for (let i = 0; i < 50; i++) {
        problems = api.testing.statusProblems();
        if (problems.some((l) => /broken\.json/.test(l))) {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(problems.some((l) => /^counter: broken\.json has 2 problems \(broken\.json:3\)/.test(l)), problems.join('\n'));
      assert.ok(api.testing.erroredItems().some((l) => /^broken\.json: /.test(l)), api.testing.erroredItems().join('\n'));
      const diagnostics = vscode.languages.getDiagnostics(vscode.Uri.file(file)).filter((d) => d.source === 'nex triggers');
      assert.deepStrictEqual(diagnostics.map((d) => d.range.start.line).sort(), [2, 3], diagnostics.map((d) => d.message).join('\n'));
      const result = await vscode.commands.executeCommand<unknown[]>('nex.runTriggerCases', { function: path.join(workspaceDir(), 'counter'), file });
      assert.deepStrictEqual(result, [], 'nothing ran');
    } finally {
      fs.rmSync(file, { force: true });
      await api.refresh();
    }
    for (let i = 0; i < 50 && api.testing.statusProblems().some((l) => /broken\.json/.test(l)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(!api.testing.statusProblems().some((l) => /broken\.json/.test(l)), 'the problem goes with the file');
  });

  it('shows each function\'s case summary and case files in the Functions view, and one inline result per line', async () => {
    const fn = path.join(workspaceDir(), 'counter');
    const file = path.join(fn, 'triggers', 'oneline.json');
    // Two cases on one line: one passes, one fails.
    fs.writeFileSync(file, '{"cases": [{"name": "a", "subject": "counter.hit", "payload": "x"}, {"name": "b", "subject": "counter.other", "payload": "", "expect": {"reply": "nope"}}]}\n');
    api.setUi(new ScriptedUi([]));
    try {
      await api.refresh();
      const counterRow = () => api.functionsView().find((f) => f.label === 'counter')!;
      for (let i = 0; i < 50 && !counterRow().children.some((c) => c.label === 'oneline.json'); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const files = counterRow().children.filter((c) => c.label.endsWith('.json'));
      assert.deepStrictEqual(files.map((c) => c.label).sort(), ['basic.json', 'oneline.json'], 'case files are listed under the function, next to its triggers');
      assert.strictEqual(counterRow().children[0].label, 'counter.*', 'the triggers come first');
      assert.strictEqual(files.find((c) => c.label === 'oneline.json')!.description, '2 cases', 'not run yet');
      await vscode.window.showTextDocument(vscode.Uri.file(file));
      await vscode.commands.executeCommand('nex.runTriggerCases', { function: fn, file });
      const row = counterRow();
      assert.match(row.description, / · 1 failing/, row.description);
      const child = row.children.find((c) => c.label === 'oneline.json')!;
      assert.deepStrictEqual([child.description, child.icon], ['1 failing', 'error']);
      const drawn = api.testing.decorations(file);
      assert.strictEqual(drawn.length, 1, `one decoration for the line: ${JSON.stringify(drawn)}`);
      assert.match(drawn[0], /^b: ✖ .*   ·   a: ✔ /, 'both results, the failure first');
      // Fixing the case turns the summary green.
      fs.writeFileSync(file, '{"cases": [{"name": "a", "subject": "counter.hit", "payload": "x"}]}\n');
      await api.refresh();
      await vscode.commands.executeCommand('nex.runTriggerCases', { function: fn, file });
      const fixed = counterRow().children.find((c) => c.label === 'oneline.json')!;
      assert.deepStrictEqual([fixed.description, fixed.icon], ['1/1 ✔', 'pass']);
    } finally {
      fs.rmSync(file, { force: true });
      await api.refresh();
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });

  it('runs a function\'s trigger cases from the command', async () => {
    api.setUi(new ScriptedUi([]));
    const results = await vscode.commands.executeCommand<Array<{ status: string; case: { name: string } }>>('nex.runTriggerCases', { function: path.join(workspaceDir(), 'counter') });
    assert.deepStrictEqual(results.map((r) => `${r.case.name}: ${r.status}`), ['counts on from the mocks: passed', 'starts at one on a new subject: passed']);
    assert.match(api.outputLines().join('\n'), /counter: 2 passed, 0 failed/);
  });

  it('shows trigger cases in the Test Explorer tree, with CodeLens on the case file', async () => {
    const counterCases = path.join(workspaceDir(), 'counter', 'triggers', 'basic.json');
    const deadline = Date.now() + 10000;
    while (!api.testing.caseIds().includes(`${counterCases}#counts on from the mocks`)) {
      assert.ok(Date.now() < deadline, `cases: ${api.testing.caseIds().join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', (await vscode.workspace.openTextDocument(counterCases)).uri);
    assert.deepStrictEqual(lenses.map((l) => `${l.range.start.line}:${l.command?.title}`), ['0:▶ Run all (2)', '2:▶ Run', '2:Debug', '12:▶ Run', '12:Debug']);
    const sourceLenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', (await vscode.workspace.openTextDocument(path.join(workspaceDir(), 'counter', 'counter.js'))).uri);
    assert.deepStrictEqual(sourceLenses.map((l) => l.command?.title), ['▶ Run trigger…', 'Debug…']);
  });

  it('re-runs the cases of a function when its files are saved: status bar, diagnostics, results', async () => {
    const casesFile = path.join(workspaceDir(), 'counter', 'triggers', 'basic.json');
    const original = fs.readFileSync(casesFile, 'utf8');
    const doc = await vscode.workspace.openTextDocument(casesFile);
    const editor = await vscode.window.showTextDocument(doc);
    const waitForSaveRun = async (before: number) => {
      const deadline = Date.now() + 20000;
      while (api.testing.saveRuns() === before) {
        assert.ok(Date.now() < deadline, 'no run on save');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      let before = api.testing.saveRuns();
      await editor.edit((e) => e.replace(new vscode.Range(0, 0, doc.lineCount, 0), original.replace('"count": 42', '"count": 99')));
      await doc.save();
      await waitForSaveRun(before);
      assert.match(api.testing.statusText(), /1 failed, 1 passed/);
      const failed = api.testing.results().get(`${casesFile}#counts on from the mocks`)!;
      assert.strictEqual(failed.status, 'failed');
      assert.match(failed.expected!, /"count": 99/);
      assert.match(failed.actual!, /"count": 42/);
      const diagnostics = vscode.languages.getDiagnostics(doc.uri).filter((d) => d.source === 'nex test');
      assert.strictEqual(diagnostics.length, 1);
      assert.strictEqual(diagnostics[0].range.start.line, 2);
      before = api.testing.saveRuns();
      await editor.edit((e) => e.replace(new vscode.Range(0, 0, doc.lineCount, 0), original));
      await doc.save();
      await waitForSaveRun(before);
      assert.match(api.testing.statusText(), /2 passed/);
      assert.strictEqual(vscode.languages.getDiagnostics(doc.uri).filter((d) => d.source === 'nex test').length, 0);
    } finally {
      fs.writeFileSync(casesFile, original);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });

  it('saves an ad-hoc run as a trigger case that then passes', async () => {
    const recorded = path.join(workspaceDir(), 'echo', 'triggers', 'recorded.json');
    fs.rmSync(path.dirname(recorded), { recursive: true, force: true });
    try {
      await vscode.commands.executeCommand('nex.runFunction', { function: path.join(workspaceDir(), 'echo'), subject: 'demo.echo', payload: 'keep me' });
      api.setUi(new ScriptedUi([]));
      const ui = new (class extends ScriptedUi {
        override async input() {
          return 'keeps the payload';
        }
      })([]);
      api.setUi(ui);
      const file = await vscode.commands.executeCommand<string>('nex.saveAsTriggerCase');
      assert.strictEqual(file, recorded);
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(recorded, 'utf8')), {
        cases: [{ name: 'keeps the payload', subject: 'demo.echo', payload: 'keep me', expect: { reply: 'keep me' } }],
      });
      const result = await vscode.commands.executeCommand<{ status: string }>('nex.runTriggerCase', `${recorded}#keeps the payload`);
      assert.strictEqual(result.status, 'passed');
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      fs.rmSync(path.dirname(recorded), { recursive: true, force: true });
    }
  });

  it('applies the nex.run settings to trigger cases too (Test Explorer, CodeLens, run on save)', async () => {
    api.setUi(new ScriptedUi([]));
    const file = path.join(workspaceDir(), 'endless-loop', 'triggers', 'limits.json');
    const result = await vscode.commands.executeCommand<{ status: string; failures: string[]; run?: { outcome: { error?: { message: string } } } }>(
      'nex.runTriggerCase',
      `${file}#is stopped at the time limit of the settings`,
    );
    assert.match(result.run!.outcome.error!.message, /1500 ms/, 'nex.run.timeoutMs of the workspace settings, not the 5 s default');
    assert.strictEqual(result.status, 'passed', result.failures.join('\n'));
  });
});
