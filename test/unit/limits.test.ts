import * as assert from 'assert';
import type { QuickJSWASMModule } from 'quickjs-emscripten-core';
import { utf8 } from '../../src/core/bytes';
import { WorkerExecutor } from '../../src/executor/workerExecutor';
import { loadQuickJS, runJsFunction } from '../../src/executor/quickjsEngine';
import { DEFAULT_LIMITS, JsRunRequest, RunLimits } from '../../src/executor/types';

const MiB = 1048576;

/** Endless allocation loops, from many small allocations to few large ones. */
const MEMORY_BOMBS: Record<string, string> = {
  '4 KiB strings': "(s, p) => { const a = []; for (;;) a.push('x'.repeat(4096)); }",
  'concatenated 1 KB strings': '(s, p) => { const a = []; while (true) a.push("x".repeat(1000) + a.length); }',
  'small objects': '(s, p) => { const a = []; for (let i = 0; ; i++) a.push({ i, name: "item" + i }); }',
  'arrays of 2^20 holes': '(s, p) => { const a = []; for (;;) a.push(new Array(1 << 20)); }',
  '1 MiB typed arrays': '(s, p) => { const a = []; for (;;) a.push(new Uint8Array(1 << 20)); }',
};

describe('memory limit of JavaScript functions', function () {
  this.timeout(120000);
  let runner: WorkerExecutor;
  before(() => {
    runner = new WorkerExecutor();
    return runner.warmUp();
  });
  after(() => runner.dispose());

  const request = (source: string, limits: Partial<RunLimits> = {}): JsRunRequest => ({
    source,
    fileName: '/ws/fn/fn.js',
    subject: 'demo.memory',
    payload: utf8('x'),
    limits: { ...DEFAULT_LIMITS, ...limits },
  });

  it('reports an endless allocation loop as out of memory under the default limits, not as a timeout', async () => {
    const out = await runner.run(request(MEMORY_BOMBS['4 KiB strings']));
    assert.strictEqual(out.error?.kind, 'memory', out.error?.message);
    assert.strictEqual(out.error.message, 'the function ran out of memory (limit 64 MiB)');
    assert.strictEqual(runner.workersStarted, 1, 'the worker survives');
  });

  for (const [name, source] of Object.entries(MEMORY_BOMBS)) {
    it(`stops a memory bomb of ${name} soon after the limit, long before a 60 s time limit`, async () => {
      const out = await runner.run(request(source, { timeoutMs: 60000 }));
      assert.strictEqual(out.error?.kind, 'memory', out.error?.message);
      assert.match(out.error.message, /limit 64 MiB/);
      // Filling 64 MiB takes well under a second; this only tells "stopped at the limit" from
      // "ran until the engine itself gave up".
      assert.ok(out.durationMs < 10000, `stopped after ${Math.round(out.durationMs)} ms`);
    });
  }

  it('counts the bytes a function allocates: 32 MiB of strings do not fit an 8 MiB limit', async () => {
    const out = await runner.run(request('(s, p) => { const a = []; for (let i = 0; i < 8192; i++) a.push("x".repeat(4096)); return a.length; }', { memoryLimitBytes: 8 * MiB }));
    assert.strictEqual(out.error?.kind, 'memory', out.error?.message ?? `it replied ${Buffer.from(out.reply ?? []).toString()}`);
    assert.match(out.error.message, /limit 8 MiB/);
  });

  it('lets a run that stays under the limit allocate as much as it needs, and the next run works', async () => {
    const big = '(s, p) => { const a = []; for (let i = 0; i < 60 * 256; i++) a.push("x".repeat(4096)); return a.length; }';
    const out = await runner.run(request(big, { memoryLimitBytes: 128 * MiB }));
    assert.strictEqual(out.error, undefined);
    assert.strictEqual(Buffer.from(out.reply!).toString(), '15360');
    const after = await runner.run(request('(s, p) => "still here"'));
    assert.strictEqual(Buffer.from(after.reply!).toString(), 'still here');
  });

  it('reports a function that holds more than its limit and then loops as out of memory, not as a timeout', async () => {
    const out = await runner.run(
      request('(s, p) => { const a = []; for (let i = 0; i < 3; i++) a.push(new Uint8Array(4 << 20)); for (;;) {} }', { memoryLimitBytes: 8 * MiB, timeoutMs: 2000 }),
    );
    assert.strictEqual(out.error?.kind, 'memory', out.error?.message);
  });

  it('reports a memory stop as memory even when the function catches errors', async () => {
    const out = await runner.run(request("(s, p) => { const a = []; for (;;) { try { a.push('x'.repeat(4096)); } catch (e) { a.length = a.length - 1; } } }", { timeoutMs: 60000 }));
    assert.strictEqual(out.error?.kind, 'memory', out.error?.message);
  });

  describe('in the engine itself', () => {
    let qjs: QuickJSWASMModule;
    before(async () => {
      qjs = await loadQuickJS();
    });

    it('keeps the engine memory near the limit, however few interrupts a loop of large allocations leaves', () => {
      const out = runJsFunction(qjs, request(MEMORY_BOMBS['1 MiB typed arrays'], { timeoutMs: 60000 }));
      assert.strictEqual(out.error?.kind, 'memory', out.error?.message);
      const engineBytes = qjs.getWasmMemory().buffer.byteLength;
      assert.ok(engineBytes < 2 * DEFAULT_LIMITS.memoryLimitBytes + 16 * MiB, `the engine grew to ${Math.round(engineBytes / MiB)} MiB`);
      const next = runJsFunction(qjs, request('(s, p) => "fine"'));
      assert.strictEqual(Buffer.from(next.reply!).toString(), 'fine');
    });
  });
});
