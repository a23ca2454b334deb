import * as assert from 'assert';
import { utf8 } from '../../src/core/bytes';
import { CompatProfile } from '../../src/core/compat';
import { WorkerExecutor } from '../../src/executor/workerExecutor';
import { DEFAULT_LIMITS, RunOutcome } from '../../src/executor/types';
import { MockFixture, MockHostServices } from '../../src/hostservices/mockBackend';
import { HostCall, HostResult } from '../../src/hostservices/types';

const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : null);

describe('host services in functions (mock backend, through the worker)', () => {
  let runner: WorkerExecutor;
  before(() => {
    runner = new WorkerExecutor();
    return runner.warmUp();
  });
  after(() => runner.dispose());

  const mockFor = (fixture: MockFixture = {}) => new MockHostServices('hs_default_fn_kv', 'hs_default_fn_obj').seed(fixture);
  const run = (source: string, profile: CompatProfile, mock: MockHostServices, payload = 'hi'): Promise<RunOutcome> =>
    runner.run(
      { source, fileName: '/ws/fn.js', subject: 'demo.trigger', payload: utf8(payload), limits: DEFAULT_LIMITS, profile, workload: 'fn', namespace: 'default' },
      { hostServices: mock },
    );

  it('reads and writes KV synchronously in the function bucket (docs and 0.2)', async () => {
    for (const profile of ['docs', '0.2'] as const) {
      const mock = mockFor({ kv: { count: '41' } });
      const out = await run(
        `(s, p) => {
          const kv = hostServices.kv;
          const n = Number(String.fromCharCode(...kv.get('count'))) + 1;
          kv.set('count', new Uint8Array(String(n).split('').map((c) => c.charCodeAt(0))));
          return { n, keys: kv.keys() };
        }`,
        profile,
        mock,
      );
      assert.strictEqual(out.error, undefined, profile);
      assert.strictEqual(text(out.reply), '{"n":42,"keys":["count"]}');
      assert.strictEqual(text(mock.kv.get('hs_default_fn_kv')!.get('count')!.value), '42');
      assert.deepStrictEqual(
        out.hostCalls.map((c) => `${c.service}.${c.method}:${c.ok}:${c.line}`),
        ['kv.get:true:3', 'kv.set:true:4', 'kv.keys:true:5'],
      );
      const total = out.hostCalls.reduce((sum, c) => sum + c.durationMs, 0);
      assert.ok(total <= out.durationMs, `the calls (${total} ms) happen within the run (${out.durationMs} ms)`);
    }
  });

  it('measures each host call: the time the backend takes shows in that call\'s duration', async () => {
    const mock = mockFor({ kv: { count: '1' } });
    const slowMs = 60;
    const slow = { kind: 'slow mock', call: async (call: HostCall) => (call.service === 'kv' && call.method === 'get' ? new Promise<HostResult>((r) => setTimeout(() => r(mock.call(call)), slowMs)) : mock.call(call)) };
    const out = await runner.run(
      { source: '(s, p) => { hostServices.kv.set("other", p); return hostServices.kv.get("count"); }', fileName: '/ws/fn.js', subject: 'demo.trigger', payload: utf8('x'), limits: DEFAULT_LIMITS, profile: 'docs', workload: 'fn', namespace: 'default' },
      { hostServices: slow },
    );
    assert.strictEqual(out.error, undefined, JSON.stringify(out.error));
    const [set, get] = out.hostCalls;
    assert.deepStrictEqual([set.method, get.method], ['set', 'get']);
    assert.ok(get.durationMs >= slowMs - 5, `kv.get waited ${slowMs} ms for the backend, but its duration says ${get.durationMs} ms`);
    assert.ok(set.durationMs < get.durationMs, `kv.set (${set.durationMs} ms) did not wait for the slow backend (kv.get: ${get.durationMs} ms)`);
    assert.ok(out.durationMs >= get.durationMs, `the run (${out.durationMs} ms) includes its calls (kv.get: ${get.durationMs} ms)`);
  });

  it('keeps a revision history per key, through a delete', async () => {
    const mock = mockFor({ kv: { k: 'a' } });
    const out = await run('(s, p) => { hostServices.kv.set("k", p); hostServices.kv.delete("k"); hostServices.kv.set("k", new Uint8Array([98])); }', 'docs', mock, 'hi');
    assert.strictEqual(out.error, undefined, JSON.stringify(out.error));
    const entry = mock.kv.get('hs_default_fn_kv')!.get('k')!;
    assert.strictEqual(text(entry.value), 'b');
    assert.deepStrictEqual(
      entry.history.map((h) => [h.revision, text(h.value)]),
      [[1, 'a'], [2, 'hi'], [3, null]],
      'the seeded value, the set, then the delete (null), oldest first',
    );
    assert.strictEqual(entry.revision, 4, 'the delete took a revision of its own');
    const gone = await run('(s, p) => { hostServices.kv.delete("k"); return hostServices.kv.keys(); }', 'docs', mock);
    assert.strictEqual(text(gone.reply), '[]', 'a deleted key is gone for the function');
    assert.strictEqual(mock.kv.get('hs_default_fn_kv')!.has('k'), false);
  });

  it('uses named buckets with kv(bucket) under 0.3, and refuses a missing name', async () => {
    const mock = mockFor({ kvBuckets: { orders: { last: 'o-1' } } });
    const out = await run('(s, p) => String.fromCharCode(...kv("orders").get("last"))', '0.3', mock);
    assert.strictEqual(text(out.reply), '"o-1"');
    const missing = await run('(s, p) => kv().get("x")', '0.3', mock);
    assert.strictEqual(missing.error!.message, '"bucket name is required"');
  });

  it('throws the error string of each version for a missing KV key', async () => {
    const src = '(s, p) => {\n  return hostServices.kv.get("nope");\n}';
    const docs = await run(src, 'docs', mockFor());
    assert.strictEqual(docs.error!.message, '"Error: key \\"nope\\" not found in bucket hs_default_fn_kv (404)"');
    assert.strictEqual(docs.error!.line, 2, 'points at the host call');
    assert.match(docs.warnings.find((w) => w.code === 'kv-get-missing')!.message, /"Error: OK \(500\)".*"Error: failed to get value for key \(500\)"/);
    assert.strictEqual((await run(src, '0.2', mockFor())).error!.message, '"Error: OK (500)"');
    const v3 = await run('(s, p) => kv("b").get("nope")', '0.3', mockFor());
    assert.strictEqual(v3.error!.message, '"Error: failed to get value for key (500)"');
  });

  it('lets the function catch host errors as plain strings', async () => {
    const out = await run('(s, p) => { try { hostServices.kv.get("nope"); } catch (e) { return typeof e + ":" + (e instanceof Error); } }', '0.2', mockFor());
    assert.strictEqual(text(out.reply), '"string:false"');
  });

  it('refuses non-Uint8Array values as a node does, and accepts strings under docs with a hint', async () => {
    const v2 = await run('(s, p) => hostServices.kv.set("k", "text")', '0.2', mockFor());
    assert.match(v2.error!.message, /failed to marshal v8 value to \[\]byte: value is string; only Uint8\[\] is supported/);
    const mock = mockFor();
    const docs = await run('(s, p) => { hostServices.kv.set("k", "text"); }', 'docs', mock);
    assert.strictEqual(docs.error, undefined);
    assert.strictEqual(text(mock.kv.get('hs_default_fn_kv')!.get('k')!.value), 'text');
    assert.ok(docs.warnings.some((w) => w.code === 'string-argument'));
  });

  it('re-encodes binary values as a 0.2 node does, and hints at it under docs', async () => {
    const src = '(s, p) => { hostServices.kv.set("bin", new Uint8Array([0x41, 0xff])); }';
    const v2mock = mockFor();
    const v2 = await run(src, '0.2', v2mock);
    assert.deepStrictEqual([...v2mock.kv.get('hs_default_fn_kv')!.get('bin')!.value], [0x41, 0xc3, 0xbf]);
    assert.ok(v2.warnings.some((w) => w.code === 'binary-corrupted'));
    const docsMock = mockFor();
    const docs = await run(src, 'docs', docsMock);
    assert.deepStrictEqual([...docsMock.kv.get('hs_default_fn_kv')!.get('bin')!.value], [0x41, 0xff]);
    assert.match(docs.warnings.find((w) => w.code === 'binary-corrupted')!.message, /would arrive altered/);
  });

  it('records publishes and answers requests from canned replies', async () => {
    const mock = mockFor({ requestReplies: [{ subject: 'prices.*', reply: { json: { eur: 1.5 } } }] });
    const out = await run(
      `(s, p) => {
        hostServices.messaging.publish('audit.seen', p);
        const price = JSON.parse(String.fromCharCode(...hostServices.messaging.request('prices.btc', p)));
        return price.eur;
      }`,
      'docs',
      mock,
    );
    assert.strictEqual(text(out.reply), '1.5');
    assert.deepStrictEqual(
      mock.messages.map((m) => `${m.kind} ${m.subject} ${text(m.payload)}`),
      ['publish audit.seen hi', 'request prices.btc hi'],
    );
  });

  it('fails a request nobody answers, saying how to mock it', async () => {
    const out = await run('(s, p) => hostServices.messaging.request("nobody.home", p)', 'docs', mockFor());
    assert.match(out.error!.message, /no responders for request on \\"nobody\.home\\": add a canned reply/);
  });

  it('always throws for requestMany, as every node does', async () => {
    const out = await run('(s, p) => hostServices.messaging.requestMany("a", p)', 'docs', mockFor());
    assert.strictEqual(out.error!.message, `"this function isn't currently supported"`);
    assert.ok(out.warnings.some((w) => w.code === 'request-many'));
  });

  it('answers HTTP from mock routes, drops the query string under 0.2, and refuses unmatched URLs', async () => {
    const mock = mockFor({ http: { routes: [{ method: 'GET', url: 'https://api.example.com/rates*', status: 200, headers: { 'content-type': 'application/json' }, body: { json: { eur: 2 } } }] } });
    const ok = await run('(s, p) => { const r = hostServices.http.get("https://api.example.com/rates?ccy=eur"); return [r.status, JSON.parse(r.response).eur]; }', '0.2', mock);
    assert.strictEqual(text(ok.reply), '[200,2]');
    assert.strictEqual(ok.hostCalls[0].args.url, 'https://api.example.com/rates?ccy=eur');
    assert.match(ok.warnings.find((w) => w.code === 'http-query-dropped')!.message, /requesting https:\/\/api\.example\.com\/rates$/);
    const unmatched = await run('(s, p) => hostServices.http.get("https://elsewhere.example/")', 'docs', mock);
    assert.match(unmatched.error!.message, /no mock route for GET https:\/\/elsewhere\.example\/: add one to the mocks \(http\.routes\) or allow real HTTP/);
  });

  it('stores and lists objects', async () => {
    const mock = mockFor();
    const out = await run(
      '(s, p) => { const info = hostServices.objectStore.put("report.txt", p); return [info.name, info.size, hostServices.objectStore.list().length, String.fromCharCode(...hostServices.objectStore.get("report.txt"))]; }',
      'docs',
      mock,
    );
    assert.strictEqual(text(out.reply), '["report.txt",2,1,"hi"]');
    assert.match(mock.objects.get('hs_default_fn_obj')!.get('report.txt')!.info.digest, /^SHA-256=/);
  });

  it('fails every call as "No such host service" when the run has no backend', async () => {
    const out = await runner.run({ source: '(s, p) => hostServices.kv.get("a")', fileName: 'f.js', subject: 'a', payload: utf8(''), limits: DEFAULT_LIMITS });
    assert.strictEqual(out.error!.message, '"Error: No such host service: kv (404)"');
  });

  it('stops a function that loops on host calls at the time limit', async () => {
    const out = await run('(s, p) => { for (;;) hostServices.kv.keys(); }', 'docs', mockFor(), 'x');
    assert.ok(['timeout'].includes(out.error!.kind), JSON.stringify(out.error));
  }).timeout(15000);
});
