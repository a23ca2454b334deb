import * as assert from 'assert';
import { MockHostServices } from '../../src/hostservices/mockBackend';
import { applyPanelEdit, displayValue, parsePanelMessage, PanelMessage, snapshot } from '../../src/hostservices/panelModel';

const bytes = (s: string) => new TextEncoder().encode(s);
const meta = { functionName: 'fn', profile: 'docs', dirty: false, calls: [] };

describe('host-services panel model', () => {
  it('shows JSON pretty-printed, text as text and binary as hex', () => {
    assert.deepStrictEqual(displayValue(bytes('{"a":1}')), { kind: 'json', text: '{\n  "a": 1\n}', size: 7 });
    assert.deepStrictEqual(displayValue(bytes('hello')), { kind: 'text', text: 'hello', size: 5 });
    assert.deepStrictEqual(displayValue(new Uint8Array([0, 255])), { kind: 'binary', text: '00 ff', size: 2 });
  });

  it('snapshots KV with history, objects, messages, canned replies and routes', () => {
    const mock = new MockHostServices('hs_default_fn_kv', 'hs_default_fn_obj').seed({
      kv: { a: 'one' },
      objects: { 'r.txt': 'report' },
      requestReplies: [{ subject: 'prices.*', reply: { json: { eur: 1 } } }],
      http: { routes: [{ method: 'GET', url: 'https://x/*', status: 201, body: 'ok' }] },
    });
    mock.kvPut('hs_default_fn_kv', 'a', bytes('two'));
    mock.callSync({ service: 'messaging', method: 'publish', subject: 'audit', payload: bytes('x') });
    const s = snapshot(mock, meta);
    assert.deepStrictEqual(s.kv.map((e) => [e.key, e.value.text, e.revision, e.history.map((h) => h.value?.text)]), [['a', 'two', 2, ['one']]]);
    assert.deepStrictEqual(s.objects.map((o) => [o.name, o.size]), [['r.txt', 6]]);
    assert.deepStrictEqual(s.messages.map((m) => [m.kind, m.subject, m.payload.text]), [['publish', 'audit', 'x']]);
    assert.deepStrictEqual(s.requestReplies, [{ subject: 'prices.*', reply: { kind: 'json', text: '{\n  "eur": 1\n}', size: 9 } }]);
    assert.deepStrictEqual(s.http, { allowReal: false, routes: [{ method: 'GET', url: 'https://x/*', status: 201, body: 'ok' }] });
  });

  it('accepts the messages the panel sends', () => {
    const good: unknown[] = [
      { type: 'ready' },
      { type: 'kv.set', bucket: 'b', key: 'k', value: { text: '1', encoding: 'json' } },
      { type: 'kv.delete', bucket: 'b', key: 'k' },
      { type: 'reply.set', subject: 'a.*', reply: { text: 'x', encoding: 'text' } },
      { type: 'route.set', method: 'GET', url: 'https://x', status: 200, body: '' },
      { type: 'http.allowReal', value: true },
      { type: 'mocks.save' },
    ];
    for (const m of good) {
      assert.ok('message' in parsePanelMessage(m), JSON.stringify(m));
    }
  });

  it('refuses malformed messages before they touch state', () => {
    const bad: unknown[] = [
      null,
      'kv.set',
      { type: 'eval', code: 'x' },
      { type: 'kv.set', bucket: 'b', key: 'k' },
      { type: 'kv.set', bucket: 'b', key: 'k', value: { text: 1, encoding: 'text' } },
      { type: 'kv.set', bucket: 'b', key: 'k', value: { text: 'x', encoding: 'html' } },
      { type: 'kv.set', bucket: 'b', key: 'k', value: { text: 'x', encoding: 'text' }, extra: true },
      { type: 'kv.delete', bucket: '', key: 'k' },
      { type: 'reply.delete', index: -1 },
      { type: 'route.set', method: 'TRACE', url: 'u', status: 200, body: '' },
      { type: 'route.set', method: 'GET', url: 'u', status: 999, body: '' },
      { type: 'http.allowReal', value: 'yes' },
      { type: 'ready', __proto__: { polluted: true }, constructor: 1 },
    ];
    for (const m of bad) {
      const r = parsePanelMessage(m);
      assert.ok('error' in r, `accepted ${JSON.stringify(m)}`);
      assert.match((r as { error: string }).error, /refused a malformed message from the host-services panel/);
    }
  });

  it('applies edits, and explains bad values', () => {
    const mock = new MockHostServices('kvb', 'objb');
    const edit = (m: PanelMessage) => applyPanelEdit(mock, m);
    edit({ type: 'kv.set', bucket: 'kvb', key: 'count', value: { text: '{"n": 1}', encoding: 'json' } });
    assert.strictEqual(new TextDecoder().decode(mock.kv.get('kvb')!.get('count')!.value), '{"n":1}');
    edit({ type: 'kv.set', bucket: 'kvb', key: 'bin', value: { text: 'AP8=', encoding: 'base64' } });
    assert.deepStrictEqual([...mock.kv.get('kvb')!.get('bin')!.value], [0, 255]);
    assert.throws(() => edit({ type: 'kv.set', bucket: 'kvb', key: 'x', value: { text: '{oops', encoding: 'json' } }), /the value is not valid JSON/);
    assert.throws(() => edit({ type: 'kv.set', bucket: 'kvb', key: 'bad key', value: { text: 'x', encoding: 'text' } }), /invalid key "bad key"/);
    edit({ type: 'kv.delete', bucket: 'kvb', key: 'count' });
    assert.strictEqual(mock.kv.get('kvb')!.has('count'), false);
    edit({ type: 'reply.set', subject: 'prices.*', reply: { text: '42', encoding: 'text' } });
    edit({ type: 'reply.set', index: 0, subject: 'prices.>', reply: { text: '43', encoding: 'text' } });
    assert.deepStrictEqual(mock.requestReplies.map((r) => r.subject), ['prices.>']);
    edit({ type: 'route.set', method: 'GET', url: 'https://a/*', status: 404, body: 'nope' });
    assert.strictEqual(mock.callSync({ service: 'http', method: 'get', url: 'https://a/b' }).ok, true);
    edit({ type: 'route.delete', index: 0 });
    assert.strictEqual(mock.routes.length, 0);
    edit({ type: 'http.allowReal', value: true });
    assert.strictEqual(mock.allowRealHttp, true);
    edit({ type: 'kv.clear', bucket: 'kvb' });
    assert.strictEqual(mock.kv.has('kvb'), false);
  });
});
