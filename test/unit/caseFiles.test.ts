import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { addCases, caseNames, checkCaseFile, runCase, writeRecordedCases } from '../../src/triggers/caseFiles';
import { parseTriggerFile } from '../../src/triggers/triggerCases';
import { tempDir } from '../support/wasmFixtures';

const text = (s: string) => new TextEncoder().encode(s);

describe('trigger case files (written in one place)', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir('nex-case-files-');
    file = path.join(dir, 'triggers', 'recorded.json');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a missing file (and its folder) with the recorded cases, replies as expectations', () => {
    const added = writeRecordedCases(file, [
      { subject: 'orders.new', payload: text('a'), reply: text('"got a"') },
      { subject: 'orders.new', payload: text('{"b":2}'), headers: { 'x-id': '7' } },
    ]);
    assert.deepStrictEqual(added, ['orders.new #1', 'orders.new #2']);
    assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, 'utf8')), {
      cases: [
        { name: 'orders.new #1', subject: 'orders.new', payload: 'a', expect: { reply: '"got a"' } },
        { name: 'orders.new #2', subject: 'orders.new', payload: { json: { b: 2 } }, headers: { 'x-id': '7' } },
      ],
    });
    assert.deepStrictEqual(parseTriggerFile(file, fs.readFileSync(file, 'utf8')).problems, [], 'what is written is a valid trigger file');
  });

  it('keeps the cases and the formatting a file has, and names new cases with numbers not yet taken', () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const mine = '{\n    "cases": [\n        {\n            "name": "orders.new #1",\n            "subject": "orders.new",\n            "payload": "x"\n        }';
    const before = `${mine}\n    ]\n}\n`;
    fs.writeFileSync(file, before);
    assert.deepStrictEqual([...caseNames(file)], ['orders.new #1']);
    assert.deepStrictEqual(writeRecordedCases(file, [{ subject: 'orders.new', payload: text('y') }]), ['orders.new #2']);
    const after = fs.readFileSync(file, 'utf8');
    assert.ok(after.startsWith(mine), after);
    assert.deepStrictEqual(parseTriggerFile(file, after).cases.map((c) => c.name), ['orders.new #1', 'orders.new #2']);
    assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ['recorded.json'], 'no temporary file is left');
  });

  it('refuses a file that is not a trigger case file, naming it, and leaves it as it is', () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{"kv": {}}');
    assert.throws(() => checkCaseFile(file), /recorded\.json is not a trigger case file \(\{"cases": \[\.\.\.\]\}\): it was left as it is/);
    assert.throws(() => addCases(file, () => [{ name: 'a' }]), /not a trigger case file/);
    assert.strictEqual(fs.readFileSync(file, 'utf8'), '{"kv": {}}');
    assert.doesNotThrow(() => checkCaseFile(path.join(dir, 'missing.json')), 'a file yet to be made is fine');
  });

  it('makes a case of a run: the reply, no reply, or the error (as a literal pattern) is what it expects', () => {
    const run = (outcome: { reply: Uint8Array | null; error?: { message: string } }) => ({ subject: 'demo.echo', payload: text('keep me'), outcome });
    assert.deepStrictEqual(runCase('a', run({ reply: text('keep me') })), { name: 'a', subject: 'demo.echo', payload: 'keep me', expect: { reply: 'keep me' } });
    assert.deepStrictEqual(runCase('b', run({ reply: text('{"n":1}') })).expect, { reply: { json: { n: 1 } } });
    assert.deepStrictEqual(runCase('c', run({ reply: null })).expect, { noReply: true });
    assert.deepStrictEqual(runCase('d', run({ reply: null, error: { message: 'not found (x.y)' } })).expect, { error: 'not found \\(x\\.y\\)' });
    assert.strictEqual(runCase('e', { subject: 's', outcome: { reply: null } }).payload, '', 'a run without a kept payload saves an empty one');
  });
});
