/**
 * Deploy errors in the editor (inside the real extension host, as every file here): a node's
 * refusal of the source as a diagnostic on its line with Go to Error, and the question before a
 * deploy whose trigger cases failed, naming the case, with Show Case.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { NexTestApi } from '../../src/vscode/extension';
import type { InputOptions, PickItem, UserInterface } from '../../src/vscode/ui';
import { deploySuite, workspaceDir } from './support';


/** Records every message with its buttons; creates missing keys; answers warnings with `warnAnswer`. */
class DeployUi implements UserInterface {
  readonly shown: Array<{ kind: string; message: string; actions: string[] }> = [];
  constructor(private readonly warnAnswer?: string) {}
  async pick<T>(_items: PickItem<T>[], options: { title: string }): Promise<T | undefined> {
    this.shown.push({ kind: 'pick', message: options.title, actions: [] });
    return undefined;
  }
  async input(options: InputOptions): Promise<string | undefined> {
    this.shown.push({ kind: 'input', message: options.title, actions: [] });
    return undefined;
  }
  async info(message: string, ...actions: string[]): Promise<string | undefined> {
    this.shown.push({ kind: 'info', message, actions });
    return actions.includes('Create Keys') ? 'Create Keys' : undefined;
  }
  async warn(message: string, ...actions: string[]): Promise<string | undefined> {
    this.shown.push({ kind: 'warn', message, actions });
    return this.warnAnswer;
  }
  async error(message: string, ...actions: string[]): Promise<string | undefined> {
    this.shown.push({ kind: 'error', message, actions });
    return undefined;
  }
  said(): string {
    return this.shown.map((s) => `${s.kind}: ${s.message} [${s.actions.join(', ')}]`).join('\n');
  }
}

describe('Deploy errors in VS Code', function () {
  this.timeout(60000);
  const suite = deploySuite({ runCasesFirst: true });
  let api: NexTestApi;
  before(() => {
    api = suite.api();
  });

  /** A v8 function folder in the workspace, with its trigger cases when given. */
  const fnFolder = (name: string, source: string, cases?: unknown[]): string => {
    const dir = suite.fnFolder(name, { triggers: [`${name}.*`] }, source);
    if (cases) {
      fs.mkdirSync(path.join(dir, 'triggers'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'triggers', 'basic.json'), JSON.stringify({ cases }, null, 2));
    }
    return dir;
  };

  it("shows a node's refusal of a syntax error on its line, with Go to Error", async () => {
    const dir = fnFolder('deploy-broken', '// greets\n(subject, payload) => {\n  const name = ;\n  return name;\n};\n');
    const ui = new DeployUi();
    api.setUi(ui);
    await api.refresh();
    const deployed = await vscode.commands.executeCommand('nex.deployFunction', { function: dir });
    assert.strictEqual(deployed, undefined, 'the node refused it');
    const error = ui.shown.find((s) => s.kind === 'error');
    assert.ok(error, `no error message; the UI said:\n${ui.said()}`);
    assert.match(error.message, /Failed to validate workload: failed to compile source for execution: SyntaxError: .* \(fn\.js:3\)/);
    assert.deepStrictEqual(error.actions, ['Go to Error', 'Show Output']);
    const diagnostics = vscode.languages.getDiagnostics(vscode.Uri.file(path.join(dir, 'fn.js'))).filter((d) => d.source === 'nex deploy');
    assert.strictEqual(diagnostics.length, 1, JSON.stringify(diagnostics));
    assert.strictEqual(diagnostics[0].range.start.line, 2, 'line 3 (0-based 2)');
    assert.match(diagnostics[0].message, /^Deploy refused by node \w+: Failed to deploy workload: workload rejected by agent: .*SyntaxError/);
  });

  it('names the failed case and why before a deploy, and Show Case opens it at its line', async () => {
    const dir = fnFolder('deploy-cases', '(subject, payload) => "Hello, " + String.fromCharCode(...payload);\n', [
      { name: 'greets anyone', subject: 'deploy-cases.x', payload: '', expect: { reply: { regex: '^"?Hello, "?$' } } },
      { name: 'greets by name', subject: 'deploy-cases.x', payload: 'Ada', expect: { reply: 'Hello Ada' } },
      { name: 'greets loudly', subject: 'deploy-cases.x', payload: 'ADA', expect: { reply: 'HELLO ADA' } },
    ]);
    const ui = new DeployUi('Show Case');
    api.setUi(ui);
    await api.refresh();
    const deployed = await vscode.commands.executeCommand('nex.deployFunction', { function: dir });
    assert.strictEqual(deployed, undefined, 'Show Case does not deploy');
    const question = ui.shown.find((s) => s.kind === 'warn');
    assert.ok(question, `no question; the UI said:\n${ui.said()}`);
    assert.match(question.message, /^deploy-cases: its trigger cases ran before the deploy: 1 passed, 2 failed: "greets by name" failed: the reply differs from the expected text: expected Hello Ada, got .* \(and 1 more\)\. Deploy anyway\?$/);
    assert.deepStrictEqual(question.actions, ['Deploy Anyway', 'Show Case', 'Cancel']);
    const editor = vscode.window.activeTextEditor;
    assert.strictEqual(editor?.document.uri.fsPath, path.join(dir, 'triggers', 'basic.json'));
    assert.match(editor.document.lineAt(editor.selection.active.line).text, /"greets by name"|\{/, 'the cursor is at the case');
  });

  it('deploys anyway when asked to', async () => {
    const dir = path.join(workspaceDir(), 'deploy-cases');
    const ui = new DeployUi('Deploy Anyway');
    api.setUi(ui);
    const deployed = await vscode.commands.executeCommand<{ name: string } | undefined>('nex.deployFunction', { function: dir });
    assert.strictEqual(deployed?.name, 'deploy-cases', ui.said());
  });
});
