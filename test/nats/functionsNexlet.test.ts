/**
 * The functions nexlet (src/nexlet) on a real nats-server, driven from the node's side of the Nex
 * 0.4.1 agent protocol as the reference gives it (the test answers RREGISTER, REGISTER and PING
 * as a 0.4.1 node does, and sends the node's requests): the registration handshake and heartbeats,
 * every endpoint's replies and error codes, a JavaScript and a WebAssembly function started and
 * triggered, two instances sharing a queue group, host services through the workload's connection,
 * the trigger event and metrics feeds, lame duck, and registering again after the node restarted.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { connect } from '@nats-io/transport-node';
import { createCurve } from '@nats-io/nkeys';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { uploadArtifact } from '../../src/deploy/artifactStore';
import { plainConnectionData } from '../../src/nats/connectionData';
import { sealEnvironment } from '../../src/nex/xkeyEnvelope';
import type { FunctionStartRequest } from '../../src/nex04/functionStartRequest';
import { readServiceReply, Nex04Error } from '../../src/nex04/serviceErrors';
import { agent04, control04, feed04 } from '../../src/nex04/subjects';
import type { AgentHeartbeat, AgentStartWorkloadRequest, RegisterAgentRequest, StartWorkloadRequest, StopWorkloadResponse, WorkloadSummary } from '../../src/nex04/types';
import { FunctionsNexlet } from '../../src/nexlet/functionsNexlet';
import type { Nexfile } from '../../src/deploy/nexfile';
import { runNexfn } from '../support/nexfn';
import { buildWat, tempDir } from '../support/wasmFixtures';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';

const NODE = 'NTESTNODE0000000000000000000000000000000000000000000000';

/** The node's side of registration: RREGISTER, REGISTER (recorded), heartbeats (recorded), PING.<node> with a start time. */
class FakeNodeSide {
  readonly registrations: Array<{ agentId: string; request: RegisterAgentRequest }> = [];
  readonly heartbeats = new Map<string, AgentHeartbeat[]>();
  startTime = new Date().toISOString();
  private subs: Subscription[] = [];
  private counter = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly nc: NatsConnection, private readonly url: string) {}

  listen(): void {
    const on = (subject: string, handle: (msg: Msg) => void) => this.subs.push(this.nc.subscribe(subject, { callback: (_e, msg) => handle(msg) }));
    on(agent04.remoteRegister('nexus'), (msg) => {
      msg.respond(JSON.stringify({ assigned_agent_id: `AGENT${++this.counter}`, registration_creds: plainConnectionData([this.url]), respond_to: NODE }));
    });
    on(`$NEX.SVC.${NODE}.agent.REGISTER.*`, (msg) => {
      this.registrations.push({ agentId: msg.subject.split('.').pop()!, request: JSON.parse(msg.string()) });
      msg.respond(JSON.stringify({ connection_data: plainConnectionData([this.url]), existing_state: {}, message: '', node_id: NODE, success: true }));
    });
    on(`$NEX.SVC.${NODE}.agent.HEARTBEAT.*`, (msg) => {
      const id = msg.subject.split('.').pop()!;
      this.heartbeats.set(id, [...(this.heartbeats.get(id) ?? []), JSON.parse(msg.string())]);
      this.waiters.splice(0).forEach((w) => w());
    });
    on(control04.pingNode(NODE), (msg) => {
      msg.respond(JSON.stringify({ agent_count: this.registrations.length, node_id: NODE, start_time: this.startTime, state: 'running', tags: {}, version: '0.4.1', xkey: 'X' }));
    });
  }

  /** Resolves at the next heartbeat after which `check` holds. */
  heartbeatWhere(check: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const test = () => (check() ? resolve() : this.waiters.push(test));
      test();
    });
  }

  close(): void {
    this.subs.forEach((s) => s.unsubscribe());
  }
}

describe('the functions nexlet (src/nexlet) against the 0.4.1 agent protocol', function () {
  this.timeout(60000);
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let node: FakeNodeSide;
  let nexlet: FunctionsNexlet;
  let work: string;
  let jsArtifact: { bucket: string; key: string; sha256: string };

  const agentOf = (type: 'v8' | 'wasm') => nexlet.registered!.agents[type];
  const startRequest = (name: string, type: 'v8' | 'wasm', start: Partial<FunctionStartRequest> & Pick<FunctionStartRequest, 'artifact' | 'triggers'>, namespace = 'default'): StartWorkloadRequest => ({
    description: `the ${name} function`,
    name,
    namespace,
    run_request: JSON.stringify(start),
    tags: {},
    workload_lifecycle: 'function',
    workload_type: type,
  });
  /** What a node sends STARTWORKLOAD, and the reply (or the Nex04Error). */
  const startWorkload = async (type: 'v8' | 'wasm', workloadId: string, request: StartWorkloadRequest) => {
    const body: AgentStartWorkloadRequest = { request, workload_creds: plainConnectionData([server.url]) };
    return readServiceReply<{ id: string; name: string }>(await nc.request(agent04.startWorkload(NODE, agentOf(type), workloadId), JSON.stringify(body), { timeout: 20000 }));
  };

  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    node = new FakeNodeSide(nc, server.url);
    node.listen();
    work = tempDir('nex-nexlet-');
    const js = path.join(work, 'greet.js');
    fs.writeFileSync(js, '(subject, payload) => {\n  const name = String.fromCharCode(...payload);\n  if (name === "boom") throw new Error("boom on " + subject);\n  console.log("greeting " + name);\n  hostServices.kv.set("last", payload);\n  return { greeting: "Hello, " + name, subject };\n};\n');
    const uploaded = await uploadArtifact(nc, js);
    jsArtifact = { bucket: uploaded.bucket, key: uploaded.key, sha256: uploaded.sha256 };
    nexlet = await FunctionsNexlet.start({ nc, heartbeatMs: 200 });
  });
  after(async () => {
    await nexlet?.stop();
    node?.close();
    await nc?.close();
    await server?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('registers a JavaScript (v8) and a WebAssembly (wasm) agent with the schema and its xkey, and heartbeats "running" with lifecycles as one string', async () => {
    assert.deepStrictEqual(node.registrations.map((r) => r.request.register_type), ['v8', 'wasm']);
    const [js] = node.registrations;
    assert.strictEqual(js.request.name, 'nexfn-functions');
    assert.deepStrictEqual(js.request.supported_lifecycles, ['function']);
    assert.strictEqual(js.request.public_xkey, nexlet.xkey.getPublicKey());
    const schema = JSON.parse(js.request.start_request_schema);
    assert.deepStrictEqual(schema.required, ['artifact', 'triggers']);
    assert.deepStrictEqual(nexlet.registered, { nodeId: NODE, agents: { v8: js.agentId, wasm: node.registrations[1].agentId } });
    await node.heartbeatWhere(() => (node.heartbeats.get(js.agentId)?.length ?? 0) >= 2);
    const beat = node.heartbeats.get(js.agentId)![0];
    assert.deepStrictEqual({ ...beat.summary, start_time: 'x' }, { name: 'nexfn-functions', start_time: 'x', state: 'running', supported_lifecycles: 'function', type: 'v8', version: '0.1.0', workload_count: 0 });
    // NATS micro discovery, as every Go micro service answers it.
    const ping = JSON.parse((await nc.request('$SRV.PING.nexfn-functions', '', { timeout: 2000 })).string());
    assert.strictEqual(ping.type, 'io.nats.micro.v1.ping_response');
  });

  it('starts a JavaScript function, answers its triggers with the runner headers, its host services on the workload connection, logs and a trigger event', async () => {
    const events: unknown[] = [];
    const logs: string[] = [];
    const evSub = nc.subscribe(feed04.event('default', 'FUNCTIONTRIGGERED'), { callback: (_e, m) => void events.push(JSON.parse(m.string())) });
    const logSub = nc.subscribe(feed04.namespaceLogs('default'), { callback: (_e, m) => void logs.push(`${m.subject.split('.').pop()}: ${m.string()}`) });
    const started = nc.subscribe(feed04.event('default', 'WORKLOADSTARTED'), { max: 1 });
    const reply = await startWorkload('v8', 'W1', startRequest('greet', 'v8', { artifact: jsArtifact, triggers: ['greet.*'] }));
    assert.deepStrictEqual(reply, { id: 'W1', name: 'greet' });
    for await (const m of started) {
      assert.deepStrictEqual(JSON.parse(m.string()), { id: 'W1', metadata: { name: 'greet', namespace: 'default', node: NODE, sha256: jsArtifact.sha256, triggers: 'greet.*', type: 'v8' }, namespace: 'default', workload_type: 'v8' });
    }
    const answer = await nc.request('greet.now', 'Ada', { timeout: 10000 });
    assert.deepStrictEqual(answer.json(), { greeting: 'Hello, Ada', subject: 'greet.now' });
    assert.strictEqual(answer.headers?.get('workload_id'), 'W1');
    assert.strictEqual(answer.headers?.get('namespace'), 'default');
    assert.strictEqual(answer.headers?.get('error'), '');
    const failed = await nc.request('greet.now', 'boom', { timeout: 10000 });
    assert.match(failed.headers!.get('error'), /boom on greet\.now/, 'a failure replies at once, with the error header');
    await nc.flush();
    // The function's KV write went to hs_default_greet_kv through the workload's connection.
    const { Kvm } = await import('@nats-io/kv');
    const entry = await (await new Kvm(nc).open('hs_default_greet_kv')).get('last');
    assert.strictEqual(entry?.string(), 'Ada');
    while (events.length < 2) await new Promise((r) => setTimeout(r, 20));
    assert.deepStrictEqual(events.map((e) => ({ ...(e as object), duration_ms: 0 })), [
      { id: 'W1', namespace: 'default', name: 'greet', subject: 'greet.now', duration_ms: 0 },
      { id: 'W1', namespace: 'default', name: 'greet', subject: 'greet.now', duration_ms: 0, error: (events[1] as { error: string }).error },
    ]);
    assert.ok(logs.includes('stdout: greeting Ada'), logs.join('\n'));
    evSub.unsubscribe();
    logSub.unsubscribe();
  });

  it('lists and returns only its own workloads (QueryWorkloads, GetWorkload), with the function name and triggers as string metadata', async () => {
    const byAgent = async (agent: string) => {
      const replies: WorkloadSummary[][] = [];
      const inbox = nc.subscribe('_INBOX.query.>');
      nc.publish(agent04.queryWorkloads(NODE), JSON.stringify({ filter: null, namespace: 'default' }), { reply: `_INBOX.query.${agent}` });
      for await (const m of inbox) {
        replies.push(JSON.parse(m.string()));
        if (replies.length === 2) break;
      }
      return replies;
    };
    const lists = await byAgent('x');
    const listed = lists.flat();
    assert.deepStrictEqual(
      listed.map((w) => [w.id, w.name, w.workload_lifecycle, w.workload_state, w.workload_type, w.metadata]),
      [['W1', 'greet', 'function', 'running', 'v8', { name: 'greet', namespace: 'default', node: NODE, sha256: jsArtifact.sha256, triggers: 'greet.*', type: 'v8' }]],
      'one registration lists greet, the other nothing',
    );
    const stored = JSON.parse((await nc.request(agent04.getWorkload(NODE, 'W1'), '', { timeout: 2000 })).string());
    assert.strictEqual(stored.name, 'greet');
    await assert.rejects(nc.request(agent04.getWorkload(NODE, 'NOPE'), '', { timeout: 300 }), /timeout|no responders/i, 'an unknown workload gets no reply');
  });

  it('refuses bad starts with code 100 and the runner body: schema, digest, source, lifecycle, type', async () => {
    const refused = async (type: 'v8' | 'wasm', request: StartWorkloadRequest, pattern: RegExp) => {
      const e = await startWorkload(type, 'WBAD', request).then(
        () => assert.fail('started'),
        (err: unknown) => err as Nex04Error,
      );
      assert.strictEqual(e.code, 100);
      assert.match(e.description, pattern);
    };
    await refused('v8', startRequest('bad', 'v8', { artifact: jsArtifact, triggers: [] }), /start request schema: \/triggers must NOT have fewer than 1 items/);
    await refused('v8', startRequest('bad', 'v8', { artifact: { ...jsArtifact, sha256: '0'.repeat(64) }, triggers: ['b.*'] }), /has the SHA-256 [0-9a-f]{64}, not the 0{64}/);
    const big = path.join(work, 'bigjs');
    fs.writeFileSync(big, `// ${'x'.repeat(12300)}\n(s) => s;\n`);
    const stored = await uploadArtifact(nc, big);
    await refused('v8', startRequest('bad', 'v8', { artifact: { bucket: stored.bucket, key: stored.key, sha256: stored.sha256 }, triggers: ['b.*'] }), /source file \(12\d{3} bytes\) exceeds maximum of 12288 bytes/);
    await refused('v8', { ...startRequest('bad', 'v8', { artifact: jsArtifact, triggers: ['b.*'] }), workload_lifecycle: 'service' }, /runs the lifecycle "function" only/);
    await refused('wasm', startRequest('bad', 'v8', { artifact: jsArtifact, triggers: ['b.*'] }), /runs wasm functions, not v8/);
    const garbled = await nc.request(agent04.startWorkload(NODE, agentOf('v8'), 'WBAD'), '[]', { timeout: 2000 });
    assert.throws(() => readServiceReply(garbled), (e: Nex04Error) => e.code === 100 && /cannot unmarshal array/.test(e.description));
    assert.strictEqual(garbled.string(), JSON.stringify({ id: 'WBAD', name: '' }));
  });

  it('answers a hostile SETLAMEDUCK (not a LameduckRequest, or a delay that is no duration) with code 100 and success false, staying out of lame duck, and a STARTWORKLOAD whose request is null with code 100 (the fault suite\'s 4b found both)', async () => {
    for (const body of ['', 'not json', '[]', '{}', 'null', JSON.stringify({ delay: 5 }), JSON.stringify({ delay: 'soon' }), JSON.stringify({ delay: '10' })]) {
      const replies: Msg[] = [];
      const inbox = `_INBOX.lame.${Math.random().toString(36).slice(2)}`;
      const sub = nc.subscribe(inbox, { callback: (_e, m) => void replies.push(m) });
      nc.publish(agent04.setLameDuck(NODE), body, { reply: inbox });
      await nc.flush();
      const deadline = Date.now() + 2000;
      while (replies.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      sub.unsubscribe();
      assert.strictEqual(replies.length, 2, `both registrations answer ${JSON.stringify(body)}`);
      for (const reply of replies) {
        assert.throws(() => readServiceReply(reply), (e: Nex04Error) => e.code === 100 && e.description !== '', `a code-100 error for ${JSON.stringify(body)}`);
        assert.deepStrictEqual(JSON.parse(reply.string()), { message: '', success: false });
      }
    }
    const v8 = agentOf('v8');
    const beats = node.heartbeats.get(v8)!.length;
    await node.heartbeatWhere(() => node.heartbeats.get(v8)!.length > beats);
    assert.strictEqual(node.heartbeats.get(v8)!.at(-1)!.summary.state, 'running', 'still running, and bidding');
    const nulled = await nc.request(agent04.startWorkload(NODE, v8, 'WNULL'), JSON.stringify({ request: null, workload_creds: plainConnectionData([server.url]) }), { timeout: 2000 });
    assert.throws(() => readServiceReply(nulled), (e: Nex04Error) => e.code === 100 && /runs v8 functions, not\s*$/.test(e.description));
    assert.strictEqual(nulled.string(), JSON.stringify({ id: 'WNULL', name: '' }));
  });

  it('two instances of a workload share its triggers in a queue group; a sealed environment reaches a WebAssembly function', async () => {
    await startWorkload('v8', 'W2', startRequest('greet', 'v8', { artifact: jsArtifact, triggers: ['greet.*'] }));
    const seen = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const m = await nc.request('greet.share', `n${i}`, { timeout: 10000 });
      const id = m.headers!.get('workload_id');
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    assert.deepStrictEqual([...seen.keys()].sort(), ['W1', 'W2'], `both instances answered: ${JSON.stringify([...seen])}`);
    assert.strictEqual([...seen.values()].reduce((a, b) => a + b), 40, 'each request answered once');

    const wasm = await buildWat('env', work);
    const stored = await uploadArtifact(nc, wasm);
    const sender = createCurve();
    const sealed = { sender_xkey: sender.getPublicKey(), data: sealEnvironment({ GREETING: 'sealed hello' }, sender, nexlet.xkey.getPublicKey()) };
    await startWorkload('wasm', 'W3', startRequest('envfn', 'wasm', { artifact: { bucket: stored.bucket, key: stored.key, sha256: stored.sha256 }, triggers: ['envfn.get'], sealed_environment: sealed }));
    const env = await nc.request('envfn.get', '', { timeout: 10000 });
    assert.match(env.string(), /sealed hello/);
  });

  it('nexfn nexfile writes a Nexfile (JSON alone on stdout) whose start request the schema takes and the nexlet runs, as nex workload start -f would send it', async () => {
    const dir = path.join(work, 'shout');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'shout.js'), '(subject, payload) => String.fromCharCode(...payload).toUpperCase();\n');
    fs.writeFileSync(path.join(dir, 'nexfunction.json'), JSON.stringify({ name: 'shout', type: 'v8', source: 'shout.js', triggers: ['shout.*'], limits: { timeoutMs: 2000 }, deploy: { tags: { team: 'a' } } }));
    const run = await runNexfn(['nexfile', dir, '--server', server.url]);
    assert.strictEqual(run.code, 0, run.stderr);
    const nexfile = JSON.parse(run.stdout) as Nexfile;
    assert.deepStrictEqual({ ...nexfile, start_request: { ...nexfile.start_request, artifact: { ...nexfile.start_request.artifact, sha256: 'x' } } }, {
      name: 'shout',
      description: '',
      tags: { team: 'a' },
      type: 'v8',
      lifecycle: 'function',
      start_request: { artifact: { bucket: 'NEXCLIFILES', key: 'shoutjs', sha256: 'x' }, triggers: ['shout.*'], limits: { timeout_ms: 2000 }, compat: 'docs' },
    });
    assert.match(run.stderr, /nex workload start -f/);
    const request: StartWorkloadRequest = { description: nexfile.description, name: nexfile.name, namespace: 'default', run_request: JSON.stringify(nexfile.start_request), tags: nexfile.tags, workload_lifecycle: nexfile.lifecycle, workload_type: nexfile.type };
    await startWorkload('v8', 'W4', request);
    assert.strictEqual((await nc.request('shout.it', 'hey', { timeout: 10000 })).string(), 'HEY');
  });

  it('stops a workload (STOPWORKLOAD to every agent: its own says stopped, the other code 100 "workload not found")', async () => {
    const replies: Array<{ code?: string; body: StopWorkloadResponse }> = [];
    const inbox = nc.subscribe('_INBOX.stop.>');
    nc.publish(agent04.stopWorkload(NODE, 'W2'), JSON.stringify({ namespace: 'default' }), { reply: '_INBOX.stop.x' });
    for await (const m of inbox) {
      replies.push({ code: m.headers?.get('Nats-Service-Error-Code') || undefined, body: JSON.parse(m.string()) });
      if (replies.length === 2) break;
    }
    assert.deepStrictEqual(
      replies.sort((a, b) => Number(b.body.stopped) - Number(a.body.stopped)),
      [
        { code: undefined, body: { id: 'W2', message: '', stopped: true, workload_type: 'v8' } },
        { code: '100', body: { id: 'W2', message: 'workload not found', stopped: false, workload_type: 'wasm' } },
      ],
    );
    const answer = await nc.request('greet.after', 'Bo', { timeout: 10000 });
    assert.strictEqual(answer.headers?.get('workload_id'), 'W1', 'the other instance goes on');
  });

  it('in lame duck mode bids no more (heartbeat state lameduck) and starts nothing, while its workloads go on answering', async () => {
    const lame = JSON.parse((await nc.request(agent04.setLameDuck(NODE), JSON.stringify({ delay: '1m0s' }), { timeout: 2000 })).string());
    assert.deepStrictEqual(lame, { message: '', success: true });
    const v8 = agentOf('v8');
    await node.heartbeatWhere(() => node.heartbeats.get(v8)!.at(-1)!.summary.state === 'lameduck');
    await assert.rejects(startWorkload('v8', 'W9', startRequest('late', 'v8', { artifact: jsArtifact, triggers: ['late.*'] })), (e: Nex04Error) => e.code === 100 && /lame duck/.test(e.description));
    assert.strictEqual((await nc.request('greet.lame', 'Cy', { timeout: 10000 })).headers?.get('workload_id'), 'W1');
  });

  it('registers again when its node restarts (a new start time), saying which workloads were lost', async () => {
    const before = node.registrations.length;
    node.startTime = new Date(Date.now() + 1000).toISOString();
    await node.heartbeatWhere(() => node.registrations.length >= before + 2 && node.registrations.slice(before).every((r) => (node.heartbeats.get(r.agentId)?.length ?? 0) > 0));
    assert.deepStrictEqual(node.registrations.slice(before).map((r) => r.request.register_type), ['v8', 'wasm']);
    assert.strictEqual(nexlet.workloads.length, 0, 'the old registrations and their workloads are gone');
    await assert.rejects(nc.request('greet.gone', 'x', { timeout: 500 }), /no responders|timeout/i);
  });
});

describe('the functions nexlet without a node', function () {
  this.timeout(30000);
  it('says that no node of the nexus answered, and how to start one', async () => {
    const server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    try {
      await assert.rejects(FunctionsNexlet.start({ nc, nexus: 'lonely' }), /no Nex 0\.4 node of the nexus "lonely" answered \$NEX\.SVC\.lonely\.agent\.RREGISTER .*--allow-remote-agent-registration.*nexfn node --emulate 0\.4\.1/);
    } finally {
      await nc.close();
      await server.stop();
    }
  });
});
