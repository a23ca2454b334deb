import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { subjectMatches } from '../../src/core/subject';
import { ProblemError } from '../../src/core/problems';
import { MockHostServices } from '../../src/hostservices/mockBackend';
import { mockHostServicesFor } from '../../src/hostservices/mockFixtureFile';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('MockHostServices', () => {
  it('round-trips a fixture: text, base64 and JSON values', () => {
    const mock = new MockHostServices('own_kv', 'own_obj').seed({
      kv: { a: 'text', b: { base64: Buffer.from([0, 255]).toString('base64') }, c: { json: { x: 1 } } },
      kvBuckets: { other: { k: 'v' } },
      objects: { 'file.txt': 'content' },
      requestReplies: [{ subject: 'svc.>', reply: 'pong' }],
    });
    assert.deepStrictEqual(mock.toFixture(), {
      kv: { a: 'text', b: { base64: 'AP8=' }, c: '{"x":1}' },
      kvBuckets: { other: { k: 'v' } },
      objects: { 'file.txt': 'content' },
      requestReplies: [{ subject: 'svc.>', reply: 'pong' }],
    });
  });

  it('keeps revisions and history', () => {
    const mock = new MockHostServices();
    mock.callSync({ service: 'kv', method: 'set', bucket: 'b', key: 'k', value: bytes('1') });
    mock.callSync({ service: 'kv', method: 'set', bucket: 'b', key: 'k', value: bytes('2') });
    const entry = mock.kv.get('b')!.get('k')!;
    assert.strictEqual(entry.revision, 2);
    assert.deepStrictEqual(entry.history.map((h) => h.revision), [1]);
  });

  it('validates KV keys as NATS does', () => {
    const mock = new MockHostServices();
    const r = mock.callSync({ service: 'kv', method: 'get', bucket: 'b', key: 'bad key' });
    assert.strictEqual(r.ok, false);
    assert.match((r as { message: string }).message, /invalid key "bad key"/);
    assert.match((mock.callSync({ service: 'kv', method: 'get', bucket: 'b', key: '' }) as { message: string }).message, /key is required/);
  });

  it('names the fixture field at fault', () => {
    assert.throws(() => new MockHostServices().seed({ kv: { k: 42 as never } }, 'mocks.json'), /mocks\.json: kv "k": a value is text, \{"json": \.\.\.\}, \{"base64": "\.\.\."\}$/);
    assert.throws(() => new MockHostServices().seed({ requestReplies: [{ reply: 'x' } as never] }, 'm'), /requestReplies\[0\]\.subject/);
  });

  it('reports a malformed mocks file with its line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nex-mocks-'));
    try {
      const file = path.join(dir, 'mocks.json');
      fs.writeFileSync(file, '{\n  "kv": {\n    "a": "b",\n  }\n}');
      assert.throws(
        () => mockHostServicesFor('default', 'fn', file),
        (e: unknown) => e instanceof ProblemError && e.problems[0].line === 4 && e.problems[0].file === file,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('subjectMatches', () => {
  it('follows NATS wildcard rules', () => {
    assert.ok(subjectMatches('a.b', 'a.b'));
    assert.ok(subjectMatches('a.*', 'a.b'));
    assert.ok(!subjectMatches('a.*', 'a.b.c'));
    assert.ok(subjectMatches('a.>', 'a.b.c'));
    assert.ok(!subjectMatches('a.>', 'a'));
    assert.ok(subjectMatches('*.b.>', 'x.b.y'));
    assert.ok(!subjectMatches('a.b', 'a.b.c'));
  });
});
