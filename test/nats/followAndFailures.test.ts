/**
 * A deployed function followed by name across redeploys (followFunctionLogs, `nexfn logs`), its
 * failures shown as soon as the node reports them (triggerFunction, `nexfn trigger`, remote cases),
 * remote cases run only against the function's own deployed workload (`nexfn test --remote`), and
 * the fidelity hint on a byte-array reply: against a local Nex node on a real nats-server.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { NatsConnection } from '@nats-io/nats-core';
import { deployFunction } from '../../src/deploy/deployFunction';
import { followFunctionLogs, watchEvents } from '../../src/deploy/followLogs';
import { FunctionFailedError, NODE_TRIGGER_TIMEOUT_MS, remoteReplyHints, triggerFunction } from '../../src/deploy/triggerFunction';
import { NexEvent } from '../../src/nex/events';
import { WorkloadLogLine } from '../../src/nex/logs';
import { loadValidFunction } from '../../src/core/manifest';
import { NexControlClient } from '../../src/nex/controlClient';
import { runTriggerCaseRemote } from '../../src/triggers/caseRunner';
import { loadTriggerFiles, TriggerCase } from '../../src/triggers/triggerCases';
import { LocalNodeFixture, startLocalNodeFixture } from '../support/localNodeFixture';
import { runNexfn, startNexfn } from '../support/nexfn';
import { waitFor } from '../support/waits';

/** Writes a function folder (manifest, source, trigger cases) under `root`. */
function writeFunction(root: string, manifest: Record<string, unknown>, source: string, cases: unknown[]): string {
  const dir = path.join(root, String(manifest.name));
  fs.mkdirSync(path.join(dir, 'triggers'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ type: 'v8', source: 'fn.js', ...manifest }, null, 2));
  fs.writeFileSync(path.join(dir, 'fn.js'), source);
  fs.writeFileSync(path.join(dir, 'triggers', 'cases.json'), JSON.stringify({ cases }, null, 2));
  return dir;
}

/** The function_exec_failed events of the namespace, as they arrive. */
async function failedEvents(nc: NatsConnection): Promise<{ events: NexEvent[]; stop: () => void }> {
  const events: NexEvent[] = [];
  const w = await watchEvents(nc, { onEvent: (e) => e.type === 'function_exec_failed' && events.push(e) });
  return { events, stop: () => w.stop() };
}

describe('deployed functions: logs across redeploys, failures as the node reports them, remote cases of deployed functions only', function () {
  this.timeout(60000);
  let fixture: LocalNodeFixture;
  let nc: NatsConnection;
  let ws: string;
  let keys: string;
  let conn: string[];
  const dirs: Record<string, string> = {};

  before(async () => {
    fixture = await startLocalNodeFixture('nex-follow-');
    nc = fixture.nc;
    ws = path.join(fixture.work, 'ws');
    keys = path.join(fixture.work, 'keys');
    conn = ['-s', fixture.server.url];
    dirs.greet = writeFunction(ws, { name: 'greet', triggers: ['greet.*'] }, '(subject, payload) => "hi " + String.fromCharCode(...payload);\n', [
      { name: 'greets', subject: 'greet.ada', payload: 'Ada', expect: { reply: '"hi Ada"' } },
    ]);
    dirs.boom = writeFunction(ws, { name: 'boom', triggers: ['boom.*'] }, '(subject, payload) => { throw new Error("boom on " + subject); };\n', [
      { name: 'fails', subject: 'boom.now', payload: 'x', expect: { error: 'boom on boom\\.now' } },
    ]);
    dirs.bytes = writeFunction(ws, { name: 'bytes', triggers: ['bytes.*'] }, '(subject, payload) => payload;\n', [
      { name: 'echoes', subject: 'bytes.hey', payload: 'hey', expect: { reply: { json: { 0: 104, 1: 101, 2: 121 } } } },
    ]);
    // Never deployed: their cases are skipped, not failed.
    dirs.counter = writeFunction(ws, { name: 'counter', triggers: ['counter.*'] }, '(subject, payload) => "1";\n', [{ name: 'counts', subject: 'counter.hit', payload: '', expect: { reply: '"1"' } }]);
    dirs.quote = writeFunction(ws, { name: 'quote', triggers: ['quote.*'], deploy: { namespace: 'quotes' } }, '(subject, payload) => "q";\n', [
      { name: 'quotes', subject: 'quote.get', payload: '', expect: { reply: '"q"' } },
    ]);
    for (const name of ['greet', 'boom', 'bytes']) {
      await deployFunction(nc, loadValidFunction(dirs[name]), { keysDir: keys });
    }
  });
  after(() => fixture?.stop());

  it('nexfn logs follows greet across a redeploy: "redeployed as <id>" on stderr, then the new workload\'s lines', async () => {
    const logs = startNexfn(['logs', 'greet', ...conn]);
    await waitFor('logs to start', () => /following the logs of greet \([0-9a-v]{20}\)/.test(logs.out.stderr));
    const oldId = /following the logs of greet \(([0-9a-v]{20})\)/.exec(logs.out.stderr)![1];
    const redeploy = await runNexfn(['deploy', dirs.greet, ...conn, '--keys', keys]);
    assert.strictEqual(redeploy.code, 0, redeploy.stderr);
    const newId = /as workload ([0-9a-v]{20}), replacing/.exec(redeploy.stdout)![1];
    assert.notStrictEqual(newId, oldId);
    await waitFor('the redeploy note', () => logs.out.stderr.includes(`greet redeployed as ${newId} on node ${fixture.node.nodeId}`));
    assert.strictEqual((await nc.request('greet.after', 'Bo', { timeout: 5000 })).string(), '"hi Bo"');
    await waitFor("the new workload's line", () => new RegExp(`INFO  ${newId} calling js function via trigger subject: greet\\.after`).test(logs.out.stdout));
    logs.stop();
    await logs.done;
    assert.strictEqual(logs.out.code, 0, logs.out.stderr);
    assert.doesNotMatch(logs.out.stdout, /redeployed/, 'status lines go to stderr');
  });

  it('followFunctionLogs learns a new workload from its deploy event and from 0.2 log subjects, and announces it once', async () => {
    const lines: WorkloadLogLine[] = [];
    const announced: string[] = [];
    const follower = await followFunctionLogs(nc, { name: 'greet', client: new NexControlClient(nc), onLine: (l) => lines.push(l), onRedeployed: (w, name) => announced.push(`${name} ${w.workloadId}`) });
    assert.strictEqual(follower.initial.length, 1);
    const again = await deployFunction(nc, loadValidFunction(dirs.greet), { keysDir: keys });
    await nc.request('greet.core', 'Cy', { timeout: 5000 });
    await waitFor('a line of the new workload', () => lines.some((l) => l.workloadId === again.workloadId && /greet\.core/.test(l.text)));
    follower.stop();
    assert.deepStrictEqual(announced, [`greet ${again.workloadId}`], 'announced once, before its lines');
    assert.deepStrictEqual(
      follower.workloads.map((w) => w.workloadId),
      [follower.initial[0].workloadId, again.workloadId],
    );
  });

  it("a failing function: triggerFunction ends with the node's function_exec_failed error as soon as it arrives, not with the 10 s timeout", async () => {
    const watched = await failedEvents(nc);
    const started = performance.now();
    const error = await triggerFunction(nc, 'boom.fast', new TextEncoder().encode('x'), { workloadName: 'boom' }).then(
      () => assert.fail('boom replied'),
      (e: Error) => e,
    );
    const elapsed = performance.now() - started;
    await waitFor('the event', () => watched.events.length > 0);
    watched.stop();
    assert.ok(error instanceof FunctionFailedError, `not the node's failure: ${error.name}: ${error.message}`);
    assert.strictEqual(error.nodeError, watched.events[0].data.error, "the event's error, verbatim");
    assert.match(error.nodeError, /boom on boom\.fast/);
    assert.match(error.message, /^boom failed on node N[A-Z2-7]+ \(function_exec_failed on boom\.\*\): .*boom on boom\.fast/);
    assert.ok(elapsed < NODE_TRIGGER_TIMEOUT_MS, `before the request timeout fired (${elapsed.toFixed(0)} ms)`);
    assert.ok(error.afterMs <= elapsed);
  });

  it("nexfn trigger prints the node's failure text (exit code 1) as soon as the node reports it", async () => {
    const watched = await failedEvents(nc);
    const started = performance.now();
    const r = await runNexfn(['trigger', 'boom.cli', ...conn, '--payload', 'x']);
    const elapsed = performance.now() - started;
    await waitFor('the event', () => watched.events.length > 0);
    watched.stop();
    assert.strictEqual(r.code, 1);
    assert.strictEqual(r.stdout, '');
    assert.ok(r.stderr.startsWith('nexfn trigger: boom failed on node '), r.stderr);
    assert.ok(r.stderr.includes(String(watched.events[0].data.error)), `the event's error verbatim: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /no reply/);
    assert.ok(elapsed < NODE_TRIGGER_TIMEOUT_MS, `before the request timeout fired (${elapsed.toFixed(0)} ms)`);
  });

  it("a remote case ends on the node's failure, and its error expectation is checked against the node's text", async () => {
    const cases = Object.fromEntries(loadTriggerFiles(loadValidFunction(dirs.boom)).flatMap((f) => f.cases).map((c) => [c.name, c])) as Record<string, TriggerCase>;
    const passed = await runTriggerCaseRemote(nc, cases.fails, { workloadName: 'boom' });
    assert.strictEqual(passed.status, 'passed', passed.failures.join('\n'));
    assert.deepStrictEqual(passed.warnings, [], 'the message was checked: no "checked only locally" warning');
    assert.match(passed.remote!.error!, /boom on boom\.now/);
    assert.strictEqual(passed.remote!.reply, null);
    assert.ok(passed.durationMs < NODE_TRIGGER_TIMEOUT_MS, `before the request timeout fired (${passed.durationMs.toFixed(0)} ms)`);

    const mismatch = await runTriggerCaseRemote(nc, { ...cases.fails, expect: { error: 'something else' } }, { workloadName: 'boom' });
    assert.strictEqual(mismatch.status, 'failed');
    assert.match(mismatch.failures[0], /^the node's error does not match \/something else\/: .*boom on boom\.now/);

    const failed = await runTriggerCaseRemote(nc, { ...cases.fails, subject: 'boom.reply', expect: { reply: 'ok' } }, { workloadName: 'boom' });
    assert.strictEqual(failed.status, 'failed');
    assert.match(failed.failures[0], /^expected a reply, but the node reported the function failing: boom failed on node .*boom on boom\.reply/);
    assert.deepStrictEqual([failed.expected, failed.actual], ['ok', '(no reply)']);
    assert.ok(failed.durationMs < NODE_TRIGGER_TIMEOUT_MS);
  });

  it('nexfn test --remote runs cases only of deployed functions, skipping the others (not a failure), with the byte-reply hint', async () => {
    const junit = path.join(fixture.work, 'junit.xml');
    const r = await runNexfn(['test', ws, '--remote', ...conn, '--junit', junit]);
    assert.strictEqual(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /- cases\.json › counts skipped: not deployed in namespace default: no node runs a workload named counter there\n/);
    assert.match(r.stdout, /- cases\.json › quotes skipped: not deployed in namespace quotes: no node runs a workload named quote there\n/);
    assert.doesNotMatch(r.stdout, /no function is subscribed/);
    assert.match(r.stdout, /✔ cases\.json › greets/);
    assert.match(r.stdout, /✔ cases\.json › fails \(/);
    assert.match(r.stdout, /✔ cases\.json › echoes \(.*\n {6}⚠ the function probably returned a Uint8Array \(the 3 bytes of "hey"\): Nex 0\.2 JSON-stringifies the return value: this Uint8Array becomes \{"0":104,"1":101,"2":121\}/);
    assert.match(r.stdout, /\n3 passed, 0 failed, 2 skipped\n$/);
    const xml = fs.readFileSync(junit, 'utf8');
    assert.match(xml, /<testsuites name="nexfn test" tests="5" failures="0" errors="0" skipped="2"/);
    assert.match(xml, /<testcase classname="counter\/cases\.json" name="counts"[^>]*>\s*<skipped message="not deployed in namespace default: no node runs a workload named counter there"\/>/);
  });

  it('remoteReplyHints: only a JSON object of byte values under the keys 0, 1, 2… in order', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    assert.match(remoteReplyHints(enc('{"0":104,"1":105}'), '0.3.0')[0].message, /^the function probably returned a Uint8Array \(the 2 bytes of "hi"\): Nex 0\.3 JSON-stringifies/);
    assert.match(remoteReplyHints(enc('{"0":0,"1":255}'))[0].message, /^the function probably returned a Uint8Array \(2 bytes\): a Nex 0\.2\/0\.3 node JSON-stringifies the return value/);
    assert.strictEqual(remoteReplyHints(enc('{"0":104,"1":105}'))[0].code, 'reply-bytes');
    for (const text of ['{"1":104}', '{"0":104,"2":105}', '{"0":256}', '{"0":"a"}', '{}', '[104]', '"hi"', 'hi', '{"a":1}']) {
      assert.deepStrictEqual(remoteReplyHints(enc(text)), [], text);
    }
  });
});
