/**
 * Deploying to Nex 0.4 (src/deploy/deploy04.ts, nexfn deploy/stop/clone/lameduck): against the local
 * node in 0.4.1 mode with the functions nexlet (LocalNodeHost), on a real nats-server. Deploy,
 * redeploy (deploy-then-stop, no request lost meanwhile), instances, nobody bidding, a start request
 * refused before it is sent, a sealed environment, stop, clone and lame duck; the generation rule.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { connect } from '@nats-io/transport-node';
import { nuid, type NatsConnection } from '@nats-io/nats-core';
import { loadValidFunction } from '../../src/core/manifest';
import { chooseGeneration, cloneWorkload04, deployFunction04, lameDuck04, stopWorkloads04 } from '../../src/deploy/deploy04';
import { LocalNexNode } from '../../src/devnode/localNode';
import { LocalNodeHost } from '../../src/devnode/localNodeHost';
import { Nex04Client } from '../../src/nex04/client04';
import type { FunctionStartRequest } from '../../src/nex04/functionStartRequest';
import { control04 } from '../../src/nex04/subjects';
import type { StartWorkloadRequest, WorkloadSummary } from '../../src/nex04/types';
import { runNexfn } from '../support/nexfn';
import { buildWat, tempDir } from '../support/wasmFixtures';

describe('chooseGeneration: Nex 0.4 or 0.2/0.3 for a deploy', () => {
  it('follows --nex-version, then the manifest, then who answers', () => {
    const g = (input: Parameters<typeof chooseGeneration>[0]) => chooseGeneration(input).generation;
    assert.strictEqual(g({ requested: '0.4', legacyNodes: 3, nodes04: 0 }), '0.4');
    assert.strictEqual(g({ requested: '0.3', legacyNodes: 0, nodes04: 2 }), '0.2/0.3');
    assert.strictEqual(g({ manifestNodeVersion: '0.4', legacyNodes: 1, nodes04: 0 }), '0.4');
    assert.strictEqual(g({ manifestNodeVersion: '0.3', legacyNodes: 0, nodes04: 1 }), '0.4', 'a 0.2/0.3 format in the manifest forces nothing');
    assert.strictEqual(g({ legacyNodes: 0, nodes04: 1 }), '0.4');
    assert.strictEqual(g({ legacyNodes: 1, nodes04: 0 }), '0.2/0.3');
    assert.strictEqual(g({ legacyNodes: 0, nodes04: 0 }), '0.2/0.3', 'nobody answers: the 0.2/0.3 path says so, as before');
    const both = chooseGeneration({ legacyNodes: 1, nodes04: 2 });
    assert.strictEqual(both.generation, '0.2/0.3');
    assert.match(both.note ?? '', /both Nex 0\.2\/0\.3 nodes \(1\) and Nex 0\.4 nodes \(2\) answer.*--nex-version 0\.4/);
    assert.strictEqual(chooseGeneration({ legacyNodes: 0, nodes04: 1 }).note, undefined);
  });
});

describe('deploying functions to a Nex 0.4.1 node through the functions nexlet', function () {
  this.timeout(90000);
  let host: LocalNodeHost;
  let nc: NatsConnection;
  let work: string;
  let conn: string[];

  /** A function folder: its manifest and files. */
  const functionDir = (name: string, manifest: Record<string, unknown>, files: Record<string, string | Uint8Array>): string => {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      fs.writeFileSync(path.join(dir, file), content);
    }
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name, ...manifest }));
    return dir;
  };
  const jsFunction = (name: string, body: string, extra: Record<string, unknown> = {}) => functionDir(name, { type: 'v8', source: `${name}.js`, triggers: [`${name}.*`], ...extra }, { [`${name}.js`]: body });
  const listed = async (namespace = 'default'): Promise<WorkloadSummary[]> => {
    const ping = await new Nex04Client(nc).workloads(namespace, { expectedAnswers: 1 });
    assert.deepStrictEqual(ping.problems, []);
    return ping.answers.flatMap((a) => a.workloads);
  };
  const idsOf = async (name: string) => (await listed()).filter((w) => w.name === name).map((w) => w.id).sort();
  /** Requests until every id in `ids` answered (at most `max` requests): the ids that answered. */
  const answering = async (subject: string, ids: readonly string[], max = 200): Promise<Set<string>> => {
    const seen = new Set<string>();
    for (let i = 0; i < max && ids.some((id) => !seen.has(id)); i++) {
      const reply = await nc.request(subject, 'x', { timeout: 5000 });
      seen.add(reply.headers?.get('workload_id') ?? '');
    }
    return seen;
  };

  before(async () => {
    work = tempDir('nex-deploy04-');
    host = await LocalNodeHost.start({ stateDir: path.join(work, 'state'), nats: { start: {} }, config: { emulate: '0.4.1', nodeName: 'n04' } });
    nc = await connect({ servers: host.natsUrl });
    conn = ['-s', host.natsUrl];
  });
  after(async () => {
    await nc?.close();
    await host?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('deploys a function by auction: it answers its trigger, WPING lists it, and the result says it replaced nothing', async () => {
    const dir = jsFunction('greet', '(subject, payload) => ({ v: 1, hello: String.fromCharCode(...payload) });');
    const steps: string[] = [];
    const result = await deployFunction04(nc, loadValidFunction(dir), { onProgress: (s) => steps.push(s) });
    assert.strictEqual(result.namespace, 'default');
    assert.strictEqual(result.started.length, 1);
    assert.strictEqual(result.started[0].name, 'greet');
    assert.deepStrictEqual(result.replaced, []);
    assert.match(result.strategy, /^a fresh deploy: no workload named greet runs in the namespace default/);
    assert.strictEqual(result.uploaded, true);
    assert.deepStrictEqual({ ...result.request, run_request: '' }, { description: '', name: 'greet', namespace: 'default', run_request: '', tags: {}, workload_lifecycle: 'function', workload_type: 'v8' });
    assert.ok(steps.some((s) => /auction for a v8 function/.test(s)), steps.join('\n'));

    const reply = await nc.request('greet.a', 'Ada', { timeout: 10000 });
    assert.deepStrictEqual(reply.json(), { v: 1, hello: 'Ada' });
    assert.strictEqual(reply.headers?.get('workload_id'), result.started[0].id);
    assert.deepStrictEqual(await idsOf('greet'), [result.started[0].id]);
  });

  it('a redeploy starts the new instance before it stops the old one: no request is lost meanwhile', async () => {
    const [oldId] = await idsOf('greet');
    assert.ok(oldId);
    const dir = jsFunction('greet', '(subject, payload) => ({ v: 2, hello: String.fromCharCode(...payload) });');
    let deploying = true;
    const counts = { v1: 0, v2: 0, failed: [] as string[] };
    const loop = async () => {
      while (deploying) {
        try {
          const v = (await nc.request('greet.loop', 'x', { timeout: 5000 })).json<{ v: number }>().v;
          counts[v === 1 ? 'v1' : 'v2']++;
        } catch (e) {
          counts.failed.push((e as Error).message);
        }
      }
    };
    const loops = Array.from({ length: 8 }, loop);
    let result;
    try {
      result = await deployFunction04(nc, loadValidFunction(dir));
    } finally {
      // A few more requests once the old one stopped: they must reach the new one.
      const settled = counts.v1 + counts.v2 + 30;
      while (counts.v1 + counts.v2 + counts.failed.length < settled && counts.failed.length === 0) {
        await new Promise((r) => setTimeout(r, 10));
      }
      deploying = false;
      await Promise.all(loops);
    }
    assert.deepStrictEqual(counts.failed, [], `requests lost during the redeploy (${counts.v1} from v1, ${counts.v2} from v2)`);
    assert.ok(counts.v1 > 0 && counts.v2 > 0, `both versions answered during the overlap: ${JSON.stringify(counts)}`);
    assert.deepStrictEqual(result.replaced, [{ id: oldId, stopped: true, message: '' }]);
    assert.match(result.strategy, /^deploy-then-stop: .*queue group named after the workload.*kept serving/);
    assert.deepStrictEqual(await idsOf('greet'), [result.started[0].id], 'the old id is gone from WPING');
    assert.deepStrictEqual((await nc.request('greet.b', 'Bo', { timeout: 5000 })).json(), { v: 2, hello: 'Bo' });
  });

  it('deploy.instances 2 starts two instances that both serve the triggers', async () => {
    const dir = jsFunction('pair', '(subject, payload) => "pong";', { deploy: { instances: 2 } });
    const result = await deployFunction04(nc, loadValidFunction(dir));
    assert.strictEqual(result.started.length, 2);
    const ids = result.started.map((s) => s.id).sort();
    assert.deepStrictEqual(await idsOf('pair'), ids);
    assert.deepStrictEqual([...(await answering('pair.ping', ids))].sort(), ids, 'both instances answered');
    // A redeploy with one instance replaces both.
    const again = await deployFunction04(nc, loadValidFunction(dir), { instances: 1 });
    assert.deepStrictEqual(again.replaced.map((r) => [r.id, r.stopped]).sort(), ids.map((id) => [id, true]));
    assert.deepStrictEqual(await idsOf('pair'), [again.started[0].id]);
  });

  it('says which nexlet is missing when nobody bids (tags no node has)', async () => {
    const dir = jsFunction('lonely', '() => 1;', { deploy: { tags: { team: 'nobody' } } });
    await assert.rejects(deployFunction04(nc, loadValidFunction(dir)), (e: Error) => {
      assert.match(e.message, /^no functions nexlet is registered for "v8" on a Nex 0\.4 node with tags team=nobody: start one with nexfn nexlet \(1 Nex 0\.4 node answers PING \(n04\); none with those tags\)$/);
      return true;
    });
    assert.deepStrictEqual(await idsOf('lonely'), []);
  });

  it('refuses a start request that does not fit the bid\'s schema before anything is sent, naming the field', async () => {
    const dir = jsFunction('slow', '() => 1;', { limits: { timeoutMs: 400000 } });
    const spy = await connect({ servers: host.natsUrl });
    try {
      const seen: string[] = [];
      const marker = `marker${nuid.next()}`;
      let markerSeen: () => void = () => undefined;
      const gotMarker = new Promise<void>((resolve) => (markerSeen = resolve));
      spy.subscribe('$NEX.SVC.*.control.ADEPLOY.>', {
        callback: (_e: unknown, msg: { subject: string }) => {
          seen.push(msg.subject);
          if (msg.subject.endsWith(marker)) markerSeen();
        },
      });
      await spy.flush();
      await assert.rejects(deployFunction04(nc, loadValidFunction(dir)), (e: Error) => {
        assert.match(e.message, /^the start request does not fit the schema of the v8 nexlet that bid, so it was not sent \(.*nexfunction\.json\): \/limits\/timeout_ms: maximum: got 400000, want 300000 \(the manifest's limits\.timeoutMs\)$/);
        return true;
      });
      // Published after the deploy gave up, on the same connection: the spy sees it after any ADEPLOY the deploy sent.
      nc.publish(control04.deploy('default', marker), '{}');
      await gotMarker;
      assert.deepStrictEqual(seen, [control04.deploy('default', marker)], 'no ADEPLOY was sent');
    } finally {
      await spy.close();
    }
  });

  it('seals the environment to the bid\'s xkey: the WebAssembly function sees it, the request holds no plain value, a clone still opens it', async () => {
    const wasm = fs.readFileSync(await buildWat('env', work));
    const dir = functionDir('envdump', { type: 'wasm', artifact: 'env.wasm', triggers: ['envdump'], env: { SECRET_TOKEN: 's3cr3t-value' } }, { 'env.wasm': wasm });
    const result = await deployFunction04(nc, loadValidFunction(dir));
    const start = JSON.parse(result.request.run_request) as FunctionStartRequest;
    assert.strictEqual(start.environment, undefined, 'no plain environment');
    assert.match(start.sealed_environment?.sender_xkey ?? '', /^X[A-Z2-7]{55}$/);
    assert.doesNotMatch(result.request.run_request, /s3cr3t-value/);
    assert.deepStrictEqual(result.environment, { names: ['SECRET_TOKEN'], sealedTo: host.nexlet!.xkey.getPublicKey() });
    const reply = await nc.request('envdump', '', { timeout: 10000 });
    assert.ok(reply.string().split('\0').includes('SECRET_TOKEN=s3cr3t-value'), JSON.stringify(reply.string()));

    const copy = await cloneWorkload04(nc, result.started[0].id, { namespace: 'default' });
    assert.notStrictEqual(copy.id, result.started[0].id);
    assert.deepStrictEqual([...(await answering('envdump', [result.started[0].id, copy.id]))].sort(), [result.started[0].id, copy.id].sort());
    for (let i = 0; i < 5; i++) {
      assert.ok((await nc.request('envdump', '', { timeout: 10000 })).string().includes('SECRET_TOKEN=s3cr3t-value'));
    }
  });

  it('clones a workload to the same node (by its name): a second workload that answers; an unknown id is a clear error', async () => {
    const [id] = await idsOf('greet');
    const copy = await cloneWorkload04(nc, id, { namespace: 'default', nodeName: 'n04', tags: { 'nex.local': 'true' } });
    assert.strictEqual(copy.name, 'greet');
    const ids = [id, copy.id].sort();
    assert.deepStrictEqual(await idsOf('greet'), ids);
    assert.deepStrictEqual((await listed()).find((w) => w.id === copy.id)?.tags, { 'nex.local': 'true', 'nex.node': 'n04' }, 'the copy carries the target tags');
    assert.deepStrictEqual([...(await answering('greet.c', ids))].sort(), ids);
    await assert.rejects(cloneWorkload04(nc, 'nosuchworkload', { namespace: 'default' }), /^Error: no workload with the id nosuchworkload runs in the namespace default \(WPING on 1 Nex 0\.4 node\)$/);
    await assert.rejects(cloneWorkload04(nc, 'greet', { namespace: 'default' }), /greet is the name of .*: clone takes a workload id/);
  });

  it('stops every workload of a name (reported stopped); an unknown one is reported not stopped, in the node\'s words', async () => {
    const ids = await idsOf('greet');
    assert.strictEqual(ids.length, 2);
    const stopped = await stopWorkloads04(nc, 'greet', { namespace: 'default' });
    assert.deepStrictEqual(stopped.map((s) => [s.id, s.name, s.stopped]).sort(), ids.map((id) => [id, 'greet', true]));
    assert.deepStrictEqual(await idsOf('greet'), []);
    await assert.rejects(nc.request('greet.gone', 'x', { timeout: 2000 }), /no responders|503/i);
    assert.deepStrictEqual(await stopWorkloads04(nc, 'nosuchworkload', { namespace: 'default' }), [{ id: 'nosuchworkload', name: '', stopped: false, message: 'workload not found' }]);
  });

  it('nexfn deploy (only 0.4 nodes answer), --dry-run, stop, clone', async () => {
    const dir = jsFunction('shout', '(subject, payload) => String.fromCharCode(...payload).toUpperCase();', { env: { LEVEL: 'loud' } });
    const dry = await runNexfn(['deploy', dir, ...conn, '--dry-run']);
    assert.strictEqual(dry.code, 0, dry.stderr);
    const body = JSON.parse(dry.stdout) as StartWorkloadRequest;
    assert.deepStrictEqual(Object.keys(body), ['description', 'name', 'namespace', 'run_request', 'tags', 'workload_lifecycle', 'workload_type']);
    const start = JSON.parse(body.run_request) as FunctionStartRequest;
    assert.deepStrictEqual(start.triggers, ['shout.*']);
    assert.ok(start.sealed_environment && !start.environment && !body.run_request.includes('loud'));
    assert.match(dry.stderr, /dry run: the ADEPLOY body for \$NEX\.SVC\.default\.control\.ADEPLOY\.\S+; the environment \(LEVEL\) sealed to the nexlet's xkey X\w+; nothing was uploaded/);
    assert.deepStrictEqual(await idsOf('shout'), [], 'a dry run deploys nothing');

    const deployed = await runNexfn(['deploy', dir, ...conn]);
    assert.strictEqual(deployed.code, 0, deployed.stderr);
    const [id] = await idsOf('shout');
    assert.strictEqual(deployed.stdout, `deployed shout to Nex 0.4 in the namespace default as workload ${id}\n`);
    assert.match(deployed.stderr, /^a fresh deploy: no workload named shout runs/m);
    assert.strictEqual((await nc.request('shout.x', 'hey', { timeout: 5000 })).string(), 'HEY');

    const again = await runNexfn(['deploy', dir, ...conn, '--instances', '2']);
    assert.strictEqual(again.code, 0, again.stderr);
    const ids = await idsOf('shout');
    assert.strictEqual(ids.length, 2);
    assert.strictEqual(again.stdout, `deployed shout to Nex 0.4 in the namespace default as workload ${again.stdout.match(/workload (\S+, \S+)\n/)![1]}\nreplaced ${id} (stopped)\n`);
    assert.match(again.stderr, /^deploy-then-stop: the 2 new instances of shout start before the 1 old one/m);

    const clone = await runNexfn(['clone', ids[0], ...conn, '--node', 'n04', '--tag', 'nex.os=linux']);
    assert.strictEqual(clone.code, 0, clone.stderr);
    assert.match(clone.stdout, new RegExp(`^cloned shout \\(${ids[0]}\\) as workload (\\S+) in the namespace default\\n$`));
    assert.strictEqual((await idsOf('shout')).length, 3);

    const stop = await runNexfn(['stop', 'shout', ...conn]);
    assert.strictEqual(stop.code, 0, stop.stderr);
    assert.strictEqual(stop.stdout.split('\n').filter((l) => /^stopped shout \(\S+\) in the namespace default$/.test(l)).length, 3, stop.stdout);
    assert.deepStrictEqual(await idsOf('shout'), []);
    const unknown = await runNexfn(['stop', 'shout', ...conn]);
    assert.strictEqual(unknown.code, 1);
    assert.strictEqual(unknown.stdout, 'NOT stopped: shout in the namespace default: workload not found\n');

    const noClone = await runNexfn(['clone', 'nosuch', ...conn]);
    assert.strictEqual(noClone.code, 1);
    assert.match(noClone.stderr, /^nexfn clone: no workload with the id nosuch runs in the namespace default/);
    const badTag = await runNexfn(['clone', 'x', ...conn, '--tag', 'novalue']);
    assert.strictEqual(badTag.code, 2);
    assert.match(badTag.stderr, /--tag takes name=value/);
  });

  it('with a 0.2.7 node on the same NATS too, nexfn deploy goes to it and says --nex-version 0.4 reaches the 0.4 node', async () => {
    const legacyNc = await connect({ servers: host.natsUrl });
    const legacy = await LocalNexNode.start({ nc: legacyNc, stateDir: path.join(work, 'legacy'), config: { heartbeatMs: 60000 } });
    try {
      const dir = jsFunction('both', '() => "hi";');
      const dry = await runNexfn(['deploy', dir, ...conn, '--dry-run', '--keys', path.join(work, 'keys')]);
      assert.strictEqual(dry.code, 0, dry.stderr);
      assert.match(dry.stderr, /^note: both Nex 0\.2\/0\.3 nodes \(1\) and Nex 0\.4 nodes \(1\) answer: this goes to the 0\.2\/0\.3 ones; --nex-version 0\.4/m);
      assert.strictEqual(JSON.parse(dry.stdout).node.nodeId, legacy.nodeId, 'the 0.2/0.3 preview');
      const forced = await runNexfn(['deploy', dir, ...conn, '--dry-run', '--nex-version', '0.4']);
      assert.strictEqual(forced.code, 0, forced.stderr);
      assert.doesNotMatch(forced.stderr, /^note:/m);
      assert.strictEqual(JSON.parse(forced.stdout).workload_lifecycle, 'function', 'the ADEPLOY body');
    } finally {
      await legacy.stop();
      await legacyNc.close();
    }
  });

  it('puts the node in lame duck mode: the node\'s message, its PING says lameduck; then nexfn lameduck by name', async () => {
    const client = new Nex04Client(nc);
    await assert.rejects(lameDuck04(nc, 'n04', 'soon'), /^Error: the node refused LAMEDUCK of n04 \(error 400\): failed to parse lameduck delay: time: invalid duration "soon"$/);
    assert.strictEqual((await client.discover(500)).nodes[0].state, 'running');
    const message = await lameDuck04(nc, host.node.nodeId, '1h');
    assert.match(message, /^node entering lameduck mode, will shutdown at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const [node] = (await client.discover(500)).nodes;
    assert.strictEqual(node.state, 'lameduck');
    assert.strictEqual(node.tags['nex.lameduck'], 'true');
    const cli = await runNexfn(['lameduck', 'n04', ...conn, '--delay', '2h']);
    assert.strictEqual(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^n04: node entering lameduck mode, will shutdown at /);
    const unknown = await runNexfn(['lameduck', 'nosuchnode', ...conn]);
    assert.strictEqual(unknown.code, 1);
    assert.match(unknown.stderr, /^nexfn lameduck: no Nex node has the id or name "nosuchnode"; the nodes that answer: n04 \(N\w+, Nex 0\.4\.1\)/);
  });
});
