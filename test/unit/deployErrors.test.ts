/**
 * Deploy errors that point where to look: a node's refusal of the function's file mapped to its
 * line (the node names none), and the question before a deploy whose trigger cases failed.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { WorkerExecutor } from '../../src/executor/workerExecutor';
import { formatLocation, locateRefusal, NodeRefusal, refusalLocation, sourceRefusalKind } from '../../src/deploy/nodeReplies';
import { failedCasesBeforeDeploy } from '../../src/triggers/caseReport';
import type { CaseResult } from '../../src/triggers/caseRunner';
import type { TriggerCase } from '../../src/triggers/triggerCases';
import { tempDir } from '../support/wasmFixtures';

const REJECTED = 'Failed to deploy workload: workload rejected by agent: Failed to validate workload: ';
/** What the local node answers for `(s, p) => {\n  const x = ;\n}` (QuickJS's text), and a real 0.2.7 node's V8 text. */
const SYNTAX_LOCAL = `${REJECTED}failed to compile source for execution: SyntaxError: unexpected token in expression: ';'`;
const SYNTAX_V8 = `${REJECTED}failed to compile source for execution: SyntaxError: Unexpected token ';'`;
const TOO_LARGE = `${REJECTED}source file (13000 bytes) exceeds maximum of 12288 bytes`;

describe('deploy refusals point at the function file', function () {
  let runner: WorkerExecutor;
  let dir: string;
  before(() => {
    runner = new WorkerExecutor();
    dir = tempDir('nex-refusal-');
    return runner.warmUp();
  });
  after(() => {
    runner.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it('tells the refusals about the file from the others', () => {
    assert.strictEqual(sourceRefusalKind(SYNTAX_LOCAL), 'syntax');
    assert.strictEqual(sourceRefusalKind(SYNTAX_V8), 'syntax');
    assert.strictEqual(sourceRefusalKind(TOO_LARGE), 'size');
    assert.strictEqual(sourceRefusalKind(`${REJECTED}failed to compile module: CompileError: bad magic`), 'module');
    assert.strictEqual(sourceRefusalKind('Unsupported workload type on this node: v8'), undefined);
    assert.strictEqual(sourceRefusalKind('Failed to deploy workload: workload rejected by agent: at least one trigger subject is required for this workload type'), undefined);
  });

  it('maps a syntax refusal and the source to file:line, whichever engine worded it', async () => {
    const file = write('broken.js', '// greets\n(subject, payload) => {\n  const x = ;\n  return x;\n};\n');
    for (const text of [SYNTAX_LOCAL, SYNTAX_V8]) {
      const location = await locateRefusal(text, { type: 'v8', file }, runner);
      assert.ok(location, text);
      assert.strictEqual(location.file, file);
      assert.strictEqual(location.line, 3, 'the line of the syntax error');
      assert.strictEqual(formatLocation(location, dir).replace(/:\d+$/, ''), 'broken.js:3', 'file:line (then the column), relative to the base');
    }
  });

  it('points a module-syntax refusal at the import line', async () => {
    const file = write('esm.js', '// an ES module\nimport x from "y";\nexport default (s, p) => p;\n');
    const location = await locateRefusal(`${REJECTED}failed to compile source for execution: SyntaxError: Cannot use import statement outside a module`, { type: 'v8', file }, runner);
    assert.deepStrictEqual({ file: location?.file, line: location?.line }, { file, line: 2 });
  });

  it('points a size refusal, and a syntax refusal the local compile does not reproduce, at the file', async () => {
    const file = write('fine.js', '(s, p) => p;\n');
    assert.deepStrictEqual(await locateRefusal(TOO_LARGE, { type: 'v8', file }, runner), { file });
    assert.deepStrictEqual(await locateRefusal(SYNTAX_V8, { type: 'v8', file }, runner), { file }, 'no line is made up');
    assert.strictEqual(formatLocation({ file }, dir), 'fine.js');
    assert.strictEqual(await locateRefusal('invalid workload issuer: AXYZ', { type: 'v8', file }, runner), undefined);
  });

  it('maps from the problems of the source check without running it (pure)', () => {
    assert.deepStrictEqual(refusalLocation(SYNTAX_LOCAL, '/f/fn.js', [{ line: 7, column: 3, severity: 'error', code: 'syntax', message: 'SyntaxError: …' }]), { file: '/f/fn.js', line: 7, column: 3 });
    assert.deepStrictEqual(refusalLocation(TOO_LARGE, '/f/fn.js', [{ line: 1, severity: 'error', code: 'source-size', message: '…' }]), { file: '/f/fn.js' });
  });

  it("keeps the node's text first and verbatim, then where, then the hint", () => {
    const refusal = new NodeRefusal(TOO_LARGE, 'NNODE', 'a Nex node takes at most 12,288 bytes').at({ file: path.join(dir, 'big.js') }, dir);
    assert.strictEqual(refusal.message, `${TOO_LARGE}\n  at big.js\nhint: a Nex node takes at most 12,288 bytes`);
    const syntax = new NodeRefusal(SYNTAX_LOCAL, 'NNODE', undefined).at({ file: '/elsewhere/fn.js', line: 3, column: 13 }, dir);
    assert.strictEqual(syntax.message, `${SYNTAX_LOCAL}\n  at /elsewhere/fn.js:3:13`, 'a file outside the base stays absolute');
    assert.strictEqual(syntax.nodeMessage, SYNTAX_LOCAL);
  });
});

describe('the question before a deploy whose trigger cases failed', () => {
  const tc = (name: string, line: number): TriggerCase => ({ name, line, file: '/ws/greet/triggers/basic.json', subject: 'greet.x', payload: '' }) as unknown as TriggerCase;
  const passed = (name: string): CaseResult => ({ case: tc(name, 2), status: 'passed', failures: [], warnings: [], durationMs: 1 });
  const failed = (name: string, line: number, failures: string[], expected?: string, actual?: string): CaseResult => ({ case: tc(name, line), status: 'failed', failures, expected, actual, warnings: [], durationMs: 1 });

  it('names the first failed case and why', () => {
    const { text, first } = failedCasesBeforeDeploy([failed('greets by name', 9, ['the reply differs from the expected text'], 'Hello, Ada', '"Hello, "')]);
    assert.strictEqual(text, '0 passed, 1 failed: "greets by name" failed: the reply differs from the expected text: expected Hello, Ada, got "Hello, "');
    assert.strictEqual(first?.case.line, 9, 'Show Case opens it at its line');
  });

  it('says how many more failed, and keeps to one short line', () => {
    const long = { a: 'x'.repeat(300) };
    const { text, first } = failedCasesBeforeDeploy([
      passed('ok'),
      failed('first', 4, ['the reply JSON differs from the expected JSON'], JSON.stringify(long, null, 2), '{\n  "a": 1\n}'),
      failed('second', 12, ['the function failed: boom']),
      failed('third', 20, ['expected a reply, but the function sent none']),
    ]);
    assert.strictEqual(first?.case.name, 'first');
    assert.match(text, /^1 passed, 3 failed: "first" failed: the reply JSON differs from the expected JSON: expected \{ "a": "x+…, got \{ "a": 1 \} \(and 2 more\)$/);
    assert.ok(!text.includes('\n'), 'one line');
    assert.ok(text.length < 300, `short: ${text.length}`);
  });

  it('has no failure to show when all passed', () => {
    assert.deepStrictEqual(failedCasesBeforeDeploy([passed('a'), passed('b')]), { text: '2 passed, 0 failed' });
  });
});
