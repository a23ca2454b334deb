/**
 * Deploying functions to Nex 0.4 nodes (reference nex-0.4-protocol.md, "Deploy"), where functions
 * run on the functions nexlet (src/nexlet): build, AUCTION for the function's type (v8 or wasm) with
 * the manifest's tags, check the start request against the schema the bidding nexlet registered,
 * seal the environment to the bid's xkey, ADEPLOY as many instances as asked, then stop the
 * workloads of the same name that ran before (deploy-then-stop, see replaceStrategy). Also UNDEPLOY
 * by name or id, CLONE, LAMEDUCK, and the rule that picks Nex 0.4 or 0.2/0.3 for a deploy
 * (chooseGeneration), for the CLI and the VS Code layer alike. Node errors reach the caller in the
 * node's words (Nex04Error), with a hint where one helps.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { NatsConnection } from '@nats-io/nats-core';
import { createCurve } from '@nats-io/nkeys';
import { plural } from '../core/bytes';
import { type DeployNodeVersion, deployNamespace, deployTriggers, entryPath, MAX_DEPLOY_INSTANCES, type ValidFunction } from '../core/manifest';
import { DISCOVERY_WINDOW_MS, NexControlClient } from '../nex/controlClient';
import { sealEnvironment } from '../nex/xkeyEnvelope';
import { Nex04Client, UNDEPLOY_WAIT_MS } from '../nex04/client04';
import type { FunctionStartRequest } from '../nex04/functionStartRequest';
import { Nex04Error } from '../nex04/serviceErrors';
import { compileStartRequestSchema, type CompiledStartSchema, StartSchemaError } from '../nex04/startRequestSchema';
import { control04 } from '../nex04/subjects';
import type { AuctionResponse, NodePingResponse, StartWorkloadRequest, StopWorkloadResponse, WorkloadSummary } from '../nex04/types';
import { buildIfNeeded } from '../toolchain/buildRunner';
import { describeArtifact } from './artifactStore';
import { DEFAULT_NAMESPACE } from '../core/subject';
import { functionStartRequest, writeNexfile } from './nexfile';

/** The generation of Nex a command talks to: Nex 0.4 (`$NEX.SVC…`), or 0.2/0.3 (`$NEX.PING`, DEPLOY). */
export type NexGeneration = '0.4' | '0.2/0.3';

export interface GenerationChoice {
  generation: NexGeneration;
  /** Why, in a few words (e.g. "only Nex 0.4 nodes answer"). */
  reason: string;
  /** Something the user should know about the choice (both generations answer), for stderr or a notification. */
  note?: string;
}

export interface GenerationInput {
  /** An explicit choice (nexfn's --nex-version): `0.4` deploys to 0.4 nodes, `0.2`/`0.3` to 0.2/0.3 ones. */
  requested?: '0.2' | '0.3' | '0.4';
  /** The manifest's `deploy.nodeVersion`: `0.4` forces Nex 0.4; `0.2`/`0.3` only name a format and force nothing. */
  manifestNodeVersion?: DeployNodeVersion;
  /** How many 0.2/0.3 nodes answered `$NEX.PING` (undefined: not asked). */
  legacyNodes?: number;
  /** How many 0.4 nodes answered `$NEX.SVC.system.control.PING` (undefined: not asked). */
  nodes04?: number;
}

/** Whether chooseGeneration needs to know who answers (nothing forces a generation). */
export function generationNeedsDiscovery(input: Pick<GenerationInput, 'requested' | 'manifestNodeVersion'>): boolean {
  return input.requested === undefined && input.manifestNodeVersion !== '0.4';
}

/**
 * Which generation a deploy (or stop) talks to: Nex 0.4 when asked for (`requested` 0.4, else the
 * manifest's `deploy.nodeVersion` 0.4) or when only 0.4 nodes answer; otherwise 0.2/0.3, as before
 * Nex 0.4 existed (a requested 0.2/0.3 forces it). When both generations answer, the 0.2/0.3 nodes
 * win and the note says how to reach the 0.4 ones.
 */
export function chooseGeneration(input: GenerationInput): GenerationChoice {
  if (input.requested === '0.4') {
    return { generation: '0.4', reason: 'Nex 0.4 was asked for' };
  }
  if (input.requested) {
    return { generation: '0.2/0.3', reason: `the Nex ${input.requested} format was asked for` };
  }
  if (input.manifestNodeVersion === '0.4') {
    return { generation: '0.4', reason: 'the manifest says "nodeVersion": "0.4"' };
  }
  const legacy = input.legacyNodes ?? 0;
  const nodes04 = input.nodes04 ?? 0;
  if (nodes04 > 0 && legacy === 0) {
    return { generation: '0.4', reason: 'only Nex 0.4 nodes answer' };
  }
  if (nodes04 > 0) {
    return {
      generation: '0.2/0.3',
      reason: 'Nex 0.2/0.3 nodes answer',
      note: `both Nex 0.2/0.3 nodes (${legacy}) and Nex 0.4 nodes (${nodes04}) answer: this goes to the 0.2/0.3 ones; --nex-version 0.4 (or "deploy": {"nodeVersion": "0.4"} in the manifest) goes to the 0.4 nodes`,
    };
  }
  return { generation: '0.2/0.3', reason: legacy > 0 ? 'Nex 0.2/0.3 nodes answer' : 'no node answers: the 0.2/0.3 path says so' };
}

/**
 * chooseGeneration with discovery done only when nothing forces the choice: `$NEX.PING` and the 0.4
 * PING at once, for `windowMs` (default the CLI's 750 ms).
 */
export async function detectGeneration(nc: NatsConnection, input: Pick<GenerationInput, 'requested' | 'manifestNodeVersion'>, options: { windowMs?: number; inboxPrefix?: string } = {}): Promise<GenerationChoice> {
  if (!generationNeedsDiscovery(input)) {
    return chooseGeneration(input);
  }
  const window = options.windowMs ?? DISCOVERY_WINDOW_MS;
  const [legacy, nodes04] = await Promise.all([
    new NexControlClient(nc, options.inboxPrefix).ping(window).then((answers) => answers.filter((a) => a.ok).length),
    new Nex04Client(nc, options.inboxPrefix).discover(window).then((d) => d.nodes.length),
  ]);
  return chooseGeneration({ ...input, legacyNodes: legacy, nodes04 });
}

/** What deployFunction04 did (or, in a dry run, would do). */
export interface Deploy04Result {
  namespace: string;
  /** The ADEPLOY body (of the first instance: each bidder gets the environment sealed to its own xkey). */
  request: StartWorkloadRequest;
  /** The subject it goes to (of the first instance). */
  subject: string;
  /** The new instances; none in a dry run. */
  started: { id: string; name: string }[];
  /** The workloads of the same name that ran before: stopped once the new ones ran (in a dry run: would be, `stopped` false). */
  replaced: { id: string; stopped: boolean; message: string }[];
  /** One sentence: how the old workloads are replaced, and why. */
  strategy: string;
  /** The variables sent sealed (names only) and the xkey they are sealed to; absent without variables. */
  environment?: { names: string[]; sealedTo: string };
  /** Whether the artifact was uploaded (not in a dry run: the request names its hash all the same). */
  uploaded: boolean;
}

export interface Deploy04Options {
  /** Default: the manifest's `deploy.namespace`, else "default". */
  namespace?: string;
  /** Merged over the manifest's `deploy.tags`: only nexlets on nodes with all of them bid. */
  tags?: Record<string, string>;
  /** Default: the manifest's `deploy.instances`, else 1. */
  instances?: number;
  /** Only this node (its id or its name, the tag `nex.node`) takes part in the auction. */
  node?: string;
  jsDomain?: string;
  /** Build, auction, check and seal, but upload, deploy and stop nothing. */
  dryRun?: boolean;
  inboxPrefix?: string;
  /** How long discovery listens for 0.4 nodes (default 750 ms). */
  discoveryWindowMs?: number;
  onProgress?: (step: string) => void;
  onBuildOutput?: (line: string) => void;
  /** Cancels between steps (before the upload, before each instance's ADEPLOY); what was started is stopped again. */
  signal?: AbortSignal;
}

/** The tag a 0.4 node carries its name in. */
export const NODE_NAME_TAG = 'nex.node';
/** The tag a 0.4 node sets to "true" in lame duck mode (a 0.4.1 node in lame duck still bids: only this tag tells). */
const LAME_DUCK_TAG = 'nex.lameduck';
/** A bid lives 10 s on the node (11 at most): older than this, the auction is held again before an ADEPLOY. */
const BID_FRESH_MS = 7000;
/** UNDEPLOY: 0.4.1 waits 2 s for more agents when none stopped the workload. */

function tagText(tags: Record<string, string>): string {
  const entries = Object.entries(tags);
  return entries.length > 0 ? ` with tags ${entries.map(([k, v]) => `${k}=${v}`).join(', ')}` : '';
}

function nodeName(node: NodePingResponse): string {
  return node.tags?.[NODE_NAME_TAG] || node.node_id;
}

/** The 0.4 node with that id or name (tag nex.node), among those that answered PING. */
function findNode(nodes: readonly NodePingResponse[], idOrName: string): NodePingResponse {
  const found = nodes.find((n) => n.node_id === idOrName) ?? nodes.find((n) => n.tags?.[NODE_NAME_TAG] === idOrName);
  if (!found) {
    const known = nodes.length > 0 ? `; the Nex 0.4 nodes that answer: ${nodes.map((n) => `${nodeName(n)} (${n.node_id})`).join(', ')}` : ': no Nex 0.4 node answers PING on this connection';
    throw new Error(`no Nex 0.4 node has the id or name "${idOrName}"${known}`);
  }
  return found;
}

/** Why nobody bid: which nexlet type is missing, and what answers. */
function noBidError(type: string, tags: Record<string, string>, nodes: readonly NodePingResponse[], server: string): Error {
  if (nodes.length === 0) {
    return new Error(`no Nex 0.4 node answers on ${server}: start one (nex node up --allow-remote-agent-registration, or nexfn node --emulate 0.4.1), or connect to the NATS server and account its nodes use`);
  }
  const matching = nodes.filter((n) => Object.entries(tags).every(([k, v]) => n.tags?.[k] === v));
  const lameDucks = nodes.filter((n) => n.state === 'lameduck' || n.tags?.[LAME_DUCK_TAG] === 'true');
  const facts = [
    `${plural(nodes.length, 'Nex 0.4 node')} ${nodes.length === 1 ? 'answers' : 'answer'} PING (${nodes.map(nodeName).join(', ')})`,
    ...(Object.keys(tags).length > 0 ? [`${matching.length === 0 ? 'none' : matching.length} with those tags`] : []),
    ...(lameDucks.length > 0 ? [`${lameDucks.length} in lame duck mode, which takes no new workloads`] : []),
  ];
  return new Error(`no functions nexlet is registered for "${type}" on a Nex 0.4 node${tagText(tags)}: start one with nexfn nexlet (${facts.join('; ')})`);
}

/** The bids for `type`, lame-duck nodes left out (by their tag), in random order as the nex CLI picks; throws noBidError when there are none. */
async function bidsFor(client: Nex04Client, nc: NatsConnection, namespace: string, type: string, lifecycle: string, tags: Record<string, string>, nodes: () => Promise<NodePingResponse[]>): Promise<AuctionResponse[]> {
  const { bids } = await client.auction(namespace, type, { ...tags, [LAME_DUCK_TAG]: 'false' });
  const usable = bids.filter((b) => !Array.isArray(b.supported_lifecycles) || b.supported_lifecycles.includes(lifecycle as never));
  if (bids.length > 0 && usable.length === 0) {
    throw new Error(`the ${type} nexlets that bid run ${[...new Set(bids.flatMap((b) => b.supported_lifecycles))].join(', ')} workloads, not ${lifecycle}: start the functions nexlet (nexfn nexlet)`);
  }
  if (usable.length === 0) {
    throw noBidError(type, tags, await nodes(), nc.getServer());
  }
  return usable
    .map((b) => ({ b, r: Math.random() }))
    .sort((x, y) => x.r - y.r)
    .map(({ b }) => b);
}

/** Where a start request field comes from in the manifest, for an error that names the field a user edits. */
function manifestField(pointer: string): string | undefined {
  const [first, second] = pointer.split('/').slice(1);
  switch (first) {
    case 'limits':
      return second === 'timeout_ms' ? 'limits.timeoutMs' : second === 'memory_mib' ? 'limits.memoryMiB' : 'limits';
    case 'triggers':
      return second === undefined ? 'triggers' : `triggers[${second}]`;
    case 'environment':
    case 'sealed_environment':
      return 'env';
    case 'compat':
      return 'compat';
    default:
      return undefined;
  }
}

/** Schemas compiled once per text (every bid of one nexlet carries the same). */
const schemas = new Map<string, CompiledStartSchema>();

/**
 * Checks `start` against the schema the nexlet bid with, as the node will; throws an error naming
 * the field (and the manifest field it comes from) when it does not fit, so nothing is sent.
 */
function checkAgainstBid(start: unknown, bid: AuctionResponse, type: string, fn?: ValidFunction): void {
  let schema = schemas.get(bid.start_request_schema);
  if (!schema) {
    try {
      schema = compileStartRequestSchema(bid.start_request_schema);
    } catch (e) {
      const stage = e instanceof StartSchemaError ? e.stage : 'compile';
      throw new Error(`the ${type} nexlet that bid (bidder ${bid.bidder_id}) sent a start request schema that cannot be ${stage === 'parse' ? 'read' : 'compiled'} (${(e as Error).message}): nothing was sent`);
    }
    schemas.set(bid.start_request_schema, schema);
  }
  const failure = schema.validate(start);
  if (failure === undefined) {
    return;
  }
  const fields = [...failure.matchAll(/^- at '([^']*)': (.*)$/gm)].map((m) => {
    const manifest = manifestField(m[1]);
    return `${m[1] || '(the whole request)'}: ${m[2]}${manifest && fn ? ` (the manifest's ${manifest})` : ''}`;
  });
  throw new Error(
    `the start request does not fit the schema of the ${type} nexlet that bid, so it was not sent${fn ? ` (${fn.manifestPath})` : ''}: ${fields.join('; ') || failure}`,
  );
}

/** What a node's (or nexlet's) error means for a deploy, in the node's words first. */
export function explain04(e: unknown, what: string, type?: string): Error {
  if (!(e instanceof Nex04Error)) {
    return e instanceof Error ? e : new Error(String(e));
  }
  const who = e.code === 100 ? 'the nexlet' : 'the node';
  let hint: string | undefined;
  if (e.code === 404 && /workload type not found/.test(e.description)) {
    hint = `no healthy ${type ? `"${type}" ` : ''}nexlet is registered on that node any more: start one with nexfn nexlet`;
  } else if (e.code === 500 && /start workload request/.test(e.description)) {
    hint = 'the nexlet that bid does not answer (stopped, or its node restarted and forgot it): restart it (nexfn nexlet)';
  } else if (e.code === 400 && /validate run request/.test(e.description)) {
    hint = "the node's copy of the nexlet's schema refused what the bid's copy accepted: is another nexlet of that type registered?";
  } else if (e.code === 403) {
    hint = "the namespace in the body must be the subject's (or the subject's must be system)";
  } else if (e.code === 100 && /SHA-256/.test(e.message)) {
    hint = 'the artifact in the object store changed since (another deploy of a file of the same name uploads to the same key): deploy again';
  }
  return new Error(`${who} refused ${what} (error ${e.code}): ${e.message}${hint ? `. Hint: ${hint}` : ''}`);
}

/** The workloads of a 0.4 namespace (every node's WPING answer merged), and the number of nodes asked. */
async function workloadsIn(client: Nex04Client, namespace: string, nodeCount: number): Promise<{ workloads: WorkloadSummary[]; problems: string[]; answers: number }> {
  const ping = await client.workloads(namespace, nodeCount > 0 ? { expectedAnswers: nodeCount } : {});
  const seen = new Set<string>();
  const workloads = ping.answers
    .flatMap((a) => a.workloads)
    // A `system` WPING lists every namespace's workloads on the functions nexlet; their own namespace is in metadata.
    .filter((w) => namespace === 'system' || w.metadata?.namespace === undefined || w.metadata.namespace === namespace)
    .filter((w) => !seen.has(w.id) && seen.add(w.id));
  return { workloads, problems: ping.problems, answers: ping.answers.length };
}

/** A workload's own namespace: the nexlet's metadata says it (a `system` WPING lists them all). */
function namespaceOf(w: WorkloadSummary, asked: string): string {
  return w.metadata?.namespace || asked;
}

/** UNDEPLOY of one workload: stopped, or why not in the nodes' words (every answer's, once each). */
async function undeploy(client: Nex04Client, namespace: string, id: string, nodeCount: number): Promise<{ stopped: boolean; message: string }> {
  const answers = await client.undeploy(namespace, id, { expectedAnswers: Math.max(1, nodeCount) });
  const stopped = answers.find((a): a is StopWorkloadResponse => !(a instanceof Error) && a.stopped);
  if (stopped) {
    return { stopped: true, message: stopped.message };
  }
  const said = answers.map((a) => (a instanceof Error ? explain04(a, `UNDEPLOY of ${id}`).message : a.message || 'stopped: false, no reason given'));
  return { stopped: false, message: said.length > 0 ? [...new Set(said)].join('; ') : `no Nex 0.4 node answered UNDEPLOY of ${id} within ${UNDEPLOY_WAIT_MS / 1000} s` };
}

/** The function's start request with its environment sealed to `xkey` (a bid's) by `sender`, instead of in plain text. */
function sealedStart(start: FunctionStartRequest, env: Record<string, string>, sender: ReturnType<typeof createCurve>, xkey: string, type: string): FunctionStartRequest {
  if (Object.keys(env).length === 0) {
    return start;
  }
  const { environment: _plain, ...rest } = start;
  let data: string;
  try {
    data = sealEnvironment(env, sender, xkey);
  } catch (e) {
    throw new Error(`the environment cannot be sealed to the xkey of the ${type} nexlet that bid ("${xkey}"): ${(e as Error).message}`);
  }
  return { ...rest, sealed_environment: { sender_xkey: sender.getPublicKey(), data } };
}

function instanceCount(fn: ValidFunction, asked: number | undefined): number {
  const n = asked ?? fn.manifest.deploy?.instances ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > MAX_DEPLOY_INSTANCES) {
    throw new Error(`instances: ${n} is not a number of instances: use a whole number from 1 to ${MAX_DEPLOY_INSTANCES}`);
  }
  return n;
}

/**
 * Deploy-then-stop, and why. The functions nexlet subscribes a workload's triggers in a queue group
 * named after the workload, so while the new instances run beside the old ones each message goes to
 * one of them and none finds no responder; the old ones stop only once every new one runs, so a
 * deploy that fails leaves them serving (stop-then-deploy would leave a gap, and nothing at all
 * when the deploy fails).
 */
function replaceStrategy(name: string, namespace: string, old: readonly WorkloadSummary[], instances: number): string {
  if (old.length === 0) {
    return `a fresh deploy: no workload named ${name} runs in the namespace ${namespace}, so nothing is replaced`;
  }
  return (
    `deploy-then-stop: the ${plural(instances, 'new instance')} of ${name} start${instances === 1 ? 's' : ''} before the ${plural(old.length, 'old one')} (${old.map((w) => w.id).join(', ')}) stop, ` +
    "because the functions nexlet subscribes triggers in a queue group named after the workload, so old and new share the messages during the overlap and none finds no responder; had the deploy failed, the old ones would have kept serving"
  );
}

/**
 * Deploys `fn` to Nex 0.4 nodes (see the module comment). Throws BuildFailedError when its build
 * fails, an error naming the missing nexlet type when nobody bids, an error naming the field when
 * the start request does not fit the bid's schema (nothing sent), and the node's or nexlet's error
 * in its words (with a hint) when an ADEPLOY is refused; new instances started before a refusal are
 * stopped again and the old ones keep running.
 */
export async function deployFunction04(nc: NatsConnection, fn: ValidFunction, options: Deploy04Options = {}): Promise<Deploy04Result> {
  const progress = (step: string) => options.onProgress?.(step);
  const cancelled = () => options.signal?.throwIfAborted();
  const m = fn.manifest;
  const name = m.name;
  const type = m.type;
  const namespace = options.namespace ?? deployNamespace(fn);
  const instances = instanceCount(fn, options.instances);
  deployTriggers(fn, 'the functions nexlet');
  await buildIfNeeded(fn, { onStart: () => progress(`building ${name} (its sources changed)`), onOutput: options.onBuildOutput });

  const client = new Nex04Client(nc, options.inboxPrefix);
  const nodes = (await client.discover(options.discoveryWindowMs ?? DISCOVERY_WINDOW_MS)).nodes;
  const tags: Record<string, string> = { ...(m.deploy?.tags ?? {}), ...(options.tags ?? {}) };
  if (options.node) {
    tags[NODE_NAME_TAG] = nodeName(findNode(nodes, options.node));
  }
  const auction = () => bidsFor(client, nc, namespace, type, 'function', tags, async () => nodes);
  cancelled();
  progress(`auction for a ${type} function${tagText(tags)} in the namespace ${namespace}`);
  let bids = await auction();
  let auctionAt = Date.now();
  progress(`${plural(bids.length, 'bid')} from ${type} nexlets`);

  // The workloads this deploy replaces: looked up before any new one runs.
  const old = (await workloadsIn(client, namespace, nodes.length)).workloads.filter((w) => w.name === name && w.workload_lifecycle === 'function');
  const strategy = replaceStrategy(name, namespace, old, instances);

  let start: FunctionStartRequest;
  if (options.dryRun) {
    const file = entryPath(fn);
    start = functionStartRequest(fn, describeArtifact(file, new Uint8Array(fs.readFileSync(file))), options.jsDomain);
  } else {
    cancelled();
    progress(`uploading ${path.basename(entryPath(fn))} to the object store`);
    start = (await writeNexfile(nc, fn, { jsDomain: options.jsDomain, onBuildOutput: options.onBuildOutput })).start_request;
    progress(`uploaded as ${start.artifact.bucket}/${start.artifact.key} (sha256 ${start.artifact.sha256.slice(0, 12)}…)`);
  }
  const env = m.env ?? {};
  const sender = createCurve();
  const requestFor = (bid: AuctionResponse): StartWorkloadRequest => {
    const sealed = sealedStart(start, env, sender, bid.xkey, type);
    checkAgainstBid(sealed, bid, type, fn);
    return {
      description: m.description ?? '',
      name,
      namespace,
      run_request: JSON.stringify(sealed),
      tags: { ...tags },
      workload_lifecycle: 'function',
      workload_type: type,
    };
  };
  // Every bid's request is checked before the first ADEPLOY.
  let requests = bids.map(requestFor);
  const environment = Object.keys(env).length > 0 ? { names: Object.keys(env).sort(), sealedTo: bids[0].xkey } : undefined;
  if (options.dryRun) {
    return {
      namespace,
      request: requests[0],
      subject: control04.deploy(namespace, bids[0].bidder_id),
      started: [],
      replaced: old.map((w) => ({ id: w.id, stopped: false, message: 'would be stopped once the new instances run (dry run)' })),
      strategy,
      ...(environment ? { environment } : {}),
      uploaded: false,
    };
  }

  const started: { id: string; name: string }[] = [];
  for (let i = 0; i < instances; i++) {
    if (Date.now() - auctionAt > BID_FRESH_MS) {
      // Bids live 10 s on the node; an ADEPLOY to an expired one gets no answer at all.
      progress('the bids are getting old: holding the auction again');
      bids = await auction();
      auctionAt = Date.now();
      requests = bids.map(requestFor);
    }
    const bid = bids[i % bids.length];
    progress(`deploying ${name}${instances > 1 ? ` (instance ${i + 1} of ${instances})` : ''} to the ${type} nexlet that bid (${bid.bidder_id}) in the namespace ${namespace}`);
    try {
      cancelled();
      const reply = await client.deploy(namespace, bid.bidder_id, requests[i % bids.length]);
      started.push({ id: reply.id, name: reply.name || name });
      progress(`started ${name} as ${reply.id}`);
    } catch (e) {
      const error = options.signal?.aborted ? new Error(`the deploy of ${name} was cancelled`) : explain04(e, `ADEPLOY of ${name}`, type);
      const undone: string[] = [];
      for (const s of started) {
        const r = await undeploy(client, namespace, s.id, nodes.length).catch((u: Error) => ({ stopped: false, message: u.message }));
        undone.push(r.stopped ? `${s.id} stopped again` : `${s.id} NOT stopped (${r.message})`);
      }
      const after = [
        ...(undone.length > 0 ? [`the instances it had started: ${undone.join(', ')}`] : []),
        ...(old.length > 0 ? [`the ${plural(old.length, 'old workload')} of ${name} keep${old.length === 1 ? 's' : ''} serving`] : []),
      ];
      throw new Error(`${error.message}${after.length > 0 ? ` (${after.join('; ')})` : ''}`);
    }
  }

  const replaced: Deploy04Result['replaced'] = [];
  for (const w of old) {
    progress(`stopping ${name} ${w.id}: the new ${instances === 1 ? 'instance runs' : 'instances run'}`);
    const r = await undeploy(client, namespaceOf(w, namespace), w.id, nodes.length);
    replaced.push({ id: w.id, ...r });
  }
  return {
    namespace,
    request: requests[0],
    subject: control04.deploy(namespace, bids[0].bidder_id),
    started,
    replaced,
    strategy,
    ...(environment ? { environment } : {}),
    uploaded: true,
  };
}

/** A workload UNDEPLOY was sent for, and what the node said. */
export interface Stopped04 {
  id: string;
  /** Empty when no workload of that id was listed (the id was sent as given). */
  name: string;
  stopped: boolean;
  /** The node's message ("workload not found" when it is not stopped; often empty when it is). */
  message: string;
}

/**
 * Stops the 0.4 workloads named `nameOrId` (every instance) or with that id, each by UNDEPLOY in its
 * own namespace. When WPING lists none, the UNDEPLOY is sent for `nameOrId` as an id all the same
 * and the node's answer is returned (typically not stopped: "workload not found"). A `stopped:
 * false` reply is returned as not stopped, with the node's message (the 0.4.1 CLI says
 * "successfully stopped" either way).
 */
export async function stopWorkloads04(nc: NatsConnection, nameOrId: string, options: { namespace?: string; inboxPrefix?: string; discoveryWindowMs?: number } = {}): Promise<Stopped04[]> {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const client = new Nex04Client(nc, options.inboxPrefix);
  const nodes = (await client.discover(options.discoveryWindowMs ?? DISCOVERY_WINDOW_MS)).nodes;
  if (nodes.length === 0) {
    throw new Error(`no Nex 0.4 node answers on ${nc.getServer()}: nothing to stop there`);
  }
  const listed = await workloadsIn(client, namespace, nodes.length);
  const matches = listed.workloads.filter((w) => w.id === nameOrId || w.name === nameOrId);
  if (matches.length === 0 && listed.answers === 0 && listed.problems.some((p) => /failed to publish query workloads request/.test(p))) {
    // A 0.4.1 node without agents crashes on UNDEPLOY (reference "Odd behaviour"): it is not sent.
    throw new Error(`no nexlet is registered on the Nex 0.4 ${nodes.length === 1 ? 'node' : 'nodes'} (${listed.problems.join('; ')}): nothing runs there, and UNDEPLOY is not sent (a 0.4.1 node without agents crashes on it)`);
  }
  const targets = matches.length > 0 ? matches.map((w) => ({ id: w.id, name: w.name, namespace: namespaceOf(w, namespace) })) : [{ id: nameOrId, name: '', namespace }];
  const results: Stopped04[] = [];
  for (const t of targets) {
    const r = await undeploy(client, t.namespace, t.id, nodes.length);
    results.push({ id: t.id, name: t.name, ...r });
  }
  return results;
}

/**
 * Copies a 0.4 workload: AUCTION for its type on nodes with the target tags (`nodeName` becomes
 * the tag nex.node; an id is taken too), CLONE it with the winning bid's xkey (the functions nexlet
 * seals its environment again to that key), and ADEPLOY the returned request with its tags replaced
 * by the target's. Throws a clear error for an unknown workload.
 */
export async function cloneWorkload04(nc: NatsConnection, workloadId: string, options: { namespace: string; tags?: Record<string, string>; nodeName?: string; inboxPrefix?: string; discoveryWindowMs?: number; onProgress?: (step: string) => void; signal?: AbortSignal }): Promise<{ id: string; name: string }> {
  const progress = (step: string) => options.onProgress?.(step);
  const client = new Nex04Client(nc, options.inboxPrefix);
  const nodes = (await client.discover(options.discoveryWindowMs ?? DISCOVERY_WINDOW_MS)).nodes;
  if (nodes.length === 0) {
    throw new Error(`no Nex 0.4 node answers on ${nc.getServer()}: nothing to clone`);
  }
  const listed = await workloadsIn(client, options.namespace, nodes.length);
  const workload = listed.workloads.find((w) => w.id === workloadId);
  if (!workload) {
    const byName = listed.workloads.filter((w) => w.name === workloadId);
    const also = byName.length > 0 ? `; ${workloadId} is the name of ${byName.map((w) => w.id).join(', ')}: clone takes a workload id` : '';
    throw new Error(`no workload with the id ${workloadId} runs in the namespace ${options.namespace} (WPING on ${plural(nodes.length, 'Nex 0.4 node')})${also}${listed.problems.length > 0 ? ` (${listed.problems.join('; ')})` : ''}`);
  }
  const namespace = namespaceOf(workload, options.namespace);
  const tags: Record<string, string> = { ...(options.tags ?? {}) };
  if (options.nodeName) {
    tags[NODE_NAME_TAG] = nodeName(findNode(nodes, options.nodeName));
  }
  progress(`auction for a ${workload.workload_type} ${workload.workload_lifecycle}${tagText(tags)} in the namespace ${namespace}`);
  const [bid] = await bidsFor(client, nc, namespace, workload.workload_type, workload.workload_lifecycle, tags, async () => nodes);
  let request: StartWorkloadRequest | undefined;
  try {
    request = await client.clone(namespace, workloadId, bid.xkey);
  } catch (e) {
    throw explain04(e, `CLONE of ${workloadId}`, workload.workload_type);
  }
  if (!request) {
    throw new Error(`no node answered CLONE of ${workloadId} in the namespace ${namespace}: its nexlet does not know it any more, or does not answer`);
  }
  const copy: StartWorkloadRequest = { ...request, tags };
  let start: unknown;
  try {
    start = JSON.parse(copy.run_request);
  } catch (e) {
    throw new Error(`the cloned start request of ${workloadId} is not JSON (${(e as Error).message}): nothing was sent`);
  }
  checkAgainstBid(start, bid, workload.workload_type);
  options.signal?.throwIfAborted();
  progress(`deploying the copy of ${workload.name} to the ${workload.workload_type} nexlet that bid (${bid.bidder_id})`);
  try {
    const reply = await client.deploy(namespace, bid.bidder_id, copy);
    return { id: reply.id, name: reply.name || workload.name };
  } catch (e) {
    throw explain04(e, `ADEPLOY of the copy of ${workloadId}`, workload.workload_type);
  }
}

/**
 * Puts a 0.4 node (its id, or its name: the tag nex.node) in lame duck mode: it stops after `delay`
 * (a Go duration: `30s`, `1m0s`). Returns the node's message; throws the node's error (e.g. a delay
 * it cannot parse) in its words, or when no node has that id or name.
 */
export async function lameDuck04(nc: NatsConnection, node: string, delay: string, options: { inboxPrefix?: string; discoveryWindowMs?: number } = {}): Promise<string> {
  const client = new Nex04Client(nc, options.inboxPrefix);
  const nodes = (await client.discover(options.discoveryWindowMs ?? DISCOVERY_WINDOW_MS)).nodes;
  const target = findNode(nodes, node);
  let reply;
  try {
    reply = await client.lameDuck(target.node_id, delay);
  } catch (e) {
    throw explain04(e, `LAMEDUCK of ${nodeName(target)}`);
  }
  if (!reply.success) {
    throw new Error(`node ${nodeName(target)} did not enter lame duck mode: ${reply.message || 'it gave no reason'}`);
  }
  return reply.message;
}
