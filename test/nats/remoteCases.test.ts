/**
 * Trigger cases run against a deployed instance (runTriggerCaseRemote, `nexfn test --remote`) on a
 * real nats-server with a local Nex node (0.2.7) in-process: the same expectations as a local run,
 * checked on what the node sends back, so the difference between the local profile ("docs") and
 * the node's shows up as a failing case with a diff.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { NatsConnection } from '@nats-io/nats-core';
import { loadValidFunction, ValidFunction } from '../../src/core/manifest';
import { deployFunction } from '../../src/deploy/deployFunction';
import { WorkerExecutor } from '../../src/executor/workerExecutor';
import { runTriggerCase, runTriggerCaseRemote } from '../../src/triggers/caseRunner';
import { caseSummary, formatCaseResults } from '../../src/triggers/caseReport';
import { loadTriggerFiles, TriggerCase } from '../../src/triggers/triggerCases';
import type { NatsServerHandle } from '../support/natsServer';
import { runNexfn } from '../support/nexfn';
import { LocalNodeFixture, startLocalNodeFixture } from '../support/localNodeFixture';

/** The cases of the deployed function, each expecting what one side replies. */
const CASES = {
  cases: [
    { name: 'node reply', subject: 'shout.node', payload: 'hey', expect: { reply: '"HEY"' } },
    { name: 'docs reply', subject: 'shout.docs', payload: 'hey', expect: { reply: 'HEY' } },
    { name: 'fails on empty', subject: 'shout.empty', payload: '', expect: { error: 'empty payload' } },
    {
      name: 'local-only expectations',
      subject: 'shout.local',
      payload: { json: { a: 1 } },
      mocks: { kv: { seen: '1' } },
      expect: { reply: { regex: 'A' }, logs: ['shouting'], hostCalls: [{ service: 'kv', method: 'get' }], kv: { seen: '2' }, maxMs: 5000 },
    },
  ],
};

/** What nexfn wrote, and its exit code. */
const nexfn = (...args: string[]) => runNexfn(args);

describe('trigger cases against a deployed function (runTriggerCaseRemote, nexfn test --remote)', function () {
  this.timeout(60000);
  let fixture: LocalNodeFixture;
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let work: string;
  let fn: ValidFunction;
  let cases: Record<string, TriggerCase>;

  before(async () => {
    fixture = await startLocalNodeFixture('nex-remote-cases-');
    ({ server, nc, work } = fixture);
    const dir = path.join(work, 'shout');
    fs.mkdirSync(path.join(dir, 'triggers'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'shout.js'),
      '(subject, payload) => {\n  if (payload.length === 0) throw new Error("empty payload on " + subject);\n  console.log("shouting on " + subject);\n  return String.fromCharCode(...payload).toUpperCase();\n};\n',
    );
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'shout', type: 'v8', source: 'shout.js', triggers: ['shout.>'], env: { TOKEN: 'never-shown' } }, null, 2));
    fs.writeFileSync(path.join(dir, 'triggers', 'remote.json'), JSON.stringify(CASES, null, 2));
    fn = loadValidFunction(dir);
    const files = loadTriggerFiles(fn);
    assert.deepStrictEqual(files.flatMap((f) => f.problems), []);
    cases = Object.fromEntries(files.flatMap((f) => f.cases).map((c) => [c.name, c]));
    const deployed = await deployFunction(nc, fn, { keysDir: path.join(work, 'keys') });
    assert.strictEqual(deployed.version, '0.2.7');
  });
  after(() => fixture?.stop());

  it("passes a case that expects the node's reply, and fails one that expects the local docs reply, with a diff", async () => {
    const passed = await runTriggerCaseRemote(nc, cases['node reply'], { timeoutMs: 5000 });
    assert.strictEqual(passed.status, 'passed', passed.failures.join('\n'));
    assert.deepStrictEqual(passed.warnings, []);
    assert.strictEqual(passed.run, undefined, 'nothing ran here');
    assert.strictEqual(Buffer.from(passed.remote!.reply!).toString(), '"HEY"');
    assert.strictEqual(passed.remote!.subject, 'shout.node');
    assert.ok(passed.remote!.roundTripMs > 0 && passed.remote!.roundTripMs < 5000);

    const failed = await runTriggerCaseRemote(nc, cases['docs reply'], { timeoutMs: 5000 });
    assert.strictEqual(failed.status, 'failed');
    assert.deepStrictEqual(failed.failures, ['the reply differs from the expected text']);
    assert.strictEqual(failed.expected, 'HEY');
    assert.strictEqual(failed.actual, '"HEY"', 'a 0.2.7 node JSON-encodes the returned string');

    // The same two cases locally, in the docs profile: the other way round.
    const runner = new WorkerExecutor();
    try {
      assert.strictEqual((await runTriggerCase(runner, fn, cases['docs reply'])).status, 'passed');
      const local = await runTriggerCase(runner, fn, cases['node reply']);
      assert.strictEqual(local.status, 'failed');
      assert.deepStrictEqual([local.expected, local.actual], ['"HEY"', 'HEY']);
    } finally {
      runner.dispose();
    }
  });

  it("checks an error expectation against the node's failure as soon as it reports it; passes one on no reply, saying the message is not checked", async () => {
    const r = await runTriggerCaseRemote(nc, cases['fails on empty'], { timeoutMs: 1500 });
    assert.strictEqual(r.status, 'passed', r.failures.join('\n'));
    assert.strictEqual(r.remote!.reply, null);
    assert.match(r.remote!.error!, /empty payload on shout\.empty/);
    assert.deepStrictEqual(r.warnings, []);

    // No reply and no failure reported (a subscriber that never answers): the message cannot be checked.
    const hush = nc.subscribe('hush.empty');
    const started = Date.now();
    const quiet = await runTriggerCaseRemote(nc, { ...cases['fails on empty'], subject: 'hush.empty' }, { timeoutMs: 1500 });
    hush.unsubscribe();
    assert.ok(Date.now() - started >= 1400, 'it waited for the reply');
    assert.strictEqual(quiet.status, 'passed', quiet.failures.join('\n'));
    assert.deepStrictEqual(quiet.warnings.length, 1);
    assert.match(quiet.warnings[0], /^expect\.error passed on no reply within 1500 ms, as a node sends none for a failing function; .*\/empty payload\/ is checked only locally$/);

    // A case that expects a reply and gets the node's failure fails, saying so.
    const silent = await runTriggerCaseRemote(nc, { ...cases['node reply'], subject: 'shout.empty', payload: '' }, { timeoutMs: 1000 });
    assert.strictEqual(silent.status, 'failed');
    assert.match(silent.failures[0], /^expected a reply, but the node reported the function failing: shout failed on node /);
    assert.deepStrictEqual([silent.expected, silent.actual], ['"HEY"', '(no reply)']);

    // A reply where an error is expected, and a reply where none is expected, fail.
    const replied = await runTriggerCaseRemote(nc, { ...cases['fails on empty'], payload: 'x' }, { timeoutMs: 5000 });
    assert.deepStrictEqual(replied.failures, ['expected an error matching /empty payload/, but the deployed function replied']);
    const noReply = await runTriggerCaseRemote(nc, { ...cases['node reply'], expect: { noReply: true } }, { timeoutMs: 5000 });
    assert.deepStrictEqual(noReply.failures, ['expected no reply, but the deployed function replied']);
    assert.deepStrictEqual([noReply.expected, noReply.actual], ['(no reply)', '"HEY"']);
  });

  it('reports logs, host calls, KV and mocks as skipped warnings, not failures', async () => {
    const r = await runTriggerCaseRemote(nc, cases['local-only expectations'], { timeoutMs: 5000 });
    assert.strictEqual(r.status, 'passed', r.failures.join('\n'));
    assert.strictEqual(Buffer.from(r.remote!.reply!).toString(), '"{\\"A\\":1}"');
    assert.deepStrictEqual(r.warnings, [
      "the case's mocks do not apply to a deployed function: it uses the node's real host services",
      'expect.logs skipped on a deployed function: its log lines cannot be tied to one request from outside the node',
      'expect.hostCalls skipped on a deployed function: a node does not report the host calls a function makes',
      "expect.kv skipped on a deployed function: it uses the node's real buckets, which a case does not read",
    ]);
    const lines = formatCaseResults([r]).map((l) => l.text);
    assert.ok(lines.some((l) => /⚠ expect\.logs skipped/.test(l)), lines.join('\n'));
  });

  it('fails a case nobody is subscribed for, and stops waiting when aborted', async () => {
    const nobody = await runTriggerCaseRemote(nc, { ...cases['node reply'], subject: 'nobody.here' }, { timeoutMs: 5000 });
    assert.strictEqual(nobody.status, 'failed');
    assert.match(nobody.failures[0], /^no function is subscribed to nobody\.here on /);

    const abort = new AbortController();
    const started = Date.now();
    const hush = nc.subscribe('hush.wait');
    const waiting = runTriggerCaseRemote(nc, { ...cases['fails on empty'], subject: 'hush.wait' }, { timeoutMs: 20000, signal: abort.signal });
    setTimeout(() => abort.abort(new Error('stopped by the test')), 200);
    await assert.rejects(waiting, /stopped by the test/);
    assert.ok(Date.now() - started < 5000, 'it stopped waiting at once');
    hush.unsubscribe();
  });

  it('nexfn test --remote runs the cases headless, with the same output, summary and JUnit', async () => {
    const junit = path.join(work, 'junit.xml');
    const r = await nexfn('test', fn.dir, '--remote', '--server', server.url, '--timeout', '1500', '--junit', junit);
    assert.strictEqual(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^running the trigger cases against the deployed functions on \S*127\.0\.0\.1:\d+\n/);
    assert.match(r.stdout, /^shout \(/);
    assert.match(r.stdout, /✔ remote\.json › node reply \(/);
    assert.match(r.stdout, /✖ remote\.json › docs reply \(.*remote\.json:\d+\)\n {6}the reply differs from the expected text\n {6}expected: HEY\n {6}actual: {3}"HEY"\n/);
    assert.match(r.stdout, /✔ remote\.json › fails on empty \([^)\n]*\)\n(?! {6}⚠)/, "the node's error was checked");
    assert.match(r.stdout, /⚠ expect\.kv skipped on a deployed function/);
    assert.match(r.stdout, /\n3 passed, 1 failed\n$/);
    const xml = fs.readFileSync(junit, 'utf8');
    assert.match(xml, /<testsuites name="nexfn test" tests="4" failures="1" errors="0"/);
    assert.match(xml, /<testcase classname="shout\/remote\.json" name="docs reply"[^>]*>\s*<failure message="the reply differs from the expected text">the reply differs from the expected text\nexpected: HEY\nactual: &quot;HEY&quot;<\/failure>/);
    assert.strictEqual(caseSummary([]).text, '0 passed, 0 failed');

    // Locally (the docs profile), the same file gives the other answer for the two reply cases.
    const local = await nexfn('test', fn.dir);
    assert.match(local.stdout, /✖ remote\.json › node reply/);
    assert.match(local.stdout, /✔ remote\.json › docs reply/);

    const unreachable = await nexfn('test', fn.dir, '--remote', '--server', 'nats://127.0.0.1:1');
    assert.strictEqual(unreachable.code, 1);
    assert.match(unreachable.stderr, /^nexfn test --remote: /);
    assert.strictEqual(unreachable.stdout, '');
  });

  it('nexfn test --remote skips a case whose subject another deployed workload also serves (its reply could win), without failing the run', async () => {
    const dir = path.join(work, 'catchall');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'all.js'), '(subject) => "caught " + subject;\n');
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'catchall', type: 'v8', source: 'all.js', triggers: ['shout.node'] }));
    const other = await deployFunction(nc, loadValidFunction(dir), { keysDir: path.join(work, 'keys') });
    try {
      const r = await nexfn('test', fn.dir, '--remote', '--server', server.url, '--timeout', '1500');
      assert.match(r.stdout, /\n {2}- remote\.json › node reply skipped: another deployed workload also serves shout\.node: catchall \(via shout\.node on [^)]+\); its reply could be the one that arrives, so the case would not test shout\n/);
      assert.doesNotMatch(r.stdout, /[✔✖] remote\.json › node reply/, 'the case did not run');
      assert.match(r.stdout, /✔ remote\.json › fails on empty/, 'the other cases ran');
      assert.match(r.stdout, /\n2 passed, 1 failed, 1 skipped\n$/);
    } finally {
      await nexfn('stop', 'catchall', '--server', server.url, '--keys', path.join(work, 'keys'));
    }
    assert.ok(other.workloadId);
  });
});
