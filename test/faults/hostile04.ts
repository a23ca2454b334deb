/**
 * Fault 4b, hostile control traffic on a 0.4.1 node: 10,000 messages (random bytes, truncated,
 * deeply nested and 900 KB JSON, wrong kinds, unknown and case-shifted fields, JSON scalars,
 * prototype keys, bytes that are not UTF-8) on every control subject of the local node in 0.4.1
 * mode running as a process of its own (`nexfn node --nats URL --emulate 0.4.1`, the functions
 * nexlet beside it) and on the nexlet's agent endpoints, and hostile answers to the explorer's 0.4
 * PING. Every request must get a 0.4.1-style error (`Nats-Service-Error` with 400/403/404/500 from
 * the node, 100 from the nexlet, the node's fixed descriptions) or a well-formed reply, or stay
 * silent only where a 0.4.1 node or runner is silent by design (a PING or AUCTION whose filter does
 * not match, AGENTID of an unknown name, CLONE of an unknown workload, ADEPLOY to a bid that is not
 * the node's, GETWORKLOAD of an unknown workload). Afterwards the node and the nexlet still answer,
 * the node is not in lame duck, and a function deployed by AUCTION + ADEPLOY answers its trigger.
 *
 * LAMEDUCK and SETLAMEDUCK get only bodies that cannot put anything in lame duck (no `delay` that
 * parses as a Go duration, or, for LAMEDUCK, a tag this node does not have): a body that parses is
 * an order to wind down, by design. REGISTER goes to the nexlet's own agent id, so a body that
 * decodes is refused as "already registered" instead of adding an agent that never answers (which
 * 0.4.1 also keeps forever, making every fan-out wait). Hostile heartbeats go to the nexlet's wasm
 * registration, so the v8 one that deploys afterwards stays healthy.
 */
import { createInbox, headers as natsHeaders, type Msg } from '@nats-io/nats-core';
import { writeNexfile } from '../../src/deploy/nexfile';
import { DeployedModel } from '../../src/explorer/deployedModel';
import { plainConnectionData } from '../../src/nats/connectionData';
import { readServiceReply, SERVICE_ERROR_CODE_HEADER, SERVICE_ERROR_HEADER } from '../../src/nex04/serviceErrors';
import { agent04, control04 } from '../../src/nex04/subjects';
import type { AuctionResponse, NodeInfoResponse, NodePingResponse, StartWorkloadRequest } from '../../src/nex04/types';
import { FaultResult, jsFunction, rssMiB, Scope, tally, waitFor, within } from './support';
import { prng, shapelessBodies } from './hostile';

const MESSAGES = 10000;
const IN_FLIGHT = 16;
/** A request that must be answered and is not within this is unanswered. */
const ANSWER_TIMEOUT_MS = 5000;
/** How long a request that may be silent is given (CLONE waits 3 s for GETWORKLOAD on the node). */
const SILENCE_WAIT_MS = 4500;
const EXPLORER_REFRESHES = 10;
const EXPLORER_ANSWERS_PER_PING = 50;

/** The node's fixed `Nats-Service-Error` descriptions, per endpoint (reference "What the node does"). */
const NODE_ERRORS: Record<string, string[]> = {
  PING: ['failed to unmarshal ping request'],
  LAMEDUCK: ['failed to unmarshal lameduck request', 'failed to parse lameduck delay'],
  AGENTID: ['agent name is required'],
  AUCTION: ['failed to unmarshal auction request'],
  ADEPLOY: ['failed to unmarshal auction deploy workload request', 'namespace mismatch: ', 'workload type not found', 'failed to unmarshal start request', 'failed to validate run request', 'failed to publish start workload request'],
  UNDEPLOY: ['failed to unmarshal stop workload request', 'namespace mismatch: '],
  CLONE: ['failed to unmarshal clone workload request', 'namespace mismatch: '],
  WPING: ['failed to unmarshal ping request', 'namespace mismatch: ', 'failed to publish query workloads request'],
  RREGISTER: ['failed to unmarshal register remote agent request'],
  REGISTER: ['failed to unmarshal register local agent request', 'register_type is required', 'failed to unmarshal start request schema', 'failed to compile schema', 'failed to update registration'],
};

type Body = Uint8Array | string;

/** The hostile bodies built from a valid one (`base`), plus the subject's own near misses. */
function hostileBodies(base: Record<string, unknown>, random: () => number, extra: readonly string[] = []): Array<() => Body> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const enc = new TextEncoder();
  const json = JSON.stringify(base);
  const keys = Object.keys(base).length > 0 ? Object.keys(base) : ['namespace', 'filter', 'delay'];
  const odd = (): unknown => pick<unknown>([null, true, false, 0, -1, 1e308, 'x', '', [], [1, 'a', null], {}, { a: { b: [] } }, { k: 5 }, 'A'.repeat(300), [[[[]]]], { toString: 1 }]);
  return [
    ...shapelessBodies(json, random),
    () => JSON.stringify({ ...base, [pick(keys)]: odd() }),
    () => JSON.stringify({ ...base, [pick(keys)]: odd(), [pick(keys)]: odd(), tags: pick([{ a: 5 }, { a: null }, 'x', [], { 'nex.node': [] }]) }),
    () => {
      const k = pick(keys);
      return JSON.stringify({ ...base, unknown: odd(), [k.toUpperCase()]: odd(), Namespace: 'system', Workload_Type: 'native', [`x${Math.floor(random() * 1e6)}`]: odd() });
    },
    () => pick(['null', 'true', '0', '"str"', '[]', '{}', '', ' ', '\u0000', '{"a":1}{"b":2}', '\ufeff{}', 'NaN', '[1,]', '{"namespace":"default"} x', '1e999']),
    () => `{"__proto__":{"namespace":"system","polluted":true},"constructor":{"prototype":{"x":1}},"toString":1,"hasOwnProperty":"x","valueOf":{}}`,
    () => new Uint8Array([...enc.encode('{"namespace":"'), 0xff, 0xfe, 0xc3, 0x28, ...enc.encode('","name":"\u0001\u0002"}')]),
    ...(extra.length > 0 ? [() => pick(extra)] : []),
  ];
}

/** JSON.parse, or undefined (the body is not JSON). */
function parsed(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

type Kind = 'string' | 'map';
/**
 * Whether `text` decodes as a 0.4.1 request of these fields (all required), Go's way: an object (or
 * null), every required key present exactly, values matched case-insensitively (the last one wins)
 * of the field's kind. Used only to tell a documented silence from a node gone deaf; returns the
 * decoded fields.
 */
function decodes(text: string, required: Record<string, Kind>, optional: Record<string, Kind> = {}): Record<string, unknown> | undefined {
  const fields = { ...required, ...optional };
  const p = parsed(text);
  if (!p) return undefined;
  if (p.value === null) return {};
  if (typeof p.value !== 'object' || Array.isArray(p.value)) return undefined;
  const body = p.value as Record<string, unknown>;
  if (!Object.keys(required).every((k) => Object.prototype.hasOwnProperty.call(body, k))) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    const field = Object.keys(fields).find((f) => f === key.toLowerCase());
    if (field) out[field] = value;
  }
  for (const [field, kind] of Object.entries(fields)) {
    const v = out[field];
    if (v === null || v === undefined) continue;
    if (kind === 'string' && typeof v !== 'string') return undefined;
    if (kind === 'map' && (typeof v !== 'object' || Array.isArray(v) || Object.values(v as object).some((x) => x !== null && typeof x !== 'string'))) return undefined;
  }
  return out;
}

/** A Go duration time.ParseDuration accepts (or might: this errs on the side of "it parses"). */
function mayBeDuration(v: unknown): boolean {
  return typeof v === 'string' && (/^[-+]?0$/.test(v) || /^[-+]?((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/.test(v));
}

/** Whether a (SET)LAMEDUCK body might order lame duck: any object whose `delay` (any case) could be a duration. */
function mayOrderLameDuck(text: string, foreignTagIsSafe: boolean): boolean {
  const p = parsed(text);
  if (!p || p.value === null || typeof p.value !== 'object' || Array.isArray(p.value)) return false;
  const entries = Object.entries(p.value as Record<string, unknown>);
  const delay = entries.filter(([k]) => k.toLowerCase() === 'delay').pop();
  if (!delay || !mayBeDuration(delay[1])) return false;
  const tag = entries.filter(([k]) => k.toLowerCase() === 'tag').pop()?.[1];
  const foreign = tag !== null && typeof tag === 'object' && !Array.isArray(tag) && Object.values(tag as object).includes('not-this-node');
  return !(foreignTagIsSafe && foreign);
}

/** What a subject may answer, and when it may be silent. */
interface Target {
  /** The name in the figures (the verb). */
  name: string;
  subject: string;
  /** The node's endpoint (its error descriptions), or 'nexlet'. */
  side: 'node' | 'nexlet';
  bodies: Array<() => Body>;
  /** Bodies that must not be sent (they would order lame duck). */
  refuse?: (text: string) => boolean;
  /** 'never': always silent by design; else whether this body may be answered by silence. */
  silence?: 'always' | ((text: string) => boolean);
  /** A well-formed success reply. */
  success?: (body: unknown) => boolean;
  /** Publish only (no reply expected: heartbeats). */
  publishOnly?: boolean;
  /** Error codes allowed besides the side's own (ADEPLOY passes the nexlet's 100 on). */
  alsoCodes?: number[];
}

interface Sent {
  target: Target;
  text: string;
  replies: Msg[];
  first?: () => void;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export async function hostileControlTraffic04(scope: Scope): Promise<FaultResult> {
  const server = await scope.server();
  const node = await scope.nodeProcess(server.url, { emulate: '0.4.1' });
  const nc = await scope.connect(server.url, 'faults-hostile04');
  const id = node.nodeId;
  const dec = new TextDecoder();

  // The nexlet's two registrations, healthy (their first heartbeat).
  let info: NodeInfoResponse | undefined;
  const registered = await waitFor(async () => {
    const r = await within(nc.request(control04.info(id), '', { timeout: 2000 }), 3000);
    info = r !== 'hung' && 'value' in r ? readServiceReply<NodeInfoResponse>(r.value) : undefined;
    const types = (info?.node_agent_summaries ?? []).filter((a) => a.agent_health === 'healthy').map((a) => a.agent_summary.type);
    return types.includes('v8') && types.includes('wasm');
  }, 15000, 200);
  if (!registered) {
    return { ok: false, figures: 'the functions nexlet did not register healthy with the 0.4.1 node', problems: [JSON.stringify(info).slice(0, 500), node.output().slice(-1500)] };
  }
  const agentOf = (type: string) => info!.node_agent_summaries!.find((a) => a.agent_summary.type === type)!.agent_id;
  const v8Agent = agentOf('v8');
  const wasmAgent = agentOf('wasm');
  const agentName = info!.node_agent_summaries![0].agent_summary.name;
  const nodeTags = readServiceReply<Record<string, string>>(await nc.request(control04.tags(), '', { timeout: 2000 }));

  // A bid of this node, renewed during the flood (a bid lives 10 s), so ADEPLOY bodies reach its checks.
  const validAuction = { agent_type: 'v8', auction_id: 'hostile', tags: {} };
  const bid = async () => readServiceReply<AuctionResponse>(await nc.request(control04.auction('default'), JSON.stringify(validAuction), { timeout: 3000 })).bidder_id;
  let bidder = await bid();

  // Valid bodies, the hostile ones' bases. The start request names an artifact that does not exist:
  // a body that passes every check of the node reaches the nexlet, which refuses it (code 100), so
  // the flood leaves no workload behind.
  const runRequest = JSON.stringify({ artifact: { bucket: 'NEXCLIFILES', key: 'no-such-artifact', sha256: '0'.repeat(64) }, triggers: ['hostile.>'] });
  const start: StartWorkloadRequest = { description: 'd', name: 'hostile', namespace: 'default', run_request: runRequest, tags: {}, workload_lifecycle: 'function', workload_type: 'v8' };
  const creds = plainConnectionData([server.url]);
  const random = prng(2204);
  const bases = new Map<Array<() => Body>, Record<string, unknown>>();
  const b = (base: Record<string, unknown>, extra: string[] = []) => {
    const bodies = hostileBodies(base, random, extra);
    bases.set(bodies, base);
    return bodies;
  };
  const durations = ['soon', '10', '10x', '', '-', '1m0', '1.2.3s', 'h', '9'.repeat(40) + 'h'];
  const badDelays = durations.map((d) => JSON.stringify({ delay: d, tag: null }));
  const foreign = (extra: Record<string, unknown> = {}) => JSON.stringify({ delay: '1m0s', tag: { 'nex.node': 'not-this-node' }, ...extra });
  const registerBase = { description: 'x', max_workloads: 0, name: 'fuzz', public_xkey: 'X', register_type: 'v8', start_request_schema: '{"type":"object"}', supported_lifecycles: ['function'], version: '0' };
  const pingSilence = (text: string) => {
    const f = decodes(text, { filter: 'map' })?.filter;
    return isObject(f) && Object.entries(f).some(([k, v]) => nodeTags[k] !== (v ?? ''));
  };
  const bidOrSilence = (text: string) => decodes(text, { agent_type: 'string', auction_id: 'string', tags: 'map' }) !== undefined;
  const nodeReply = (key: string) => (v: unknown) => isObject(v) && key in v;
  const stopReply = (v: unknown) => isObject(v) && v.stopped === false && v.message === 'workload not found';

  const targets: Target[] = [
    { name: 'PING', subject: control04.ping(), side: 'node', bodies: b({ filter: null }, [JSON.stringify({ filter: { 'nex.node': 'other' } }), JSON.stringify({ filter: nodeTags })]), silence: pingSilence, success: nodeReply('node_id') },
    { name: 'PING', subject: control04.pingNode(id), side: 'node', bodies: b({ filter: null }), silence: pingSilence, success: nodeReply('node_id') },
    { name: 'PTAGS', subject: control04.tags(), side: 'node', bodies: b({}), success: (v) => isObject(v) && v['nex.node'] === nodeTags['nex.node'] },
    { name: 'INFO', subject: control04.info(id), side: 'node', bodies: b({}), success: nodeReply('uptime') },
    { name: 'LAMEDUCK', subject: control04.lameDuck(id), side: 'node', bodies: b({ delay: 'soon', tag: null }, [...badDelays, foreign(), foreign({ DELAY: 5 })]), refuse: (t) => mayOrderLameDuck(t, true), silence: (t) => {
      const tag = decodes(t, { delay: 'string' }, { tag: 'map' })?.tag;
      return isObject(tag) && Object.entries(tag).some(([k, v]) => nodeTags[k] !== (v ?? ''));
    } },
    { name: 'AGENTID', subject: control04.agentId(id), side: 'node', bodies: b({ name: agentName }, ['', agentName, `${agentName} `]), silence: (t) => t !== '' && t !== agentName, success: (v) => v === v8Agent || v === wasmAgent },
    { name: 'AUCTION', subject: control04.auction('default'), side: 'node', bodies: b(validAuction, [JSON.stringify({ ...validAuction, agent_type: 'native' }), JSON.stringify({ ...validAuction, tags: { 'nex.os': 'plan9' } })]), silence: bidOrSilence, success: nodeReply('bidder_id') },
    { name: 'AUCTION', subject: control04.auction('system'), side: 'node', bodies: b(validAuction), silence: bidOrSilence, success: nodeReply('bidder_id') },
    { name: 'ADEPLOY', subject: '(live bid)', side: 'node', bodies: b(start as unknown as Record<string, unknown>, [JSON.stringify({ ...start, namespace: 'other' }), JSON.stringify({ ...start, workload_type: 'native' }), JSON.stringify({ ...start, run_request: '{"artifact":5}' }), JSON.stringify({ ...start, run_request: 'nul' })]), alsoCodes: [100] },
    { name: 'ADEPLOY (no bid)', subject: control04.deploy('default', 'NOTABIDDER'), side: 'node', bodies: b(start as unknown as Record<string, unknown>), silence: 'always' },
    { name: 'UNDEPLOY', subject: control04.undeploy('default', 'NOSUCHWORKLOAD'), side: 'node', bodies: b({ namespace: 'default' }), success: stopReply },
    { name: 'UNDEPLOY', subject: control04.undeploy('system', 'NOSUCHWORKLOAD'), side: 'node', bodies: b({ namespace: 'default' }), success: stopReply },
    { name: 'CLONE', subject: control04.clone('default', 'NOSUCHWORKLOAD'), side: 'node', bodies: b({ namespace: 'default', new_target_xkey: 'X' }), silence: (t) => { const d = decodes(t, { namespace: 'string', new_target_xkey: 'string' }); return d !== undefined && (d.namespace ?? '') === 'default'; } },
    { name: 'WPING', subject: control04.workloadPing('default'), side: 'node', bodies: b({ filter: null, namespace: 'default' }), success: Array.isArray },
    { name: 'WPING', subject: control04.workloadPing('system'), side: 'node', bodies: b({ filter: null, namespace: 'system' }), success: Array.isArray },
    { name: 'RREGISTER', subject: agent04.remoteRegister(nodeTags['nex.nexus'] ?? 'nexus'), side: 'node', bodies: b({}), success: nodeReply('assigned_agent_id') },
    { name: 'REGISTER', subject: agent04.register(id, v8Agent), side: 'node', bodies: b(registerBase, [JSON.stringify({ ...registerBase, start_request_schema: '{"type":5}' }), JSON.stringify({ ...registerBase, start_request_schema: '{' }), JSON.stringify({ ...registerBase, register_type: '' })]) },
    { name: 'HEARTBEAT', subject: agent04.heartbeat(id, wasmAgent), side: 'node', bodies: b({ data: '', summary: { name: agentName, start_time: new Date().toISOString(), state: 'running', supported_lifecycles: 'function', type: 'wasm', version: '0', workload_count: 0 } }), publishOnly: true },
    { name: 'STARTWORKLOAD', subject: agent04.startWorkload(id, v8Agent, 'HOSTILEWORKLOAD'), side: 'nexlet', bodies: b({ request: start, workload_creds: creds }, [JSON.stringify({ request: { ...start, workload_type: 'wasm' }, workload_creds: creds }), JSON.stringify({ request: start, workload_creds: { ...creds, nats_servers: [] } })]) },
    { name: 'STOPWORKLOAD', subject: agent04.stopWorkload(id, 'NOSUCHWORKLOAD'), side: 'nexlet', bodies: b({ namespace: 'default' }) },
    { name: 'GETWORKLOAD', subject: agent04.getWorkload(id, 'NOSUCHWORKLOAD'), side: 'nexlet', bodies: b({ namespace: 'default' }), silence: 'always' },
    { name: 'QUERYWORKLOADS', subject: agent04.queryWorkloads(id), side: 'nexlet', bodies: b({ filter: null, namespace: 'default' }), success: Array.isArray },
    { name: 'agent PING', subject: agent04.pingAgent(id, v8Agent), side: 'nexlet', bodies: b({}), success: nodeReply('workload_count') },
    { name: 'agent PING', subject: agent04.pingAllAgents(id), side: 'nexlet', bodies: b({}), success: nodeReply('workload_count') },
    { name: 'SETLAMEDUCK', subject: agent04.setLameDuck(id), side: 'nexlet', bodies: b({ delay: 'soon', tag: null }, badDelays), refuse: (t) => mayOrderLameDuck(t, false) },
  ];

  // Warm up, then the node process's memory (node and nexlet) before.
  for (let i = 0; i < 200; i++) {
    await nc.request(control04.pingNode(id), '{"filter":null}', { timeout: 2000 });
  }
  const rssBefore = rssMiB(node.pid);

  const sent: Sent[] = [];
  const inbox = createInbox();
  const replySub = nc.subscribe(`${inbox}.*`, {
    callback: (err, m) => {
      if (err) return;
      const s = sent[Number(m.subject.slice(inbox.length + 1))];
      if (s) {
        s.replies.push(m);
        s.first?.();
      }
    },
  });
  scope.defer(() => replySub.unsubscribe());
  const huge = 'D'.repeat(900 * 1024);
  let hugeCount = 0;
  let refused = 0;
  let unanswered = 0;
  let next = 0;
  let lastBid = Date.now();
  const sender = async () => {
    for (;;) {
      const i = next++;
      if (i >= MESSAGES || unanswered >= 50) return;
      if (Date.now() - lastBid > 5000) {
        lastBid = Date.now();
        bidder = await bid().catch(() => bidder);
      }
      const target = targets[i % targets.length];
      let body: Body;
      if (i % 200 === 0 && !target.refuse) {
        // Every 200th message is huge: its valid base with a 900 KB field (under the 1 MiB max_payload).
        hugeCount++;
        body = JSON.stringify({ ...bases.get(target.bodies), description: huge });
      } else {
        for (let tries = 0; ; tries++) {
          body = target.bodies[Math.floor(random() * target.bodies.length)]();
          if (!target.refuse?.(typeof body === 'string' ? body : dec.decode(body))) break;
          refused++;
          if (tries > 20) {
            body = 'not json';
            break;
          }
        }
      }
      const text = typeof body === 'string' ? body : dec.decode(body);
      const subject = target.subject === '(live bid)' ? control04.deploy('default', bidder) : target.subject;
      if (target.publishOnly) {
        nc.publish(subject, body);
        sent[i] = { target, text, replies: [] };
        continue;
      }
      const record: Sent = { target, text, replies: [] };
      sent[i] = record;
      const silent = target.silence === 'always' || (target.silence !== undefined && target.silence(text));
      const answered = new Promise<void>((resolve) => (record.first = resolve));
      nc.publish(subject, body, { reply: `${inbox}.${i}` });
      if (!silent) {
        const outcome = await within(answered, ANSWER_TIMEOUT_MS);
        if (outcome === 'hung') unanswered++;
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
  await nc.flush();
  const floodSeconds = (Date.now() - started) / 1000;
  // Replies to requests that may be silent, and second replies, come within the silence wait.
  await new Promise((r) => setTimeout(r, SILENCE_WAIT_MS));

  // The verdict on each request.
  const counts = { requests: 0, errors: 0, replies: 0, silent: 0, unanswered: 0, wrong: 0, answeredSilent: 0 };
  const codes = new Map<string, number>();
  const wrong: string[] = [];
  const deaf: string[] = [];
  const errorTexts: string[] = [];
  for (const s of sent) {
    if (!s || s.target.publishOnly) continue;
    counts.requests++;
    const t = s.target;
    const mayBeSilent = t.silence === 'always' || (t.silence !== undefined && t.silence(s.text));
    if (s.replies.length === 0) {
      if (mayBeSilent) counts.silent++;
      else {
        counts.unanswered++;
        deaf.push(`${t.name}: ${s.text.slice(0, 80)}`);
      }
      continue;
    }
    if (t.silence === 'always') {
      counts.answeredSilent++;
      wrong.push(`${t.name} answered where 0.4.1 is silent: ${dec.decode(s.replies[0].data).slice(0, 120)}`);
      continue;
    }
    for (const reply of s.replies) {
      const problem = judge(t, reply);
      const code = reply.headers?.get(SERVICE_ERROR_CODE_HEADER);
      if (code) {
        counts.errors++;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        errorTexts.push(`${t.name}: ${reply.headers?.get(SERVICE_ERROR_HEADER)}`);
      } else {
        counts.replies++;
      }
      if (problem) {
        counts.wrong++;
        wrong.push(`${t.name} ← ${s.text.slice(0, 60)}: ${problem}`);
      }
    }
  }

  // The explorer's 0.4 discovery, answered by a stranger with hostile PING replies.
  const random2 = prng(44);
  const strangerBodies = [
    ...hostileBodies({ node_id: 'NSTRANGER', version: '0.4.1', state: 'running', tags: {}, agent_count: 1, start_time: 'x' }, random2),
    () => JSON.stringify({ node_id: 'NSTRANGER', version: { toString: 1 }, state: { valueOf: 2, toString: 3 }, start_time: [], tags: { 'nex.node': { toString: 1 } }, agent_count: '2' }),
    () => JSON.stringify({ node_id: { toString: 1 } }),
  ];
  const stranger = nc.subscribe(control04.ping(), {
    callback: (err, m) => {
      if (err || !m.reply) return;
      for (let k = 0; k < EXPLORER_ANSWERS_PER_PING; k++) {
        const h = natsHeaders();
        if (random2() < 0.2) {
          h.set(SERVICE_ERROR_HEADER, pickOf(random2, ['failed to unmarshal ping request', '', 'x'.repeat(500)]));
          h.set(SERVICE_ERROR_CODE_HEADER, pickOf(random2, ['400', 'abc', '-1', '']));
        }
        nc.publish(m.reply, strangerBodies[Math.floor(random2() * strangerBodies.length)](), { headers: h });
      }
    },
  });
  scope.defer(() => stranger.unsubscribe());
  const model = new DeployedModel({ nc, discoveryWindowMs: 300, refreshMinMs: 60000 });
  scope.defer(() => model.dispose());
  const explorerFailures: string[] = [];
  let lastSnapshot: Awaited<ReturnType<DeployedModel['refresh']>> | undefined;
  for (let k = 0; k < EXPLORER_REFRESHES; k++) {
    const r = await within(model.refresh(), 5000);
    if (r === 'hung') explorerFailures.push('a refresh hung');
    else if ('error' in r) explorerFailures.push(`a refresh threw: ${r.error.message}`);
    else lastSnapshot = r.value;
  }
  stranger.unsubscribe();
  const explorerSeesNode = lastSnapshot?.nodes04.some((n) => n.id === id && n.version === '0.4.1') ?? false;

  // Afterwards: alive, answering, not in lame duck; the nexlet answers; a valid deploy works.
  const alive = node.alive();
  const pingAfter = await within(nc.request(control04.pingNode(id), '{"filter":null}', { timeout: 3000 }), 4000);
  const state = pingAfter !== 'hung' && 'value' in pingAfter ? readServiceReply<NodePingResponse>(pingAfter.value).state : 'no answer';
  const agentPings = await Promise.all([v8Agent, wasmAgent].map((a) => within(nc.request(agent04.pingAgent(id, a), '', { timeout: 3000 }), 4000)));
  const nexletAnswers = agentPings.every((r) => r !== 'hung' && 'value' in r && !r.value.headers?.get(SERVICE_ERROR_CODE_HEADER));
  const v8State = agentPings[0] !== 'hung' && 'value' in agentPings[0] ? String((parsed(agentPings[0].value.string())?.value as { state?: string })?.state) : 'no answer';
  const rssAfter = rssMiB(node.pid);
  const root = scope.tempDir('fns04');
  const deployed = await within(
    (async () => {
      const nexfile = await writeNexfile(nc, jsFunction(root, 'afterwards04', '(subject, payload) => "still here";'));
      const bidderId = await bid();
      const request: StartWorkloadRequest = { description: nexfile.description, name: nexfile.name, namespace: 'default', run_request: JSON.stringify(nexfile.start_request), tags: nexfile.tags, workload_lifecycle: 'function', workload_type: nexfile.type };
      const startedWorkload = readServiceReply<{ id: string; name: string }>(await nc.request(control04.deploy('default', bidderId), JSON.stringify(request), { timeout: 20000 }));
      const reply = await nc.request('afterwards04.x', '', { timeout: 5000 });
      return { id: startedWorkload.id, reply: reply.string(), workloadId: reply.headers?.get('workload_id') };
    })(),
    30000,
  );
  const deployWorks = deployed !== 'hung' && 'value' in deployed && deployed.value.reply === 'still here' && deployed.value.workloadId === deployed.value.id;

  // A handler that threw (the node and the nexlet log it and go on, but its request gets no answer).
  const thrown = node.output().split('\n').filter((l) => /\b(TypeError|RangeError|ReferenceError|SyntaxError)\b|Maximum call stack/.test(l));
  const problems = [
    ...(!alive ? [`the node process died: ${node.output().slice(-1500)}`] : []),
    ...(thrown.length > 0 ? [`${thrown.length} exceptions in the node process's log: ${thrown.slice(0, 3).join(' | ').slice(0, 600)}`] : []),
    ...(state !== 'running' ? [`the node's state afterwards: ${state}`] : []),
    ...(!nexletAnswers ? ['the nexlet does not answer its agent PING afterwards'] : []),
    ...(v8State !== 'running' ? [`the nexlet's v8 registration is ${v8State} afterwards`] : []),
    ...(counts.unanswered > 0 || unanswered > 0 ? [`${counts.unanswered} requests got no answer where 0.4.1 answers: ${tally(deaf)}`] : []),
    ...(wrong.length > 0 ? [`${wrong.length} answers not as 0.4.1 answers: ${wrong.slice(0, 4).join(' | ')}`] : []),
    ...explorerFailures.slice(0, 3),
    ...(!explorerSeesNode ? ['the explorer does not list the 0.4.1 node among hostile PING answers'] : []),
    ...(!deployWorks ? [`a valid deploy afterwards did not work: ${deployed === 'hung' ? 'hung' : 'error' in deployed ? deployed.error.message : JSON.stringify(deployed.value)}`] : []),
    ...(rssAfter - rssBefore > 256 ? [`the node process's memory grew by ${Math.round(rssAfter - rssBefore)} MiB`] : []),
  ];
  const subjects = new Set(targets.map((t) => `${t.name}@${t.subject}`)).size;
  const figures =
    `${MESSAGES} messages on ${subjects} 0.4.1 subjects (node and nexlet) in ${floodSeconds.toFixed(1)} s (${hugeCount} of 900 KB; ${refused} bodies that could order lame duck not sent) + ${EXPLORER_REFRESHES * EXPLORER_ANSWERS_PER_PING} hostile answers to the explorer's 0.4 PING: ` +
    `node process alive: ${alive ? 'yes' : 'NO'}, state ${state}, nexlet answers: ${nexletAnswers ? 'yes' : 'NO'}, exceptions logged: ${thrown.length}; ${counts.requests} requests: ${counts.errors} error replies (codes ${[...codes].sort().map(([c, n]) => `${c}: ${n}`).join(', ')}), ${counts.replies} well-formed replies, ${counts.silent} silent by design, ${counts.unanswered} unanswered, ${counts.wrong + counts.answeredSilent} not as 0.4.1; ` +
    `node RSS ${rssBefore} → ${rssAfter} MiB; explorer lists the node: ${explorerSeesNode ? 'yes' : 'NO'}; deploy by AUCTION + ADEPLOY afterwards: ${deployWorks ? 'works' : 'FAILED'}; errors: ${tally(errorTexts, 4)}`;
  return { ok: problems.length === 0, figures, problems };
}

function pickOf<T>(random: () => number, xs: readonly T[]): T {
  return xs[Math.floor(random() * xs.length)];
}

/** What is wrong with one reply to a target, or undefined. */
function judge(t: Target, reply: Msg): string | undefined {
  const text = new TextDecoder().decode(reply.data);
  const code = reply.headers?.get(SERVICE_ERROR_CODE_HEADER);
  const description = reply.headers?.get(SERVICE_ERROR_HEADER);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (code) {
    const n = Number(code);
    if (n === 100 && (t.side === 'nexlet' || t.alsoCodes?.includes(100))) {
      return description ? undefined : 'a code-100 error without a description';
    }
    if (t.side === 'nexlet') return `code ${code} from the nexlet (it answers 100)`;
    if (![400, 403, 404, 500].includes(n)) return `code ${code}`;
    const known = NODE_ERRORS[t.name.split(' ')[0]] ?? [];
    if (!known.some((k) => description === k || (k.endsWith(': ') && description?.startsWith(k)))) return `the description "${description}" is not one of the node's`;
    if (!isObject(body) || typeof body.error_id !== 'string' || typeof body.error !== 'string') return `an error body that is not {error_id, error}: ${text.slice(0, 80)}`;
    if (n >= 500 && body.error !== 'internal server error') return `a ${n} whose body error is not "internal server error": ${body.error}`;
    return undefined;
  }
  if (t.side === 'node' && t.name === 'AGENTID') return t.success?.(text) ? undefined : `not an agent id: ${text.slice(0, 60)}`;
  if (!t.success) return `a reply without an error: ${text.slice(0, 100)}`;
  return t.success(body) ? undefined : `not a well-formed reply: ${text.slice(0, 100)}`;
}
