/**
 * One connection's view of the Nex nodes that answer it and of their workloads in the namespaces the
 * user works with: what the "Deployed" tree and `nexfn nodes` show. `refresh()` reads it all (PING,
 * then INFO of each node in each namespace); once started, the model follows the nodes' events
 * (reference §2), notices nodes whose heartbeats stop, re-reads everything now and then (less often
 * while nothing changes), and reads it all again at once when the NATS connection comes back. A
 * workload's trigger subjects are the ones it was deployed with, from its deploy record
 * (deployRecords.ts); without one they are unknown, never guessed. Whatever a node answers, nothing
 * is thrown: unreadable answers become problems next to the node (or the model) they came from.
 * Nex 0.4 nodes on the same connection are read and followed alongside by Nex04Tracker (nodes04.ts):
 * `nodes04` and `workloads04Unplaced` in the snapshot, their functions' triggers as their nexlet
 * reports them.
 *
 * The state comes out as frozen plain data (`snapshot()`), so the editor and the CLI render the same
 * thing, and listeners hear about changes at most once per `coalesceMs`, however many events arrive.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { DEFAULT_NAMESPACE, type NexEvent, type Watch, watchEvents } from '../deploy/deployedOps';
import { type DeployRecord, DeployRecordReader } from '../deploy/deployRecords';
import { ConnectionStatus, type LinkState } from '../nats/connectionStatus';
import { controlSubjects, NodeError } from '../nex/controlApi';
import { namespaceProblem } from '../core/subject';
import { DISCOVERY_WINDOW_MS, NexControlClient, NoAnswerError, REQUEST_TIMEOUT_MS } from '../nex/controlClient';
import type { MemoryStat } from '../nex/controlTypes';
import { parseUptime } from '../nex/uptime';
import { WORKLOAD_PING_WAIT_MS } from '../nex04/client04';
import { DEFAULT_HEARTBEAT04_INTERVAL_MS, Nex04Tracker } from './nodes04';
import type { DeployedFunction } from './subjectRouting';
import type { Node04View, Workload04View } from './workloads04';

/** Where the model learns what workloads were deployed with (DeployRecordReader; tests may give their own). */
export interface DeployRecordSource {
  get(workloadId: string): DeployRecord | undefined;
  load(workloadIds: readonly string[]): Promise<void>;
  close(): void;
}

/** The model's NATS connection: nodes are only read while it is connected. */
export type ConnectionState = LinkState;

/** A workload in the namespace, as its node's INFO lists it. */
export interface WorkloadView {
  /** The node-local workload id (an `rs/xid`): what STOP, logs and events use. */
  id: string;
  name: string;
  /** `v8`, `wasm`, `native`… */
  type: string;
  /** Hex SHA-256 of the artifact, computed by the node. */
  hash: string;
  /** Functions: their total execution time so far (e.g. `350ms`); services: their uptime. */
  runtime: string;
  description: string;
  namespace: string;
  /** NATS-server style, e.g. `2m26s`, as the node said when it was last read. */
  uptime: string;
  /** When it started (ISO 8601), derived from the uptime when it was read: show uptimes from this. */
  startedAt?: string;
  /** The node it runs on. */
  nodeId: string;
  /** The trigger subjects it was deployed with, from its deploy record; absent when unknown (no record). */
  triggers?: readonly string[];
}

/** A Nex node that answers the connection. */
export interface NodeView {
  /** Its server nkey (N…): new on every node start. */
  id: string;
  /** Its `node_name` tag. */
  name?: string;
  /** E.g. `0.2.7`, `0.3.0`, `development`. */
  version: string;
  /** NATS-server style, as the node last said. */
  uptime: string;
  /** When it started (ISO 8601), derived from the uptime it last reported: show uptimes from this. */
  startedAt?: string;
  /** The cluster name from `nex node up --nexus`. */
  nexus?: string;
  /** Its running workloads in every namespace, as its PING or heartbeat last said. */
  runningCount?: number;
  tags: Readonly<Record<string, string>>;
  /** It refuses deploys (lame duck mode). */
  lameDuck: boolean;
  /** Its curve public key (X…) that deploy environments are sealed to. */
  xkey?: string;
  /** Its `workload_types` config, from INFO. */
  supportedTypes?: readonly string[];
  /** Its host's memory, in kB, from INFO. */
  memory?: Readonly<MemoryStat>;
  /** `unreachable`: it missed its heartbeats, or did not answer the last PING. */
  state: 'up' | 'unreachable';
  /** Why it is unreachable. */
  stateReason?: string;
  /** When it was last heard from (ISO 8601). */
  lastSeenAt: string;
  /** Its workloads in the model's namespaces (each says its own); empty until its INFO was read. */
  workloads: readonly WorkloadView[];
  /** Why its last INFO could not be read: the node's own text, or what was wrong with the answer. */
  problem?: string;
}

export type { Nexlet04View, Node04View, Workload04View } from './workloads04';

/** Everything the model knows, as plain frozen data. */
export interface DeployedSnapshot {
  /** The connection's own namespace (the first of `namespaces`). */
  namespace: string;
  /** Every namespace the model reads, the connection's first, then the others sorted. */
  namespaces: readonly string[];
  connection: ConnectionState;
  /** When the last complete refresh ended (ISO 8601); absent before the first. */
  refreshedAt?: string;
  /** Sorted by name, then id. */
  nodes: readonly NodeView[];
  /** Nex 0.4 nodes answering on the same connection, sorted by name, then id (nodes04.ts). */
  nodes04: readonly Node04View[];
  /** 0.4 workloads whose node could not be told (WPING answers do not name their node); absent when there are none. */
  workloads04Unplaced?: readonly Workload04View[];
  /** Problems of the last refresh not tied to a node: unreadable PING answers, a PING that could not be sent. */
  problems: readonly string[];
}

export interface DeployedModelOptions {
  nc: NatsConnection;
  /** The connection's namespace: default "default", as the `nex` CLI; one subject token. */
  namespace?: string;
  /** More namespaces to read (the workspace manifests' deploy.namespace, ones the user added). */
  namespaces?: readonly string[];
  /** The connection's inbox prefix, when it has one (discovery replies come there). */
  inboxPrefix?: string;
  /** What workloads were deployed with; default: the deploy records on this connection. */
  records?: DeployRecordSource;
  /** The connection's state, when someone already follows it (the editor's connection); default: followed here. */
  status?: ConnectionStatus;
  /** The JetStream domain of the deploy records. */
  jsDomain?: string;
  /** How long a PING listens for nodes (default the CLI's 750 ms). */
  discoveryWindowMs?: number;
  /** How long an INFO waits for its node (default 2 s). */
  infoTimeoutMs?: number;
  /** How often nodes send heartbeats (30 s on a real node). */
  heartbeatIntervalMs?: number;
  /** How often Nex 0.4 nodes send heartbeats (10 s on 0.4.1). */
  heartbeat04IntervalMs?: number;
  /** The longest a 0.4 WPING waits for the nodes (default 3.5 s; it ends as soon as every 0.4 node answered). */
  workload04WaitMs?: number;
  /** A node that misses this many heartbeats in a row is unreachable (default 3). */
  missedHeartbeats?: number;
  /** The periodic re-read waits this long after a change (default 10 s)… */
  refreshMinMs?: number;
  /** …and twice as long each time nothing changed, up to this (default 5 min). */
  refreshMaxMs?: number;
  /** Listeners hear about changes at most once per this many milliseconds (default 100). */
  coalesceMs?: number;
  /**
   * After the connection comes back, nodes have this long to answer again before they count as
   * unreachable (their own connections reconnect too, a little later); meanwhile the model re-reads
   * every `reconnectPollMs` (defaults 15 s and 1 s).
   */
  reconnectGraceMs?: number;
  reconnectPollMs?: number;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30000;
export const DEFAULT_MISSED_HEARTBEATS = 3;
export const DEFAULT_REFRESH_MIN_MS = 10000;
export const DEFAULT_REFRESH_MAX_MS = 300000;
export const DEFAULT_COALESCE_MS = 100;
export const DEFAULT_RECONNECT_GRACE_MS = 15000;
export const DEFAULT_RECONNECT_POLL_MS = 1000;

/** The deployed workloads whose triggers are known, in the shape subject routing takes. */
export interface DeployedTriggers extends DeployedFunction {
  workloadId: string;
  nodeName?: string;
  namespace: string;
}

/** How a node is named to people: its node_name, else the start of its id. */
export function nodeLabel(name: string | undefined, id: string): string {
  return name ?? `${id.slice(0, 12)}…`;
}

/**
 * The workloads of a snapshot whose trigger subjects are known, for `whichHandles` and
 * `triggerOverlaps`: 0.2/0.3 ones from their deploy records, 0.4 functions as their nexlet reports
 * them (`node` is "" for a 0.4 workload whose node could not be told).
 */
export function deployedFunctions(snapshot: DeployedSnapshot): DeployedTriggers[] {
  const nodeNames = new Map(snapshot.nodes04.map((n) => [n.id, n.name]));
  const of04 = (w: Workload04View): DeployedTriggers[] =>
    w.isFunction && w.triggers ? [{ name: w.name, node: w.nodeId ?? '', nodeName: w.nodeId ? nodeNames.get(w.nodeId) : undefined, workloadId: w.id, namespace: w.namespace, triggers: w.triggers }] : [];
  return [
    ...snapshot.nodes.flatMap((node) =>
      node.workloads.flatMap((w) => (w.triggers ? [{ name: w.name, node: node.id, nodeName: node.name, workloadId: w.id, namespace: w.namespace, triggers: w.triggers }] : [])),
    ),
    ...snapshot.nodes04.flatMap((node) => (node.workloads ?? []).flatMap(of04)),
    ...(snapshot.workloads04Unplaced ?? []).flatMap(of04),
  ];
}

/** A workload as the model keeps it; its triggers are looked up when a snapshot is made. */
type WorkloadState = Omit<WorkloadView, 'triggers' | 'startedAt'> & { startedAt?: number };

/** When something that has been up for `uptime` (as the node printed it) started, in epoch ms. */
function startOf(uptime: string | undefined, at = Date.now()): number | undefined {
  const ms = uptime === undefined ? undefined : parseUptime(uptime);
  return ms === undefined ? undefined : at - ms;
}

/** A node as the model keeps it. */
interface NodeState {
  id: string;
  version: string;
  uptime: string;
  /** Epoch ms, from the uptime last reported. */
  startedAt?: number;
  nexus?: string;
  runningCount?: number;
  tags: Record<string, string>;
  lameDuck: boolean;
  xkey?: string;
  supportedTypes?: string[];
  memory?: MemoryStat;
  reachable: boolean;
  stateReason?: string;
  /** Epoch ms. */
  lastSeen: number;
  workloads: WorkloadState[];
  problem?: string;
}

/** What a PING answer, a heartbeat or a node_started event says about a node. */
interface Sighting {
  id: string;
  version?: string;
  uptime?: string;
  nexus?: string;
  tags?: Record<string, string>;
  runningCount?: number;
  xkey?: string;
}

/** What an INFO answer says. */
interface InfoReading {
  version?: string;
  uptime?: string;
  xkey?: string;
  tags?: Record<string, string>;
  memory?: MemoryStat;
  supportedTypes?: string[];
  workloads: WorkloadState[];
  /** Workloads listed without an id or a name. */
  unreadable: number;
}

const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const asNumber = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const asObject = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** The string entries of an object (tags), or undefined when it is not one. */
function stringMap(v: unknown): Record<string, string> | undefined {
  const o = asObject(v);
  return o && Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** The strings of a list; Go writes an empty list as null. */
function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined;
}

/** A node id is a subject token of the control API. */
const isNodeId = (v: unknown): v is string => typeof v === 'string' && /^[^\s.*>]+$/.test(v);

/**
 * A node as a PING answer (`node_id`, `target_xkey`), a heartbeat (`node_id`, `public_xkey` at
 * ec4c2b4) or node_started (`id`) describes it, or why it cannot be read.
 */
function readSighting(value: unknown, fallbackId?: string): Sighting | string {
  const o = asObject(value);
  if (!o) {
    return 'it is not a JSON object';
  }
  const id = [o.node_id, o.id, fallbackId].find(isNodeId);
  if (!id) {
    return 'it has no usable node_id';
  }
  return {
    id,
    version: asString(o.version),
    uptime: asString(o.uptime),
    nexus: asString(o.nexus),
    tags: stringMap(o.tags),
    runningCount: asNumber(o.running_machines),
    xkey: asString(o.target_xkey) ?? asString(o.public_xkey),
  };
}

/** An INFO answer's data, or why it cannot be read. Machines without an id or name are counted, not kept. */
function readInfo(value: unknown, nodeId: string, namespace: string): InfoReading | string {
  const o = asObject(value);
  if (!o) {
    return 'it is not a JSON object';
  }
  if (o.machines !== undefined && o.machines !== null && !Array.isArray(o.machines)) {
    return '"machines" is not a list';
  }
  const machines = (o.machines ?? []) as unknown[];
  const workloads: WorkloadState[] = [];
  for (const m of machines.map(asObject)) {
    const w = asObject(m?.workload);
    const id = asString(m?.id);
    const name = asString(w?.name);
    if (!m || !w || !id || !name) {
      continue;
    }
    const uptime = asString(m.uptime) ?? asString(w.uptime) ?? '';
    workloads.push({
      id,
      name,
      type: asString(w.type) ?? '',
      hash: asString(w.hash) ?? '',
      runtime: asString(w.runtime) ?? '',
      description: asString(w.description) ?? '',
      namespace: asString(m.namespace) ?? namespace,
      uptime,
      startedAt: startOf(uptime),
      nodeId,
    });
  }
  const memory = asObject(o.memory);
  const total = asNumber(memory?.total);
  const free = asNumber(memory?.free);
  const available = asNumber(memory?.available);
  return {
    version: asString(o.version),
    uptime: asString(o.uptime),
    xkey: asString(o.public_xkey),
    tags: stringMap(o.tags),
    memory: total !== undefined && free !== undefined && available !== undefined ? { total, free, available } : undefined,
    supportedTypes: stringList(o.supported_workload_types),
    workloads,
    unreadable: machines.length - workloads.length,
  };
}

/** What went wrong with an INFO, in words a user can act on. */
function infoProblem(e: unknown): string {
  if (e instanceof NodeError) {
    return `it answered INFO with an error: ${e.nodeMessage}`;
  }
  if (e instanceof NoAnswerError) {
    return e.message;
  }
  return `its INFO answer cannot be read: ${(e as Error).message ?? String(e)}`;
}

/** Freezes plain data all the way down. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/** A duration in words for messages: "450 ms", "90 s". */
const inWords = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`);

/** A listener registration; `dispose()` removes it (the shape VS Code's subscriptions take). */
export interface Disposable {
  dispose(): void;
}

export type DeployedListener = (snapshot: DeployedSnapshot) => void;

export class DeployedModel {
  /** The connection's namespace. */
  readonly namespace: string;
  /** The others read too, besides the connection's. */
  private extraNamespaces: string[] = [];
  private readonly nc: NatsConnection;
  private readonly client: NexControlClient;
  private readonly records: DeployRecordSource;
  private readonly status: ConnectionStatus;
  /** Whether `status` is this model's own (and so disposed with it). */
  private readonly ownsStatus: boolean;
  private statusListener?: Disposable;
  private readonly timing: Required<Omit<DeployedModelOptions, 'nc' | 'namespace' | 'namespaces' | 'inboxPrefix' | 'records' | 'status' | 'jsDomain'>>;
  private readonly nodes = new Map<string, NodeState>();
  /** Nodes that said node_stopped: a late answer must not bring them back (node ids are never reused). */
  private readonly stoppedIds = new Set<string>();
  private readonly listeners = new Set<DeployedListener>();
  private problems: string[] = [];
  /** The Nex 0.4 nodes, nexlets and workloads (nodes04.ts). */
  private readonly tracker04: Nex04Tracker;
  private refreshedAt?: number;
  /** Until when (epoch ms) nodes not heard from since the connection came back are not marked unreachable. */
  private graceUntil = 0;
  private graceTimer?: ReturnType<typeof setTimeout>;
  private cached?: DeployedSnapshot;

  private live = false;
  private disposed = false;
  private events?: Watch;
  private sweepTimer?: ReturnType<typeof setInterval>;

  private refreshRun?: Promise<DeployedSnapshot>;
  private refreshQueued = false;
  private refreshTimer?: ReturnType<typeof setTimeout>;
  private refreshDelay: number;
  /** Counts changes of the node/workload structure (not of uptimes or last-seen times): the backoff restarts on one. */
  private structureVersion = 0;
  private structureAtLastRefresh = 0;
  private lastStructure = '';

  private readonly infoRuns = new Map<string, { again: boolean; done: Promise<void> }>();

  private notifyTimer?: ReturnType<typeof setTimeout>;
  private lastNotified = 0;

  constructor(options: DeployedModelOptions) {
    this.namespace = options.namespace ?? DEFAULT_NAMESPACE;
    const problem = namespaceProblem(this.namespace);
    if (problem) {
      throw new Error(problem);
    }
    this.nc = options.nc;
    this.client = new NexControlClient(options.nc, options.inboxPrefix);
    this.records = options.records ?? new DeployRecordReader(options.nc, { jsDomain: options.jsDomain, onRecord: () => this.changed() });
    this.ownsStatus = options.status === undefined;
    this.status = options.status ?? new ConnectionStatus(options.nc);
    this.setNamespaces(options.namespaces ?? []);
    this.timing = {
      discoveryWindowMs: options.discoveryWindowMs ?? DISCOVERY_WINDOW_MS,
      infoTimeoutMs: options.infoTimeoutMs ?? REQUEST_TIMEOUT_MS,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      heartbeat04IntervalMs: options.heartbeat04IntervalMs ?? DEFAULT_HEARTBEAT04_INTERVAL_MS,
      workload04WaitMs: options.workload04WaitMs ?? WORKLOAD_PING_WAIT_MS,
      missedHeartbeats: options.missedHeartbeats ?? DEFAULT_MISSED_HEARTBEATS,
      refreshMinMs: options.refreshMinMs ?? DEFAULT_REFRESH_MIN_MS,
      refreshMaxMs: options.refreshMaxMs ?? DEFAULT_REFRESH_MAX_MS,
      coalesceMs: options.coalesceMs ?? DEFAULT_COALESCE_MS,
      reconnectGraceMs: options.reconnectGraceMs ?? DEFAULT_RECONNECT_GRACE_MS,
      reconnectPollMs: options.reconnectPollMs ?? DEFAULT_RECONNECT_POLL_MS,
    };
    this.refreshDelay = this.timing.refreshMinMs;
    this.tracker04 = new Nex04Tracker({
      nc: options.nc,
      inboxPrefix: options.inboxPrefix,
      namespaces: () => this.namespaces,
      connected: () => this.connection === 'connected',
      connectedSince: () => this.connectedSince,
      onChange: () => this.changed(),
      discoveryWindowMs: this.timing.discoveryWindowMs,
      infoTimeoutMs: this.timing.infoTimeoutMs,
      heartbeatIntervalMs: this.timing.heartbeat04IntervalMs,
      missedHeartbeats: this.timing.missedHeartbeats,
      workloadWaitMs: this.timing.workload04WaitMs,
    });
  }

  private get connection(): ConnectionState {
    return this.status.state;
  }

  /** Since when the connection is up: heartbeats missed while it was down do not count. */
  private get connectedSince(): number {
    return this.status.connectedSince;
  }

  /** Every namespace read: the connection's first, then the others sorted. */
  get namespaces(): readonly string[] {
    return [this.namespace, ...this.extraNamespaces];
  }

  /**
   * Reads these namespaces too, besides the connection's (invalid ones are left out); workloads of
   * namespaces no longer listed go at once, new ones are read at the next refresh (which a running
   * model starts now).
   */
  setNamespaces(namespaces: readonly string[]): void {
    const next = [...new Set(namespaces)].filter((ns) => ns !== this.namespace && !namespaceProblem(ns)).sort();
    if (next.join(' ') === this.extraNamespaces.join(' ')) {
      return;
    }
    this.extraNamespaces = next;
    const kept = new Set(this.namespaces);
    for (const node of this.nodes.values()) {
      node.workloads = node.workloads.filter((w) => kept.has(w.namespace));
    }
    this.tracker04?.keepNamespaces();
    this.changed();
    if (this.live) {
      void this.refresh();
    }
  }

  /**
   * A stop the node confirmed: the workload goes at once (a 0.2.7 node publishes no event for it,
   * and the next INFO would only come with the next event or refresh).
   */
  workloadStopped(nodeId: string, workloadId: string): void {
    const node = this.nodes.get(nodeId);
    if (node && node.workloads.some((w) => w.id === workloadId)) {
      node.workloads = node.workloads.filter((w) => w.id !== workloadId);
      if (node.runningCount !== undefined) {
        node.runningCount = Math.max(0, node.runningCount - 1);
      }
      this.changed();
    }
  }

  /** A deploy the node confirmed: its node is read again now. */
  workloadDeployed(nodeId: string): Promise<void> {
    return this.reinfo(nodeId);
  }

  /** A Nex 0.4 UNDEPLOY that said `stopped: true`: the workload goes at once (its WORKLOADSTOPPED event does the same when it arrives). */
  workloadStopped04(workloadId: string): void {
    this.tracker04.workloadStopped(workloadId);
  }

  /** A Nex 0.4 ADEPLOY that answered: the namespace's workloads are read again now (resolves when they are). */
  workloadDeployed04(namespace: string): Promise<void> {
    return this.tracker04.workloadDeployed(namespace);
  }

  /** How long a node may stay silent before it counts as unreachable. */
  private get silenceLimitMs(): number {
    return this.timing.heartbeatIntervalMs * this.timing.missedHeartbeats;
  }

  /**
   * Follows the nodes from now on: subscribes to the namespace's and the system's events, watches
   * heartbeats and the connection, re-reads periodically, and reads everything once now.
   */
  async start(): Promise<DeployedSnapshot> {
    if (this.disposed) {
      throw new Error('this deployed model was disposed: make a new one');
    }
    if (!this.live) {
      this.live = true;
      this.watchConnection();
      // Every namespace's events: the model reads several, and the user may add more later.
      const events = await watchEvents(this.nc, { namespace: '*', nex04: false, onEvent: (event) => this.onEvent(event) });
      if (this.disposed) {
        events.stop();
        return this.snapshot();
      }
      this.events = events;
      await this.tracker04.start();
      this.sweepTimer = setInterval(() => this.sweep(), this.timing.heartbeatIntervalMs);
      this.sweepTimer.unref?.();
    }
    return this.refresh();
  }

  /**
   * Reads everything again: PING (every node that answers within the discovery window), then INFO
   * of each of them in parallel. Never throws; a refresh asked for while one runs makes one more
   * run after it, and both callers get the state after that one.
   */
  refresh(): Promise<DeployedSnapshot> {
    if (this.refreshRun) {
      this.refreshQueued = true;
      return this.refreshRun;
    }
    this.refreshRun = this.refreshLoop().finally(() => (this.refreshRun = undefined));
    return this.refreshRun;
  }

  /** The state now, frozen; the same object until something changes. */
  snapshot(): DeployedSnapshot {
    this.cached ??= deepFreeze(this.buildSnapshot());
    return this.cached;
  }

  /** Calls `listener` with the new state after changes, at most once per `coalesceMs`. */
  onDidChange(listener: DeployedListener): Disposable {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Unsubscribes, stops every timer and forgets the listeners; answers still under way are ignored. */
  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.live = false;
    this.events?.stop();
    this.tracker04.dispose();
    this.statusListener?.dispose();
    if (this.ownsStatus) {
      this.status.dispose();
    }
    this.records.close();
    clearInterval(this.sweepTimer);
    clearTimeout(this.refreshTimer);
    clearTimeout(this.notifyTimer);
    clearTimeout(this.graceTimer);
    this.listeners.clear();
  }

  private async refreshLoop(): Promise<DeployedSnapshot> {
    do {
      this.refreshQueued = false;
      await this.refreshOnce();
    } while (this.refreshQueued && !this.disposed);
    this.scheduleNextRefresh();
    return this.snapshot();
  }

  private async refreshOnce(): Promise<void> {
    if (this.connection !== 'connected') {
      this.problems = [`the NATS connection is ${this.connection === 'closed' ? 'closed' : 'down (reconnecting)'}: the nodes are shown as they were last seen`];
      this.changed();
      return;
    }
    // The 0.4 nodes are read alongside: they report their nodes and nexlets before their workloads.
    const read04 = this.tracker04.refresh();
    await this.refresh02();
    await read04;
    this.refreshedAt = Date.now();
    this.changed();
  }

  /** The 0.2/0.3 nodes: PING, then INFO of each that answered. */
  private async refresh02(): Promise<void> {
    const pingSentAt = Date.now();
    let answers;
    try {
      answers = await this.client.ping(this.timing.discoveryWindowMs);
    } catch (e) {
      this.problems = [`${controlSubjects.pingAll()} could not be sent: ${(e as Error).message}`];
      this.changed();
      return;
    }
    if (this.disposed) {
      return;
    }
    const problems: string[] = [];
    const answered = new Set<string>();
    for (const answer of answers) {
      const sighting = answer.ok ? readSighting(answer.value) : answer.error;
      if (typeof sighting === 'string') {
        problems.push(`an answer to ${controlSubjects.pingAll()} could not be used: ${sighting}`);
      } else if (this.see(sighting)) {
        answered.add(sighting.id);
      }
    }
    this.dropSilentNodes(answered, pingSentAt);
    this.problems = problems;
    await Promise.all([...answered].map((id) => this.reinfo(id)));
  }

  /**
   * Nodes that did not answer the PING and were not heard from since it went out: unreachable
   * while they were heard from within the heartbeat limit, forgotten after that (a restarted node
   * comes back under a new id, so the old one would stay forever).
   */
  private dropSilentNodes(answered: Set<string>, pingSentAt: number): void {
    for (const node of [...this.nodes.values()]) {
      if (answered.has(node.id) || node.lastSeen >= pingSentAt) {
        continue;
      }
      if (Date.now() < this.graceUntil) {
        // The connection just came back: the node's own connection may still be reconnecting.
        continue;
      }
      if (Date.now() - Math.max(node.lastSeen, this.connectedSince) > this.silenceLimitMs) {
        this.nodes.delete(node.id);
      } else {
        this.markUnreachable(node, `it did not answer ${controlSubjects.pingAll()} within ${inWords(this.timing.discoveryWindowMs)}`);
      }
    }
  }

  /**
   * Schedules the periodic re-read: `refreshMinMs` after a refresh that saw the structure change
   * (or after a change since the last one), else twice the last wait, up to `refreshMaxMs`.
   */
  private scheduleNextRefresh(): void {
    if (!this.live) {
      return;
    }
    const changedSince = this.structureVersion !== this.structureAtLastRefresh;
    this.structureAtLastRefresh = this.structureVersion;
    this.refreshDelay = changedSince ? this.timing.refreshMinMs : Math.min(this.refreshDelay * 2, this.timing.refreshMaxMs);
    this.armRefreshTimer();
  }

  private armRefreshTimer(): void {
    clearTimeout(this.refreshTimer);
    if (!this.live || this.connection === 'closed') {
      return;
    }
    this.refreshTimer = setTimeout(() => void this.refresh(), this.refreshDelay);
    this.refreshTimer.unref?.();
  }

  /** Reads a node's INFO; while one is under way, one more follows it so the latest state is read. */
  private reinfo(nodeId: string): Promise<void> {
    const running = this.infoRuns.get(nodeId);
    if (running) {
      running.again = true;
      return running.done;
    }
    const run = { again: false, done: Promise.resolve() };
    this.infoRuns.set(nodeId, run);
    run.done = (async () => {
      try {
        do {
          run.again = false;
          await this.readNodeInfo(nodeId);
        } while (run.again && !this.disposed);
      } finally {
        this.infoRuns.delete(nodeId);
      }
    })();
    return run.done;
  }

  /** A node's INFO in one namespace, read; or what went wrong, in words for the node's problem. */
  private async fetchInfo(nodeId: string, namespace: string): Promise<InfoReading | string> {
    let answer: unknown;
    try {
      answer = await this.client.info(namespace, nodeId, this.timing.infoTimeoutMs);
    } catch (e) {
      return infoProblem(e);
    }
    const reading = readInfo(answer, nodeId, namespace);
    return typeof reading === 'string' ? `its INFO answer cannot be used: ${reading}` : reading;
  }

  /**
   * A node's INFO in every namespace, merged (the details from the connection's namespace), and
   * the deploy records of its workloads; or the first problem, naming the namespace when it is
   * not the connection's.
   */
  private async fetchAllInfo(nodeId: string): Promise<InfoReading | string> {
    const namespaces = this.namespaces;
    const readings = await Promise.all(namespaces.map((ns) => this.fetchInfo(nodeId, ns)));
    const failed = readings.findIndex((r) => typeof r === 'string');
    if (failed >= 0) {
      const problem = readings[failed] as string;
      return namespaces[failed] === this.namespace ? problem : `in the namespace ${namespaces[failed]}: ${problem}`;
    }
    const [first, ...others] = readings as InfoReading[];
    const seen = new Set(first.workloads.map((w) => w.id));
    const merged: InfoReading = { ...first, workloads: [...first.workloads] };
    for (const other of others) {
      merged.workloads.push(...other.workloads.filter((w) => !seen.has(w.id)));
      other.workloads.forEach((w) => seen.add(w.id));
      merged.unreadable += other.unreadable;
    }
    await this.records.load(merged.workloads.map((w) => w.id)).catch(() => undefined);
    return merged;
  }

  /** One INFO: the node's workloads and details, or its problem. A node known only from an event is added here. */
  private async readNodeInfo(nodeId: string): Promise<void> {
    const reading = await this.fetchAllInfo(nodeId);
    if (this.disposed) {
      return;
    }
    let node = this.nodes.get(nodeId);
    if (typeof reading === 'string') {
      // While the connection is down nothing can answer: that is the connection's problem, not the node's.
      if (node && this.connection === 'connected') {
        node.problem = reading;
        this.changed();
      }
      return;
    }
    node ??= this.addNode(nodeId);
    if (!node) {
      return;
    }
    node.version = reading.version ?? node.version;
    node.uptime = reading.uptime ?? node.uptime;
    node.startedAt = startOf(reading.uptime) ?? node.startedAt;
    node.xkey = reading.xkey ?? node.xkey;
    node.tags = reading.tags ?? node.tags;
    node.lameDuck ||= node.tags['nex.lameduck'] === 'true';
    node.memory = reading.memory;
    node.supportedTypes = reading.supportedTypes;
    node.workloads = reading.workloads;
    node.problem = reading.unreadable > 0 ? `its INFO listed ${reading.unreadable} workload(s) without an id or a name; they are left out` : undefined;
    this.heardFrom(node);
    this.changed();
  }

  /** A new node entry, unless the node said it stopped. */
  private addNode(id: string): NodeState | undefined {
    if (this.stoppedIds.has(id)) {
      return undefined;
    }
    const node: NodeState = { id, version: '', uptime: '', tags: {}, lameDuck: false, reachable: true, lastSeen: Date.now(), workloads: [] };
    this.nodes.set(id, node);
    return node;
  }

  /**
   * Takes in what a PING answer, heartbeat or node_started says about a node (adding it when new).
   * Returns the node, with whether it is new and whether its running count changed, or undefined
   * for a node that stopped.
   */
  private see(s: Sighting): { node: NodeState; isNew: boolean; countChanged: boolean } | undefined {
    const known = this.nodes.get(s.id);
    const node = known ?? this.addNode(s.id);
    if (!node) {
      return undefined;
    }
    const countChanged = s.runningCount !== undefined && s.runningCount !== node.runningCount;
    node.version = s.version ?? node.version;
    node.uptime = s.uptime ?? node.uptime;
    node.startedAt = startOf(s.uptime) ?? node.startedAt;
    node.nexus = s.nexus ?? node.nexus;
    node.tags = s.tags ?? node.tags;
    node.lameDuck ||= node.tags['nex.lameduck'] === 'true';
    node.runningCount = s.runningCount ?? node.runningCount;
    node.xkey = s.xkey ?? node.xkey;
    this.heardFrom(node);
    return { node, isNew: !known, countChanged };
  }

  private heardFrom(node: NodeState): void {
    node.lastSeen = Date.now();
    node.reachable = true;
    node.stateReason = undefined;
  }

  private markUnreachable(node: NodeState, reason: string): void {
    node.reachable = false;
    node.stateReason = reason;
  }

  private onEvent(event: NexEvent): void {
    if (this.disposed) {
      return;
    }
    switch (event.type) {
      case 'heartbeat':
        return this.onHeartbeat(event);
      case 'node_started':
        return this.onNodeStarted(event);
      case 'node_stopped':
        return this.onNodeStopped(event);
      case 'node_entered_lameduck':
        return this.onLameDuck(event);
      case 'workload_deployed':
      case 'workload_undeployed':
        return this.onWorkloadEvent(event);
      case 'function_exec_succeeded':
      case 'function_exec_failed':
        return this.onFunctionEvent(event);
    }
  }

  /**
   * A heartbeat: the node is alive (added when unknown). A changed running count means workloads
   * came or went without an event (a 0.2.7 STOP publishes none, reference §11), so INFO is read.
   */
  private onHeartbeat(event: NexEvent): void {
    const sighting = readSighting(event.data, event.nodeId);
    const seen = typeof sighting === 'string' ? undefined : this.see(sighting);
    if (!seen) {
      return;
    }
    if (seen.isNew || seen.countChanged) {
      void this.reinfo(seen.node.id);
    }
    this.changed();
  }

  private onNodeStarted(event: NexEvent): void {
    const sighting = readSighting(event.data, event.nodeId);
    const seen = typeof sighting === 'string' ? undefined : this.see(sighting);
    if (seen) {
      void this.reinfo(seen.node.id);
      this.changed();
    }
  }

  private onNodeStopped(event: NexEvent): void {
    const id = [asObject(event.data)?.id, event.nodeId].find(isNodeId);
    if (id) {
      this.stoppedIds.add(id);
      this.nodes.delete(id);
      this.changed();
    }
  }

  private onLameDuck(event: NexEvent): void {
    const id = [asObject(event.data)?.id, event.nodeId].find(isNodeId);
    const node = id ? this.nodes.get(id) : undefined;
    if (node) {
      node.lameDuck = true;
      this.heardFrom(node);
      this.changed();
    } else if (id) {
      void this.reinfo(id);
    }
  }

  /** Whether the model reads that namespace. */
  private reads(namespace: string): boolean {
    return namespace === this.namespace || this.extraNamespaces.includes(namespace);
  }

  /** A workload of a namespace the model reads came or went on a node: read that node's INFO (adding the node when new). */
  private onWorkloadEvent(event: NexEvent): void {
    if (!this.reads(event.namespace) || !isNodeId(event.nodeId)) {
      return;
    }
    void this.reinfo(event.nodeId);
  }

  /** A function ran: the node is alive; a workload the model does not know means it missed a deploy. */
  private onFunctionEvent(event: NexEvent): void {
    if (!this.reads(event.namespace) || !isNodeId(event.nodeId)) {
      return;
    }
    const node = this.nodes.get(event.nodeId);
    const name = asString(event.data.workload_name);
    const known = node?.workloads.some((w) => w.id === event.workloadId || w.name === name);
    if (node) {
      this.heardFrom(node);
      this.changed();
    }
    if (!known) {
      void this.reinfo(event.nodeId);
    }
  }

  /** Marks the nodes that missed their heartbeats; not while the connection is down (they could not arrive). */
  private sweep(): void {
    if (this.connection !== 'connected') {
      return;
    }
    const now = Date.now();
    let marked = false;
    for (const node of this.nodes.values()) {
      const silentFor = now - Math.max(node.lastSeen, this.connectedSince);
      if (node.reachable && silentFor > this.silenceLimitMs) {
        this.markUnreachable(node, `it missed ${this.timing.missedHeartbeats} heartbeats (nothing heard for ${inWords(silentFor)})`);
        marked = true;
      }
    }
    if (marked) {
      this.changed();
    }
  }

  /**
   * Follows the connection: says at once when it goes down, and when it comes back reads everything
   * again at once, then every `reconnectPollMs` until every node known before has answered (their
   * own connections come back a little later) or the grace ends; stops the timers when it closes.
   */
  private watchConnection(): void {
    this.statusListener = this.status.onDidChange(({ state }) => {
      if (this.disposed) {
        return;
      }
      if (state === 'connected') {
        this.graceUntil = Date.now() + this.timing.reconnectGraceMs;
        this.changed();
        void this.refresh().then(() => this.pollAfterReconnect());
      } else if (state === 'closed') {
        clearInterval(this.sweepTimer);
        clearTimeout(this.refreshTimer);
        clearTimeout(this.graceTimer);
        this.changed();
      } else {
        this.changed();
      }
    });
  }

  /** After a reconnect: re-reads soon while a node known before has not answered yet, within the grace. */
  private pollAfterReconnect(): void {
    clearTimeout(this.graceTimer);
    const waiting = [...this.nodes.values()].some((n) => n.lastSeen < this.connectedSince);
    if (this.disposed || this.connection !== 'connected' || !waiting) {
      return;
    }
    if (Date.now() >= this.graceUntil) {
      void this.refresh();
      return;
    }
    this.graceTimer = setTimeout(() => void this.refresh().then(() => this.pollAfterReconnect()), this.timing.reconnectPollMs);
    this.graceTimer.unref?.();
  }

  /** What restarts the refresh backoff: nodes, their reachability and lame duck state, and workload ids. */
  private structureKey(): string {
    const nodes = [...this.nodes.values()]
      .map((n) => `${n.id}:${n.reachable}:${n.lameDuck}:${n.workloads.map((w) => w.id).sort().join(',')}`)
      .sort()
      .join('|');
    return `${nodes}#${this.tracker04?.structureKey() ?? ''}`;
  }

  /** Something changed: listeners hear about it (coalesced), and a structural change restarts the backoff. */
  private changed(): void {
    if (this.disposed) {
      return;
    }
    this.cached = undefined;
    const structure = this.structureKey();
    if (structure !== this.lastStructure) {
      this.lastStructure = structure;
      this.structureVersion++;
      if (this.live && !this.refreshRun && this.refreshDelay > this.timing.refreshMinMs) {
        this.refreshDelay = this.timing.refreshMinMs;
        this.armRefreshTimer();
      }
    }
    this.scheduleNotify();
  }

  /** Notifies at most once per `coalesceMs`, with the state at that moment. */
  private scheduleNotify(): void {
    if (this.notifyTimer || this.listeners.size === 0) {
      return;
    }
    const wait = Math.max(0, this.lastNotified + this.timing.coalesceMs - Date.now());
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = undefined;
      const snapshot = this.snapshot();
      for (const listener of [...this.listeners]) {
        listener(snapshot);
      }
      // Counted from when the listeners are done, so they hear at most once per coalesceMs however long a snapshot takes to build.
      this.lastNotified = Date.now();
    }, wait);
  }

  private buildSnapshot(): DeployedSnapshot {
    const nodes = [...this.nodes.values()].map((n) => this.nodeView(n));
    nodes.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.id.localeCompare(b.id));
    const v04 = this.tracker04.views();
    return {
      namespace: this.namespace,
      namespaces: [...this.namespaces],
      connection: this.connection,
      ...(this.refreshedAt !== undefined ? { refreshedAt: new Date(this.refreshedAt).toISOString() } : {}),
      nodes,
      nodes04: v04.nodes04,
      ...(v04.workloads04Unplaced.length > 0 ? { workloads04Unplaced: v04.workloads04Unplaced } : {}),
      problems: [...this.problems, ...v04.problems],
    };
  }

  private nodeView(n: NodeState): NodeView {
    const workloads = n.workloads.map((w): WorkloadView => {
      const record = this.records.get(w.id);
      const { startedAt, ...rest } = w;
      return { ...rest, ...(startedAt !== undefined ? { startedAt: new Date(startedAt).toISOString() } : {}), ...(record ? { triggers: [...record.triggers] } : {}) };
    });
    workloads.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    const view: NodeView = {
      id: n.id,
      name: n.tags.node_name,
      version: n.version,
      uptime: n.uptime,
      startedAt: n.startedAt === undefined ? undefined : new Date(n.startedAt).toISOString(),
      nexus: n.nexus,
      runningCount: n.runningCount,
      tags: { ...n.tags },
      lameDuck: n.lameDuck,
      xkey: n.xkey,
      supportedTypes: n.supportedTypes && [...n.supportedTypes],
      memory: n.memory && { ...n.memory },
      state: n.reachable ? 'up' : 'unreachable',
      stateReason: n.stateReason,
      lastSeenAt: new Date(n.lastSeen).toISOString(),
      workloads,
      problem: n.problem,
    };
    // Leave out what is unknown, so the JSON of a snapshot has no "undefined" holes.
    return Object.fromEntries(Object.entries(view).filter(([, v]) => v !== undefined)) as unknown as NodeView;
  }
}
