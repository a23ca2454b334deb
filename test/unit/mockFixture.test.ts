import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import { formatProblem, ProblemError } from '../../src/core/problems';
import { checkMockFixtureText, readMockFixture } from '../../src/hostservices/mockFixtureFile';
import { parseTriggerFile } from '../../src/triggers/triggerCases';
import { tempDir } from '../support/wasmFixtures';

const FILE = '/ws/fn/mocks.json';
const problems = (text: string) => checkMockFixtureText(FILE, text).problems.map((p) => `${p.line}:${p.field ?? ''}: ${p.message}`);

describe('mocks files', () => {
  it('accepts every part of the format', () => {
    const text = JSON.stringify({
      kv: { greeting: 'hello', 'a/b.c': { json: { n: 1 } } },
      kvBuckets: { prices: { eur: { base64: 'AQI=' } } },
      objects: { 'logo.png': { base64: 'iVBO' } },
      objectStores: { docs: { readme: 'text' } },
      requestReplies: [{ subject: 'prices.*', reply: '42' }],
      http: { allowReal: false, routes: [{ method: 'GET', url: 'https://api.example.com/*', status: 200, headers: { a: 'b' }, body: { json: [1] } }] },
    });
    const { fixture, problems: found } = checkMockFixtureText(FILE, text);
    assert.deepStrictEqual(found, []);
    assert.strictEqual(fixture?.kv?.greeting, 'hello');
  });

  it('puts each problem at its line, with the field', () => {
    const text = ['{', '  "kv": {"ok": "1", "bad key": "2", "n": 3},', '  "kvBucket": {},', '  "requestReplies": [{"reply": "x"}],', '  "http": {"allowReal": "yes", "routes": [{"method": "GET", "url": "u", "status": "200", "bdy": ""}]}', '}'].join('\n');
    assert.deepStrictEqual(problems(text), [
      '2:kv.bad key: invalid key "bad key": use letters, digits and - / _ = . (not at the start or end)',
      '2:kv.n: a value is text, {"json": ...} or {"base64": "..."}',
      '3:kvBucket: unknown field "kvBucket": a mocks file has kv, kvBuckets, objects, objectStores, requestReplies, http',
      '4:requestReplies[0].subject: needs "subject": a subject pattern such as "prices.*"',
      '5:http.allowReal: must be true or false',
      '5:http.routes[0].status: must be an HTTP status code such as 200',
      '5:http.routes[0].bdy: unknown field "bdy": a route has method, url, status, headers, body',
    ]);
  });

  it('explains invalid JSON, an empty file and a non-object at their lines, and readMockFixture throws them all', () => {
    assert.deepStrictEqual(problems('{\n  "kv": {"a": "1",}\n}'), ['2:: invalid JSON: expected a property name in double quotes', '2:: invalid JSON: expected a value']);
    assert.deepStrictEqual(problems(''), ['1:: the mocks file is empty: write a JSON object, e.g. {"kv": {"greeting": "hello"}}']);
    assert.deepStrictEqual(problems('[1]'), ['1:mocks: a mocks file is a JSON object, e.g. {"kv": {"greeting": "hello"}}; found array']);
    const dir = tempDir('nex-mocks-');
    try {
      const file = path.join(dir, 'mocks.json');
      fs.writeFileSync(file, '{\n  "kv": {"n": 3},\n  "extra": 1\n}');
      assert.throws(
        () => readMockFixture(file),
        (e: unknown) => e instanceof ProblemError && e.problems.map(formatProblem).join('\n') === `${file}:2:15: "kv.n": a value is text, {"json": ...} or {"base64": "..."}\n${file}:3:3: "extra": unknown field "extra": a mocks file has kv, kvBuckets, objects, objectStores, requestReplies, http`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks the mocks of a trigger case with the same rules, at the case line', () => {
    const text = '{\n  "cases": [\n    {"name": "a", "subject": "x", "mocks": {\n      "kv": {"count": 1}\n    }}\n  ]\n}';
    const file = parseTriggerFile('/ws/fn/triggers/a.json', text);
    assert.deepStrictEqual(file.problems.map((p) => `${p.line}:${p.field}: ${p.message}`), ['4:cases[0].mocks.kv.count: a value is text, {"json": ...} or {"base64": "..."}']);
    assert.deepStrictEqual(file.cases, []);
  });

  it('has an editor schema that accepts what the checker accepts', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../schemas/mocks.schema.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    const good = { kv: { a: '1', b: { json: 1 } }, requestReplies: [{ subject: 'p.*', reply: 'x' }], http: { routes: [{ method: 'GET', url: 'u' }] } };
    assert.deepStrictEqual(checkMockFixtureText(FILE, JSON.stringify(good)).problems, []);
    assert.ok(validate(good), JSON.stringify(validate.errors));
    for (const bad of [{ kv: { a: 3 } }, { other: 1 }, { http: { routes: [{ url: 'u' }] } }]) {
      assert.notDeepStrictEqual(checkMockFixtureText(FILE, JSON.stringify(bad)).problems, []);
      assert.strictEqual(validate(bad), false, JSON.stringify(bad));
    }
  });
});
