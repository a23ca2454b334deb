import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { FunctionDefinition, loadFunction } from '../../src/core/manifest';
import { CaseFiles, CaseModelChange, nodeCaseFiles, TriggerCaseModel } from '../../src/triggers/caseModel';
import { CaseResults, inlineResults } from '../../src/triggers/caseResults';
import type { CaseResult } from '../../src/triggers/caseRunner';
import { caseId, TriggerCase } from '../../src/triggers/triggerCases';
import { tempDir } from '../support/wasmFixtures';

/** The files as the model sees them, counting the reads of each. */
function countingFiles(): CaseFiles & { reads: Map<string, number> } {
  const reads = new Map<string, number>();
  return {
    ...nodeCaseFiles,
    reads,
    read: (file) => {
      reads.set(path.basename(file), (reads.get(path.basename(file)) ?? 0) + 1);
      return nodeCaseFiles.read(file);
    },
  };
}

function writeFunction(root: string, name: string, manifest: Record<string, unknown> = {}): string {
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, 'triggers'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name, type: 'v8', source: 'fn.js', ...manifest }));
  fs.writeFileSync(path.join(dir, 'fn.js'), '(subject, payload) => payload;\n');
  return dir;
}

const cases = (...names: string[]) => JSON.stringify({ cases: names.map((name) => ({ name, subject: 'a.b', payload: name })) }, null, 2);

/** Writes a file so that its modification time surely differs from the last write's. */
function rewrite(file: string, text: string): void {
  fs.writeFileSync(file, text);
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(file, later, later);
}

describe('the trigger case model (kept current from the files)', () => {
  let root: string;
  let defs: FunctionDefinition[];
  let files: ReturnType<typeof countingFiles>;
  let model: TriggerCaseModel;
  let changes: CaseModelChange[];

  beforeEach(() => {
    root = tempDir('nex-case-model-');
    const a = writeFunction(root, 'alpha');
    fs.writeFileSync(path.join(a, 'triggers', 'basic.json'), cases('one', 'two'));
    fs.writeFileSync(path.join(a, 'triggers', 'more.json'), cases('three'));
    writeFunction(root, 'beta');
    const invalid = path.join(root, 'broken');
    fs.mkdirSync(invalid);
    fs.writeFileSync(path.join(invalid, 'nexfunction.json'), '{"name": "bad name!", "type": "v8", "source": "fn.js"}');
    defs = ['alpha', 'beta', 'broken'].map((n) => loadFunction(path.join(root, n)));
    files = countingFiles();
    model = new TriggerCaseModel(files);
    changes = [];
    model.onDidChange((c) => changes.push(c));
    model.setFunctions(defs);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('indexes functions → trigger files → cases, reading each file once', () => {
    assert.deepStrictEqual(model.functions.map((f) => [path.basename(f.def.dir), f.files.map((t) => path.basename(t.file))]), [['alpha', ['basic.json', 'more.json']], ['beta', []], ['broken', []]]);
    assert.deepStrictEqual(model.caseIds().map((id) => id.split('#')[1]), ['one', 'two', 'three']);
    assert.strictEqual(model.size, 3);
    assert.strictEqual(model.case(model.caseIds()[0])?.def.manifest.name, 'alpha');
    assert.deepStrictEqual(Object.fromEntries(files.reads), { 'basic.json': 1, 'more.json': 1 });
    assert.deepStrictEqual(model.problems.map((p) => p.what), ['broken: invalid nexfunction.json']);
    assert.strictEqual(changes.length, 1);
  });

  it('the same functions again (a catalog refresh of an unchanged workspace) change nothing and read nothing', () => {
    model.setFunctions(['alpha', 'beta', 'broken'].map((n) => loadFunction(path.join(root, n))));
    model.sync();
    assert.strictEqual(changes.length, 1, 'no new index');
    assert.deepStrictEqual(Object.fromEntries(files.reads), { 'basic.json': 1, 'more.json': 1 });
  });

  it('a changed file is read once however often it is synced, and listeners hear which file changed', () => {
    const file = path.join(root, 'alpha', 'triggers', 'basic.json');
    rewrite(file, cases('one', 'renamed'));
    model.sync();
    model.sync();
    assert.deepStrictEqual(model.filesOf(defs[0])[0].cases.map((c) => c.name), ['one', 'renamed']);
    assert.strictEqual(files.reads.get('basic.json'), 2);
    assert.strictEqual(files.reads.get('more.json'), 1);
    assert.strictEqual(changes.length, 2, 'one new index for the change');
    assert.deepStrictEqual(changes[1].changed.map((c) => path.basename(c.file)), ['basic.json']);
    assert.strictEqual(changes[1].changed[0].at, fs.statSync(file).mtimeMs);
  });

  it('finds new and deleted files when synced, and reports a trigger file\'s problems', () => {
    const beta = path.join(root, 'beta', 'triggers', 'new.json');
    fs.writeFileSync(beta, '{"cases": [{"name": "no subject", "payload": "x"}]}');
    assert.deepStrictEqual(model.filesOf(defs[1]).map((f) => path.basename(f.file)), ['new.json'], 'filesOf syncs the function first');
    assert.deepStrictEqual(model.problems.map((p) => p.what), ['beta: new.json has a problem', 'broken: invalid nexfunction.json']);
    assert.strictEqual(model.fileProblems.length, 1);
    fs.rmSync(path.join(root, 'alpha', 'triggers', 'more.json'));
    model.sync();
    assert.deepStrictEqual(model.caseIds().map((id) => id.split('#')[1]), ['one', 'two']);
    assert.deepStrictEqual(changes.at(-1)!.changed.map((c) => path.basename(c.file)), ['more.json']);
  });

  it('a changed manifest indexes its function again from the texts already read (the triggers a subject must match)', () => {
    fs.writeFileSync(path.join(root, 'alpha', 'nexfunction.json'), JSON.stringify({ name: 'alpha', type: 'v8', source: 'fn.js', triggers: ['x.*'] }));
    model.setFunctions(['alpha', 'beta', 'broken'].map((n) => loadFunction(path.join(root, n))));
    assert.match(model.problems.map((p) => p.what).join('\n'), /alpha: basic\.json has 2 problems/);
    assert.deepStrictEqual(Object.fromEntries(files.reads), { 'basic.json': 1, 'more.json': 1 });
  });
});

describe('trigger case results and what the editor shows of them', () => {
  const tc = (name: string, line: number, file = '/ws/fn/triggers/basic.json'): TriggerCase => ({ name, subject: 'a.b', payload: '', file, line, index: 0 });
  const result = (c: TriggerCase, status: 'passed' | 'failed', reply = 'ok'): CaseResult => ({
    case: c,
    status,
    failures: status === 'failed' ? ['expected "x", got "ok"'] : [],
    warnings: [],
    durationMs: 1.5,
    run: { functionName: 'fn', entryPath: '/ws/fn/fn.js', subject: 'a.b', payloadBytes: 0, wallMs: 2, outcome: { ok: true, reply: new TextEncoder().encode(reply), logs: [], durationMs: 1, profile: 'docs', hostCalls: [], warnings: [] } },
  });

  it('sums up a function\'s files and the workspace, and never shows green while something is broken', () => {
    const root = tempDir('nex-case-results-');
    try {
      const dir = writeFunction(root, 'alpha');
      fs.writeFileSync(path.join(dir, 'triggers', 'basic.json'), cases('one', 'two'));
      const model = new TriggerCaseModel();
      model.setFunctions([loadFunction(dir)]);
      const results = new CaseResults(model);
      const [one, two] = model.caseIds().map((id) => model.case(id)!.tc);
      assert.strictEqual(results.status([]).text, '$(beaker) Nex: 2 cases');
      let heard = 0;
      results.onDidChange(() => heard++);
      results.record([[caseId(one), result(one, 'passed')], [caseId(two), result(two, 'failed')]]);
      assert.strictEqual(heard, 1);
      assert.deepStrictEqual(results.functionSummary(loadFunction(dir)), { files: [{ file: one.file, cases: 2, passed: 1, failed: 1, problems: 0 }], cases: 2, passed: 1, failed: 1, problems: 0 });
      const status = results.status([{ functionName: 'alpha', file: path.join(dir, 'build.log'), message: 'no cc' }]);
      assert.strictEqual(status.text, '$(error) Nex: 1 failed, 1 passed, 1 problem');
      assert.deepStrictEqual(status.problems.map((p) => p.what), ['two failed', 'alpha: build failed']);
      results.record([[caseId(two), result(two, 'passed')]]);
      assert.strictEqual(results.status([]).text, '$(pass) Nex: 2 passed');
      // The file changes after the results were recorded: they are stale.
      rewrite(one.file, cases('one', 'two'));
      model.sync();
      assert.deepStrictEqual([...results.all.keys()], []);
      results.dispose();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('gives one inline result per line: cases that share a line share it, failures first', () => {
    const a = tc('a', 3);
    const b = tc('b', 3);
    const c = tc('c', 9);
    const shown = inlineResults([result(a, 'passed', 'hello\n  world'), result(b, 'failed'), result(c, 'passed')], 5);
    assert.deepStrictEqual(shown, [
      { line: 2, text: 'b: ✖ expected "x", got "ok"   ·   a: ✔ 1.50 ms → hello world', failed: true },
      { line: 4, text: '✔ 1.50 ms → ok', failed: false },
    ]);
  });
});
