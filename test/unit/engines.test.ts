/**
 * QuickJS in the worker and V8 in a child process give a function the same world: the same reply,
 * logs, host calls, hints and errors, for the examples and the JavaScript templates under each
 * profile, and for the ways a function goes wrong. Limits stop a runaway V8 child.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { COMPAT_PROFILES, CompatProfile, JsEngine } from '../../src/core/compat';
import { loadValidFunction, ValidFunction } from '../../src/core/manifest';
import { WorkerExecutor } from '../../src/executor/workerExecutor';
import { RunOutcome } from '../../src/executor/types';
import { V8ProcessExecutor } from '../../src/executor/v8Process';
import { FunctionRunResult, freshMocks, runFunction } from '../../src/run/functionRun';
import { extensionRoot, planNewFunction, writeFunctionPlan } from '../../src/templates/functionTemplates';
import { decodeValue } from '../../src/core/valueCodec';
import { loadTriggerFiles, TriggerCase } from '../../src/triggers/triggerCases';
import { isAlive } from '../support/processes';
import { tempDir } from '../support/wasmFixtures';

const ROOT = extensionRoot(__dirname);
const EXAMPLES = path.join(ROOT, 'examples', 'workspace');
const JS_TEMPLATES = ['js', 'js-kv', 'js-messaging', 'js-http'] as const;

/** What must be the same on both engines (timings and engine-specific wording left out). */
function comparable(result: FunctionRunResult) {
  const o: RunOutcome = result.outcome;
  return {
    ok: o.ok,
    reply: o.reply ? Buffer.from(o.reply).toString('latin1') : null,
    replyKind: o.replyKind,
    logs: o.logs,
    hostCalls: o.hostCalls.map(({ durationMs: _d, ...call }) => call),
    warnings: o.warnings.map((w) => `${w.code}@${w.line ?? '-'}`).sort(),
    error: o.error && { kind: o.error.kind, line: o.error.line, exceptionText: o.error.kind === 'exception' && !o.error.name ? o.error.message : undefined },
  };
}

describe('engines: QuickJS (worker) and V8 (child process) give the same results', function () {
  this.timeout(60000);
  let runner: WorkerExecutor;
  let dir: string;
  const functions: Array<{ label: string; fn: ValidFunction }> = [];

  before(() => {
    runner = new WorkerExecutor();
    dir = tempDir('nex-engines-');
    for (const name of fs.readdirSync(EXAMPLES).filter((n) => fs.existsSync(path.join(EXAMPLES, n, 'nexfunction.json')))) {
      const fn = loadValidFunction(path.join(EXAMPLES, name));
      if (fn.manifest.type === 'v8') {
        functions.push({ label: `example ${name}`, fn });
      }
    }
    for (const kind of JS_TEMPLATES) {
      const target = path.join(dir, kind);
      writeFunctionPlan(planNewFunction(kind, target, { name: `t-${kind}`, subject: `orders.${kind}.*` }, ROOT));
      functions.push({ label: `template ${kind}`, fn: loadValidFunction(target) });
    }
  });
  after(() => {
    runner.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('has functions to compare (examples and templates)', () => {
    assert.ok(functions.length >= 7, `only ${functions.length} JavaScript functions found`);
  });

  const run = (fn: ValidFunction, engine: JsEngine, compat: CompatProfile, subject: string, payload: Uint8Array, caseMocks?: TriggerCase['mocks']) =>
    runFunction(runner, fn, { subject, payload, compat, engine, hostServices: freshMocks(fn, { extra: caseMocks }) });

  for (const compat of COMPAT_PROFILES) {
    it(`every trigger case of every example and template, under profile ${compat}`, async () => {
      let compared = 0;
      for (const { label, fn } of functions) {
        for (const file of loadTriggerFiles(fn)) {
          for (const tc of file.cases) {
            const payload = decodeValue(tc.payload, { where: tc.name, baseDir: path.dirname(tc.file) });
            const quickjs = comparable(await run(fn, 'quickjs', compat, tc.subject, payload, tc.mocks));
            const v8 = comparable(await run(fn, 'v8', compat, tc.subject, payload, tc.mocks));
            assert.deepStrictEqual(v8, quickjs, `${label} › ${tc.name} under ${compat}`);
            compared++;
          }
        }
      }
      assert.ok(compared >= 8, `only ${compared} cases compared`);
    });
  }

  const failures: Array<{ what: string; source: string; line?: number }> = [
    { what: 'a thrown Error', source: '(s, p) => {\n  const x = null;\n  return x.name;\n};\n', line: 3 },
    { what: 'a thrown string', source: '(s, p) => {\n  throw "nope";\n};\n' },
    { what: 'a host call that fails', source: '(s, p) => {\n  return hostServices.kv.get("missing");\n};\n', line: 2 },
    { what: 'a syntax error', source: '(s, p) => {\n  return (;\n};\n', line: 2 },
    { what: 'a script that is not a function', source: 'const x = 1;\nx;\n' },
    { what: 'a reply with no JSON form', source: '(s, p) => () => 1;\n' },
    { what: 'a circular reply', source: '(s, p) => { const o = {}; o.o = o; return o; };\n' },
    { what: 'a string to kv.set', source: '(s, p) => { hostServices.kv.set("k", "text"); return "ok"; };\n' },
    { what: 'the 0.3 API under 0.2', source: '(s, p) => kv("b").get("k");\n' },
  ];
  for (const f of failures) {
    it(`the same for ${f.what}`, async () => {
      const file = path.join(dir, `failure-${failures.indexOf(f)}.js`);
      fs.writeFileSync(file, f.source);
      const fn = loadValidFunction(writeManifest(dir, `failure-${failures.indexOf(f)}`, path.basename(file), '0.2'));
      for (const compat of ['docs', '0.2'] as const) {
        const quickjs = comparable(await run(fn, 'quickjs', compat, 'a.b', new Uint8Array([104, 105])));
        const v8 = comparable(await run(fn, 'v8', compat, 'a.b', new Uint8Array([104, 105])));
        assert.deepStrictEqual(v8, quickjs, `${f.what} under ${compat}`);
        if (f.line) {
          assert.strictEqual(v8.error?.line, f.line, `${f.what}: the line of the error`);
        }
      }
    });
  }
});

function writeManifest(dir: string, name: string, source: string, compat: CompatProfile): string {
  const folder = path.join(dir, name);
  fs.mkdirSync(folder, { recursive: true });
  fs.renameSync(path.join(dir, source), path.join(folder, source));
  fs.writeFileSync(path.join(folder, 'nexfunction.json'), JSON.stringify({ name, type: 'v8', source, compat }));
  return folder;
}

describe('V8 engine limits (a child process per runner)', function () {
  this.timeout(30000);
  let v8: V8ProcessExecutor;
  before(() => {
    v8 = new V8ProcessExecutor(path.join(ROOT, 'out', 'src', 'executor', 'v8Runner.js'));
  });
  after(() => v8.dispose());
  const limits = { timeoutMs: 500, memoryLimitBytes: 32 * 1048576, maxPayloadBytes: 1048576 };
  const request = (source: string, timeoutMs = limits.timeoutMs) => ({ kind: 'js' as const, engine: 'v8' as const, source, fileName: '/virtual/f.js', subject: 'a.b', payload: new Uint8Array([1]), limits: { ...limits, timeoutMs } });

  it('stops an endless loop at the time limit, and the same child answers the next run', async () => {
    const first = await v8.run(request('(s, p) => { for (;;) {} };'));
    assert.strictEqual(first.error?.kind, 'timeout', JSON.stringify(first.error));
    const started = v8.childrenStarted;
    const next = await v8.run(request('(s, p) => "fine";'));
    assert.strictEqual(Buffer.from(next.reply!).toString(), 'fine');
    assert.strictEqual(v8.childrenStarted, started, 'a timeout inside JavaScript keeps the child');
  });

  it('reports a memory bomb as out of memory, and a new child answers the next run', async () => {
    const bomb = await v8.run(request('(s, p) => { const a = []; for (;;) { a.push("x".repeat(4096) + a.length); } };', 20000));
    assert.strictEqual(bomb.error?.kind, 'memory', JSON.stringify(bomb.error));
    const started = v8.childrenStarted;
    const next = await v8.run(request('(s, p) => "fine";'));
    assert.strictEqual(Buffer.from(next.reply!).toString(), 'fine');
    assert.strictEqual(v8.childrenStarted, started + 1, 'the child that ran out was replaced');
  });

  it('gives the function no require, process, timers or TextEncoder', async () => {
    const outcome = await v8.run(request('(s, p) => [typeof require, typeof process, typeof setTimeout, typeof TextEncoder, typeof fetch, typeof module].join(",");'));
    assert.strictEqual(Buffer.from(outcome.reply!).toString(), 'undefined,undefined,undefined,undefined,undefined,undefined');
  });

  it('leaves no process behind when disposed', async () => {
    const runner = new V8ProcessExecutor(path.join(ROOT, 'out', 'src', 'executor', 'v8Runner.js'));
    await runner.run(request('(s, p) => "x";'));
    const pid = (runner as unknown as { live: Promise<{ child: { pid: number } }> }).live;
    const childPid = (await pid).child.pid;
    runner.dispose();
    for (let i = 0; i < 50 && isAlive(childPid); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(!isAlive(childPid), `child ${childPid} still running`);
  });
});
