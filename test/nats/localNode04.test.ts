/**
 * The local node's 0.4.1 mode (LocalNexNode04) against a real nats-server. The test plays the
 * other sides by hand from the protocol reference (../shared/nex-0.4-protocol.md): a client
 * sending raw requests, and a nexlet that registers (RREGISTER, REGISTER), beats and answers the
 * agent API with a few subscriptions. Malformed bodies get 0.4.1's codes, headers and texts.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { connect } from '@nats-io/transport-node';
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { createCurve } from '@nats-io/nkeys';
import { LocalNexNode04 } from '../../src/devnode/localNode04';
import { NatsServerHandle, startNatsServer } from '../support/natsServer';
import { tempDir } from '../support/wasmFixtures';

const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const SYS = '$NEX.SVC.system.control';

const SCHEMA = JSON.stringify({
  type: 'object',
  properties: { uri: { type: 'string' }, argv: { type: 'array', items: { type: 'string' } } },
  required: ['uri'],
});

interface FakeAgentOptions {
  name: string;
  type: string;
  /** Answer STARTWORKLOAD (else nobody listens). */
  serve?: boolean;
  /** How STARTWORKLOAD is answered. */
  startReply?: (request: any, workloadId: string) => { body: unknown; headers?: Record<string, string> };
  /** What QUERYWORKLOADS answers (as text), besides the started workloads. */
  queryReply?: () => string;
}

/** A nexlet, by hand: the client side of the registration handshake and the agent API. */
class FakeAgent {
  id = '';
  nodeId = '';
  readonly xkey = createCurve().getPublicKey();
  readonly started = new Map<string, any>();
  readonly lameDucks: any[] = [];
  readonly starts: any[] = [];
  private readonly subs: Subscription[] = [];
  constructor(
    private readonly nc: NatsConnection,
    readonly options: FakeAgentOptions,
  ) {}

  async register(nexus = 'nexus'): Promise<any> {
    const rr = JSON.parse(dec((await this.nc.request(`$NEX.SVC.${nexus}.agent.RREGISTER`, '{}', { timeout: 3000 })).data));
    this.id = rr.assigned_agent_id;
    this.nodeId = rr.respond_to;
    const prefix = `$NEX.SVC.${this.nodeId}.agent`;
    const sub = (subject: string, handler: (m: Msg) => void) => this.subs.push(this.nc.subscribe(subject, { queue: this.id, callback: (_e, m) => handler(m) }));
    if (this.options.serve !== false) {
      sub(`${prefix}.${this.id}.STARTWORKLOAD.*`, (m) => {
        const body = JSON.parse(dec(m.data));
        const workloadId = m.subject.split('.').pop()!;
        this.starts.push({ subject: m.subject, body, raw: dec(m.data) });
        const reply = this.options.startReply?.(body, workloadId) ?? { body: { id: workloadId, name: body.request.name } };
        if (!reply.headers?.['Nats-Service-Error']) {
          this.started.set(workloadId, body.request);
        }
        const h = natsHeaders();
        for (const [k, v] of Object.entries(reply.headers ?? {})) h.set(k, v);
        m.respond(JSON.stringify(reply.body), { headers: h });
      });
    }
    sub(`${prefix}.STOPWORKLOAD.*`, (m) => {
      const id = m.subject.split('.').pop()!;
      const request = this.started.get(id);
      if (request) {
        this.started.delete(id);
        m.respond(JSON.stringify({ id, message: '', stopped: true, workload_type: this.options.type }));
      } else {
        const h = natsHeaders();
        h.set('Nats-Service-Error', 'workload not found');
        h.set('Nats-Service-Error-Code', '100');
        m.respond(JSON.stringify({ id, message: 'workload not found', stopped: false, workload_type: this.options.type }), { headers: h });
      }
    });
    sub(`${prefix}.GETWORKLOAD.*`, (m) => {
      const request = this.started.get(m.subject.split('.').pop()!);
      if (request) m.respond(JSON.stringify(request));
    });
    sub(`${prefix}.QUERYWORKLOADS`, (m) => {
      if (this.options.queryReply) {
        m.respond(this.options.queryReply());
        return;
      }
      const list = [...this.started.entries()].map(([id, r]) => ({ id, name: r.name, runtime: '1s', start_time: '2026-01-01T00:00:00Z', tags: null, workload_lifecycle: 'function', workload_state: 'running', workload_type: this.options.type, metadata: { triggers: 'a.b' } }));
      m.respond(JSON.stringify(list));
    });
    sub(`${prefix}.SETLAMEDUCK`, (m) => {
      this.lameDucks.push(JSON.parse(dec(m.data)));
      m.respond(JSON.stringify({ message: '', success: true }));
    });
    await this.nc.flush();
    const reg = await this.nc.request(`${prefix}.REGISTER.${this.id}`, JSON.stringify(this.registerBody()), { timeout: 5000 });
    return { rr, reg: JSON.parse(dec(reg.data)), headers: reg.headers };
  }

  registerBody(): Record<string, unknown> {
    return { description: `${this.options.name} from the test`, max_workloads: 0, name: this.options.name, public_xkey: this.xkey, register_type: this.options.type, start_request_schema: SCHEMA, supported_lifecycles: ['function'], version: '0.0.1' };
  }

  heartbeat(state = 'running', summary: Record<string, unknown> = {}): void {
    const body = { data: '', summary: { name: this.options.name, start_time: new Date().toISOString(), state, supported_lifecycles: 'function', type: this.options.type, version: '0.0.1', workload_count: this.started.size, ...summary } };
    this.nc.publish(`$NEX.SVC.${this.nodeId}.agent.HEARTBEAT.${this.id}`, JSON.stringify(body));
  }

  private beating?: ReturnType<typeof setInterval>;
  beatState = 'running';
  /** Heartbeats every `ms` with beatState, as a nexlet does (every 10 s there). */
  startBeating(ms = 250): void {
    this.heartbeat(this.beatState);
    this.beating = setInterval(() => this.heartbeat(this.beatState), ms);
  }

  close(): void {
    clearInterval(this.beating);
    for (const s of this.subs) s.unsubscribe();
  }
}

describe('local Nex node (0.4.1) against a real nats-server', function () {
  this.timeout(60000);
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let client: NatsConnection;
  let node: LocalNexNode04;
  let stateDir: string;
  const logs: string[] = [];
  const logWaiters = new Set<() => void>();
  const agents: FakeAgent[] = [];

  const request = (subject: string, body: string | object, timeout = 5000) => client.request(subject, typeof body === 'string' ? body : JSON.stringify(body), { timeout });
  const json = async (subject: string, body: string | object, timeout = 5000) => {
    const m = await request(subject, body, timeout);
    assert.strictEqual(m.headers?.get('Nats-Service-Error') ?? '', '', `no error on ${subject}: ${dec(m.data)}`);
    return JSON.parse(dec(m.data));
  };
  /** A request that must get no reply: the node answers everything else at once, so 700 ms without one is silence. */
  const silent = async (subject: string, body: string | object) => {
    await assert.rejects(request(subject, body, 700), (e: Error) => /timeout/i.test(e.message) || e.name === 'TimeoutError', `no reply on ${subject}`);
  };
  const expectError = async (subject: string, body: string | object, code: number, description: string, error: string | RegExp) => {
    const m = await request(subject, body);
    assert.strictEqual(m.headers?.get('Nats-Service-Error-Code'), String(code), `${subject} ${JSON.stringify(body)}: code`);
    assert.strictEqual(m.headers?.get('Nats-Service-Error'), description, `${subject} ${JSON.stringify(body)}: description`);
    const parsed = JSON.parse(dec(m.data));
    assert.deepStrictEqual(Object.keys(parsed), ['error_id', 'error']);
    assert.match(parsed.error_id, /^[A-Za-z0-9]{22}$/);
    if (typeof error === 'string') {
      assert.strictEqual(parsed.error, error, `${subject} ${JSON.stringify(body)}: body error`);
    } else {
      assert.match(parsed.error, error);
    }
  };
  /** Resolves when `predicate` holds, checked at every node change and log line (no polling sleeps). */
  const until = (what: string, predicate: () => boolean, timeout = 10000) =>
    new Promise<void>((resolve, reject) => {
      if (predicate()) return resolve();
      const check = () => {
        if (predicate()) {
          done();
          resolve();
        }
      };
      const off = node.onDidChange(check);
      logWaiters.add(check);
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; log:\n${logs.slice(-10).join('\n')}`));
      }, timeout);
      const done = () => {
        off();
        logWaiters.delete(check);
        clearTimeout(timer);
      };
    });
  /** Wakes the waiters of `until` (for things the test's own subscriptions receive). */
  const poke = (_?: unknown): void => {
    for (const w of [...logWaiters]) w();
  };
  const agentHealth = (agent: FakeAgent) => node.registeredAgents.find((a) => a.id === agent.id)?.health;
  const addAgent = async (options: FakeAgentOptions) => {
    const agent = new FakeAgent(client, options);
    agents.push(agent);
    const result = await agent.register();
    return { agent, ...result };
  };
  const startBody = (o: Record<string, unknown> = {}) => ({ description: 'd', name: 'greet', namespace: 'default', run_request: JSON.stringify({ uri: 'nats://b/k' }), tags: null, workload_lifecycle: 'function', workload_type: 'v8', ...o });
  const bid = async (type = 'v8', tags: Record<string, string> | null = null, ns = 'default') => json(`$NEX.SVC.${ns}.control.AUCTION`, { agent_type: type, auction_id: 'a1', tags });

  before(async () => {
    server = await startNatsServer();
    stateDir = tempDir('nex-node04-');
    nc = await connect({ servers: server.url, name: 'local-node-04' });
    client = await connect({ servers: server.url, name: 'test-client' });
    node = await LocalNexNode04.start({
      nc,
      stateDir,
      natsUrl: server.url,
      config: { nodeName: 'test-node', tags: { team: 'a' } },
      timing: { heartbeatMs: 300, healthCheckMs: 100, degradedAfterMs: 1500, offlineAfterMs: 3000, bidTtlMs: 3000, fanOutMs: 1000 },
      log: (level, text) => {
        logs.push(`${level}: ${text}`);
        for (const w of [...logWaiters]) w();
      },
    });
  });
  after(async () => {
    for (const a of agents) a.close();
    await node?.stop();
    await nc?.close();
    await client?.close();
    await server?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('is the micro service nexnode 0.4.1 and answers PING (with filters), PTAGS and INFO in 0.4.1 shapes', async () => {
    const info = await json('$SRV.INFO.nexnode', '');
    assert.strictEqual(info.name, 'nexnode');
    assert.strictEqual(info.version, '0.4.1');
    const endpoints = Object.fromEntries(info.endpoints.map((e: any) => [e.name, e]));
    assert.strictEqual(endpoints.AuctionRequest.subject, '$NEX.SVC.*.control.AUCTION');
    assert.strictEqual(endpoints.AuctionRequest.queue_group, node.nodeId);
    assert.strictEqual(endpoints.RegisterRemoteAgent.queue_group, 'nexus');
    assert.strictEqual(endpoints.AuctionDeployWorkload.subject, '$NEX.SVC.*.control.ADEPLOY.*');

    const ping = await json(`${SYS}.PING`, { filter: null });
    assert.deepStrictEqual(Object.keys(ping), ['agent_count', 'node_id', 'start_time', 'state', 'tags', 'version', 'xkey']);
    assert.strictEqual(ping.node_id, node.nodeId);
    assert.match(ping.node_id, /^N[A-Z2-7]{55}$/);
    assert.match(ping.xkey, /^X[A-Z2-7]{55}$/);
    assert.strictEqual(ping.state, 'running');
    assert.strictEqual(ping.version, '0.4.1');
    assert.strictEqual(ping.agent_count, 0);
    assert.match(ping.start_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.strictEqual(ping.tags['nex.node'], 'test-node');
    assert.strictEqual(ping.tags['nex.nexus'], 'nexus');
    assert.strictEqual(ping.tags['nex.lameduck'], 'false');
    assert.strictEqual(ping.tags.team, 'a');
    assert.deepStrictEqual(Object.keys(ping.tags), Object.keys(ping.tags).sort(), 'a Go map: keys sorted');
    assert.strictEqual((await json(`${SYS}.PING.${node.nodeId}`, { filter: { team: 'a' } })).node_id, node.nodeId);
    await silent(`${SYS}.PING`, { filter: { team: 'b' } });

    assert.deepStrictEqual(await json(`${SYS}.PTAGS`, 'anything'), ping.tags);

    const nodeInfo = await json(`${SYS}.INFO.${node.nodeId}`, '');
    assert.deepStrictEqual(Object.keys(nodeInfo), ['node_id', 'tags', 'uptime', 'version', 'xkey'], 'no node_agent_summaries without agents (omitempty)');
    assert.match(nodeInfo.uptime, /^(\d+m)?\d+(\.\d+)?m?s$/);
  });

  it('answers malformed bodies with 0.4.1\'s codes, descriptions and Go texts', async () => {
    const N = node.nodeId;
    const table: Array<[string, string | object, number, string, string]> = [
      [`${SYS}.PING`, '', 400, 'failed to unmarshal ping request', 'unexpected end of JSON input'],
      [`${SYS}.PING`, '{}', 400, 'failed to unmarshal ping request', 'field filter in NodePingRequest: required'],
      [`${SYS}.PING`, '[]', 400, 'failed to unmarshal ping request', 'json: cannot unmarshal array into Go value of type map[string]interface {}'],
      [`${SYS}.PING`, 'x', 400, 'failed to unmarshal ping request', "invalid character 'x' looking for beginning of value"],
      [`${SYS}.PING.${N}`, '{"filter" 1}', 400, 'failed to unmarshal ping request', "invalid character '1' after object key"],
      // Go's scanner stops at 10,001 levels (the fault suite's 4b got "Maximum call stack size exceeded" for 50,000).
      [`${SYS}.PING`, '['.repeat(50000) + ']'.repeat(50000), 400, 'failed to unmarshal ping request', "invalid character '[' exceeded max depth"],
      ['$NEX.SVC.default.control.UNDEPLOY.W1', '{"a":'.repeat(10001) + '1' + '}'.repeat(10001), 400, 'failed to unmarshal stop workload request', "invalid character '{' exceeded max depth"],
      ['$NEX.SVC.default.control.UNDEPLOY.W1', '{"a":'.repeat(10000) + '1' + '}'.repeat(10000), 400, 'failed to unmarshal stop workload request', 'field namespace in StopWorkloadRequest: required'],
      [`${SYS}.PING`, { filter: 'x' }, 400, 'failed to unmarshal ping request', 'json: cannot unmarshal string into Go struct field Plain.filter of type models.NodePingRequestFilter'],
      [`${SYS}.PING`, { Filter: null }, 400, 'failed to unmarshal ping request', 'field filter in NodePingRequest: required'],
      [`${SYS}.LAMEDUCK.${N}`, {}, 400, 'failed to unmarshal lameduck request', 'field delay in LameduckRequest: required'],
      [`${SYS}.LAMEDUCK.${N}`, { delay: 10 }, 400, 'failed to unmarshal lameduck request', 'json: cannot unmarshal number into Go struct field Plain.delay of type string'],
      [`${SYS}.LAMEDUCK.${N}`, { delay: 'soon' }, 400, 'failed to parse lameduck delay', 'time: invalid duration "soon"'],
      [`${SYS}.LAMEDUCK.${N}`, { delay: '10' }, 400, 'failed to parse lameduck delay', 'time: missing unit in duration "10"'],
      [`${SYS}.LAMEDUCK.${N}`, { delay: '10x' }, 400, 'failed to parse lameduck delay', 'time: unknown unit "x" in duration "10x"'],
      [`${SYS}.LAMEDUCK.${N}`, { delay: '' }, 400, 'failed to parse lameduck delay', 'time: invalid duration ""'],
      [`${SYS}.AGENTID.${N}`, '', 400, 'agent name is required', 'agent name is required'],
      ['$NEX.SVC.default.control.AUCTION', { agent_type: 'v8' }, 400, 'failed to unmarshal auction request', 'field auction_id in AuctionRequest: required'],
      ['$NEX.SVC.default.control.AUCTION', { agent_type: 'v8', auction_id: 'a', tags: ['x'] }, 400, 'failed to unmarshal auction request', 'json: cannot unmarshal array into Go struct field Plain.tags of type models.NodeTags'],
      ['$NEX.SVC.default.control.UNDEPLOY.W1', '{', 400, 'failed to unmarshal stop workload request', 'unexpected end of JSON input'],
      ['$NEX.SVC.default.control.UNDEPLOY.W1', { namespace: 1 }, 400, 'failed to unmarshal stop workload request', 'json: cannot unmarshal number into Go struct field Plain.namespace of type string'],
      ['$NEX.SVC.default.control.UNDEPLOY.W1', { namespace: 'other' }, 403, 'namespace mismatch: default != other', 'namespace mismatch'],
      ['$NEX.SVC.default.control.CLONE.W1', { namespace: 'default' }, 400, 'failed to unmarshal clone workload request', 'field new_target_xkey in CloneWorkloadRequest: required'],
      ['$NEX.SVC.default.control.CLONE.W1', { namespace: 'x', new_target_xkey: '' }, 403, 'namespace mismatch: default != x', 'namespace mismatch'],
      ['$NEX.SVC.default.control.WPING', { namespace: 'default' }, 400, 'failed to unmarshal ping request', 'field filter in AgentListWorkloadsRequest: required'],
      ['$NEX.SVC.default.control.WPING', { filter: [1], namespace: 'default' }, 400, 'failed to unmarshal ping request', 'json: cannot unmarshal number into Go struct field Plain.filter of type string'],
      ['$NEX.SVC.default.control.WPING', { filter: null, namespace: 'team' }, 403, 'namespace mismatch: default != team', 'namespace mismatch'],
      ['$NEX.SVC.default.control.WPING', { filter: null, namespace: 'default' }, 500, 'failed to publish query workloads request', 'internal server error'],
      ['$NEX.SVC.nexus.agent.RREGISTER', '[]', 400, 'failed to unmarshal register remote agent request', 'json: cannot unmarshal array into Go value of type models.RegisterRemoteAgentRequest'],
      ['$NEX.SVC.nexus.agent.RREGISTER', 'x', 400, 'failed to unmarshal register remote agent request', "invalid character 'x' looking for beginning of value"],
      [`$NEX.SVC.${N}.agent.REGISTER.A1`, {}, 400, 'failed to unmarshal register local agent request', 'field description in RegisterAgentRequest: required'],
    ];
    for (const [subject, body, code, description, error] of table) {
      await expectError(subject, body, code, description, error);
    }
    const register = { description: 'd', max_workloads: 1.5, name: 'n', public_xkey: 'X', register_type: 'v8', start_request_schema: SCHEMA, version: '1' };
    await expectError(`$NEX.SVC.${N}.agent.REGISTER.A1`, { ...register, register_type: '' }, 400, 'register_type is required', 'register_type is required');
    await expectError(`$NEX.SVC.${N}.agent.REGISTER.A1`, { ...register, max_workloads: '1' }, 400, 'failed to unmarshal register local agent request', 'json: cannot unmarshal string into Go struct field Plain.max_workloads of type float64');
    await expectError(`$NEX.SVC.${N}.agent.REGISTER.A1`, { ...register, supported_lifecycles: ['daemon'] }, 400, 'failed to unmarshal register local agent request', 'invalid value (expected one of []interface {}{"service", "job", "function"}): "daemon"');
    await expectError(`$NEX.SVC.${N}.agent.REGISTER.A1`, { ...register, start_request_schema: '' }, 400, 'failed to unmarshal start request schema', 'EOF');
    await expectError(`$NEX.SVC.${N}.agent.REGISTER.A1`, { ...register, start_request_schema: '{"type":' }, 400, 'failed to unmarshal start request schema', 'unexpected EOF');
    await expectError(`$NEX.SVC.${N}.agent.REGISTER.A1`, { ...register, start_request_schema: '{"type": 5}' }, 500, 'failed to compile schema', 'internal server error');
    // A StartWorkloadRequest with a bad enum: needs a bid first, so below; with no agent, nothing bids.
    await silent('$NEX.SVC.default.control.AUCTION', { agent_type: 'v8', auction_id: 'a', tags: null });
    await silent('$NEX.SVC.default.control.ADEPLOY.NOSUCHBID', startBody());
    assert.strictEqual(node.registeredAgents.length, 0, 'no refused REGISTER left a registration');
  });

  it('answers UNDEPLOY with no agent registered sanely ("workload not found") and keeps running, where 0.4.1 crashes', async () => {
    const reply = await request('$NEX.SVC.default.control.UNDEPLOY.W1', { namespace: 'default' });
    assert.strictEqual(dec(reply.data), '{"id":"W1","message":"workload not found","stopped":false,"workload_type":""}');
    assert.ok(!reply.headers?.get('Nats-Service-Error'));
    assert.ok(logs.some((l) => /a 0\.4\.1 node crashes here/.test(l)));
    assert.strictEqual((await json(`${SYS}.PING`, { filter: null })).state, 'running');
  });

  it('registers a nexlet (RREGISTER, REGISTER), makes it healthy by its heartbeats, and reports it in INFO and HEARTBEAT', async () => {
    const heartbeats: any[] = [];
    const hbSub = client.subscribe(`${SYS}.HEARTBEAT.${node.nodeId}`, { callback: (_e, m) => poke(heartbeats.push(JSON.parse(dec(m.data)))) });
    const { agent, rr, reg, headers } = await addAgent({ name: 'functions-v8', type: 'v8' });
    assert.deepStrictEqual(Object.keys(rr), ['assigned_agent_id', 'registration_creds', 'respond_to']);
    assert.match(rr.assigned_agent_id, /^[A-Za-z0-9]{22}$/);
    assert.strictEqual(rr.respond_to, node.nodeId);
    const conn = { conn_name: '', nats_servers: [server.url], nats_user_jwt: '', nats_user_name: '', nats_user_nkey: '', nats_user_password: '', nats_user_seed: '', tls_ca: '', tls_cert: '', tls_first: false, tls_key: '' };
    assert.deepStrictEqual(rr.registration_creds, conn);
    assert.ok(!headers?.get('Nats-Service-Error'), 'REGISTER succeeded');
    assert.deepStrictEqual(reg, { connection_data: conn, existing_state: {}, message: '', node_id: node.nodeId, success: true });
    // No heartbeat yet: unknown until the node's health check (every 5 s) runs, offline after it, as on 0.4.1; either way no bid.
    assert.ok(['unknown', 'offline'].includes(agentHealth(agent)!), `no heartbeat yet, but ${agentHealth(agent)}`);
    await silent('$NEX.SVC.default.control.AUCTION', { agent_type: 'v8', auction_id: 'a', tags: null });

    // The same id again is refused.
    await expectError(`$NEX.SVC.${node.nodeId}.agent.REGISTER.${agent.id}`, agent.registerBody(), 500, 'failed to update registration', 'internal server error');

    // A summary with supported_lifecycles as a list does not decode: dropped, still not healthy.
    agent.heartbeat('running', { supported_lifecycles: ['function'] });
    await until('the dropped heartbeat', () => logs.some((l) => /failed to unmarshal agent heartbeat from .*supported_lifecycles/.test(l)));
    assert.notStrictEqual(agentHealth(agent), 'healthy');

    agent.startBeating();
    await until('healthy', () => agentHealth(agent) === 'healthy');
    const info = await json(`${SYS}.INFO.${node.nodeId}`, '');
    assert.strictEqual(info.node_agent_summaries.length, 1);
    const summary = info.node_agent_summaries[0];
    assert.deepStrictEqual(Object.keys(summary), ['agent_health', 'agent_health_stoplight', 'agent_id', 'agent_last_heartbeat_time', 'agent_summary']);
    assert.strictEqual(summary.agent_health, 'healthy');
    assert.strictEqual(summary.agent_health_stoplight, '🟢');
    assert.strictEqual(summary.agent_id, agent.id);
    assert.strictEqual(summary.agent_summary.supported_lifecycles, 'function');
    assert.strictEqual(summary.agent_summary.name, 'functions-v8');
    assert.strictEqual((await json(`${SYS}.PING`, { filter: null })).agent_count, 1);
    assert.strictEqual(dec((await request(`${SYS}.AGENTID.${node.nodeId}`, 'functions-v8')).data), agent.id);
    await silent(`${SYS}.AGENTID.${node.nodeId}`, 'nobody');

    await until('a node heartbeat naming the agent', () => heartbeats.some((h) => h.registrations === `${agent.id} [v8]`));
    hbSub.unsubscribe();
    assert.deepStrictEqual(await json('$NEX.SVC.default.control.WPING', { filter: null, namespace: 'default' }), [], 'no workloads: an empty list');
  });

  it('bids only for a healthy agent of the type whose tags all match; the bid carries the agent\'s schema and xkey', async () => {
    const agent = agents[0];
    const offer = await bid('v8', { team: 'a' });
    assert.deepStrictEqual(Object.keys(offer), ['bidder_id', 'start_request_schema', 'supported_lifecycles', 'xkey']);
    assert.strictEqual(offer.start_request_schema, SCHEMA);
    assert.deepStrictEqual(offer.supported_lifecycles, ['function']);
    assert.strictEqual(offer.xkey, agent.xkey, "the agent's xkey, not the node's");
    assert.notStrictEqual(offer.xkey, node.identity.publicXKey);
    assert.ok((await bid('v8', null, 'team-b')).bidder_id, 'any namespace');
    await silent('$NEX.SVC.default.control.AUCTION', { agent_type: 'wasm', auction_id: 'a', tags: null });
    await silent('$NEX.SVC.default.control.AUCTION', { agent_type: 'v8', auction_id: 'a', tags: { team: 'b' } });
    await silent('$NEX.SVC.default.control.AUCTION', { agent_type: 'v8', auction_id: 'a', tags: { team: 'a', zone: 'x' } });

    agent.beatState = 'starting';
    await until('degraded', () => agentHealth(agent) === 'degraded');
    await silent('$NEX.SVC.default.control.AUCTION', { agent_type: 'v8', auction_id: 'a', tags: null });
    agent.beatState = 'running';
    await until('healthy again', () => agentHealth(agent) === 'healthy');
    assert.ok((await bid()).bidder_id);
  });

  it('ADEPLOY: checks in 0.4.1\'s order, validates run_request against the agent\'s schema, and passes the agent\'s reply and headers through', async () => {
    const agent = agents[0];
    const { bidder_id: bidder } = await bid();
    const deploy = (body: string | object, ns = 'default') => request(`$NEX.SVC.${ns}.control.ADEPLOY.${bidder}`, body);
    const subject = `$NEX.SVC.default.control.ADEPLOY.${bidder}`;
    const table: Array<[string | object, number, string, string | RegExp, string?]> = [
      ['{"name":"x"}', 400, 'failed to unmarshal auction deploy workload request', 'field description in StartWorkloadRequest: required'],
      [startBody({ workload_lifecycle: 'daemon' }), 400, 'failed to unmarshal auction deploy workload request', 'invalid value (expected one of []interface {}{"service", "job", "function"}): "daemon"'],
      [startBody({ workload_lifecycle: null }), 400, 'failed to unmarshal auction deploy workload request', 'invalid value (expected one of []interface {}{"service", "job", "function"}): ""'],
      [startBody({ name: 5 }), 400, 'failed to unmarshal auction deploy workload request', 'json: cannot unmarshal number into Go struct field Plain.name of type string'],
      [startBody({ namespace: 'other' }), 403, 'namespace mismatch: default != other', 'namespace mismatch'],
      [startBody({ workload_type: 'wasm' }), 404, 'workload type not found', 'workload type not found'],
      [startBody({ run_request: '' }), 400, 'failed to unmarshal start request', 'EOF'],
      [startBody({ run_request: '{"uri":' }), 400, 'failed to unmarshal start request', 'unexpected EOF'],
      [startBody({ run_request: 'no' }), 400, 'failed to unmarshal start request', "invalid character 'o' in literal null (expecting 'u')"],
      [startBody({ run_request: '{} {}' }), 400, 'failed to unmarshal start request', 'invalid character after top-level value'],
      [startBody({ run_request: '{"uri": 1}' }), 400, 'failed to validate run request', /^jsonschema validation failed with 'file:\/\/\/.+\/\d{1,6}\.json#'\n- at '\/uri': got number, want string$/],
      [startBody({ run_request: '{}' }), 400, 'failed to validate run request', /^jsonschema validation failed with 'file:\/\/\/.+\.json#'\n- at '': missing property 'uri'$/],
      [startBody({ run_request: '{"uri": "u", "argv": [1]}' }), 400, 'failed to validate run request', /\n- at '\/argv\/0': got number, want string$/],
    ];
    for (const [body, code, description, error] of table) {
      await expectError(subject, body, code, description, error);
    }
    assert.strictEqual(agent.starts.length, 0, 'nothing reached the agent');
    // A system caller may deploy into any namespace.
    agent.options.startReply = (body, id) => ({ body: { id, name: body.request.name }, headers: { 'x-agent': 'functions' } });
    const ok = await deploy(startBody({ description: null, tags: { team: 'a' } }), 'system');
    assert.strictEqual(ok.headers?.get('x-agent'), 'functions', "the agent's headers pass through");
    assert.ok(!ok.headers?.get('Nats-Service-Error'));
    const started = JSON.parse(dec(ok.data));
    assert.strictEqual(started.name, 'greet');
    const sent = agent.starts.at(-1);
    assert.strictEqual(sent.subject, `$NEX.SVC.${node.nodeId}.agent.${agent.id}.STARTWORKLOAD.${started.id}`);
    assert.strictEqual(
      sent.raw,
      JSON.stringify({
        request: { description: '', name: 'greet', namespace: 'default', run_request: '{"uri":"nats://b/k"}', tags: { team: 'a' }, workload_lifecycle: 'function', workload_type: 'v8' },
        workload_creds: { conn_name: '', nats_servers: [server.url], nats_user_jwt: '', nats_user_name: '', nats_user_nkey: '', nats_user_password: '', nats_user_seed: '', tls_ca: '', tls_cert: '', tls_first: false, tls_key: '' },
      }),
      'the Go struct re-marshalled (null description as ""), with the no-creds connection data',
    );
    assert.deepStrictEqual(node.workloads.map((w) => w.name), ['greet']);

    // An agent's refusal arrives as its own code (100) and body.
    agent.options.startReply = (_body, id) => ({ body: { id, name: '' }, headers: { 'Nats-Service-Error': 'artifact digest mismatch', 'Nats-Service-Error-Code': '100' } });
    const refused = await deploy(startBody({ name: 'broken' }));
    assert.strictEqual(refused.headers?.get('Nats-Service-Error-Code'), '100');
    assert.strictEqual(refused.headers?.get('Nats-Service-Error'), 'artifact digest mismatch');
    assert.match(dec(refused.data), /^\{"id":"[A-Za-z0-9]{22}","name":""\}$/);
    agent.options.startReply = undefined;
    assert.deepStrictEqual(node.workloads.map((w) => w.name), ['greet'], 'a refused deploy is not kept');

    // A healthy agent nobody serves STARTWORKLOAD for.
    const ghost = (await addAgent({ name: 'ghost', type: 'ghost', serve: false, queryReply: () => JSON.stringify([{ id: 'G1', name: 'ghostly', runtime: '2s', start_time: '2026-01-01T00:00:00Z', tags: null, workload_lifecycle: 'service', workload_state: 'running', workload_type: 'ghost' }]) })).agent;
    ghost.heartbeat('running');
    await until('ghost healthy', () => agentHealth(ghost) === 'healthy');
    const ghostBid = (await bid('ghost')).bidder_id;
    await expectError(`$NEX.SVC.default.control.ADEPLOY.${ghostBid}`, startBody({ workload_type: 'ghost' }), 500, 'failed to publish start workload request', 'internal server error');
  });

  it('a bid expires, and an ADEPLOY to it gets no reply', async () => {
    const { bidder_id: bidder } = await bid();
    await json(`$NEX.SVC.default.control.ADEPLOY.${bidder}`, startBody({ name: 'again' }), 5000);
    // Not consumed by a deploy (as on 0.4.1); gone once the node sweeps it (3 s in this test, 10 s on 0.4.1).
    await until('the bid to expire', () => logs.includes(`debug: bid ${bidder} expired`));
    await silent(`$NEX.SVC.default.control.ADEPLOY.${bidder}`, startBody());
    const again = node.workloads.find((w) => w.name === 'again')!;
    assert.strictEqual(dec((await request(`$NEX.SVC.default.control.UNDEPLOY.${again.id}`, { namespace: 'default' })).data), JSON.stringify({ id: again.id, message: '', stopped: true, workload_type: 'v8' }));
  });

  it('WPING merges every agent\'s list and drops a reply that breaks WorkloadSummary; CLONE returns the agent\'s stored request', async () => {
    const [v8, ghost] = agents;
    const list = await json('$NEX.SVC.default.control.WPING', { filter: null, namespace: 'default' });
    assert.deepStrictEqual(list.map((w: any) => w.name).sort(), ['ghostly', 'greet']);
    const greet = list.find((w: any) => w.name === 'greet');
    assert.deepStrictEqual(greet.metadata, { triggers: 'a.b' });

    ghost.options.queryReply = () => JSON.stringify([{ id: 'G1', name: 'ghostly', runtime: '2s', start_time: '2026-01-01T00:00:00Z', tags: null, workload_lifecycle: 'service', workload_state: 'running', workload_type: 'ghost', metadata: { triggers: ['a', 'b'] } }]);
    const merged = await json('$NEX.SVC.system.control.WPING', { filter: null, namespace: 'default' });
    assert.deepStrictEqual(merged.map((w: any) => w.name), ['greet'], "metadata values must be strings: the ghost's reply is dropped whole");

    const clone = await json(`$NEX.SVC.default.control.CLONE.${greet.id}`, { namespace: 'default', new_target_xkey: '' });
    assert.deepStrictEqual(clone, v8.started.get(greet.id));
    await silent('$NEX.SVC.default.control.CLONE.NOSUCH', { namespace: 'default', new_target_xkey: '' });
  });

  it('UNDEPLOY asks every agent; the first stopped:true wins, else "workload not found"', async () => {
    const greet = node.workloads.find((w) => w.name === 'greet')!;
    const stopped = await request(`$NEX.SVC.default.control.UNDEPLOY.${greet.id}`, { namespace: 'default' });
    assert.strictEqual(dec(stopped.data), JSON.stringify({ id: greet.id, message: '', stopped: true, workload_type: 'v8' }));
    assert.deepStrictEqual(node.workloads, []);
    const again = await request(`$NEX.SVC.system.control.UNDEPLOY.${greet.id}`, { namespace: 'default' });
    assert.strictEqual(dec(again.data), JSON.stringify({ id: greet.id, message: 'workload not found', stopped: false, workload_type: '' }));
    assert.ok(!again.headers?.get('Nats-Service-Error'), 'the node answers without an error header');
  });

  it('marks an agent degraded, then offline, when its heartbeats stop; it stops bidding', async () => {
    const ghost = agents[1];
    ghost.heartbeat('running');
    await until('ghost healthy', () => agentHealth(ghost) === 'healthy');
    await until('ghost degraded', () => agentHealth(ghost) === 'degraded');
    await silent('$NEX.SVC.default.control.AUCTION', { agent_type: 'ghost', auction_id: 'a', tags: null });
    await until('ghost offline', () => agentHealth(ghost) === 'offline');
    const info = await json(`${SYS}.INFO.${node.nodeId}`, '');
    const summary = info.node_agent_summaries.find((s: any) => s.agent_id === ghost.id);
    assert.strictEqual(summary.agent_health_stoplight, '🔴');
    assert.strictEqual((await json(`${SYS}.PING`, { filter: null })).agent_count, 2, 'registrations are never forgotten, as on 0.4.1');
  });

  it('LAMEDUCK: silent for other tags; tells the agents, sets state and tag, says NODELAMEDUCKSET, and at the delay stops answering (NODESTOPPED) while the process stays', async () => {
    const events: Array<{ subject: string; body: any }> = [];
    const eventSub = client.subscribe('$NEX.FEED.*.events.>', { callback: (_e, m) => poke(events.push({ subject: m.subject, body: JSON.parse(dec(m.data)) })) });
    await client.flush();
    await silent(`${SYS}.LAMEDUCK.${node.nodeId}`, { delay: '1s', tag: { team: 'b' } });
    assert.strictEqual(node.nodeState, 'running');

    const reply = await json(`${SYS}.LAMEDUCK.${node.nodeId}`, { delay: '1.5s', tag: { team: 'a' } });
    assert.deepStrictEqual(Object.keys(reply), ['message', 'success']);
    assert.strictEqual(reply.success, true);
    assert.match(reply.message, /^node entering lameduck mode, will shutdown at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.deepStrictEqual(agents[0].lameDucks.at(-1), { delay: '1.5s', tag: { team: 'a' } }, 'the agents get the delay as Go prints it');
    const ping = await json(`${SYS}.PING`, { filter: null });
    assert.strictEqual(ping.state, 'lameduck');
    assert.strictEqual(ping.tags['nex.lameduck'], 'true');
    await until('NODELAMEDUCKSET', () => events.some((e) => e.subject === `$NEX.FEED.${node.nodeId}.events.NODELAMEDUCKSET`));
    const set = events.find((e) => e.subject.endsWith('NODELAMEDUCKSET'))!.body;
    assert.deepStrictEqual(Object.keys(set), ['id', 'time']);
    assert.strictEqual(set.id, node.nodeId);

    // Like 0.4.1, a lame-duck node still bids for a healthy agent; only the tag tells clients.
    assert.ok((await bid()).bidder_id);

    await until('NODESTOPPED', () => events.some((e) => e.subject === `$NEX.FEED.${node.nodeId}.events.NODESTOPPED`), 10000);
    assert.deepStrictEqual(events.find((e) => e.subject.endsWith('NODESTOPPED'))!.body, { id: node.nodeId });
    assert.strictEqual(node.nodeState, 'stopping');
    await assert.rejects(request(`${SYS}.PING`, { filter: null }, 2000), /no responders|503|timeout/i, 'the service is gone');
    assert.ok(logs.some((l) => /A 0\.4\.1 node exits here/.test(l)));
    eventSub.unsubscribe();
  });

  it('says NODESTARTED with 0.4.1\'s body, and keeps its identity in the state folder', async () => {
    const events: any[] = [];
    const sub = client.subscribe('$NEX.FEED.*.events.NODESTARTED', { callback: (_e, m) => poke(events.push({ subject: m.subject, body: JSON.parse(dec(m.data)) })) });
    await client.flush();
    const again = await LocalNexNode04.start({ nc, stateDir, config: { nodeName: 'again' } });
    try {
      assert.strictEqual(again.nodeId, node.nodeId);
      const ping = await json(`${SYS}.PING.${again.nodeId}`, { filter: null });
      assert.strictEqual(ping.tags['nex.node'], 'again');
      await client.flush();
      const started = events.find((e) => e.subject === `$NEX.FEED.${again.nodeId}.events.NODESTARTED`);
      assert.ok(started, 'NODESTARTED was published before the node answered');
      assert.deepStrictEqual(Object.keys(started.body), ['id', 'name', 'nexus', 'tags', 'type']);
      assert.deepStrictEqual(started.body, { id: again.nodeId, name: 'again', nexus: 'nexus', tags: ping.tags, type: 'io.synadia.nex.event.nexnode_started' });
    } finally {
      sub.unsubscribe();
      await again.stop();
    }
    assert.ok(fs.existsSync(path.join(stateDir, 'node-identity.json')));
  });
});
