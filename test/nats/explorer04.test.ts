/**
 * The explorer, the followers and the CLI on Nex 0.4 nodes: local nodes in 0.4.1 mode with the
 * functions nexlet (and a small native-style nexlet registered over the real agent protocol, whose
 * workloads do not name their node) on a real nats-server, beside a 0.2.7 local node. The deployed
 * model shows node → nexlets → workloads per namespace with triggers, places WPING answers on their
 * nodes, follows heartbeats and feeds live; logs, events, trigger, which, nodes and remote cases
 * work on 0.4 workloads.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { connect } from '@nats-io/transport-node';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { createCurve } from '@nats-io/nkeys';
import { loadValidFunction } from '../../src/core/manifest';
import { deployFunction } from '../../src/deploy/deployFunction';
import { followFunctionLogs, watchEvents } from '../../src/deploy/followLogs';
import { FunctionFailedError, triggerFunction } from '../../src/deploy/triggerFunction';
import { type NexEvent } from '../../src/nex/events';
import { type WorkloadLogLine } from '../../src/nex/logs';
import { writeNexfile } from '../../src/deploy/nexfile';
import { LocalNodeHost } from '../../src/devnode/localNodeHost';
import { LocalNexNode04 } from '../../src/devnode/localNode04';
import { DeployedModel, type DeployedModelOptions, deployedFunctions, type DeployedSnapshot } from '../../src/explorer/deployedModel';
import type { NodesJson } from '../../src/explorer/nodesJson';
import type { Node04View } from '../../src/explorer/workloads04';
import { NexControlClient } from '../../src/nex/controlClient';
import { Nex04Client } from '../../src/nex04/client04';
import { readServiceReply } from '../../src/nex04/serviceErrors';
import { agent04, feed04 } from '../../src/nex04/subjects';
import type { RegisterAgentResponse, RegisterRemoteAgentResponse, WorkloadSummary } from '../../src/nex04/types';
import { RemoteCaseTargets } from '../../src/triggers/caseRunner';
import { runNexfn, startNexfn } from '../support/nexfn';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';
import { tempDir } from '../support/wasmFixtures';
import { changeWhere, waitFor } from '../support/waits';

/** A JavaScript function folder: it logs, fails on an empty payload, else greets. */
function writeFunction(root: string, name: string, triggers: string[], cases?: unknown[]): string {
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, 'triggers'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, `${name}.js`),
    '(subject, payload) => {\n  console.log("called on " + subject);\n  if (payload.length === 0) { throw new Error("no name given"); }\n  return "Hello, " + String.fromCharCode(...payload);\n};\n',
  );
  fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name, type: 'v8', source: `${name}.js`, triggers }));
  if (cases) {
    fs.writeFileSync(path.join(dir, 'triggers', 'cases.json'), JSON.stringify({ cases }, null, 2));
  }
  return dir;
}

/** Deploys a function folder as the nex CLI does: its Nexfile (artifact uploaded), AUCTION for its type on the named node, ADEPLOY. */
async function deploy04(nc: NatsConnection, dir: string, node: string, namespace = 'default'): Promise<{ id: string; name: string }> {
  const nexfile = await writeNexfile(nc, loadValidFunction(dir));
  const client = new Nex04Client(nc);
  const { bids } = await client.auction(namespace, nexfile.type, { 'nex.node': node }, { settleMs: 50 });
  assert.ok(bids.length > 0, `node ${node} bids for ${nexfile.type}`);
  return client.deploy(namespace, bids[0].bidder_id, {
    description: nexfile.description ?? '',
    name: nexfile.name,
    namespace,
    run_request: JSON.stringify(nexfile.start_request),
    tags: nexfile.tags ?? {},
    workload_lifecycle: 'function',
    workload_type: nexfile.type,
  });
}

/**
 * A nexlet of the type `native` registered with a node of `nexus` over the real agent protocol
 * (RREGISTER, REGISTER, heartbeats), listing services and jobs as the native nexlet does: without
 * metadata naming its node. Its QUERYWORKLOADS answer can be slowed down.
 */
async function startNativeNexlet(nc: NatsConnection, nexus: string, workloads: Record<string, Array<Partial<WorkloadSummary>>>): Promise<{ agentId: string; nodeId: string; queryDelayMs: number; stop: () => void }> {
  const remote = readServiceReply<RegisterRemoteAgentResponse>(await nc.request(agent04.remoteRegister(nexus), '{}', { timeout: 3000 }));
  const node = remote.respond_to;
  const agentId = remote.assigned_agent_id;
  const registered = readServiceReply<RegisterAgentResponse>(
    await nc.request(
      agent04.register(node, agentId),
      JSON.stringify({ description: 'native services', max_workloads: 0, name: 'native', public_xkey: createCurve().getPublicKey(), register_type: 'native', start_request_schema: '{"type":"object"}', supported_lifecycles: ['service', 'job'], version: '0.4.1' }),
      { timeout: 5000 },
    ),
  );
  assert.strictEqual(registered.success, true);
  const startedAt = new Date().toISOString();
  const count = Object.values(workloads).flat().length;
  const heartbeat = () => nc.publish(agent04.heartbeat(node, agentId), JSON.stringify({ data: '', summary: { name: 'native', start_time: startedAt, state: 'running', supported_lifecycles: 'service,job', type: 'native', version: '0.4.1', workload_count: count } }));
  const self = { agentId, nodeId: node, queryDelayMs: 0, stop: () => undefined as void };
  const subs: Subscription[] = [
    nc.subscribe(agent04.queryWorkloads(node), {
      callback: (_e, msg) => {
        const namespace = (JSON.parse(new TextDecoder().decode(msg.data)) as { namespace: string }).namespace;
        const list = (workloads[namespace] ?? []).map((w) => ({ id: '', metadata: {}, name: '', runtime: '1m0s', start_time: startedAt, tags: null, workload_lifecycle: 'service', workload_state: 'running', workload_type: 'native', ...w }));
        setTimeout(() => msg.respond(JSON.stringify(list)), self.queryDelayMs);
      },
    }),
    nc.subscribe(agent04.stopWorkload(node, '*'), { callback: (_e, msg) => void msg.respond(JSON.stringify({ id: msg.subject.split('.').pop(), message: 'workload not found', stopped: false, workload_type: 'native' })) }),
    nc.subscribe(agent04.setLameDuck(node), { callback: (_e, msg) => void msg.respond(JSON.stringify({ message: '', success: true })) }),
  ];
  heartbeat();
  const timer = setInterval(heartbeat, 1000);
  self.stop = () => {
    clearInterval(timer);
    subs.forEach((s) => s.unsubscribe());
  };
  await nc.flush();
  return self;
}

/** UNDEPLOY, done when the nexlet says WORKLOADSTOPPED. */
async function undeployed(nc: NatsConnection, namespace: string, id: string): Promise<void> {
  const sub = nc.subscribe(feed04.event(namespace, 'WORKLOADSTOPPED'));
  const stopped = (async () => {
    for await (const m of sub) {
      if ((m.json() as { id?: string }).id === id) {
        return;
      }
    }
  })();
  await nc.flush();
  await new Nex04Client(nc).undeploy(namespace, id);
  await stopped;
  sub.unsubscribe();
}

const node04Named = (s: DeployedSnapshot, name: string): Node04View | undefined => s.nodes04.find((n) => n.name === name);
const workloadRows = (n: Node04View | undefined) => n?.workloads?.map((w) => [w.name, w.namespace, w.type, w.lifecycle, w.state, w.isFunction, w.triggers, w.nodeId]);

describe('the explorer and the CLI on Nex 0.4 nodes (local nodes in 0.4.1 mode with the functions nexlet)', function () {
  this.timeout(90000);
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let work: string;
  let fnRoot: string;
  let hostA: LocalNodeHost;
  let native: Awaited<ReturnType<typeof startNativeNexlet>>;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const models: DeployedModel[] = [];
  const ids: Record<string, string> = {};
  const newModel = (options: Partial<DeployedModelOptions> = {}) => {
    const model = new DeployedModel({ nc, discoveryWindowMs: 300, refreshMinMs: 60000, heartbeat04IntervalMs: 300, ...options });
    models.push(model);
    return model;
  };
  const start04 = async (name: string, nexus: string) => {
    const host = await LocalNodeHost.start({ stateDir: path.join(work, name), nats: { attach: { servers: [server.url] } }, config: { emulate: '0.4.1', nodeName: name, nexus, heartbeatMs: 300 } });
    cleanups.push(() => host.stop());
    return host;
  };

  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url, name: 'explorer' });
    work = tempDir('nex-explorer04-');
    fnRoot = path.join(work, 'functions');
    hostA = await start04('n04a', 'nxa');
    native = await startNativeNexlet(nc, 'nxa', { default: [{ id: 'svc-cache', name: 'cache' }], system: [{ id: 'job-backup', name: 'backup', workload_lifecycle: 'job', workload_state: 'warm' }] });
    cleanups.push(() => native.stop());
    writeFunction(fnRoot, 'greet', ['greet.*'], [
      { name: 'greets', subject: 'greet.case', payload: 'Ada', expect: { reply: 'Hello, Ada' } },
      { name: 'fails without a name', subject: 'greet.empty', payload: '', expect: { error: 'no name given' } },
    ]);
    writeFunction(fnRoot, 'sysfn', ['sys.>']);
    ids.greet = (await deploy04(nc, path.join(fnRoot, 'greet'), 'n04a')).id;
    ids.sysfn = (await deploy04(nc, path.join(fnRoot, 'sysfn'), 'n04a', 'system')).id;
  });
  after(async () => {
    models.forEach((m) => m.dispose());
    for (const cleanup of cleanups.reverse()) {
      await cleanup();
    }
    await nc?.close();
    await server?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('shows the node with its nexlets first, then its workloads per namespace (system too) once WPING answers: functions with triggers, native ones read-only', async () => {
    native.queryDelayMs = 800; // WPING waits for every nexlet: this one answers late, as 0.4.1's fan-out does
    const model = newModel();
    const early = changeWhere(model, 'the node with its nexlets and its workloads not read yet', (s) => node04Named(s, 'n04a')?.nexlets !== undefined && node04Named(s, 'n04a')?.workloads === undefined);
    const s = await model.refresh();
    native.queryDelayMs = 0;
    const first = node04Named(await early, 'n04a')!;
    assert.deepStrictEqual(first.nexlets!.map((a) => a.type), ['native', 'v8', 'wasm']);

    assert.deepStrictEqual(s.problems, []);
    assert.deepStrictEqual(s.nodes, []);
    const n = node04Named(s, 'n04a')!;
    assert.strictEqual(n.id, hostA.node.nodeId);
    assert.deepStrictEqual([n.version, n.state, n.agentCount, n.unreachable, n.problem], ['0.4.1', 'running', 3, undefined, undefined]);
    assert.deepStrictEqual(
      n.nexlets!.map((a) => [a.name, a.type, a.version, a.health, a.state, a.workloadCount, typeof a.lastHeartbeatAt]),
      [
        ['native', 'native', '0.4.1', 'healthy', 'running', 2, 'string'],
        ['nexfn-functions', 'v8', '0.1.0', 'healthy', 'running', 2, 'string'],
        ['nexfn-functions', 'wasm', '0.1.0', 'healthy', 'running', 0, 'string'],
      ],
    );
    assert.deepStrictEqual(workloadRows(n), [
      ['cache', 'default', 'native', 'service', 'running', false, undefined, n.id],
      ['greet', 'default', 'v8', 'function', 'running', true, ['greet.*'], n.id],
      ['backup', 'system', 'native', 'job', 'warm', false, undefined, n.id],
      ['sysfn', 'system', 'v8', 'function', 'running', true, ['sys.>'], n.id],
    ]);
    assert.strictEqual(n.workloads!.find((w) => w.name === 'greet')!.id, ids.greet);
    assert.strictEqual(s.workloads04Unplaced, undefined);
    assert.deepStrictEqual(
      deployedFunctions(s).map((d) => [d.name, d.node, d.nodeName, d.workloadId, d.namespace, d.triggers]),
      [
        ['greet', n.id, 'n04a', ids.greet, 'default', ['greet.*']],
        ['sysfn', n.id, 'n04a', ids.sysfn, 'system', ['sys.>']],
      ],
    );
  });

  it('follows the feed: a deployed workload appears and an undeployed one goes (WORKLOADSTARTED/STOPPED), without a refresh', async () => {
    const model = newModel();
    await model.start();
    const dir = writeFunction(fnRoot, 'blink', ['blink.>']);
    const appeared = changeWhere(model, 'blink listed', (s) => node04Named(s, 'n04a')?.workloads?.some((w) => w.name === 'blink') === true);
    const started = await deploy04(nc, dir, 'n04a');
    const s = await appeared;
    assert.deepStrictEqual(
      node04Named(s, 'n04a')!.workloads!.filter((w) => w.name === 'blink').map((w) => [w.id, w.triggers]),
      [[started.id, ['blink.>']]],
    );
    const gone = changeWhere(model, 'blink gone', (snap) => node04Named(snap, 'n04a')?.workloads?.some((w) => w.name === 'blink') === false);
    const answers = await new Nex04Client(nc).undeploy('default', started.id);
    assert.ok(answers.some((a) => !(a instanceof Error) && a.stopped), `stopped by one node: ${JSON.stringify(answers)}`);
    await gone;
  });

  it('follows a function\'s logs and events from the 0.4 feeds across a redeploy; trigger reports the workload, and a failure as a failure', async () => {
    const lines: WorkloadLogLine[] = [];
    const events: NexEvent[] = [];
    const redeployed: string[] = [];
    const follower = await followFunctionLogs(nc, {
      namespace: 'default',
      name: 'greet',
      client: new NexControlClient(nc),
      onLine: (l) => lines.push(l),
      onEvent: (e) => events.push(e),
      onRedeployed: (w) => redeployed.push(`${w.workloadId}@${w.nodeId}`),
    });
    try {
      assert.deepStrictEqual(
        follower.initial.map((w) => [w.name, w.workloadId, w.nodeId, w.nodeVersion, w.namespace]),
        [['greet', ids.greet, hostA.node.nodeId, '0.4.1', 'default']],
      );
      const result = await triggerFunction(nc, 'greet.logs', new TextEncoder().encode('Ada'), { timeoutMs: 5000 });
      assert.strictEqual(new TextDecoder().decode(result.reply), 'Hello, Ada');
      assert.deepStrictEqual([result.workloadId, result.namespace], [ids.greet, 'default']);
      await waitFor('the log line', () => lines.some((l) => l.text === 'called on greet.logs'));
      const line = lines.find((l) => l.text === 'called on greet.logs')!;
      assert.deepStrictEqual([line.workloadId, line.nodeId, line.level, line.stream, line.subject], [ids.greet, hostA.node.nodeId, 'info', 'stdout', `$NEX.FEED.default.logs.${ids.greet}.stdout`]);

      const failure = await triggerFunction(nc, 'greet.none', new Uint8Array(), { timeoutMs: 5000, workloadName: 'greet' }).then(
        () => assert.fail('an empty payload makes greet fail'),
        (e: unknown) => e,
      );
      assert.ok(failure instanceof FunctionFailedError, String(failure));
      assert.match(failure.nodeError, /no name given/);
      assert.match(failure.message, new RegExp(`^greet failed \\(workload ${ids.greet} in the namespace default, on greet\\.none\\): .*no name given`));
      await waitFor('the failure event and its stderr line', () => events.some((e) => e.failed) && lines.some((l) => l.level === 'error'));
      const failed = events.find((e) => e.failed)!;
      assert.deepStrictEqual([failed.type, failed.generation, failed.workloadId, failed.nodeId, failed.workloadName, failed.data.subject], ['FUNCTIONTRIGGERED', '0.4', ids.greet, hostA.node.nodeId, 'greet', 'greet.none']);
      assert.match(String(failed.data.error), /no name given/);
      assert.ok(events.some((e) => e.type === 'FUNCTIONTRIGGERED' && !e.failed && e.data.subject === 'greet.logs'), 'the success too');
      assert.match(lines.find((l) => l.level === 'error')!.text, /no name given/);

      // Redeployed: the new workload is followed, the old one undeployed.
      const again = await deploy04(nc, path.join(fnRoot, 'greet'), 'n04a');
      await waitFor('the redeploy announced', () => redeployed.length === 1);
      assert.deepStrictEqual(redeployed, [`${again.id}@${hostA.node.nodeId}`]);
      const answers = await new Nex04Client(nc).undeploy('default', ids.greet);
      assert.ok(answers.some((a) => !(a instanceof Error) && a.stopped), `stopped by one node: ${JSON.stringify(answers)}`);
      ids.greet = again.id;
      await triggerFunction(nc, 'greet.again', new TextEncoder().encode('Bo'), { timeoutMs: 5000 });
      await waitFor('a line of the new workload', () => lines.some((l) => l.text === 'called on greet.again'));
      assert.strictEqual(lines.find((l) => l.text === 'called on greet.again')!.workloadId, again.id);
      assert.deepStrictEqual(follower.workloads.map((w) => w.workloadId), [follower.initial[0].workloadId, again.id]);
    } finally {
      follower.stop();
    }
  });

  it('nexfn events shows the 0.4 feed events (beside the 0.2/0.3 ones unless --nex-version says); nexfn logs follows a 0.4 function', async () => {
    const seen: NexEvent[] = [];
    const w = await watchEvents(nc, { namespace: 'default', onEvent: (e) => seen.push(e) });
    const events = startNexfn(['events', '-s', server.url, '--nex-version', '0.4']);
    const logs = startNexfn(['logs', 'greet', '-s', server.url]);
    try {
      await waitFor('nexfn events and logs to start', () => /following the events/.test(events.out.stderr) && /following the logs of greet/.test(logs.out.stderr));
      await triggerFunction(nc, 'greet.cli', new TextEncoder().encode('Cy'), { timeoutMs: 5000 });
      await waitFor('the trigger in both', () => /FUNCTIONTRIGGERED default /.test(events.out.stdout) && /called on greet\.cli/.test(logs.out.stdout));
      assert.match(logs.out.stdout, /^\d\d:\d\d:\d\d\.\d{3} INFO  called on greet\.cli$/m);
      assert.match(logs.out.stderr, new RegExp(`following the logs of greet \\(${ids.greet}\\) in the namespace default`));
      await waitFor('the event in the watcher', () => seen.some((e) => e.type === 'FUNCTIONTRIGGERED' && e.data.subject === 'greet.cli'));
    } finally {
      w.stop();
      events.stop();
      logs.stop();
      await Promise.all([events.done, logs.done]);
    }
    assert.strictEqual(events.out.code, 0, events.out.stderr);
    assert.strictEqual(logs.out.code, 0, logs.out.stderr);
    const only02 = await runNexfn(['logs', 'greet', '-s', server.url, '--nex-version', '0.2']);
    assert.strictEqual(only02.code, 1);
    assert.match(only02.stderr, /no workload named "greet" or with that id runs in the namespace "default"/, 'the 0.4 workload is not looked for');
  });

  it('nexfn trigger, which and test --remote work on 0.4 workloads', async () => {
    const trigger = await runNexfn(['trigger', 'greet.x', '-p', 'Di', '-s', server.url]);
    assert.strictEqual(trigger.code, 0, trigger.stderr);
    assert.strictEqual(trigger.stdout, 'Hello, Di');
    assert.match(trigger.stderr, new RegExp(`^reply from greet\\.x \\(workload ${ids.greet} in the namespace default\\): 9 bytes in `));
    const failing = await runNexfn(['trigger', 'greet.x', '-s', server.url]);
    assert.strictEqual(failing.code, 1);
    assert.match(failing.stderr, /^nexfn trigger: the function failed \(workload \w+ in the namespace default, on greet\.x\): .*no name given/m);

    const which = await runNexfn(['which', 'greet.hello', fnRoot, '-s', server.url, '--wait', '300']);
    assert.strictEqual(which.code, 0, which.stderr);
    assert.match(which.stdout, new RegExp(`deployed workloads in the namespace default that greet\\.hello triggers:\\n  greet \\(${ids.greet}\\) on node n04a via greet\\.\\*`));
    const sys = await runNexfn(['which', 'sys.a.b', fnRoot, '-s', server.url, '--wait', '300', '--namespace', 'system']);
    assert.match(sys.stdout, new RegExp(`sysfn \\(${ids.sysfn}\\) on node n04a via sys\\.>`));

    const test = await runNexfn(['test', path.join(fnRoot, 'greet'), '--remote', '-s', server.url]);
    assert.strictEqual(test.code, 0, test.stdout + test.stderr);
    assert.match(test.stdout, /2 passed/);

    // The same lookup the Test Explorer uses: the function's own 0.4 workload in its namespace.
    const targets = new RemoteCaseTargets(new NexControlClient(nc), () => 'default', async () => deployedFunctions(await newModel().refresh()));
    assert.deepStrictEqual(await targets.of(loadValidFunction(path.join(fnRoot, 'greet')), 'greet.x'), { namespace: 'default', nodeVersion: '0.4.1' });
    assert.match(JSON.stringify(await targets.of(loadValidFunction(path.join(fnRoot, 'sysfn')), 'sys.a')), /not deployed in namespace default/);
  });

  it('nexfn nodes lists the 0.4 node, its nexlets and its workloads; --json gives one model for both generations', async () => {
    const run = await runNexfn(['nodes', '-s', server.url, '--wait', '300']);
    assert.strictEqual(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^n04a +${hostA.node.nodeId} +0\\.4\\.1 +\\d+s +4 +native,v8,wasm +running$`, 'm'));
    assert.match(run.stdout, new RegExp(`^n04a +nexfn-functions +v8 +0\\.1\\.0 +healthy +running +2 +${hostA.nexlet!.registered!.agents.v8}$`, 'm'));
    assert.match(run.stdout, /^Nex 0\.4 workloads in the namespaces default, system:$/m);
    assert.match(run.stdout, new RegExp(`^greet +${ids.greet} +default +v8 +function +running +n04a +\\d+s +\\S+ +greet\\.\\*$`, 'm'));
    assert.match(run.stdout, /^cache +svc-cache +default +native +service +running +n04a +\d+s +1m0s +\(not a function: read-only\)$/m);
    assert.match(run.stdout, /^backup +job-backup +system +native +job +warm +n04a/m);
    assert.doesNotMatch(run.stdout, /not read here yet/);

    const json = await runNexfn(['nodes', '-s', server.url, '--wait', '300', '--json']);
    assert.strictEqual(json.code, 0, json.stderr);
    const model = JSON.parse(json.stdout) as NodesJson;
    assert.deepStrictEqual(model.nodes.map((n) => [n.generation, n.name, n.id, n.version, n.state, n.lameDuck, n.nodeState, n.nexlets?.length]), [['0.4', 'n04a', hostA.node.nodeId, '0.4.1', 'up', false, 'running', 3]]);
    assert.deepStrictEqual(
      model.nodes[0].workloads!.map((w) => [w.name, w.namespace, w.type, w.isFunction, w.triggers, w.lifecycle, w.state, w.nodeId]),
      [
        ['cache', 'default', 'native', false, undefined, 'service', 'running', hostA.node.nodeId],
        ['greet', 'default', 'v8', true, ['greet.*'], 'function', 'running', hostA.node.nodeId],
        ['backup', 'system', 'native', false, undefined, 'job', 'warm', hostA.node.nodeId],
        ['sysfn', 'system', 'v8', true, ['sys.>'], 'function', 'running', hostA.node.nodeId],
      ],
    );
    assert.deepStrictEqual([model.unplacedWorkloads, model.problems, model.namespaces], [[], [], ['default']]);
    const only02 = await runNexfn(['nodes', '-s', server.url, '--wait', '300', '--nex-version', '0.2']);
    assert.strictEqual(only02.code, 1);
    assert.match(only02.stderr, /no Nex node answered on \$NEX\.PING within 300 ms/);
  });

  it('shows a 0.2.7 and a 0.4.1 node on the same NATS server at once', async () => {
    const old = await LocalNodeHost.start({ stateDir: path.join(work, 'old'), nats: { attach: { servers: [server.url] } }, config: { nodeName: 'old', heartbeatMs: 60000 }, issuers: { keysDir: path.join(work, 'keys') } });
    try {
      const deployed = await deployFunction(nc, loadValidFunction(writeFunction(fnRoot, 'legacy', ['legacy.*'])), { nodeId: old.node.nodeId, keysDir: path.join(work, 'keys') });
      const s = await newModel().refresh();
      assert.deepStrictEqual(s.nodes.map((n) => [n.name, n.version, n.workloads.map((w) => w.name)]), [['old', '0.2.7', ['legacy']]]);
      assert.deepStrictEqual(s.nodes04.map((n) => [n.name, n.version, n.workloads?.length]), [['n04a', '0.4.1', 4]]);
      assert.deepStrictEqual(deployedFunctions(s).map((d) => [d.name, d.nodeName]), [['legacy', 'old'], ['greet', 'n04a'], ['sysfn', 'n04a']]);
      const json = JSON.parse((await runNexfn(['nodes', '-s', server.url, '--wait', '300', '--json'])).stdout) as NodesJson;
      assert.deepStrictEqual(json.nodes.map((n) => [n.generation, n.name, n.workloads?.map((w) => w.name)]), [
        ['0.2/0.3', 'old', ['legacy']],
        ['0.4', 'n04a', ['cache', 'greet', 'backup', 'sysfn']],
      ]);
      assert.strictEqual(json.nodes[0].workloads![0].id, deployed.workloadId);
      const table = await runNexfn(['nodes', '-s', server.url, '--wait', '300']);
      assert.match(table.stdout, /^old +N\w+ +0\.2\.7 /m);
      assert.match(table.stdout, /^n04a +N\w+ +0\.4\.1 /m);
      assert.match(table.stdout, /^legacy +\w+ +default +v8 +old /m);
      assert.match(table.stdout, /\nNex 0\.2\/0\.3 workloads in the namespaces? default[^\n]*:\n/, 'beside the 0.4 workloads, the 0.2/0.3 ones are named so');
    } finally {
      await old.stop();
    }
  });

  it('places each WPING answer on its node with several 0.4 nodes: by the functions nexlet\'s metadata, by elimination, else unplaced', async () => {
    const hostB = await start04('n04b', 'nxb');
    const fb = writeFunction(fnRoot, 'fb', ['fb.>']);
    ids.fb = (await deploy04(nc, fb, 'n04b')).id;
    let s = await newModel().refresh();
    assert.deepStrictEqual(s.problems, []);
    assert.deepStrictEqual(workloadRows(node04Named(s, 'n04b')), [['fb', 'default', 'v8', 'function', 'running', true, ['fb.>'], hostB.node.nodeId]]);
    assert.deepStrictEqual(node04Named(s, 'n04a')!.workloads!.map((w) => [w.name, w.nodeId]), [
      ['cache', hostA.node.nodeId],
      ['greet', hostA.node.nodeId],
      ['backup', hostA.node.nodeId],
      ['sysfn', hostA.node.nodeId],
    ]);

    // n04a without functions: its answer names no node, and is the only one left over with n04a.
    // Every node answers an UNDEPLOY (n04b says "workload not found" for n04a's): its WORKLOADSTOPPED tells.
    await undeployed(nc, 'default', ids.greet);
    await undeployed(nc, 'system', ids.sysfn);
    s = await newModel().refresh();
    assert.deepStrictEqual(node04Named(s, 'n04a')!.workloads!.map((w) => [w.name, w.nodeId]), [
      ['cache', hostA.node.nodeId],
      ['backup', hostA.node.nodeId],
    ]);
    assert.strictEqual(s.workloads04Unplaced, undefined);

    // A third node whose nexlet does not name it either: two anonymous answers, two candidates.
    const cNc = await connect({ servers: server.url });
    const nodeC = await LocalNexNode04.start({ nc: cNc, stateDir: path.join(work, 'n04c'), config: { nodeName: 'n04c', nexus: 'nxc', heartbeatMs: 300 } });
    const nativeC = await startNativeNexlet(nc, 'nxc', { default: [{ id: 'svc-queue', name: 'queue' }] });
    try {
      s = await newModel().refresh();
      assert.deepStrictEqual(s.workloads04Unplaced?.map((w) => [w.name, w.nodeId]), [
        ['cache', undefined],
        ['queue', undefined],
        ['backup', undefined],
      ]);
      assert.deepStrictEqual(workloadRows(node04Named(s, 'n04b'))?.map((r) => r[0]), ['fb'], 'n04b is still told by its function');
      for (const name of ['n04a', 'n04c']) {
        assert.deepStrictEqual(node04Named(s, name)!.workloads, []);
        assert.match(node04Named(s, name)!.problem!, /cannot be told from other nodes'/);
      }
      assert.deepStrictEqual(
        deployedFunctions(s).map((d) => d.name),
        ['fb'],
      );
      const table = await runNexfn(['nodes', '-s', server.url, '--wait', '300']);
      assert.match(table.stdout, /^queue +svc-queue +default +native +service +running +\? /m);
      assert.match(table.stdout, /3 workloads with NODE \? could not be placed/);
    } finally {
      nativeC.stop();
      await nodeC.stop();
      await cNc.close();
    }
  });

  it('follows 0.4 nodes live: NODESTARTED adds one, NODELAMEDUCKSET makes it a lame duck, missed heartbeats make it unreachable, NODESTOPPED removes it', async () => {
    const model = newModel();
    await model.start();
    const dNc = await connect({ servers: server.url });
    const arrived = changeWhere(model, 'n04d listed', (s) => node04Named(s, 'n04d') !== undefined);
    const nodeD = await LocalNexNode04.start({ nc: dNc, stateDir: path.join(work, 'n04d'), config: { nodeName: 'n04d', nexus: 'nxd', heartbeatMs: 300 } });
    try {
      const d = node04Named(await arrived, 'n04d')!;
      assert.deepStrictEqual([d.id, d.state, d.unreachable], [nodeD.nodeId, 'running', undefined]);

      const lameDuck = changeWhere(model, 'n04d a lame duck', (s) => node04Named(s, 'n04d')?.state === 'lameduck');
      await new Nex04Client(nc).lameDuck(nodeD.nodeId, '1h');
      const ld = node04Named(await lameDuck, 'n04d')!;
      assert.strictEqual(ld.tags['nex.lameduck'], 'true');
      assert.ok(ld.stopsAt && Date.parse(ld.stopsAt) > Date.now() + 3000000, ld.stopsAt);

      // Its connection gone without a word: its heartbeats stop.
      const silent = changeWhere(model, 'n04d unreachable', (s) => node04Named(s, 'n04d')?.unreachable === true);
      await dNc.close();
      const u = node04Named(await silent, 'n04d')!;
      assert.match(u.stateReason!, /^it missed 3 heartbeats/);
    } finally {
      await nodeD.stop();
    }
    // Another node that stops as a node does: NODESTOPPED.
    const eNc = await connect({ servers: server.url });
    const came = changeWhere(model, 'n04e listed', (s) => node04Named(s, 'n04e') !== undefined);
    const nodeE = await LocalNexNode04.start({ nc: eNc, stateDir: path.join(work, 'n04e'), config: { nodeName: 'n04e', nexus: 'nxe', heartbeatMs: 300 } });
    try {
      await came;
      const gone = changeWhere(model, 'n04e gone', (s) => node04Named(s, 'n04e') === undefined);
      await nodeE.stop();
      await gone;
    } finally {
      await eNc.close();
    }
  });
});

describe('the explorer facing a hostile Nex 0.4 node', function () {
  this.timeout(30000);
  it('reads what can be read of malformed PING, INFO and WPING answers, heartbeats and feed events, and throws nowhere', async () => {
    const server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    const evil = await connect({ servers: server.url });
    const respond = (subject: string, body: string) => evil.subscribe(subject, { callback: (_e: Error | null, m: Msg) => void m.respond(body) });
    const subs = [
      respond('$NEX.SVC.system.control.PING', '{"node_id":"NHOSTILE","version":"0.4.1","state":"running","start_time":{"toString":1},"tags":{"nex.node":"evil","n":5},"agent_count":"1","xkey":{"toString":1}}'),
      respond('$NEX.SVC.system.control.INFO.NHOSTILE', '{"node_agent_summaries":[null,{"agent_id":{"toString":1}},{"agent_id":"A1","agent_summary":"x","agent_health":7}],"tags":5}'),
      respond('$NEX.SVC.*.control.WPING', '[{"id":"w1","name":"ok","metadata":{"node":{"toString":1},"triggers":"t.>"},"workload_type":"v8"},"junk",null,{"id":3},{"id":"w2","name":{"toString":1}}]'),
    ];
    await evil.flush();
    const model = new DeployedModel({ nc, discoveryWindowMs: 200, refreshMinMs: 60000, heartbeat04IntervalMs: 60000 });
    try {
      await model.start();
      let s = model.snapshot();
      const n = node04Named(s, 'evil')!;
      assert.deepStrictEqual([n.id, n.version, n.startedAt, n.tags, n.agentCount, n.xkey, n.problem], ['NHOSTILE', '0.4.1', '', { 'nex.node': 'evil' }, 0, undefined, undefined]);
      assert.deepStrictEqual(n.nexlets, [{ agentId: 'A1', name: '', type: '', version: '', health: '', state: '', workloadCount: 0 }]);
      // The same list answers in default and system: one workload, of the first namespace read.
      assert.deepStrictEqual(workloadRows(n), [['ok', 'default', 'v8', '', '', true, ['t.>'], 'NHOSTILE']]);
      assert.deepStrictEqual(deployedFunctions(s).map((d) => [d.name, d.node, d.triggers]), [['ok', 'NHOSTILE', ['t.>']]]);

      for (const [subject, body] of [
        ['$NEX.SVC.system.control.HEARTBEAT.NHOSTILE', 'not json'],
        ['$NEX.SVC.system.control.HEARTBEAT.NHOSTILE', '{"registrations":{"toString":1}}'],
        ['$NEX.FEED.default.events.WORKLOADSTOPPED', '[]'],
        ['$NEX.FEED.default.events.WORKLOADSTOPPED', '{"id":{"toString":1},"metadata":"x"}'],
        ['$NEX.FEED.default.events.WORKLOADSTARTED', 'null'],
        ['$NEX.FEED.NHOSTILE.events.NODELAMEDUCKSET', '{"id":{"toString":1},"time":{"toString":1}}'],
        ['$NEX.FEED.NOBODY.events.NODESTOPPED', '{"id":5}'],
      ]) {
        evil.publish(subject, body);
      }
      // The feed is one subscription: once this last (sane) event shows, the ones before it were handled.
      const lameDuck = changeWhere(model, 'the lame duck event', (snap) => node04Named(snap, 'evil')?.state === 'lameduck');
      evil.publish('$NEX.FEED.NHOSTILE.events.NODELAMEDUCKSET', '{"id":"NHOSTILE","time":"2030-01-01T00:00:00Z"}');
      s = await lameDuck;
      assert.strictEqual(node04Named(s, 'evil')!.stopsAt, '2030-01-01T00:00:00Z');
      assert.deepStrictEqual(s.nodes04.map((x) => x.id), ['NHOSTILE']);
    } finally {
      model.dispose();
      subs.forEach((x) => x.unsubscribe());
      await Promise.all([nc.close(), evil.close()]);
      await server.stop();
    }
  });
});
