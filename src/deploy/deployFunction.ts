/**
 * Deploys a function to a Nex node as one action (reference §1.11): build it when its sources
 * changed, pick the node (the one asked for, else the auction's answer for its workload type), read
 * the node's wire format from its version, upload the artifact, stop a running workload of the same
 * name (a redeploy replaces it), then sign and send the DEPLOY. A preview does all of this but the
 * upload, the stop and the send, and shows what would go out, the environment's values hidden.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { NatsConnection } from '@nats-io/nats-core';
import { deployTriggers, entryPath, type ValidFunction } from '../core/manifest';
import { controlSubjects } from '../nex/controlApi';
import { DISCOVERY_WINDOW_MS, NexControlClient } from '../nex/controlClient';
import { discoverNodes04 } from '../nex04/client04';
import type { DeployRequest02, DeployRequest03, NexProtocolVersion, PingResponse } from '../nex/controlTypes';
import { buildDeployRequest } from '../nex/deployRequest';
import { decodeWorkloadJwt, type WorkloadJwtClaims } from '../nex/workloadJwt';
import { buildIfNeeded } from '../toolchain/buildRunner';
import { deleteArtifact, describeArtifact, type StoredArtifact, uploadArtifact } from './artifactStore';
import { DEFAULT_NAMESPACE } from '../core/subject';
import { type RunningWorkload } from './runningWorkload';
import { stopWorkload } from './stopWorkloads';
import { DEPLOY_RECORDS_BUCKET, type DeployRecord, writeDeployRecord } from './deployRecords';
import { nodeProtocol, withHint } from './nodeReplies';
import { ISSUER_KEY_FILE, loadPublisherKeys, type PublisherKeys } from './publisherKeys';

/** The steps a deploy reports, in order. */
export type DeployStep = 'build' | 'keys' | 'node' | 'upload' | 'replace' | 'deploy';

export interface DeployProgress {
  step: DeployStep;
  /** One line for a person; never holds a secret or an environment value. */
  message: string;
}

/** A node as the deploy sees it. */
export interface DeployTarget {
  nodeId: string;
  /** As the node reports it, e.g. 0.2.7. */
  version: string;
  /** The deploy and stop format it takes. */
  protocol: NexProtocolVersion;
  /** Its curve public key (X…), which the environment is sealed to. */
  publicXKey: string;
  /** Its `node_name` tag, when it has one. */
  nodeName?: string;
}

/** A DEPLOY waits at least this long for the node (it fetches and checks the artifact first). */
export const MIN_DEPLOY_TIMEOUT_MS = 10000;

export interface DeployOptions {
  /** Default: the manifest's `deploy.namespace`, else "default", as the `nex` CLI. */
  namespace?: string;
  /** Deploy to this node; otherwise the auction picks one. */
  nodeId?: string;
  /** Only nodes with all these tags take part in the auction; default: the manifest's `deploy.tags`. */
  tags?: Record<string, string>;
  /**
   * Chooses among several nodes that answered the auction (e.g. the editor's own local node);
   * undefined when it has no preference. Default: preferLocalNode.
   */
  preferNode?: (candidates: readonly PingResponse[]) => PingResponse | undefined;
  /** The issuer and publisher keys; default: loaded (or created) from `keysDir`. */
  keys?: PublisherKeys;
  /** Where the keys are when `keys` is not given; default ~/.nex (or $NEX_KEYS_DIR). */
  keysDir?: string;
  /** The JetStream domain of the object store the node fetches from. */
  jsDomain?: string;
  /**
   * The format the node takes, when its version does not tell (a source build says "development");
   * default: the manifest's `deploy.nodeVersion`.
   */
  nexVersion?: NexProtocolVersion;
  /** The connection's inbox prefix, when it has one (discovery replies come there). */
  inboxPrefix?: string;
  /** How long discovery listens for nodes (default the CLI's 750 ms). */
  discoveryWindowMs?: number;
  /** How long the DEPLOY waits for the node (at least MIN_DEPLOY_TIMEOUT_MS; default 15 s). */
  deployTimeoutMs?: number;
  onProgress?: (progress: DeployProgress) => void;
  /** The build's output lines, when the function is built first. */
  onBuildOutput?: (line: string) => void;
  signal?: AbortSignal;
}

export interface DeployResult {
  node: DeployTarget;
  namespace: string;
  /** The node-local workload id: use it for stop, logs and events. */
  workloadId: string;
  name: string;
  /** The node's Nex version. */
  version: string;
  /** Hex SHA-256 of the artifact. */
  hash: string;
  artifact: StoredArtifact;
  /** The issuer's public key (A…) that signed the deploy; a stop must be signed by it. */
  issuer: string;
  /** The ids of the workloads of the same name this deploy stopped first. */
  replaced: string[];
  /** The trigger subjects it was deployed with (also written to its deploy record). */
  triggers: string[];
  /** Why the deploy record (deployRecords.ts) could not be written; absent when it was. */
  recordProblem?: string;
}

/** What a deploy would send, with the environment's values and the signed token left out. */
export interface DeployPreview {
  node: DeployTarget;
  namespace: string;
  subjects: { deploy: string; triggers: string[] };
  /** The variables the environment holds (names only) and the node key it would be sealed to. */
  environment: { names: string[]; sealedTo: string };
  artifact: StoredArtifact & { file: string };
  /** The workload JWT's claims, decoded. */
  claims: WorkloadJwtClaims;
  /** The DEPLOY body, `environment` and `workload_jwt` replaced by what they hold. */
  request: Record<string, unknown>;
  /** The ids of the running workloads of the same name a deploy would stop first. */
  replaces: string[];
  keys: { dir: string; issuer: string; xkey: string; missing: string[] };
}

/** Everything a deploy and its preview share, worked out before anything is sent. */
interface DeployPlan {
  fn: ValidFunction;
  namespace: string;
  target: DeployTarget;
  file: string;
  bytes: Uint8Array;
  artifact: StoredArtifact;
  keys: PublisherKeys;
  previous: RunningWorkload[];
  client: NexControlClient;
  /** The manifest's triggers, checked once when the deploy is planned. */
  triggers: string[];
}

/** The one node among several that is a local node (tag `nex.local`), when there is exactly one. */
export function preferLocalNode(candidates: readonly PingResponse[]): PingResponse | undefined {
  const local = candidates.filter((c) => c.tags?.['nex.local'] === 'true');
  return local.length === 1 ? local[0] : undefined;
}

function describeNode(node: PingResponse): string {
  return `${node.node_id} (${node.tags?.node_name ? `${node.tags.node_name}, ` : ''}Nex ${node.version})`;
}

function tagText(tags: Record<string, string> | undefined): string {
  const entries = Object.entries(tags ?? {});
  return entries.length > 0 ? ` with tags ${entries.map(([k, v]) => `${k}=${v}`).join(', ')}` : '';
}

/** Why no node took part in the auction: none at all, or none that takes the type (and tags). */
async function noNodeError(client: NexControlClient, nc: NatsConnection, type: string, options: DeployOptions, lameDucks: number): Promise<Error> {
  const window = options.discoveryWindowMs;
  const pinged = (await client.ping(window)).filter((a) => a.ok).length;
  const start = `no Nex node answered the auction for a ${type} workload${tagText(options.tags)} on ${nc.getServer()}`;
  if (lameDucks > 0) {
    return new Error(`${start}: only nodes in lame duck mode, which take no new workloads (${lameDucks}); start another node`);
  }
  if (pinged === 0) {
    const nodes04 = (await discoverNodes04(nc, window ?? DISCOVERY_WINDOW_MS, options.inboxPrefix)).nodes;
    if (nodes04.length > 0) {
      return new Error(
        `${start}: only Nex 0.4 nodes answer on this connection (${nodes04.map((n) => `${n.tags?.['nex.node'] ?? n.node_id} ${n.version}`).join(', ')}), and this deploy speaks the 0.2/0.3 control API: deploy to them as Nex 0.4 (nexfn deploy --nex-version 0.4, or "deploy": {"nodeVersion": "0.4"} in the manifest), which runs functions on the functions nexlet (nexfn nexlet, built into nexfn node --emulate 0.4.1)`,
      );
    }
    return new Error(`${start}: no node answers PING either: start one (nexfn node), or connect to the NATS server and account the nodes use`);
  }
  return new Error(`${start}: ${pinged} node(s) answer PING, but none takes ${type} workloads${tagText(options.tags) ? ' with those tags' : ''}: a node's workload_types must list "${type}" (the default allows only native)`);
}

/** The node to deploy to: the one asked for (its PING), else the auction's single or preferred answer. */
async function chooseNode(client: NexControlClient, nc: NatsConnection, type: string, options: DeployOptions): Promise<PingResponse> {
  if (options.nodeId) {
    return client.pingNode(options.nodeId);
  }
  const answers = (await client.auction({ workload_types: [type], ...(options.tags ? { tags: options.tags } : {}) }, options.discoveryWindowMs)).flatMap((a) => (a.ok ? [a.value] : []));
  const candidates = answers.filter((a) => a.tags?.['nex.lameduck'] !== 'true');
  if (candidates.length === 0) {
    throw await noNodeError(client, nc, type, options, answers.length);
  }
  if (candidates.length === 1) {
    return candidates[0];
  }
  const preferred = (options.preferNode ?? preferLocalNode)(candidates);
  if (preferred) {
    return preferred;
  }
  throw new Error(`${candidates.length} Nex nodes answered the auction for a ${type} workload${tagText(options.tags)}: choose one with --node: ${candidates.map(describeNode).join('; ')}`);
}

function targetOf(node: PingResponse, nexVersion: NexProtocolVersion | undefined): DeployTarget {
  return {
    nodeId: node.node_id,
    version: node.version,
    protocol: nodeProtocol(node.version, node.node_id, nexVersion),
    publicXKey: node.target_xkey,
    ...(node.tags?.node_name ? { nodeName: node.tags.node_name } : {}),
  };
}

/** The running workloads of the function's name on the node, in the namespace (INFO). */
async function runningNamesakes(client: NexControlClient, target: DeployTarget, namespace: string, name: string): Promise<RunningWorkload[]> {
  const info = await client.info(namespace, target.nodeId);
  return info.machines
    .filter((m) => m.workload.name === name)
    .map((m) => ({ nodeId: target.nodeId, nodeVersion: target.version, namespace, workloadId: m.id, name }));
}

/** The function's file a node runs: its JavaScript source or its wasm artifact. */
function readEntry(fn: ValidFunction): { file: string; bytes: Uint8Array } {
  const file = entryPath(fn);
  try {
    return { file, bytes: new Uint8Array(fs.readFileSync(file)) };
  } catch (e) {
    throw new Error(`cannot read ${file}, the ${fn.manifest.type === 'v8' ? 'source' : 'artifact'} of ${fn.manifest.name}: ${(e as Error).message}`);
  }
}

/**
 * The options with the manifest's `deploy` section filling in what they leave out: the namespace,
 * the auction's tags and the deploy format for nodes whose version does not tell.
 */
function withManifestDefaults(fn: ValidFunction, options: DeployOptions): DeployOptions {
  const defaults = fn.manifest.deploy;
  const namespace = options.namespace ?? defaults?.namespace ?? DEFAULT_NAMESPACE;
  const tags = options.tags ?? defaults?.tags;
  // "0.4" picks the generation (deploy04.ts chooseGeneration), not a 0.2/0.3 format.
  const nexVersion = options.nexVersion ?? (defaults?.nodeVersion === '0.4' ? undefined : defaults?.nodeVersion);
  return { ...options, namespace, ...(tags ? { tags } : {}), ...(nexVersion ? { nexVersion } : {}) };
}

/** Builds, loads the keys, picks the node and reads what runs there; sends nothing but discovery and INFO. */
async function planDeploy(nc: NatsConnection, fn: ValidFunction, options: DeployOptions, persistKeys: boolean): Promise<DeployPlan> {
  const progress = (step: DeployStep, message: string) => options.onProgress?.({ step, message });
  const signal = options.signal;
  signal?.throwIfAborted();
  const triggers = deployTriggers(fn, 'a node');
  await buildIfNeeded(fn, { signal, onStart: () => progress('build', `building ${fn.manifest.name} (its sources changed)`), onOutput: options.onBuildOutput });
  signal?.throwIfAborted();
  const keys = options.keys ?? loadPublisherKeys({ dir: options.keysDir, persist: persistKeys, onCreated: (line) => progress('keys', line) });
  const client = new NexControlClient(nc, options.inboxPrefix);
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const target = targetOf(await chooseNode(client, nc, fn.manifest.type, options), options.nexVersion);
  progress('node', `node ${target.nodeId}${target.nodeName ? ` (${target.nodeName})` : ''} runs Nex ${target.version}: sending the ${target.protocol} deploy format`);
  signal?.throwIfAborted();
  const { file, bytes } = readEntry(fn);
  const previous = await runningNamesakes(client, target, namespace, fn.manifest.name);
  return { fn, namespace, target, file, bytes, artifact: describeArtifact(file, bytes), keys, previous, client, triggers };
}

/** The signed DEPLOY body for the plan, the environment sealed to the node (an empty one too). */
function deployBody(plan: DeployPlan, options: DeployOptions): DeployRequest02 | DeployRequest03 {
  const { fn, artifact, target, keys } = plan;
  return buildDeployRequest(target.protocol, {
    name: fn.manifest.name,
    type: fn.manifest.type,
    bucket: artifact.bucket,
    key: artifact.key,
    hash: artifact.sha256,
    triggerSubjects: plan.triggers,
    description: fn.manifest.description ?? '',
    environment: fn.manifest.env ?? {},
    senderXKey: keys.xkey,
    nodeId: target.nodeId,
    nodePublicXKey: target.publicXKey,
    issuer: keys.issuer,
    jsDomain: options.jsDomain,
  });
}

/**
 * Deploys `fn` (see the module comment). Throws BuildFailedError when its build fails, an error
 * saying what to do when no node (or several) could take it, and NodeRefusal with the node's text
 * verbatim, plus a hint for the common refusals, when the node refuses the deploy or the stop of
 * the workload it replaces.
 */
export async function deployFunction(nc: NatsConnection, fn: ValidFunction, given: DeployOptions = {}): Promise<DeployResult> {
  const options = withManifestDefaults(fn, given);
  const progress = (step: DeployStep, message: string) => options.onProgress?.({ step, message });
  const plan = await planDeploy(nc, fn, options, true);
  const { target, namespace, keys } = plan;
  const name = fn.manifest.name;
  progress('upload', `uploading ${path.basename(plan.file)} (${plan.artifact.size} bytes) to ${plan.artifact.bucket} as ${plan.artifact.key}`);
  const artifact = await uploadArtifact(nc, plan.file, { jsDomain: options.jsDomain, bytes: plan.bytes });
  for (const workload of plan.previous) {
    options.signal?.throwIfAborted();
    progress('replace', `stopping ${name} (${workload.workloadId}) on node ${target.nodeId}: the new deploy replaces it`);
    await stopWorkload(plan.client, workload, { keys, nexVersion: options.nexVersion, jsDomain: options.jsDomain, signal: options.signal });
  }
  options.signal?.throwIfAborted();
  progress('deploy', `deploying ${name} to node ${target.nodeId} in the namespace ${namespace}`);
  const timeout = Math.max(options.deployTimeoutMs ?? 15000, MIN_DEPLOY_TIMEOUT_MS);
  let run;
  try {
    run = await plan.client.deploy(namespace, target.nodeId, deployBody(plan, options), timeout);
  } catch (e) {
    // Nothing half-deployed: the refused deploy's artifact does not stay in the object store.
    await deleteArtifact(nc, artifact, { jsDomain: options.jsDomain }).catch(() => undefined);
    throw withHint(e, { nodeId: target.nodeId, issuer: keys.issuerPublicKey, issuerFile: path.join(keys.dir, ISSUER_KEY_FILE) });
  }
  const triggers = plan.triggers;
  const record: DeployRecord = { v: 1, workloadId: run.id, name, namespace, nodeId: target.nodeId, type: fn.manifest.type, triggers, hash: artifact.sha256, issuer: run.issuer, deployedAt: new Date().toISOString() };
  let recordProblem: string | undefined;
  try {
    await writeDeployRecord(nc, record, { jsDomain: options.jsDomain });
  } catch (e) {
    recordProblem = `the workload runs, but its record in ${DEPLOY_RECORDS_BUCKET} could not be written (${(e as Error).message}): other clients will show its triggers as unknown`;
  }
  return {
    node: target,
    namespace,
    workloadId: run.id,
    name,
    version: target.version,
    hash: artifact.sha256,
    artifact,
    issuer: run.issuer,
    replaced: plan.previous.map((w) => w.workloadId),
    triggers,
    ...(recordProblem ? { recordProblem } : {}),
  };
}

/**
 * What deploying `fn` would send, without uploading, stopping or deploying anything and without
 * writing missing keys (it says which are missing). Builds the function first when needed, as a
 * deploy would, since the artifact's size and hash are part of the request.
 */
export async function previewDeploy(nc: NatsConnection, fn: ValidFunction, given: DeployOptions = {}): Promise<DeployPreview> {
  const options = withManifestDefaults(fn, given);
  const plan = await planDeploy(nc, fn, options, false);
  const { target, namespace, keys } = plan;
  const body = deployBody(plan, options);
  const names = Object.keys(fn.manifest.env ?? {});
  return {
    node: target,
    namespace,
    subjects: { deploy: controlSubjects.deploy(namespace, target.nodeId), triggers: body.trigger_subjects ?? [] },
    environment: { names, sealedTo: target.publicXKey },
    artifact: { ...plan.artifact, file: plan.file },
    claims: decodeWorkloadJwt(body.workload_jwt),
    request: {
      ...body,
      environment: `(sealed to ${target.publicXKey}: ${names.length === 0 ? 'no variables' : names.join(', ')})`,
      workload_jwt: '(signed by the issuer: see claims)',
    },
    replaces: plan.previous.map((w) => w.workloadId),
    keys: { dir: keys.dir, issuer: keys.issuerPublicKey, xkey: keys.xkeyPublicKey, missing: keys.created },
  };
}
