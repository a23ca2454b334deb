import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { triggerSubjectProblem } from '../../src/core/subject';
import { loadValidFunction, parseManifest } from '../../src/core/manifest';
import { WorkerExecutor } from '../../src/executor/workerExecutor';
import { checkJsSource } from '../../src/executor/sourceCheck';
import { caseCountText } from '../../src/triggers/caseReport';
import { runTriggerCase } from '../../src/triggers/caseRunner';
import { affectsFunction, parseTriggerFile, TriggerCase } from '../../src/triggers/triggerCases';
import { tempDir } from '../support/wasmFixtures';

const FILE = '/ws/fn/triggers/basic.json';

describe('trigger subjects in manifests', () => {
  it('allows wildcards and refuses reserved subject spaces', () => {
    for (const ok of ['orders', 'orders.*', 'orders.>', '*.created', 'a.*.c.>']) {
      assert.strictEqual(triggerSubjectProblem(ok), undefined, ok);
    }
    assert.match(triggerSubjectProblem('$SYS.>')!, /the NATS server/);
    assert.match(triggerSubjectProblem('$JS.API.>')!, /JetStream/);
    assert.match(triggerSubjectProblem('$NEX.PING')!, /Nex itself/);
    assert.match(triggerSubjectProblem('a.>.b')!, /must be the last token/);
    assert.match(triggerSubjectProblem('orders.new*')!, /whole tokens/);
  });

  it('reports each bad trigger on its own line with its index', () => {
    const { problems } = parseManifest('/x/nexfunction.json', '{\n "name": "a",\n "type": "v8",\n "source": "a.js",\n "triggers": [\n  "ok.one",\n  "bad subject",\n  "ok.one"\n ]\n}');
    assert.deepStrictEqual(
      problems.map((p) => `${p.line} ${p.field}: ${p.message}`),
      ['7 triggers[1]: "bad subject": a NATS subject cannot contain spaces or other whitespace', '8 triggers[2]: "ok.one" is listed twice'],
    );
  });

  it('reads limits and refuses unknown or out-of-range ones', () => {
    assert.deepStrictEqual(parseManifest('/x/n.json', '{"name": "a", "type": "v8", "source": "a.js", "limits": {"timeoutMs": 200, "memoryMiB": 16}}').manifest!.limits, { timeoutMs: 200, memoryMiB: 16 });
    assert.deepStrictEqual(
      parseManifest('/x/n.json', '{"name": "a", "type": "v8", "source": "a.js", "limits": {"timeoutMs": 5, "cpu": 1}}').problems.map((p) => `${p.field}: ${p.message}`),
      ['limits.timeoutMs: must be a whole number from 10 to 600000', 'limits: "cpu" is not a limit: use "timeoutMs" and "memoryMiB"'],
    );
  });
});

describe('trigger case files', () => {
  const def = { dir: '/ws/fn', manifestPath: '/ws/fn/nexfunction.json', manifest: { name: 'fn', type: 'v8' as const, source: 'fn.js', triggers: ['orders.*'] }, problems: [] };

  it('reads cases with their lines', () => {
    const text = '{\n  "cases": [\n    { "name": "a", "subject": "orders.new", "payload": "x", "expect": { "reply": "y" } },\n    { "name": "b", "subject": "orders.old", "payload": { "json": { "id": 1 } } }\n  ]\n}';
    const file = parseTriggerFile(FILE, text, def);
    assert.deepStrictEqual(file.problems, []);
    assert.deepStrictEqual(file.cases.map((c) => [c.name, c.line, c.index]), [['a', 3, 0], ['b', 4, 1]]);
    assert.deepStrictEqual(file.cases[1].payload, { json: { id: 1 } });
  });

  it('explains every mistake with its line and field', () => {
    const text = [
      '{',
      '  "cases": [',
      '    { "subject": "orders.new" },',
      '    { "name": "w", "subject": "orders.*" },',
      '    { "name": "x", "subject": "billing.new" },',
      '    { "name": "y", "subject": "orders.y", "payload": 42 },',
      '    { "name": "z", "subject": "orders.z", "expect": { "reply": 1, "eror": "x" } },',
      '    { "name": "z", "subject": "orders.z" },',
      '    { "name": "r", "subject": "orders.r", "expect": { "error": "(" } }',
      '  ]',
      '}',
    ].join('\n');
    const messages = parseTriggerFile(FILE, text, def).problems.map((p) => `${p.line} ${p.field}: ${p.message}`);
    assert.deepStrictEqual(messages, [
      '3 cases[0].name: every case needs a "name" (text), e.g. "replies with the order id"',
      '4 cases[1].subject: "orders.*": a trigger is published on a concrete subject: wildcards "*" and ">" are only for subscriptions',
      '5 cases[2].subject: "billing.new" matches none of the function\'s triggers (orders.*): a node would never run the function for it',
      '6 cases[3].payload: a payload is text, {"json": ...}, {"base64": "..."} or {"file": "relative/path"}',
      '7 cases[4].expect.reply: an expected reply is text, {"json": ...}, {"base64": "..."} or {"regex": "..."}',
      '7 cases[4].expect.eror: unknown expectation "eror": use reply, noReply, error, logs, hostCalls, kv, maxMs',
      '9 cases[6].expect.error: not a valid regular expression: Invalid regular expression: /(/: Unterminated group',
    ]);
  });

  it('explains a file without cases and invalid JSON', () => {
    assert.match(parseTriggerFile(FILE, '[]').problems[0].message, /an object with a "cases" list/);
    assert.strictEqual(parseTriggerFile(FILE, '{\n "cases": [\n').problems[0].line, 3);
  });
});

describe('running trigger cases', () => {
  let runner: WorkerExecutor;
  let dir: string;
  before(() => {
    runner = new WorkerExecutor();
    dir = tempDir('nex-cases-');
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'orders', type: 'v8', source: 'fn.js', triggers: ['orders.*'], mocks: 'mocks.json' }));
    fs.writeFileSync(path.join(dir, 'mocks.json'), JSON.stringify({ kv: { seen: '0' } }));
    fs.writeFileSync(
      path.join(dir, 'fn.js'),
      `(subject, payload) => {
        const order = JSON.parse(String.fromCharCode(...payload) || '{}');
        console.log('order', order.id);
        if (!order.id) throw new Error('no order id');
        hostServices.kv.set('last', new Uint8Array([...String(order.id)].map((c) => c.charCodeAt(0))));
        hostServices.messaging.publish('orders.accepted', payload);
        return { accepted: order.id, at: subject };
      }`,
    );
  });
  after(() => {
    runner.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (partial: Partial<TriggerCase>) =>
    runTriggerCase(runner, loadValidFunction(dir), { name: 'c', subject: 'orders.new', payload: { json: { id: 7 } }, file: path.join(dir, 'triggers', 'x.json'), line: 1, index: 0, ...partial });

  it('passes when every expectation holds', async () => {
    const r = await run({ expect: { reply: { json: { accepted: 7, at: 'orders.new' } }, logs: ['^order 7$'], hostCalls: [{ service: 'messaging', method: 'publish', subject: 'orders.accepted' }], kv: { last: '7', seen: '0' } } });
    assert.deepStrictEqual(r.failures, []);
    assert.strictEqual(r.status, 'passed');
  });

  it('fails with an expected/actual diff on a different reply', async () => {
    const r = await run({ expect: { reply: { json: { accepted: 8 } } } });
    assert.strictEqual(r.status, 'failed');
    assert.deepStrictEqual(r.failures, ['the reply JSON differs from the expected JSON']);
    assert.strictEqual(r.expected, '{\n  "accepted": 8\n}');
    assert.strictEqual(r.actual, '{\n  "accepted": 7,\n  "at": "orders.new"\n}');
  });

  it('checks text, regex and no-reply expectations', async () => {
    assert.deepStrictEqual((await run({ expect: { reply: { regex: '"accepted":7' } } })).failures, []);
    assert.deepStrictEqual((await run({ expect: { reply: 'nope' } })).failures, ['the reply differs from the expected text']);
    assert.deepStrictEqual((await run({ expect: { noReply: true } })).failures, ['expected no reply, but the function replied']);
  });

  it('checks expected errors, and fails on unexpected ones', async () => {
    assert.deepStrictEqual((await run({ payload: '', expect: { error: 'no order id' } })).failures, []);
    assert.match((await run({ payload: '' })).failures[0], /^the function failed: Error: no order id \(line 4\)$/);
    assert.match((await run({ expect: { error: 'x' } })).failures[0], /expected an error matching \/x\//);
  });

  it('reports missing host calls, logs and KV state precisely', async () => {
    const r = await run({ expect: { hostCalls: [{ service: 'messaging', method: 'request' }], logs: ['shipped'], kv: { last: '8', gone: null, seen: null } } });
    assert.deepStrictEqual(r.failures, [
      'no log line matches /shipped/ (1 lines: "order 7")',
      'expected a host call messaging.request; calls made: kv.set(key=last), messaging.publish(subject=orders.accepted)',
      'key "last" holds another value after the run',
      'expected key "seen" to be absent after the run, but it holds "0"',
    ]);
  });

  it('layers case mocks over the mocks file, fresh for every case', async () => {
    const r = await run({ mocks: { kv: { seen: '5' } }, expect: { kv: { seen: '5' } } });
    assert.deepStrictEqual(r.failures, []);
    assert.deepStrictEqual((await run({ expect: { kv: { seen: '0' } } })).failures, []);
  });

  it('warns, without failing, over maxMs', async () => {
    const r = await run({ expect: { maxMs: 0.0001 } });
    assert.strictEqual(r.status, 'passed');
    assert.match(r.warnings[0], /over maxMs 0\.0001/);
  });
});

describe('source checks (on save)', () => {
  let runner: WorkerExecutor;
  before(() => (runner = new WorkerExecutor()));
  after(() => runner.dispose());

  it('finds what a node would refuse', async () => {
    assert.deepStrictEqual(await checkJsSource(runner, '(s, p) => p;', 'f.js'), []);
    const esm = await checkJsSource(runner, 'import x from "y";\nexport default (s, p) => p;', 'f.js');
    assert.deepStrictEqual(esm.map((p) => [p.code, p.line]), [['module-syntax', 1]]);
    const notFn = await checkJsSource(runner, 'const f = (s, p) => p;\nf;\n42;', 'f.js');
    assert.deepStrictEqual(notFn.map((p) => p.code), ['not-a-function']);
    const syntax = await checkJsSource(runner, '(s, p) => {\n  return (;\n};', 'f.js');
    assert.deepStrictEqual(syntax.map((p) => [p.code, p.line]), [['syntax', 2]]);
    const big = `// ${'x'.repeat(13000)}\n(s, p) => p;`;
    assert.deepStrictEqual((await checkJsSource(runner, big, 'f.js', '0.2')).map((p) => [p.code, p.severity]), [['source-size', 'error']]);
    assert.deepStrictEqual((await checkJsSource(runner, big, 'f.js', 'docs')).map((p) => [p.code, p.severity]), [['source-size', 'warning']]);
  });
});

describe('which saves re-run a function', () => {
  it('counts the source, manifest, mocks and trigger files of a JS function, and nothing else', () => {
    const js = { dir: '/w/f', manifestPath: '/w/f/nexfunction.json', sourcePath: '/w/f/f.js', manifest: { name: 'f', type: 'v8' as const, source: 'f.js', mocks: 'mocks.json' }, problems: [] };
    for (const f of ['/w/f/nexfunction.json', '/w/f/f.js', '/w/f/mocks.json', '/w/f/triggers/basic.json']) {
      assert.strictEqual(affectsFunction(js, f), true, f);
    }
    for (const f of ['/w/f/README.md', '/w/f/helper.js', '/w/f/triggers/notes.txt']) {
      assert.strictEqual(affectsFunction(js, f), false, f);
    }
  });

  it('counts any source of a WebAssembly function but its artifact', () => {
    const wasm = { dir: '/w/r', manifestPath: '/w/r/nexfunction.json', artifactPath: '/w/r/r.wasm', manifest: { name: 'r', type: 'wasm' as const, artifact: 'r.wasm' }, problems: [] };
    assert.strictEqual(affectsFunction(wasm, '/w/r/src/main.rs'), true);
    assert.strictEqual(affectsFunction(wasm, '/w/r/r.wasm'), false);
    assert.strictEqual(affectsFunction(wasm, '/w/r/README.md'), false);
  });
});

describe('case counts at a glance', () => {
  it('says passed, failing, not run and problems, never hiding a problem', () => {
    const text = (cases: number, passed: number, failed: number, problems = 0) => caseCountText({ cases, passed, failed, problems });
    assert.strictEqual(text(3, 3, 0), '3/3 ✔');
    assert.strictEqual(text(3, 2, 1), '1 failing');
    assert.strictEqual(text(3, 2, 0), '2/3 ✔');
    assert.strictEqual(text(3, 0, 0), '3 cases');
    assert.strictEqual(text(1, 0, 0), '1 case');
    assert.strictEqual(text(2, 1, 1, 1), '1 failing, 1 problem');
    assert.strictEqual(text(0, 0, 0, 2), '2 problems');
    assert.strictEqual(text(2, 2, 0, 1), '2/2 ✔, 1 problem');
  });
});
