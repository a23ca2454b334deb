import * as assert from 'assert';
import { utf8 } from '../../src/core/bytes';
import { CompatProfile } from '../../src/core/compat';
import { WorkerExecutor } from '../../src/executor/workerExecutor';
import { DEFAULT_LIMITS, RunOutcome } from '../../src/executor/types';

const text = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('utf8'));

describe('compatibility profiles', () => {
  let runner: WorkerExecutor;
  before(() => {
    runner = new WorkerExecutor();
    return runner.warmUp();
  });
  after(() => runner.dispose());

  const run = (source: string, profile: CompatProfile, payload = 'hi'): Promise<RunOutcome> =>
    runner.run({ source, fileName: '/ws/fn.js', subject: 'demo', payload: utf8(payload), limits: DEFAULT_LIMITS, profile });

  const cases: Array<{ returns: string; docs: string | null; node: string }> = [
    { returns: 'payload', docs: 'hi', node: '{"0":104,"1":105}' },
    { returns: '"hi"', docs: 'hi', node: '"hi"' },
    { returns: '({ a: 1 })', docs: '{"a":1}', node: '{"a":1}' },
    { returns: '[1, "x"]', docs: '[1,"x"]', node: '[1,"x"]' },
    { returns: '42', docs: '42', node: '42' },
    { returns: 'true', docs: 'true', node: 'true' },
    { returns: 'null', docs: null, node: 'null' },
    { returns: 'undefined', docs: null, node: 'undefined' },
    { returns: 'payload.buffer', docs: 'hi', node: '{}' },
  ];
  for (const c of cases) {
    it(`return ${c.returns}: docs → ${c.docs}, 0.2/0.3 → ${c.node}`, async () => {
      const src = `(subject, payload) => ${c.returns};`;
      assert.strictEqual(text((await run(src, 'docs')).reply), c.docs);
      assert.strictEqual(text((await run(src, '0.2')).reply), c.node);
      assert.strictEqual(text((await run(src, '0.3')).reply), c.node);
    });
  }

  it('warns under docs when a node would send a different reply, on the function line', async () => {
    const out = await run('// echo\n(subject, payload) => {\n  return payload;\n};\n', 'docs');
    const w = out.warnings.find((x) => x.code === 'reply-bytes')!;
    assert.ok(w, JSON.stringify(out.warnings));
    assert.match(w.message, /\{"0":104,"1":105\}/);
    assert.strictEqual(w.line, 2);
    assert.match((await run('(s, p) => "hi"', 'docs')).warnings[0].message, /in quotes, as "hi"/);
    assert.deepStrictEqual((await run('(s, p) => ({ a: 1 })', 'docs')).warnings, [], 'objects reply alike everywhere');
  });

  it('warns under 0.2 that a Uint8Array becomes an object of indices', async () => {
    const out = await run('(s, p) => p', '0.2');
    assert.match(out.warnings.find((w) => w.code === 'reply-bytes')!.message, /Nex 0\.2 JSON-stringifies/);
  });

  it('refuses sources over 12,288 bytes under 0.2 and 0.3, and warns under docs', async () => {
    const big = `// ${'x'.repeat(12300)}\n(s, p) => "ok"`;
    for (const profile of ['0.2', '0.3'] as const) {
      const out = await run(big, profile);
      assert.strictEqual(out.error!.kind, 'invalidInput');
      assert.match(out.error!.message, /12288-byte limit/);
    }
    const docs = await run(big, 'docs');
    assert.strictEqual(text(docs.reply), 'ok');
    assert.match(docs.warnings.find((w) => w.code === 'source-size')!.message, /refuses JavaScript over 12288 bytes/);
  });

  it('says that nodes discard console output under 0.2/0.3', async () => {
    const out = await run('(s, p) => { console.log("x"); return 1; }', '0.2');
    assert.strictEqual(out.logs[0].text, 'x');
    assert.ok(out.warnings.some((w) => w.code === 'console-discarded'));
    assert.ok(!(await run('(s, p) => { console.log("x"); return 1; }', 'docs')).warnings.some((w) => w.code === 'console-discarded'));
  });

  it('gives the function nothing from Node', async () => {
    for (const name of ['require', 'process', 'module', 'Buffer', 'fetch', 'setTimeout', 'TextDecoder']) {
      const out = await run(`(s, p) => typeof ${name}`, 'docs');
      assert.strictEqual(text(out.reply), 'undefined', name);
    }
  });

  it('offers hostServices under docs and 0.2, and kv()/objectStore()/messaging/http under 0.3', async () => {
    const probe = '(s, p) => [typeof hostServices, typeof kv, typeof objectStore, typeof messaging, typeof http].join()';
    assert.strictEqual(text((await run(probe, 'docs')).reply), 'object,undefined,undefined,undefined,undefined');
    assert.strictEqual(text((await run(probe, '0.2')).reply), '"object,undefined,undefined,undefined,undefined"');
    assert.strictEqual(text((await run(probe, '0.3')).reply), '"undefined,function,function,object,object"');
  });

  it('explains a host API from the other version', async () => {
    const out = await run('(s, p) => {\n  return hostServices.kv.get("a");\n}', '0.3');
    assert.strictEqual(out.error!.line, 2);
    assert.match(out.warnings.find((w) => w.code === 'api-mismatch')!.message, /hostServices does not exist under profile 0\.3/);
    const other = await run('(s, p) => kv("b").get("a")', '0.2');
    assert.match(other.warnings.find((w) => w.code === 'api-mismatch')!.message, /kv is a Nex 0\.3 global/);
  });
});
