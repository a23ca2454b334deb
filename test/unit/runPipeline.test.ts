import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { ValidFunction } from '../../src/core/manifest';
import { decodeValue, encodeValue } from '../../src/core/valueCodec';
import { DEFAULT_LIMITS } from '../../src/executor/types';
import { WorkerExecutor } from '../../src/executor/workerExecutor';
import { effectiveLimits, freshMocks, runFunction } from '../../src/run/functionRun';
import { bareFunction, resolveFunction } from '../../src/run/resolveFunction';
import { tempDir } from '../support/wasmFixtures';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/workspace');

function fn(limits?: ValidFunction['manifest']['limits']): ValidFunction {
  return { dir: '/f', manifestPath: '/f/nexfunction.json', manifest: { name: 'f', type: 'v8', source: 'f.js', limits }, sourcePath: '/f/f.js', problems: [] };
}

describe('the run pipeline', () => {
  it('takes limits from flags, then the manifest, then the settings, then the defaults', () => {
    assert.deepStrictEqual(effectiveLimits(fn()), DEFAULT_LIMITS);
    assert.strictEqual(effectiveLimits(fn(), { settings: { timeoutMs: 1500 } }).timeoutMs, 1500);
    assert.strictEqual(effectiveLimits(fn({ timeoutMs: 700 }), { settings: { timeoutMs: 1500 } }).timeoutMs, 700, 'the manifest wins over settings');
    assert.strictEqual(effectiveLimits(fn({ timeoutMs: 700 }), { settings: { timeoutMs: 1500 }, overrides: { timeoutMs: 90 } }).timeoutMs, 90, 'flags win over the manifest');
    assert.strictEqual(effectiveLimits(fn({ memoryMiB: 8 })).memoryLimitBytes, 8 * 1048576);
    assert.strictEqual(effectiveLimits(fn(), { overrides: { timeoutMs: undefined } }).timeoutMs, DEFAULT_LIMITS.timeoutMs, 'an unset flag does not erase a value');
  });

  it('resolves a folder, a manifest and a source file to the same function', () => {
    const dir = path.join(FIXTURES, 'echo');
    for (const target of [dir, path.join(dir, 'nexfunction.json'), path.join(dir, 'echo.js')]) {
      const { fn: resolved, notice } = resolveFunction(target);
      assert.strictEqual(resolved.manifest.name, 'echo');
      assert.strictEqual(resolved.bare, undefined);
      assert.strictEqual(notice, undefined);
    }
  });

  it('seeds fresh mocks from the mocks file, then from a case\'s own mocks', async () => {
    const counter = resolveFunction(path.join(FIXTURES, 'counter')).fn;
    const mock = freshMocks(counter, { extra: { kv: { other: 'x' } } });
    const bucket = mock.kv.get(mock.defaultKvBucket)!;
    assert.strictEqual(Buffer.from(bucket.get('counter_hit')!.value).toString(), '41');
    assert.strictEqual(Buffer.from(bucket.get('other')!.value).toString(), 'x');
  });

  it('runs a bare file through the same pipeline as a function', async () => {
    const dir = tempDir('nex-pipeline-');
    const runner = new WorkerExecutor();
    try {
      const file = path.join(dir, 'up.js');
      fs.writeFileSync(file, '(s, p) => String.fromCharCode(...p).toUpperCase();');
      const { fn: bare } = bareFunction(file);
      const result = await runFunction(runner, bare, { subject: 'a', payload: new TextEncoder().encode('hi') });
      assert.strictEqual(Buffer.from(result.outcome.reply!).toString(), 'HI');
      assert.strictEqual(result.functionName, 'up');
    } finally {
      runner.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('encoded values (text, {json}, {base64}, {file})', () => {
  it('decodes each form, and files relative to a folder', () => {
    const dir = tempDir('nex-values-');
    try {
      fs.writeFileSync(path.join(dir, 'p.bin'), Buffer.from([0, 255]));
      assert.deepStrictEqual([...decodeValue('hi', { where: 'x' })], [104, 105]);
      assert.strictEqual(Buffer.from(decodeValue({ json: { a: 1 } }, { where: 'x' })).toString(), '{"a":1}');
      assert.deepStrictEqual([...decodeValue({ base64: 'AP8=' }, { where: 'x' })], [0, 255]);
      assert.deepStrictEqual([...decodeValue({ file: 'p.bin' }, { where: 'x', baseDir: dir })], [0, 255]);
      assert.throws(() => decodeValue({ file: 'p.bin' }, { where: 'mocks.json: kv "k"' }), /mocks\.json: kv "k": a value is text, \{"json": \.\.\.\}, \{"base64": "\.\.\."\}$/);
      assert.throws(() => decodeValue({ file: 'missing.bin' }, { where: 'case "c" payload', baseDir: dir }), /case "c" payload: cannot read .*missing\.bin/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('encodes text as text, JSON as {json} when asked, binary as {base64}, and round-trips', () => {
    assert.strictEqual(encodeValue(new TextEncoder().encode('plain')), 'plain');
    assert.deepStrictEqual(encodeValue(new TextEncoder().encode('{"a":[1]}'), { json: true }), { json: { a: [1] } });
    assert.strictEqual(encodeValue(new TextEncoder().encode('{"a":[1]}')), '{"a":[1]}');
    assert.deepStrictEqual(encodeValue(new Uint8Array([0, 255])), { base64: 'AP8=' });
    for (const bytes of [new Uint8Array([0, 255, 1]), new TextEncoder().encode('{"x": 2}'), new TextEncoder().encode('é')]) {
      assert.deepStrictEqual([...decodeValue(encodeValue(bytes, { json: true }), { where: 'x' })], [...new TextEncoder().encode(new TextDecoder().decode(bytes)).length === bytes.length && bytes[0] === 123 ? new TextEncoder().encode('{"x":2}') : bytes]);
    }
  });
});
