import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { utf8 } from '../../src/core/bytes';
import { collapseStack } from '../../src/executor/stackFrames';
import { WorkerExecutor } from '../../src/executor/workerExecutor';
import type { HostServicesBackend } from '../../src/hostservices/types';
import { DEFAULT_LIMITS, JsRunRequest, RunLimits } from '../../src/executor/types';

const text = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('utf8'));

describe('WorkerExecutor (QuickJS behind a worker)', function () {
  let runner: WorkerExecutor;
  before(() => {
    runner = new WorkerExecutor();
    return runner.warmUp();
  });
  after(() => runner.dispose());

  const run = (source: string, payload = 'hello', subject = 'demo.echo', limits: Partial<RunLimits> = {}) =>
    runner.run({ source, fileName: '/ws/fn/fn.js', subject, payload: utf8(payload), limits: { ...DEFAULT_LIMITS, ...limits } } satisfies JsRunRequest);

  it('passes the subject as a string and the payload as a Uint8Array', async () => {
    const out = await run('(subject, payload) => [subject, payload instanceof Uint8Array, payload.length, payload[0]]');
    assert.strictEqual(out.error, undefined);
    assert.strictEqual(text(out.reply), '["demo.echo",true,5,104]');
  });

  it('returns Uint8Array replies as raw bytes', async () => {
    const out = await run('(s, p) => p');
    assert.strictEqual(text(out.reply), 'hello');
  });

  it('returns ArrayBuffer and typed-array views as their bytes', async () => {
    assert.deepStrictEqual([...(await run('(s, p) => new Uint8Array([1, 2, 3]).buffer')).reply!], [1, 2, 3]);
    assert.deepStrictEqual([...(await run('(s, p) => new Uint8Array([9, 1, 2, 3]).subarray(1, 3)')).reply!], [1, 2]);
  });

  it('returns strings as UTF-8 and other values as JSON', async () => {
    assert.strictEqual(text((await run('(s, p) => "héllo"')).reply), 'héllo');
    assert.strictEqual(text((await run('(s, p) => ({ n: p.length, ok: true })')).reply), '{"n":5,"ok":true}');
    assert.strictEqual(text((await run('(s, p) => 42')).reply), '42');
  });

  it('sends no reply for undefined and null', async () => {
    for (const src of ['(s, p) => {}', '(s, p) => null']) {
      const out = await run(src);
      assert.strictEqual(out.ok, true, src);
      assert.strictEqual(out.reply, null, src);
    }
  });

  it('accepts an empty payload', async () => {
    const out = await run('(s, p) => "len=" + p.length', '');
    assert.strictEqual(text(out.reply), 'len=0');
  });

  it('captures console output with levels', async () => {
    const out = await run('(s, p) => { console.log("a", 1, {x: 2}); console.warn("w"); console.error(new Error("e")); return "x"; }');
    assert.deepStrictEqual(out.logs, [
      { level: 'info', text: 'a 1 {"x":2}' },
      { level: 'warn', text: 'w' },
      { level: 'error', text: 'Error: e' },
    ]);
  });

  it('does not keep global state between runs', async () => {
    const src = 'globalThis.count = (globalThis.count || 0) + 1; (s, p) => String(count)';
    assert.strictEqual(text((await run(src)).reply), '1');
    assert.strictEqual(text((await run(src)).reply), '1');
  });

  it('reports a syntax error with its line and column', async () => {
    const out = await run('(s, p) => {\n  const x = ;\n}');
    assert.strictEqual(out.ok, false);
    assert.strictEqual(out.error!.kind, 'syntax');
    assert.strictEqual(out.error!.line, 2);
    assert.match(out.error!.message, /^SyntaxError: /);
  });

  it('reports ES module syntax as a syntax error', async () => {
    const out = await run('export default (s, p) => p;');
    assert.strictEqual(out.error!.kind, 'syntax');
  });

  it('reports a thrown exception with the line where it was thrown', async () => {
    const out = await run('(s, p) => {\n  const o = null;\n  return o.x;\n}');
    assert.strictEqual(out.error!.kind, 'exception');
    assert.strictEqual(out.error!.name, 'TypeError');
    assert.strictEqual(out.error!.line, 3);
    assert.match(out.error!.stack!, /\/ws\/fn\/fn\.js:3/);
  });

  it('explains a script whose last expression is not a function', async () => {
    const out = await run('const f = (s, p) => p;');
    assert.strictEqual(out.error!.kind, 'notAFunction');
    assert.match(out.error!.message, /last expression must be a function.*undefined/);
  });

  it('stops an endless loop at the time limit, and the next run works', async () => {
    const out = await run('(s, p) => { while (true) {} }', 'x', 'demo', { timeoutMs: 200 });
    assert.strictEqual(out.error!.kind, 'timeout');
    assert.match(out.error!.message, /200 ms/);
    assert.strictEqual(text((await run('(s, p) => "alive"')).reply), 'alive');
  });

  it('stops a function that exceeds the memory limit', async () => {
    const out = await run('(s, p) => { const a = []; while (true) a.push("x".repeat(1000) + a.length); }', 'x', 'demo', { memoryLimitBytes: 8 * 1048576 });
    assert.strictEqual(out.error!.kind, 'memory');
    assert.match(out.error!.message, /8 MiB/);
  });

  it('reports deep recursion as an error instead of crashing', async () => {
    const out = await run('function f(n) { return f(n + 1) + 1; }\n(s, p) => f(0)');
    assert.strictEqual(out.error!.kind, 'exception');
    assert.match(out.error!.message, /stack overflow/);
    assert.ok(out.error!.stack!.split('\n').length < 10, 'repeated frames are collapsed');
  });

  it('refuses an oversized payload before running', async () => {
    const out = await run('(s, p) => p', 'x'.repeat(101), 'demo', { maxPayloadBytes: 100 });
    assert.strictEqual(out.error!.kind, 'invalidInput');
    assert.match(out.error!.message, /101 bytes, over the limit of 100 bytes/);
  });

  it('refuses a wildcard subject', async () => {
    const out = await run('(s, p) => p', 'x', 'orders.*');
    assert.strictEqual(out.error!.kind, 'invalidInput');
    assert.match(out.error!.message, /wildcards/);
  });

  it('cancels a running function and recovers', async () => {
    const abort = new AbortController();
    const pending = runner.run(
      { source: '(s, p) => { while (true) {} }', fileName: 'f.js', subject: 'a', payload: new Uint8Array(), limits: DEFAULT_LIMITS },
      { signal: abort.signal },
    );
    setTimeout(() => abort.abort(), 50);
    assert.strictEqual((await pending).error!.kind, 'cancelled');
    assert.strictEqual(text((await run('(s, p) => "again"')).reply), 'again');
  });

  it('runs queued requests one at a time, in order, each with its own time limit', async () => {
    // Every run reports its start and end through a host call, so the order in which the runs
    // really executed shows in `seen`. The first run is busy for a while; the runs queued behind
    // it have a time limit shorter than that: their clocks must start when they start.
    const seen: string[] = [];
    const recorder: HostServicesBackend = {
      kind: 'recorder',
      call: async (call) => {
        seen.push(call.service === 'messaging' ? call.subject : call.service);
        return { ok: true };
      },
    };
    const source = (n: string, busyMs: number) =>
      `(s, p) => { hostServices.messaging.publish("start.${n}", p); const until = Date.now() + ${busyMs}; while (Date.now() < until) {} hostServices.messaging.publish("end.${n}", p); return "${n}"; }`;
    const queued = [
      { n: '1', busyMs: 1500, timeoutMs: 5000 },
      { n: '2', busyMs: 0, timeoutMs: 300 },
      { n: '3', busyMs: 0, timeoutMs: 300 },
    ].map(({ n, busyMs, timeoutMs }) =>
      runner.run({ source: source(n, busyMs), fileName: 'f.js', subject: 'demo', payload: utf8(n), limits: { ...DEFAULT_LIMITS, timeoutMs } }, { hostServices: recorder }),
    );
    const results = await Promise.all(queued);
    assert.deepStrictEqual(results.map((r) => r.error?.message ?? text(r.reply)), ['1', '2', '3']);
    assert.deepStrictEqual(seen, ['start.1', 'end.1', 'start.2', 'end.2', 'start.3', 'end.3']);
  });
});

describe('WorkerExecutor with a worker that stops responding', () => {
  let dir: string;
  let runner: WorkerExecutor;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nex-stuck-'));
    const script = path.join(dir, 'stuckWorker.js');
    // Says it is ready, then blocks on the first request, as a worker stuck in native code would.
    fs.writeFileSync(script, "const { parentPort } = require('worker_threads');\nparentPort.postMessage({ ready: true });\nparentPort.on('message', () => { for (;;) {} });\n");
    runner = new WorkerExecutor({ workerScript: script });
  });
  after(() => {
    runner.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('says that a JavaScript run was stopped with its stuck worker, not that it looped', async () => {
    const out = await runner.run({ source: '(s, p) => p', fileName: 'f.js', subject: 'demo', payload: utf8('x'), limits: { ...DEFAULT_LIMITS, timeoutMs: 100 } });
    assert.strictEqual(out.error?.kind, 'timeout');
    assert.strictEqual(out.error.message, 'the function did not finish within 100 ms and its worker stopped responding, so it was stopped (stuck in a host call?)');
  });

  it('says that a WebAssembly module did not finish, without mentioning host calls', async () => {
    const out = await runner.run({ kind: 'wasm', artifactPath: path.join(dir, 'f.wasm'), subject: 'demo', payload: utf8('x'), limits: { ...DEFAULT_LIMITS, timeoutMs: 100 } });
    assert.strictEqual(out.error?.kind, 'timeout');
    assert.strictEqual(out.error.message, 'the WebAssembly module did not finish within 100 ms and was stopped (an endless loop?)');
  });
});

describe('collapseStack', () => {
  it('folds repeated frames', () => {
    assert.strictEqual(collapseStack('  at f (a.js:1)\n  at f (a.js:1)\n  at f (a.js:1)\n  at g (a.js:2)\n'), '  at f (a.js:1) (repeated 3 times)\n  at g (a.js:2)');
  });
});
