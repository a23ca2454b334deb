import * as assert from 'assert';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { utf8 } from '../../src/core/bytes';
import { WorkerExecutor } from '../../src/executor/workerExecutor';
import { DEFAULT_LIMITS } from '../../src/executor/types';
import { NatsHostServices } from '../../src/nats/natsHostServices';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';

const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : null);

describe('NatsHostServices against a real nats-server', () => {
  let server: NatsServerHandle;
  let nc: Awaited<ReturnType<typeof connect>>;
  let backend: NatsHostServices;
  let runner: WorkerExecutor;

  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    backend = new NatsHostServices(nc, { requestTimeoutMs: 1000 });
    runner = new WorkerExecutor();
    await runner.warmUp();
  });
  after(async () => {
    runner?.dispose();
    await nc?.close();
    await server?.stop();
  });

  it('creates the bucket on first use with a node\'s 512 KiB limit, and sets, gets, lists and deletes keys', async () => {
    const bucket = 'hs_default_counter_kv';
    assert.deepStrictEqual(await backend.call({ service: 'kv', method: 'keys', bucket }), { ok: true, bytes: undefined, json: [] });
    const set = await backend.call({ service: 'kv', method: 'set', bucket, key: 'count', value: utf8('1') });
    assert.strictEqual(set.ok, true);
    const status = await (await new Kvm(nc).open(bucket)).status();
    assert.strictEqual(status.max_bytes, 524288);
    const got = await backend.call({ service: 'kv', method: 'get', bucket, key: 'count' });
    assert.strictEqual(got.ok && text(got.bytes), '1');
    await backend.call({ service: 'kv', method: 'delete', bucket, key: 'count' });
    const missing = await backend.call({ service: 'kv', method: 'get', bucket, key: 'count' });
    assert.deepStrictEqual(missing.ok ? 'found' : missing.reason, 'notFound');
  });

  it('stores, lists, reads and deletes objects', async () => {
    const bucket = 'hs_default_reports_obj';
    const put = await backend.call({ service: 'objectStore', method: 'put', bucket, name: 'a.txt', value: utf8('report') });
    assert.ok(put.ok && (put.json as { size: number }).size === 6);
    const list = await backend.call({ service: 'objectStore', method: 'list', bucket });
    assert.deepStrictEqual(list.ok && (list.json as Array<{ name: string }>).map((o) => o.name), ['a.txt']);
    const got = await backend.call({ service: 'objectStore', method: 'get', bucket, name: 'a.txt' });
    assert.strictEqual(got.ok && text(got.bytes), 'report');
    await backend.call({ service: 'objectStore', method: 'delete', bucket, name: 'a.txt' });
    const missing = await backend.call({ service: 'objectStore', method: 'get', bucket, name: 'a.txt' });
    assert.strictEqual(missing.ok, false);
  });

  it('publishes, and requests from a real responder', async () => {
    const seen = nc.subscribe('audit.>', { max: 1 });
    const responder = nc.subscribe('prices.btc');
    (async () => {
      for await (const m of responder) m.respond('64000');
    })();
    await nc.flush();
    await backend.call({ service: 'messaging', method: 'publish', subject: 'audit.seen', payload: utf8('hello') });
    for await (const m of seen) {
      assert.strictEqual(m.string(), 'hello');
    }
    const reply = await backend.call({ service: 'messaging', method: 'request', subject: 'prices.btc', payload: utf8('') });
    assert.strictEqual(reply.ok && text(reply.bytes), '64000');
    responder.unsubscribe();
    const none = await backend.call({ service: 'messaging', method: 'request', subject: 'nobody.home', payload: utf8('') });
    assert.strictEqual(none.ok ? 'ok' : none.reason, 'noResponders');
  });

  it('serves a function\'s synchronous host calls through the worker boundary', async () => {
    const source = `(subject, payload) => {
      const kv = hostServices.kv;
      let n = 0;
      try { n = Number(String.fromCharCode(...kv.get('hits'))); } catch (e) { /* first hit */ }
      n += 1;
      kv.set('hits', new Uint8Array(String(n).split('').map((c) => c.charCodeAt(0))));
      hostServices.messaging.publish('hits.counted', payload);
      return { hits: n };
    }`;
    const counted = nc.subscribe('hits.counted', { max: 2 });
    const request = { source, fileName: '/ws/hits.js', subject: 'hits.add', payload: utf8('x'), limits: DEFAULT_LIMITS, profile: '0.2' as const, workload: 'hits', namespace: 'default' };
    const first = await runner.run(request, { hostServices: backend });
    const second = await runner.run(request, { hostServices: backend });
    assert.strictEqual(first.error, undefined, JSON.stringify(first.error));
    assert.strictEqual(text(first.reply), '{"hits":1}');
    assert.strictEqual(text(second.reply), '{"hits":2}');
    assert.strictEqual(first.hostCalls[0].ok, false, 'the first get misses');
    assert.strictEqual(first.hostCalls[0].result.endsWith('throws "Error: OK (500)"'), true);
    const kv = await new Kvm(nc).open('hs_default_hits_kv');
    assert.strictEqual((await kv.get('hits'))!.string(), '2');
    let published = 0;
    for await (const m of counted) {
      assert.strictEqual(m.string(), 'x');
      published++;
    }
    assert.strictEqual(published, 2);
  });
});
