/**
 * nexfn deploy, trigger, stop, logs, events and record, driven through `main` as a user runs them,
 * against a local Nex node on a real nats-server.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { NatsConnection } from '@nats-io/nats-core';
import { LocalNexNode } from '../../src/devnode/localNode';
import { parseTriggerFile } from '../../src/triggers/triggerCases';
import type { NatsServerHandle } from '../support/natsServer';
import { startNexfn } from '../support/nexfn';
import { LocalNodeFixture, startLocalNodeFixture } from '../support/localNodeFixture';
import { waitFor } from '../support/waits';

const cli = startNexfn;

describe('nexfn deploy, trigger, stop, logs, events and record', function () {
  this.timeout(60000);
  let fixture: LocalNodeFixture;
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let node: LocalNexNode;
  let work: string;
  let fnDir: string;
  let keys: string;
  let conn: string[];

  before(async () => {
    fixture = await startLocalNodeFixture('nex-deploy-cli-');
    ({ server, nc, node, work } = fixture);
    keys = path.join(work, 'keys');
    fnDir = path.join(work, 'shout');
    fs.mkdirSync(fnDir);
    fs.writeFileSync(path.join(fnDir, 'shout.js'), '(subject, payload) => String.fromCharCode(...payload).toUpperCase();');
    fs.writeFileSync(path.join(fnDir, 'nexfunction.json'), JSON.stringify({ name: 'shout', type: 'v8', source: 'shout.js', triggers: ['shout.>'], env: { TOKEN: 'cli-secret-value' } }));
    conn = ['-s', server.url];
  });
  after(() => fixture?.stop());

  it('deploys (keys made with a line saying so), triggers, previews and stops', async () => {
    const deploy = cli(['deploy', fnDir, ...conn, '--keys', keys]);
    await deploy.done;
    assert.strictEqual(deploy.out.code, 0, deploy.out.stderr);
    assert.match(deploy.out.stdout, new RegExp(`^deployed shout to node ${node.nodeId} \\(Nex 0\\.2\\.7\\) in the namespace default as workload [0-9a-v]{20}\\n$`));
    assert.match(deploy.out.stderr, /created the issuer account key .*issuer\.nk/);
    assert.match(deploy.out.stderr, /created the publisher curve key .*publisher\.xk/);
    assert.ok(fs.existsSync(path.join(keys, 'issuer.nk')));

    const trigger = cli(['trigger', 'shout.now', ...conn, '--payload', 'hi']);
    await trigger.done;
    assert.strictEqual(trigger.out.code, 0, trigger.out.stderr);
    assert.strictEqual(trigger.out.stdout, '"HI"', 'the reply as the node sends it, nothing else on stdout');
    assert.match(trigger.out.stderr, /^reply from shout\.now: 4 bytes in \S+/);

    const fromFile = path.join(work, 'payload.bin');
    fs.writeFileSync(fromFile, 'file');
    const triggerFile = cli(['trigger', 'shout.file', ...conn, '--payload-file', fromFile]);
    await triggerFile.done;
    assert.strictEqual(triggerFile.out.stdout, '"FILE"');

    const dry = cli(['deploy', fnDir, ...conn, '--keys', keys, '--dry-run']);
    await dry.done;
    assert.strictEqual(dry.out.code, 0, dry.out.stderr);
    const preview = JSON.parse(dry.out.stdout);
    assert.deepStrictEqual(preview.environment.names, ['TOKEN']);
    assert.strictEqual(preview.replaces.length, 1, 'the running shout would be replaced');
    assert.ok(!dry.out.stdout.includes('cli-secret-value') && !dry.out.stderr.includes('cli-secret-value'), 'env values hidden');
    assert.match(dry.out.stderr, /dry run: nothing was uploaded, stopped or deployed/);

    const redeploy = cli(['deploy', path.join(fnDir, 'nexfunction.json'), ...conn, '--keys', keys, '--node', node.nodeId]);
    await redeploy.done;
    assert.strictEqual(redeploy.out.code, 0, redeploy.out.stderr);
    assert.match(redeploy.out.stdout, /, replacing [0-9a-v]{20}\n$/);
    assert.doesNotMatch(redeploy.out.stderr, /created the/, 'the keys are reused');

    const stop = cli(['stop', 'shout', ...conn, '--keys', keys]);
    await stop.done;
    assert.strictEqual(stop.out.code, 0, stop.out.stderr);
    assert.match(stop.out.stdout, new RegExp(`^stopped shout \\([0-9a-v]{20}\\) on node ${node.nodeId} in the namespace default\\n$`));

    const gone = cli(['trigger', 'shout.now', ...conn, '--payload', 'hi', '--timeout', '2000']);
    await gone.done;
    assert.strictEqual(gone.out.code, 1);
    assert.match(gone.out.stderr, /^nexfn trigger: no function is subscribed to shout\.now/);
    const again = cli(['stop', 'shout', ...conn, '--keys', keys]);
    await again.done;
    assert.strictEqual(again.out.code, 1);
    assert.match(again.out.stderr, /^nexfn stop: no workload named "shout" or with that id runs in the namespace "default"/);
  });

  it('says what is wrong with the command line (exit code 2) and with the node (exit code 1)', async () => {
    const nowhere = cli(['deploy', path.join(work, 'nothing-here'), ...conn]);
    await nowhere.done;
    assert.strictEqual(nowhere.out.code, 2);
    assert.match(nowhere.out.stderr, /^nexfn deploy: .*nothing-here: no nexfunction\.json here or in the parent folder/);
    const both = cli(['trigger', 'x', ...conn, '--payload', 'a', '--payload-file', 'b']);
    await both.done;
    assert.strictEqual(both.out.code, 2);
    const noEnd = cli(['record', 'x', ...conn, '--out', path.join(work, 'x.json')]);
    await noEnd.done;
    assert.strictEqual(noEnd.out.code, 2);
    assert.match(noEnd.out.stderr, /say when recording ends/);
    const noNode = cli(['deploy', fnDir, ...conn, '--keys', keys, '--node', 'NNOSUCHNODE']);
    await noNode.done;
    assert.strictEqual(noNode.out.code, 1);
    assert.match(noNode.out.stderr, /^nexfn deploy: no Nex node answers on \$NEX\.PING\.NNOSUCHNODE/);
  });

  it('follows logs and events until stopped', async () => {
    const deploy = cli(['deploy', fnDir, ...conn, '--keys', keys]);
    await deploy.done;
    assert.strictEqual(deploy.out.code, 0, deploy.out.stderr);
    const logs = cli(['logs', 'shout', ...conn]);
    const events = cli(['events', ...conn]);
    await waitFor('logs and events to start', () => /following the logs of shout/.test(logs.out.stderr) && /following the events/.test(events.out.stderr));
    await nc.request('shout.log', 'x', { timeout: 5000 });
    await waitFor('a log line', () => /INFO  calling js function via trigger subject: shout\.log/.test(logs.out.stdout));
    await waitFor('an event', () => / function_exec_succeeded default /.test(events.out.stdout));
    logs.stop();
    events.stop();
    await Promise.all([logs.done, events.done]);
    assert.strictEqual(logs.out.code, 0, logs.out.stderr);
    assert.strictEqual(events.out.code, 0, events.out.stderr);
    assert.match(logs.out.stdout, /^\d\d:\d\d:\d\d\.\d{3} INFO  calling js function/m);
  });

  it('records requests and their replies as trigger cases, appending to an existing file', async () => {
    const file = path.join(fnDir, 'triggers', 'recorded.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{\n  "cases": [\n    {"name": "kept", "subject": "shout.kept", "payload": "k"}\n  ]\n}\n');
    const record = cli(['record', 'shout.>', '--count', '3', '--seconds', '20', '--out', file, ...conn]);
    await waitFor('recording to start', () => /recording shout\.> until 3 messages or 20 s/.test(record.out.stderr));
    assert.strictEqual((await nc.request('shout.one', 'abc', { timeout: 5000 })).string(), '"ABC"');
    assert.strictEqual((await nc.request('shout.two', '{"a":1}', { timeout: 5000 })).string(), '"{\\"A\\":1}"');
    nc.publish('shout.three', 'fire and forget');
    await record.done;
    assert.strictEqual(record.out.code, 0, record.out.stderr);
    assert.match(record.out.stdout, /added 3 trigger case\(s\) to .*recorded\.json \(2 with the reply they got\)/);
    const parsed = parseTriggerFile(file, fs.readFileSync(file, 'utf8'));
    assert.deepStrictEqual(parsed.problems, []);
    assert.deepStrictEqual(
      parsed.cases.map((c) => [c.name, c.subject, c.payload, c.expect]),
      [
        ['kept', 'shout.kept', 'k', undefined],
        ['shout.one #1', 'shout.one', 'abc', { reply: '"ABC"' }],
        ['shout.two #1', 'shout.two', { json: { a: 1 } }, { reply: '"{\\"A\\":1}"' }],
        ['shout.three #1', 'shout.three', 'fire and forget', undefined],
      ],
    );

    const more = cli(['record', 'shout.one', '--count', '1', '--out', file, ...conn]);
    await waitFor('recording to start', () => /recording shout\.one/.test(more.out.stderr));
    await nc.request('shout.one', 'again', { timeout: 5000 });
    await more.done;
    assert.strictEqual(more.out.code, 0, more.out.stderr);
    const names = parseTriggerFile(file, fs.readFileSync(file, 'utf8')).cases.map((c) => c.name);
    assert.deepStrictEqual(names, ['kept', 'shout.one #1', 'shout.two #1', 'shout.three #1', 'shout.one #2'], 'appended under a name not yet taken');

    const notCases = path.join(work, 'not-cases.json');
    fs.writeFileSync(notCases, '[1, 2]');
    const refused = cli(['record', 'shout.one', '--count', '1', '--out', notCases, ...conn]);
    await refused.done;
    assert.strictEqual(refused.out.code, 2, 'refused before recording anything');
    assert.match(refused.out.stderr, /^nexfn record: --out: .*not-cases\.json is not a trigger case file .*: it was left as it is/);
    assert.strictEqual(fs.readFileSync(notCases, 'utf8'), '[1, 2]');
  });
});
