/**
 * Fault 4, hostile control traffic: 10,000 messages (random bytes, truncated, deeply nested and
 * huge JSON, wrong types, unknown and case-shifted fields, JSON scalars, prototype keys) on every
 * control subject of a local node in 0.2.7 mode running as a process of its own (the compiled
 * `nexfn node --nats URL`), and 2,000 more into the explorer's event and heartbeat subscriptions
 * (a DeployedModel in this process). Nothing may crash; every DEPLOY and STOP gets a reply with a
 * 0.2.7 error text; PING and INFO keep answering; a valid deploy works afterwards. LAMEDUCK is left
 * out: any body puts a node in lame duck mode, by design, and then it refuses deploys.
 */
import { createInbox } from '@nats-io/nats-core';
import { triggerFunction } from '../../src/deploy/triggerFunction';
import { loadPublisherKeys } from '../../src/deploy/publisherKeys';
import { DeployedModel } from '../../src/explorer/deployedModel';
import { ENVELOPE_TYPES } from '../../src/nex/controlApi';
import { NexControlClient } from '../../src/nex/controlClient';
import { buildDeployRequest } from '../../src/nex/deployRequest';
import { deploy, FaultResult, jsFunction, rssMiB, Scope, tally, waitFor, within } from './support';

const MESSAGES = 10000;
const EXPLORER_MESSAGES = 2000;
const IN_FLIGHT = 16;
const REQUEST_TIMEOUT_MS = 5000;

/** Error texts a 0.2.7 node (and the local node in its place) answers a DEPLOY with (reference §1.8, §11). */
const DEPLOY_TEXTS = [
  'Unable to deserialize deploy request: ',
  'Unsupported workload type on this node: ',
  'Unsupported workload type for trigger subject registration: ',
  'The trigger subject ',
  'Failed to decrypt environment for deploy request: ',
  'Invalid deploy request: ',
  'invalid workload issuer: ',
  'Failed to cache workload bytes: ',
  'Workload file size would exceed node',
  'Failed to deploy workload: ',
];
const STOP_TEXTS = ['Unable to deserialize stop request: ', 'No such workload', 'Invalid stop request: '];

/** A small seeded PRNG (mulberry32), so a failing run can be repeated. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The hostile bodies of every protocol version: random bytes (up to 512), the valid body `json` cut
 * anywhere, and arrays or objects nested up to 50,000 levels deep.
 */
export function shapelessBodies(json: string, random: () => number): Array<() => Uint8Array | string> {
  return [
    () => {
      const n = Math.floor(random() * 512);
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = Math.floor(random() * 256);
      return bytes;
    },
    () => json.slice(0, Math.floor(random() * json.length)),
    () => {
      const depth = [100, 5000, 50000][Math.floor(random() * 3)];
      return random() < 0.5 ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    },
  ];
}

/** The hostile bodies, built from a valid one (`base`) and a seeded PRNG. */
function hostileBodies(base: Record<string, unknown>, random: () => number): Array<() => Uint8Array | string> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const enc = new TextEncoder();
  const json = JSON.stringify(base);
  const oddValues = (): unknown => pick([null, true, false, 0, -1, 1e308, 'x', '', [], [1, 'a', null], {}, { a: { b: [] } }, 'A'.repeat(300), [[[[]]]], { Scheme: 5 }]);
  const keys = Object.keys(base);
  return [
    ...shapelessBodies(json, random),
    // a field of the valid body of the wrong JSON kind
    () => JSON.stringify({ ...base, [pick(keys)]: oddValues() }),
    // several fields wrong, and inside location
    () => JSON.stringify({ ...base, [pick(keys)]: oddValues(), [pick(keys)]: oddValues(), location: pick([{ Host: 5, Path: [] }, { Scheme: 'nats', Host: '../..', Path: '/x' }, 'nats://NEXCLIFILES/x', null, { Host: 'A'.repeat(1000) }]) }),
    // unknown fields and case-shifted duplicates
    () => JSON.stringify({ ...base, unknown: oddValues(), TYPE: 'native', Trigger_Subjects: ['$SYS.>'], [`x${Math.floor(random() * 1e6)}`]: oddValues() }),
    // JSON scalars and empty bodies
    () => pick(['null', 'true', '0', '"str"', '[]', '{}', '', ' ', '\u0000', '{"a":1}{"b":2}', '\ufeff{}', 'NaN', '[1,]']),
    // prototype keys
    () => `{"__proto__":{"type":"v8","polluted":true},"constructor":{"prototype":{"x":1}},"toString":1,"hasOwnProperty":"x","type":"v8"}`,
    // AUCTION filters of the wrong kinds
    () => JSON.stringify(pick([{ arch: 5 }, { os: [] }, { arch: null, os: {} }, { workload_types: 'v8' }, { workload_types: [5, null] }, { tags: 'x' }, { tags: { a: 5 } }, { tags: [] }, { sandboxed: 'no' }, { workload_types: {} }])),
    // strings that are not UTF-8, control characters in fields
    () => new Uint8Array([...enc.encode('{"type":"'), 0xff, 0xfe, 0xc3, 0x28, ...enc.encode('","workload_jwt":"\u0001\u0002"}')]),
  ];
}

export async function hostileControlTraffic(scope: Scope): Promise<FaultResult> {
  const server = await scope.server();
  const node = await scope.nodeProcess(server.url, { emulate: '0.2.7' });
  const nc = await scope.connect(server.url, 'faults-hostile');
  const client = new NexControlClient(nc);
  const keysDir = scope.keysDir;
  const keys = loadPublisherKeys({ dir: keysDir });
  const ping = await client.pingNode(node.nodeId);
  const base = buildDeployRequest('0.2', {
    name: 'hostile',
    type: 'v8',
    bucket: 'NEXCLIFILES',
    key: 'hostilejs',
    hash: 'abc',
    triggerSubjects: ['hostile.>'],
    senderXKey: keys.xkey,
    nodeId: node.nodeId,
    nodePublicXKey: ping.target_xkey,
    issuer: keys.issuer,
  }) as unknown as Record<string, unknown>;
  const random = prng(22);
  const bodies = hostileBodies(base, random);

  // The explorer, following every namespace's events and the heartbeats.
  const model = new DeployedModel({ nc, discoveryWindowMs: 300, refreshMinMs: 60000 });
  scope.defer(() => model.dispose());
  await model.start();

  // Warm up, then the node's memory before.
  for (let i = 0; i < 200; i++) {
    await client.pingNode(node.nodeId);
  }
  const rssBefore = rssMiB(node.pid);

  const id = node.nodeId;
  const requestSubjects = [`$NEX.PING`, `$NEX.PING.${id}`, `$NEX.INFO.default.${id}`, `$NEX.DEPLOY.default.${id}`, `$NEX.STOP.default.${id}`, `$NEX.DEPLOY.ns-${'x'.repeat(200)}.${id}`];
  const gatherSubjects = [`$NEX.AUCTION`, `$NEX.WPING.default`, `$NEX.WPING.default.hostile`];
  const subjects = [...requestSubjects, ...gatherSubjects];
  let gathered = 0;
  const inbox = createInbox();
  const inboxSub = nc.subscribe(inbox, {
    callback: () => {
      gathered++;
    },
  });
  scope.defer(() => inboxSub.unsubscribe());

  const counts = { sent: 0, answered: 0, unanswered: 0, wrongText: 0, huge: 0 };
  const unanswered: string[] = [];
  const wrongTexts: string[] = [];
  const deployErrors: string[] = [];
  let next = 0;
  const sender = async () => {
    for (;;) {
      const i = next++;
      // A node that stopped answering makes every request wait its timeout: stop early, it failed.
      if (i >= MESSAGES || counts.unanswered >= 50) return;
      const subject = subjects[i % subjects.length];
      // Every 200th message is huge: a valid body with a 900 KB description (under the 1 MiB max_payload).
      const body = i % 200 === 0 ? JSON.stringify({ ...base, description: 'D'.repeat(900 * 1024) }) : bodies[Math.floor(random() * bodies.length)]();
      if (i % 200 === 0) counts.huge++;
      counts.sent++;
      if (gatherSubjects.includes(subject)) {
        nc.publish(subject, body, { reply: inbox });
        continue;
      }
      const outcome = await within(nc.request(subject, body, { timeout: REQUEST_TIMEOUT_MS }), REQUEST_TIMEOUT_MS + 2000);
      if (outcome === 'hung' || 'error' in outcome) {
        counts.unanswered++;
        unanswered.push(`${subject.split('.')[1]}: ${outcome === 'hung' ? 'hung' : outcome.error.message}`);
        continue;
      }
      counts.answered++;
      let envelope: { type?: string; error?: string } = {};
      try {
        envelope = JSON.parse(new TextDecoder().decode(outcome.value.data)) as typeof envelope;
      } catch {
        envelope = {};
      }
      const verb = subject.split('.')[1];
      const ok =
        verb === 'DEPLOY'
          ? envelope.type === ENVELOPE_TYPES.run && typeof envelope.error === 'string' && DEPLOY_TEXTS.some((t) => envelope.error!.startsWith(t))
          : verb === 'STOP'
            ? envelope.type === ENVELOPE_TYPES.stop && typeof envelope.error === 'string' && STOP_TEXTS.some((t) => envelope.error!.startsWith(t))
            : envelope.type === (verb === 'INFO' ? ENVELOPE_TYPES.info : ENVELOPE_TYPES.ping) && !envelope.error;
      if (verb === 'DEPLOY' && typeof envelope.error === 'string') deployErrors.push(envelope.error);
      if (!ok) {
        counts.wrongText++;
        wrongTexts.push(`${verb}: ${JSON.stringify(envelope).slice(0, 200)}`);
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
  await nc.flush();
  const floodSeconds = (Date.now() - started) / 1000;

  // Into the explorer's subscriptions: events and heartbeats of every shape.
  const eventSubjects = ['$NEX.events.system.heartbeat', '$NEX.events.system.node_started', '$NEX.events.system.node_stopped', '$NEX.events.default.workload_deployed', '$NEX.events.default.workload_undeployed', '$NEX.events.default.function_exec_failed', '$NEX.events.default.heartbeat'];
  const eventBodies = [
    ...bodies,
    () => JSON.stringify({ specversion: '1.0', type: pick(random, ['heartbeat', 'node_started', 'workload_deployed', 5, null]), source: pick(random, [id, 7, null, '', `${id}-x`]), id: 'x', data: pick(random, [null, 'str', 5, [], { node_id: 5 }, { node_id: id, running_machines: 'many', tags: 'x', uptime: 7 }, { version: [], id: {} }]) }),
  ];
  for (let i = 0; i < EXPLORER_MESSAGES; i++) {
    nc.publish(eventSubjects[i % eventSubjects.length], eventBodies[Math.floor(random() * eventBodies.length)]());
    if (i % 100 === 0) await nc.flush();
  }
  await nc.flush();

  // Afterwards: alive, answering, memory, and a valid deploy that works.
  const alive = node.alive();
  const pingAfter = await within(client.pingNode(node.nodeId), 5000);
  const rssAfter = rssMiB(node.pid);
  const snapshot = await model.refresh();
  const modelSeesNode = snapshot.nodes.some((n) => n.id === node.nodeId && n.state === 'up');
  const root = scope.tempDir('fns');
  const deployed = await within(deploy(nc, jsFunction(root, 'afterwards', '(subject, payload) => "still here";'), keysDir, { nodeId: node.nodeId }), 20000);
  const triggered = await within(triggerFunction(nc, 'afterwards.x', new Uint8Array(), { timeoutMs: 5000 }), 8000);
  const deployWorks = deployed !== 'hung' && 'value' in deployed && triggered !== 'hung' && 'value' in triggered && new TextDecoder().decode(triggered.value.reply) === '"still here"';
  await waitFor(() => gathered > 0, 500);

  const problems = [
    ...(!alive ? [`the node process died: ${node.output().slice(-1500)}`] : []),
    ...(pingAfter === 'hung' || 'error' in pingAfter ? ['the node does not answer PING afterwards'] : []),
    ...(counts.unanswered > 0 ? [`${counts.unanswered} requests got no answer: ${tally(unanswered)}`] : []),
    ...(counts.wrongText > 0 ? [`${counts.wrongText} answers without the version's text: ${wrongTexts.slice(0, 3).join(' | ')}`] : []),
    ...(!modelSeesNode ? ['the explorer does not show the node up afterwards'] : []),
    ...(!deployWorks ? [`a valid deploy afterwards did not work: ${deployed === 'hung' ? 'hung' : 'error' in deployed ? deployed.error.message : triggered === 'hung' ? 'trigger hung' : 'error' in triggered ? triggered.error.message : 'wrong reply'}`] : []),
    ...(rssAfter - rssBefore > 256 ? [`the node's memory grew by ${Math.round(rssAfter - rssBefore)} MiB`] : []),
  ];
  const figures =
    `${counts.sent} messages on ${subjects.length} control subjects in ${floodSeconds.toFixed(1)} s (${counts.huge} of 900 KB) + ${EXPLORER_MESSAGES} into the explorer's event/heartbeat subscriptions: ` +
    `node alive: ${alive ? 'yes' : 'NO'}; ${counts.answered} requests answered, ${counts.unanswered} unanswered, ${counts.wrongText} without the 0.2.7 text; ` +
    `AUCTION/WPING answers ${gathered}; node RSS ${rssBefore} → ${rssAfter} MiB; explorer shows ${snapshot.nodes.length} node(s), the real one up: ${modelSeesNode ? 'yes' : 'NO'}; ` +
    `valid deploy afterwards: ${deployWorks ? 'works' : 'FAILED'}; DEPLOY texts: ${tally(deployErrors, 4)}`;
  return { ok: problems.length === 0, figures, problems };
}

function pick<T>(random: () => number, xs: readonly T[]): T {
  return xs[Math.floor(random() * xs.length)];
}
