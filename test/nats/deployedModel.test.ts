/**
 * The deployed model (src/explorer/deployedModel) against two local Nex nodes (0.2.7 and 0.3.0) on
 * a real nats-server: what it lists, how it follows deploys, stops (0.2.7 publishes no event for
 * one), nodes coming and going, heartbeats, unreadable answers, a storm of events, its periodic
 * re-read's backoff and a restart of the server.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { connect } from '@nats-io/transport-node';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { loadValidFunction, ValidFunction } from '../../src/core/manifest';
import { deployFunction } from '../../src/deploy/deployFunction';
import { stopWorkloads } from '../../src/deploy/stopWorkloads';
import { DEPLOY_RECORDS_BUCKET, deleteDeployRecord, type DeployRecord, parseDeployRecord, writeDeployRecord } from '../../src/deploy/deployRecords';
import { Kvm } from '@nats-io/kv';
import { loadPublisherKeys } from '../../src/deploy/publisherKeys';
import { LocalNexNode } from '../../src/devnode/localNode';
import { cloudEvent, eventSubject, SYSTEM_NAMESPACE } from '../../src/devnode/nodeEvents';
import { DeployedModel, DeployedModelOptions, DeployedSnapshot, NodeView } from '../../src/explorer/deployedModel';
import { ENVELOPE_TYPES, failureEnvelope, goJson, successEnvelope } from '../../src/nex/controlApi';
import { NexControlClient } from '../../src/nex/controlClient';
import { tempDir } from '../support/wasmFixtures';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';
import { changeWhere, delay } from '../support/waits';

/** The node of a snapshot with that `node_name`. */
const nodeNamed = (s: DeployedSnapshot, name: string): NodeView | undefined => s.nodes.find((n) => n.name === name);
const workloadNames = (node: NodeView | undefined) => node?.workloads.map((w) => w.name);

/** A JavaScript function folder named `name`, triggered by `<name>.>`. */
function jsFunction(root: string, name: string): ValidFunction {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.js`), '(subject, payload) => subject;');
  fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name, type: 'v8', source: `${name}.js`, triggers: [`${name}.>`] }));
  return loadValidFunction(dir);
}

/** Counts the messages on a subject from now on. */
function countMessages(nc: NatsConnection, subject: string): { times: number[]; sub: Subscription } {
  const times: number[] = [];
  const sub = nc.subscribe(subject, {
    callback: () => {
      times.push(Date.now());
    },
  });
  return { times, sub };
}

describe('deployed model (src/explorer/deployedModel) against two local Nex nodes', function () {
  this.timeout(60000);
  let server: NatsServerHandle;
  let nodeNc: NatsConnection;
  let nc: NatsConnection;
  let one: LocalNexNode;
  let two: LocalNexNode;
  let root: string;
  let keysDir: string;
  const fns: Record<string, ValidFunction> = {};
  const dirs: string[] = [];
  const models: DeployedModel[] = [];
  const cleanups: Array<() => Promise<unknown> | void> = [];

  const newModel = (options: Partial<DeployedModelOptions> = {}) => {
    const model = new DeployedModel({ nc, discoveryWindowMs: 200, refreshMinMs: 60000, ...options });
    models.push(model);
    return model;
  };
  const startNode = async (name: string, connection: NatsConnection, config: Record<string, unknown>) => {
    const stateDir = tempDir(`nex-dm-${name}-`);
    dirs.push(stateDir);
    return LocalNexNode.start({ nc: connection, stateDir, config: { nodeName: name, heartbeatMs: 60000, ...config } });
  };
  const deploy = (name: string, node: LocalNexNode) => deployFunction(nc, fns[name], { nodeId: node.nodeId, keysDir });
  const stop = (name: string, node: LocalNexNode) => stopWorkloads(new NexControlClient(nc), name, { keys: loadPublisherKeys({ dir: keysDir }), nodeId: node.nodeId });
  /** A workload's deploy record as stored, or undefined. */
  const readRecord = async (workloadId: string): Promise<DeployRecord | undefined> => {
    const entry = await (await new Kvm(nc).open(DEPLOY_RECORDS_BUCKET)).get(workloadId);
    return entry && entry.operation === 'PUT' ? parseDeployRecord(entry.value) : undefined;
  };
  /** A heartbeat as `node` would publish it, with the fields given over its own. */
  const fakeHeartbeat = (node: LocalNexNode, data: Record<string, unknown>) =>
    nc.publish(eventSubject(SYSTEM_NAMESPACE, 'heartbeat'), goJson(cloudEvent('heartbeat', node.nodeId, { version: node.version, node_id: node.nodeId, nexus: 'nexus', uptime: '1s', tags: node.tags(), running_machines: node.workloads.length, ...data })));

  before(async () => {
    server = await startNatsServer();
    nodeNc = await connect({ servers: server.url, name: 'local-nodes', reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    nc = await connect({ servers: server.url, name: 'explorer', reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    root = tempDir('nex-dm-fns-');
    keysDir = path.join(root, 'keys');
    dirs.push(root);
    for (const name of ['echo', 'shout']) {
      fns[name] = jsFunction(root, name);
    }
    one = await startNode('one', nodeNc, { emulate: '0.2.7' });
    two = await startNode('two', nodeNc, { emulate: '0.3.0' });
    await deploy('echo', one);
  });
  afterEach(async () => {
    models.splice(0).forEach((m) => m.dispose());
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  after(async () => {
    await one?.stop();
    await two?.stop();
    await nc?.close();
    await nodeNc?.close();
    await server?.stop();
    dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
  });

  it('lists both nodes and their workloads, with the triggers they were deployed with (their deploy records)', async () => {
    const model = newModel();
    const s = await model.start();
    assert.strictEqual(s.namespace, 'default');
    assert.deepStrictEqual(s.namespaces, ['default']);
    assert.strictEqual(s.connection, 'connected');
    assert.deepStrictEqual(s.problems, []);
    assert.ok(s.refreshedAt && Date.parse(s.refreshedAt) <= Date.now());
    assert.deepStrictEqual(s.nodes.map((n) => [n.name, n.id, n.version, n.state, n.lameDuck]), [
      ['one', one.nodeId, '0.2.7', 'up', false],
      ['two', two.nodeId, '0.3.0', 'up', false],
    ]);
    const [first, second] = s.nodes;
    assert.strictEqual(first.xkey, one.identity.publicXKey);
    assert.deepStrictEqual(first.supportedTypes, ['v8', 'wasm']);
    assert.strictEqual(first.runningCount, 1);
    assert.strictEqual(first.tags.node_name, 'one');
    assert.ok(first.memory && first.memory.total > 0);
    assert.strictEqual(first.nexus, 'nexus');
    assert.strictEqual(first.problem, undefined);
    const [echo] = first.workloads;
    assert.deepStrictEqual(
      { name: echo.name, type: echo.type, namespace: echo.namespace, nodeId: echo.nodeId, triggers: echo.triggers },
      { name: 'echo', type: 'v8', namespace: 'default', nodeId: one.nodeId, triggers: ['echo.>'] },
    );
    assert.match(echo.id, /^[0-9a-v]{20}$/);
    assert.match(echo.hash, /^[0-9a-f]{64}$/);
    assert.match(echo.uptime, /^\d+s$/);
    assert.deepStrictEqual(second.workloads, []);

    assert.strictEqual(model.snapshot(), s, 'the same object until something changes');
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.nodes) && Object.isFrozen(first.workloads[0].triggers));
    assert.throws(() => (s.nodes as NodeView[]).push(first));
  });

  it('shows the triggers a workload was deployed with, never the manifest\'s after a change; "unknown" without a record, until one is written', async () => {
    const dir = path.join(root, 'later');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'later.js'), '(subject) => subject;');
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'later', type: 'v8', source: 'later.js', triggers: ['later.a'] }));
    const result = await deployFunction(nc, loadValidFunction(dir), { nodeId: one.nodeId, keysDir });
    cleanups.push(() => stop('later', one));
    assert.deepStrictEqual(result.triggers, ['later.a']);
    assert.strictEqual(result.recordProblem, undefined);
    // The manifest changes after the deploy: what runs still subscribes to later.a only.
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'later', type: 'v8', source: 'later.js', triggers: ['later.a', 'later.*.x'] }));
    const later = (x: DeployedSnapshot) => nodeNamed(x, 'one')?.workloads.find((w) => w.name === 'later');
    assert.deepStrictEqual(later(await newModel().start())?.triggers, ['later.a']);

    // Without its record (a workload deployed by another tool), the triggers are unknown: not guessed.
    const record = await readRecord(result.workloadId);
    await deleteDeployRecord(nc, result.workloadId);
    const model = newModel();
    const unknown = await model.start();
    assert.strictEqual(later(unknown)?.triggers, undefined);
    // A record written while the model runs reaches it through its watch, with no re-read.
    const known = changeWhere(model, 'later with its triggers again', (x) => later(x)?.triggers !== undefined);
    await writeDeployRecord(nc, record!);
    assert.deepStrictEqual(later(await known)?.triggers, ['later.a']);
  });

  it('reads every namespace it is given, each workload under its own; more can be added while it runs', async () => {
    const result = await deployFunction(nc, fns.shout, { nodeId: two.nodeId, keysDir, namespace: 'team-a' });
    cleanups.push(() => stopWorkloads(new NexControlClient(nc), 'shout', { keys: loadPublisherKeys({ dir: keysDir }), nodeId: two.nodeId, namespace: 'team-a' }));
    const onlyDefault = newModel();
    assert.deepStrictEqual(workloadNames(nodeNamed(await onlyDefault.start(), 'two')), []);
    const both = await newModel({ namespaces: ['team-a'] }).start();
    assert.deepStrictEqual(both.namespaces, ['default', 'team-a']);
    assert.deepStrictEqual(
      nodeNamed(both, 'two')!.workloads.map((w) => [w.name, w.namespace, w.id, w.triggers]),
      [['shout', 'team-a', result.workloadId, ['shout.>']]],
    );
    assert.deepStrictEqual(nodeNamed(both, 'one')!.workloads.map((w) => [w.name, w.namespace]), [['echo', 'default']]);
    const added = changeWhere(onlyDefault, 'shout in team-a', (x) => workloadNames(nodeNamed(x, 'two'))?.includes('shout') === true);
    onlyDefault.setNamespaces(['team-a']);
    assert.deepStrictEqual((await added).namespaces, ['default', 'team-a']);
  });

  it('drops a stopped workload as soon as the stop is confirmed, without waiting for an event or a re-read', async () => {
    const result = await deployFunction(nc, fns.shout, { nodeId: one.nodeId, keysDir });
    const model = newModel();
    assert.ok(workloadNames(nodeNamed(await model.start(), 'one'))?.includes('shout'));
    const [stopped] = await stop('shout', one);
    assert.strictEqual(stopped.workloadId, result.workloadId);
    model.workloadStopped(stopped.nodeId, stopped.workloadId);
    assert.deepStrictEqual(workloadNames(nodeNamed(model.snapshot(), 'one')), ['echo'], 'gone in the very next snapshot');
    assert.strictEqual(await readRecord(result.workloadId), undefined, 'the stop removed its deploy record');
  });

  it('derives uptimes from the start time a node reported, not from a stale uptime text', async () => {
    const model = newModel();
    await model.start();
    const reported = changeWhere(model, 'node one up 100 s', (x) => nodeNamed(x, 'one')?.uptime === '100s');
    fakeHeartbeat(one, { uptime: '100s' });
    const node = nodeNamed(await reported, 'one')!;
    const startedAgo = Date.now() - Date.parse(node.startedAt!);
    assert.ok(startedAgo >= 100000 && startedAgo < 110000, `started ${startedAgo} ms ago`);
  });

  it('sees a deploy through its workload_deployed event, without a re-PING', async () => {
    const model = newModel();
    await model.start();
    const pings = countMessages(nc, '$NEX.PING');
    cleanups.push(() => pings.sub.unsubscribe());
    const deployed = changeWhere(model, 'shout on node two, with its triggers', (s) => nodeNamed(s, 'two')?.workloads.find((w) => w.name === 'shout')?.triggers !== undefined);
    const result = await deploy('shout', two);
    const s = await deployed;
    assert.deepStrictEqual(nodeNamed(s, 'two')!.workloads.map((w) => [w.id, w.triggers]), [[result.workloadId, ['shout.>']]]);
    assert.deepStrictEqual(pings.times, [], 'the INFO after the event did it');
  });

  it('sees a STOP on a 0.3.0 node through its workload_undeployed event', async () => {
    const model = newModel();
    assert.deepStrictEqual(workloadNames(nodeNamed(await model.start(), 'two')), ['shout']);
    const pings = countMessages(nc, '$NEX.PING');
    cleanups.push(() => pings.sub.unsubscribe());
    const stopped = changeWhere(model, 'node two without shout', (s) => nodeNamed(s, 'two')?.workloads.length === 0);
    await stop('shout', two);
    await stopped;
    assert.deepStrictEqual(pings.times, []);
  });

  it('catches up with a STOP on a 0.2.7 node, which publishes no event: on the periodic re-read, and on a heartbeat whose running count changed', async () => {
    const quiet = newModel();
    const polling = newModel({ refreshMinMs: 300, refreshMaxMs: 600 });
    assert.deepStrictEqual(workloadNames(nodeNamed(await quiet.start(), 'one')), ['echo']);
    await polling.start();
    const polled = changeWhere(polling, 'node one without echo', (s) => nodeNamed(s, 'one')?.workloads.length === 0);
    await stop('echo', one);
    await polled;
    assert.deepStrictEqual(workloadNames(nodeNamed(quiet.snapshot(), 'one')), ['echo'], 'no event came: the model without re-reads still shows it');

    const caughtUp = changeWhere(quiet, 'node one without echo', (s) => nodeNamed(s, 'one')?.workloads.length === 0);
    fakeHeartbeat(one, { running_machines: 0 });
    const s = await caughtUp;
    assert.strictEqual(nodeNamed(s, 'one')!.runningCount, 0);
  });

  it('adds a node that starts (node_started) and removes it when it stops (node_stopped)', async () => {
    const model = newModel();
    await model.start();
    const added = changeWhere(model, 'node three, its INFO read', (s) => nodeNamed(s, 'three')?.supportedTypes !== undefined);
    const three = await startNode('three', nodeNc, { emulate: '0.2.7' });
    cleanups.push(() => three.stop());
    const s = await added;
    assert.deepStrictEqual(s.nodes.map((n) => n.name), ['one', 'three', 'two']);
    assert.strictEqual(nodeNamed(s, 'three')!.id, three.nodeId);
    const removed = changeWhere(model, 'no node three', (x) => !nodeNamed(x, 'three'));
    await three.stop();
    assert.deepStrictEqual((await removed).nodes.map((n) => n.name), ['one', 'two']);
  });

  it('keeps a node fresh while its heartbeats come, and marks it unreachable when they stop', async () => {
    const fourNc = await connect({ servers: server.url, name: 'node-four' });
    const four = await startNode('four', fourNc, { heartbeatMs: 50 });
    cleanups.push(async () => {
      await four.stop();
      await fourNc.close().catch(() => undefined);
    });
    const model = newModel({ heartbeatIntervalMs: 100, missedHeartbeats: 3 });
    const started = Date.now();
    await model.start();
    const fresh = await changeWhere(model, 'node four heard from 500 ms after the start', (s) => {
      const node = nodeNamed(s, 'four');
      return node !== undefined && Date.parse(node.lastSeenAt) - started > 500;
    });
    assert.strictEqual(nodeNamed(fresh, 'four')!.state, 'up', 'well past 3 heartbeat intervals, still up');

    const silent = changeWhere(model, 'node four unreachable', (s) => nodeNamed(s, 'four')?.state === 'unreachable');
    await fourNc.close(); // the node goes away without saying node_stopped, as a crashed node does
    const s = await silent;
    assert.match(nodeNamed(s, 'four')!.stateReason!, /^it missed 3 heartbeats \(nothing heard for \d+ ms\)$/);
  });

  it('keeps unreadable answers and node errors as problems, and the rest working', async () => {
    const fakes: Subscription[] = [];
    cleanups.push(() => fakes.forEach((f) => f.unsubscribe()));
    const respond = (subject: string, answer: (msg: Msg) => string[]) =>
      fakes.push(nc.subscribe(subject, { callback: (_e, msg) => answer(msg).forEach((body) => nc.publish(msg.reply!, body)) }));
    respond('$NEX.PING', () => [
      'not json',
      goJson(failureEnvelope(ENVELOPE_TYPES.ping, 'the fake node is unwell')),
      goJson(successEnvelope(ENVELOPE_TYPES.ping, { node_id: 'NFAKEREFUSES', version: '0.2.7', uptime: '1s', target_xkey: 'X', tags: { node_name: 'refuses' }, running_machines: 0 })),
      goJson(successEnvelope(ENVELOPE_TYPES.ping, { node_id: 'NFAKEGARBLED', version: '0.2.7', uptime: '1s', target_xkey: 'X', tags: { node_name: 'garbled' }, running_machines: 0 })),
      goJson(successEnvelope(ENVELOPE_TYPES.ping, { version: '0.2.7' })),
    ]);
    respond('$NEX.INFO.*.NFAKEREFUSES', () => [goJson(failureEnvelope(ENVELOPE_TYPES.info, 'INFO is not for you'))]);
    respond('$NEX.INFO.*.NFAKEGARBLED', () => [goJson(successEnvelope(ENVELOPE_TYPES.info, { version: '0.2.7', machines: 'lots' }))]);
    await nc.flush();

    const model = newModel();
    const s = await model.refresh();
    const problems = [...s.problems].sort();
    assert.strictEqual(problems.length, 3, problems.join('\n'));
    assert.strictEqual(problems[0], 'an answer to $NEX.PING could not be used: it has no usable node_id');
    assert.strictEqual(problems[1], 'an answer to $NEX.PING could not be used: the node answered with an error: the fake node is unwell');
    assert.match(problems[2], /^an answer to \$NEX\.PING could not be used: the node's reply is not JSON \(.*\); expected a io\.nats\.nex\.v1\.ping_response envelope$/);
    assert.deepStrictEqual(s.nodes.map((n) => [n.name, n.problem]), [
      ['garbled', 'its INFO answer cannot be used: "machines" is not a list'],
      ['one', undefined],
      ['refuses', 'it answered INFO with an error: INFO is not for you'],
      ['two', undefined],
    ]);
  });

  it('reads a Nex 0.4 PING answer whose fields are objects that cannot be made strings ({"toString":1}) without throwing (the fault suite\'s 4b threw here)', async () => {
    const stranger = nc.subscribe('$NEX.SVC.system.control.PING', {
      callback: (_e, msg) => {
        msg.respond(JSON.stringify({ node_id: 'NSTRANGER', version: { toString: 1 }, state: { valueOf: 2, toString: 3 }, start_time: { toString: 1 }, tags: { 'nex.node': { toString: 1 } }, agent_count: '2' }));
      },
    });
    cleanups.push(() => stranger.unsubscribe());
    await nc.flush();
    const s = await newModel().refresh();
    assert.deepStrictEqual(s.nodes04.map((n) => [n.id, n.name, n.version, n.state, n.startedAt, n.tags, n.agentCount]), [['NSTRANGER', undefined, '', '', '', {}, 0]]);
    assert.deepStrictEqual(s.nodes.map((n) => n.name), ['one', 'two'], 'the 0.2/0.3 nodes are read as before');
  });

  it('notifies at most once per 100 ms during a storm of 1,000 heartbeats a second, ending with the final state', async () => {
    const model = newModel();
    await model.start();
    const notified: number[] = [];
    model.onDidChange(() => notified.push(Date.now()));
    const last = changeWhere(model, 'the storm\'s last heartbeat', (s) => nodeNamed(s, 'one')?.uptime === '999s');
    const began = Date.now();
    for (let batch = 0; batch < 20; batch++) {
      for (let i = batch * 50; i < (batch + 1) * 50; i++) {
        fakeHeartbeat(one, { uptime: `${i}s` });
      }
      await delay(50);
    }
    await last;
    const elapsed = Date.now() - began;
    assert.ok(elapsed >= 1000);
    assert.ok(notified.length >= 2, `notified ${notified.length} times`);
    assert.ok(notified.length <= Math.ceil(elapsed / 100) + 1, `${notified.length} notifications in ${elapsed} ms`);
    const gaps = notified.slice(1).map((t, i) => t - notified[i]);
    assert.ok(Math.min(...gaps) >= 95, `gaps between notifications: ${gaps.join(', ')} ms`);
  });

  it('re-reads periodically, backing off while nothing changes', async () => {
    const pings = countMessages(nc, '$NEX.PING');
    cleanups.push(() => pings.sub.unsubscribe());
    const model = newModel({ refreshMinMs: 50, refreshMaxMs: 400, discoveryWindowMs: 100 });
    await model.start();
    await delay(1700);
    model.dispose();
    const gaps = pings.times.slice(1).map((t, i) => t - pings.times[i]);
    // Waits of 50, 100, 200, 400, 400 ms after each ~100 ms PING: about 5 in 1.7 s (11 without the backoff).
    assert.ok(pings.times.length >= 4 && pings.times.length <= 7, `${pings.times.length} PINGs, gaps ${gaps.join(', ')} ms`);
    assert.ok(gaps[gaps.length - 1] >= 450 && gaps[0] < 300, `gaps ${gaps.join(', ')} ms`);
  });

  it('recovers after the NATS server restarts: reads everything again, and follows events again', async () => {
    const model = newModel({ refreshMinMs: 300, refreshMaxMs: 600 });
    await model.start();
    const states: string[] = [];
    model.onDidChange((s) => states.push(s.connection));
    const restartedAt = Date.now();
    const recovered = changeWhere(
      model,
      'both nodes up after a refresh that ended after the restart',
      (s) => s.connection === 'connected' && Date.parse(s.refreshedAt ?? '') > restartedAt && s.nodes.length === 2 && s.nodes.every((n) => n.state === 'up'),
      30000,
    );
    server = await server.restart();
    await recovered;
    assert.ok(states.includes('reconnecting'), `connection states seen: ${states.join(', ')}`);

    const lameDuck = changeWhere(model, 'node two in lame duck mode', (s) => nodeNamed(s, 'two')?.lameDuck === true);
    await new NexControlClient(nc).lameDuck(two.nodeId);
    await lameDuck;
  });

  it('after a server restart, blames nothing on a node whose own connection comes back later than the model\'s, and shows it again as soon as it answers', async () => {
    // A node whose connection waits 1.5 s before reconnecting, so the model's first PING after its own reconnect finds it silent.
    const slowNc = await connect({ servers: server.url, name: 'node-slow', reconnectTimeWait: 1500, maxReconnectAttempts: -1 });
    const slow = await startNode('slow', slowNc, { emulate: '0.2.7' });
    cleanups.push(async () => {
      await slow.stop();
      await slowNc.close().catch(() => undefined);
    });
    const model = newModel({ refreshMinMs: 60000, reconnectPollMs: 200 });
    await model.start();
    const seen: DeployedSnapshot[] = [];
    model.onDidChange((s) => seen.push(s));
    const restartedAt = Date.now();
    const back = changeWhere(
      model,
      'node slow heard from after the restart',
      (s) => s.connection === 'connected' && Date.parse(nodeNamed(s, 'slow')?.lastSeenAt ?? '') > restartedAt,
      30000,
    );
    server = await server.restart();
    const s = await back;
    const blamed = seen.flatMap((x) => x.nodes.filter((n) => n.state === 'unreachable' || n.problem).map((n) => `${x.connection}: ${n.name} ${n.state} ${n.stateReason ?? ''} ${n.problem ?? ''}`));
    assert.deepStrictEqual(blamed, [], 'no node was marked unreachable or given a problem during the outage or the reconnect');
    assert.ok(seen.some((x) => x.connection === 'reconnecting'));
    assert.strictEqual(nodeNamed(s, 'slow')!.state, 'up');
  });
});
