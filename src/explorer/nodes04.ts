/**
 * The Nex 0.4 side of the deployed model: the nodes that answer `$NEX.SVC.system.control.PING`, their
 * nexlets (INFO's agent summaries) and their workloads (WPING in every namespace the model reads,
 * plus `system`, where the `nex` CLI deploys by default), followed live from the node heartbeats
 * (`$NEX.SVC.system.control.HEARTBEAT.<node>`, every 10 s on 0.4.1) and the feeds
 * (`$NEX.FEED.*.events.>`). DeployedModel composes it; it never throws on what a node says.
 *
 * A 0.4.1 node answers WPING only after about 2 s (a fan-out stall), so a refresh reports twice:
 * once the nodes and their nexlets are read (a new node's workloads still undefined, "reading…"),
 * and again when the WPING answers are in (as soon as every known node answered).
 */
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { Nex04Client, WORKLOAD_PING_WAIT_MS, type WorkloadPing } from '../nex04/client04';
import { control04, feed04, SYSTEM_NAMESPACE } from '../nex04/subjects';
import type { NodePingResponse } from '../nex04/types';
import { asObject, asString, attributeAnswers, isToken, type Node04View, readNexlets, readWorkload, stringEntries, type Workload04View, type Nexlet04View } from './workloads04';

export const DEFAULT_HEARTBEAT04_INTERVAL_MS = 10000;
/** Workload events within this many milliseconds make one WPING. */
const REREAD_COALESCE_MS = 100;
/** How long a stopped workload id is remembered against WPING answers sent before the stop. */
const STOPPED_MEMORY_MS = 60000;

export interface Nex04TrackerOptions {
  nc: NatsConnection;
  inboxPrefix?: string;
  /** The namespaces the model reads (`system` is read besides them). */
  namespaces: () => readonly string[];
  /** Whether the connection is up: nothing is read, and nobody is marked unreachable, while it is not. */
  connected: () => boolean;
  /** Since when it is up (epoch ms): heartbeats missed while it was down do not count. */
  connectedSince: () => number;
  /** Something changed: the model tells its listeners (coalesced there). */
  onChange: () => void;
  discoveryWindowMs: number;
  infoTimeoutMs: number;
  /** How often 0.4 nodes heartbeat (10 s on 0.4.1). */
  heartbeatIntervalMs?: number;
  /** A node that misses this many heartbeats in a row is unreachable. */
  missedHeartbeats: number;
  /** The longest a WPING waits for the nodes (default 3.5 s). */
  workloadWaitMs?: number;
}

/** A 0.4 node as the tracker keeps it. */
interface NodeState {
  id: string;
  version: string;
  state: string;
  startedAt: string;
  tags: Record<string, string>;
  agentCount: number;
  xkey?: string;
  nexlets?: Nexlet04View[];
  infoProblem?: string;
  reachable: boolean;
  stateReason?: string;
  /** Epoch ms. */
  lastSeen: number;
  stopsAt?: string;
  /** What its last heartbeat listed: a change means a nexlet came or went. */
  registrations?: string;
}

/** Event-driven re-reads waiting for their WPING. */
interface RereadBatch {
  namespaces: Set<string>;
  done: Promise<void>;
  resolve: () => void;
  timer: ReturnType<typeof setTimeout>;
}

/** One namespace's WPING, placed on nodes. */
interface NamespaceRead {
  /** When its WPING went out (epoch ms). */
  sentAt: number;
  byNode: Map<string, Workload04View[]>;
  /** The nodes the read asked (their workloads are known from it, possibly none). */
  asked: Set<string>;
  unplaced: Workload04View[];
  /** Asked nodes no answer was placed on, when some workloads could not be placed. */
  untold: string[];
}

/** What the tracker adds to a snapshot. */
export interface Nex04Views {
  nodes04: Node04View[];
  workloads04Unplaced: Workload04View[];
  problems: string[];
}

const inSeconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

export class Nex04Tracker {
  private readonly client: Nex04Client;
  private readonly nodes = new Map<string, NodeState>();
  /** Nodes that said NODESTOPPED (epoch ms): a PING sent before that does not bring them back. */
  private readonly stoppedAt = new Map<string, number>();
  private readonly reads = new Map<string, NamespaceRead>();
  private pingProblems: string[] = [];
  private workloadProblems = new Map<string, string[]>();
  private subs: Subscription[] = [];
  private sweepTimer?: ReturnType<typeof setInterval>;
  private disposed = false;

  private refreshRun?: Promise<void>;
  private refreshQueued = false;
  private readonly nodeWorkloadProblems = new Map<string, string>();
  /** Workloads said stopped (epoch ms): a WPING sent before that does not bring them back. */
  private readonly stoppedWorkloads = new Map<string, number>();
  private batch?: RereadBatch;
  /** Unknown nodes whose heartbeat made a refresh (epoch ms). */
  private readonly unknownHeard = new Map<string, number>();
  private rereads: Promise<void> = Promise.resolve();

  private readonly heartbeatMs: number;

  constructor(private readonly options: Nex04TrackerOptions) {
    this.client = new Nex04Client(options.nc, options.inboxPrefix);
    this.heartbeatMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT04_INTERVAL_MS;
  }

  /** Every namespace WPING asks: the model's, then `system`. */
  get namespaces(): string[] {
    return [...new Set([...this.options.namespaces(), SYSTEM_NAMESPACE])];
  }

  private get silenceLimitMs(): number {
    return this.heartbeatMs * this.options.missedHeartbeats;
  }

  /** Follows the heartbeats and the feeds' events from now on, and checks for silent nodes every heartbeat interval. */
  async start(): Promise<void> {
    if (this.disposed || this.subs.length > 0) {
      return;
    }
    const nc = this.options.nc;
    const subscribe = (subject: string, handle: (subject: string, body: unknown) => void) =>
      nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err || this.disposed) {
            return;
          }
          let body: unknown;
          try {
            body = JSON.parse(new TextDecoder().decode(msg.data));
          } catch {
            body = undefined;
          }
          handle(msg.subject, body);
        },
      });
    this.subs = [subscribe(control04.heartbeat('*'), (s, b) => this.onHeartbeat(s, b)), subscribe(feed04.allEvents(), (s, b) => this.onEvent(s, b))];
    await nc.flush().catch(() => undefined);
    this.sweepTimer = setInterval(() => this.sweep(), this.heartbeatMs);
    this.sweepTimer.unref?.();
  }

  dispose(): void {
    this.disposed = true;
    this.subs.forEach((s) => s.unsubscribe());
    this.subs = [];
    clearInterval(this.sweepTimer);
    if (this.batch) {
      clearTimeout(this.batch.timer);
      this.batch.resolve();
      this.batch = undefined;
    }
  }

  /** Reads everything again: PING, INFO of each node (reported), then WPING (reported). Never throws; one asked for meanwhile runs after. */
  refresh(): Promise<void> {
    if (this.refreshRun) {
      this.refreshQueued = true;
      return this.refreshRun;
    }
    this.refreshRun = (async () => {
      try {
        do {
          this.refreshQueued = false;
          await this.refreshOnce();
        } while (this.refreshQueued && !this.disposed);
      } finally {
        this.refreshRun = undefined;
      }
    })();
    return this.refreshRun;
  }

  /** Namespaces no longer read lose their workloads at once. */
  keepNamespaces(): void {
    const kept = new Set(this.namespaces);
    for (const ns of [...this.reads.keys()]) {
      if (!kept.has(ns)) {
        this.reads.delete(ns);
        this.workloadProblems.delete(ns);
      }
    }
  }

  /** A workload a node said it stopped (UNDEPLOY `stopped: true`): it goes at once. */
  workloadStopped(workloadId: string): void {
    if (this.forget(workloadId)) {
      this.options.onChange();
    }
  }

  /** A workload deployed into `namespace`: its workloads are read again (coalesced). */
  workloadDeployed(namespace: string): Promise<void> {
    return this.reread(this.reads.has(namespace) || this.namespaces.includes(namespace) ? namespace : SYSTEM_NAMESPACE);
  }

  /** The nodes, the workloads that could not be placed, and the problems of the last reads. */
  views(): Nex04Views {
    const order = this.namespaces;
    const nodes04 = [...this.nodes.values()].map((n) => this.nodeView(n, order));
    nodes04.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.id.localeCompare(b.id));
    const placed = new Set(nodes04.flatMap((n) => n.workloads ?? []).map((w) => w.id));
    const unplaced: Workload04View[] = [];
    for (const ns of order) {
      for (const w of this.reads.get(ns)?.unplaced ?? []) {
        if (!placed.has(w.id)) {
          placed.add(w.id);
          unplaced.push(w);
        }
      }
    }
    return { nodes04, workloads04Unplaced: sortWorkloads(unplaced), problems: [...this.pingProblems, ...order.flatMap((ns) => this.workloadProblems.get(ns) ?? [])] };
  }

  /** What restarts the model's refresh backoff: nodes, their reachability and state, and workload ids. */
  structureKey(): string {
    const nodes = [...this.nodes.values()].map((n) => `${n.id}:${n.reachable}:${n.state}:${(n.nexlets ?? []).map((a) => a.agentId).join(',')}`);
    const workloads = [...this.reads.values()].flatMap((r) => [...[...r.byNode.values()].flat(), ...r.unplaced].map((w) => w.id));
    return `${nodes.sort().join('|')}#${[...new Set(workloads)].sort().join(',')}`;
  }

  // ---- reading

  private async refreshOnce(): Promise<void> {
    if (!this.options.connected() || this.disposed) {
      return;
    }
    const sentAt = Date.now();
    let found;
    try {
      found = await this.client.discover(this.options.discoveryWindowMs);
    } catch (e) {
      this.pingProblems = [`${control04.ping()} could not be sent: ${(e as Error).message}`];
      this.options.onChange();
      return;
    }
    if (this.disposed) {
      return;
    }
    const answered = new Set<string>();
    for (const answer of found.nodes) {
      const id = answer.node_id;
      if (!isToken(id) || (this.stoppedAt.get(id) ?? 0) >= sentAt) {
        continue;
      }
      this.see(id, answer);
      answered.add(id);
    }
    this.dropSilentNodes(answered, sentAt);
    this.pingProblems = found.problems;
    await Promise.all([...answered].map((id) => this.readInfo(id)));
    this.options.onChange();
    await this.readWorkloads(this.namespaces);
  }

  /** Takes in a PING answer (strings only: a hostile `{"toString":1}` is no string). */
  private see(id: string, answer: NodePingResponse): NodeState {
    const a = answer as unknown as Record<string, unknown>;
    const node = this.nodes.get(id) ?? this.addNode(id);
    node.version = asString(a.version) ?? '';
    node.state = asString(a.state) ?? '';
    node.startedAt = asString(a.start_time) ?? '';
    node.tags = stringEntries(a.tags) ?? {};
    node.agentCount = typeof a.agent_count === 'number' && Number.isFinite(a.agent_count) ? a.agent_count : 0;
    node.xkey = asString(a.xkey);
    if (node.state !== 'lameduck') {
      node.stopsAt = undefined;
    }
    this.heardFrom(node);
    return node;
  }

  private addNode(id: string): NodeState {
    const node: NodeState = { id, version: '', state: '', startedAt: '', tags: {}, agentCount: 0, reachable: true, lastSeen: Date.now() };
    this.nodes.set(id, node);
    return node;
  }

  private heardFrom(node: NodeState): void {
    node.lastSeen = Date.now();
    node.reachable = true;
    node.stateReason = undefined;
  }

  /**
   * Nodes that did not answer the PING and were not heard from since it went out: unreachable while
   * they were heard from within the heartbeat limit, forgotten after that.
   */
  private dropSilentNodes(answered: Set<string>, sentAt: number): void {
    for (const node of [...this.nodes.values()]) {
      if (answered.has(node.id) || node.lastSeen >= sentAt) {
        continue;
      }
      if (Date.now() - Math.max(node.lastSeen, this.options.connectedSince()) > this.silenceLimitMs) {
        this.removeNode(node.id);
      } else {
        node.reachable = false;
        node.stateReason = `it did not answer ${control04.ping()} within ${inSeconds(this.options.discoveryWindowMs)}`;
      }
    }
  }

  private removeNode(id: string): void {
    this.nodes.delete(id);
    for (const read of this.reads.values()) {
      read.byNode.delete(id);
      read.asked.delete(id);
    }
  }

  /** A node's INFO: its nexlets and tags, or its problem in the node's words. */
  private async readInfo(nodeId: string): Promise<void> {
    let info: unknown;
    let problem: string | undefined;
    try {
      info = await this.client.info(nodeId, this.options.infoTimeoutMs);
    } catch (e) {
      problem = `INFO: ${(e as Error).message}`;
    }
    const node = this.nodes.get(nodeId);
    if (!node || this.disposed) {
      return;
    }
    if (problem !== undefined) {
      node.infoProblem = this.options.connected() ? problem : node.infoProblem;
      return;
    }
    if (!asObject(info)) {
      node.infoProblem = 'its INFO answer is not a JSON object';
      return;
    }
    node.infoProblem = undefined;
    node.nexlets = readNexlets(info);
    const tags = stringEntries(asObject(info)!.tags);
    if (tags && Object.keys(tags).length > 0) {
      node.tags = tags;
    }
    this.heardFrom(node);
  }

  /**
   * WPING in each namespace at once, each answer placed on its node (attributeAnswers), with as
   * many answers expected as there are reachable nodes, so it ends as soon as all of them answered.
   */
  private async readWorkloads(namespaces: readonly string[]): Promise<void> {
    const nodeIds = [...this.nodes.values()].filter((n) => n.reachable).map((n) => n.id);
    if (nodeIds.length === 0 || this.disposed) {
      if (this.nodes.size === 0 && this.reads.size > 0) {
        this.reads.clear();
        this.workloadProblems.clear();
        this.options.onChange();
      }
      return;
    }
    const waitMs = this.options.workloadWaitMs ?? WORKLOAD_PING_WAIT_MS;
    const sentAt = Date.now();
    await Promise.all(
      namespaces.map(async (ns) => {
        let ping: WorkloadPing;
        try {
          ping = await this.client.workloads(ns, { expectedAnswers: nodeIds.length, maxWaitMs: waitMs });
        } catch (e) {
          ping = { answers: [], problems: [`${control04.workloadPing(ns)} could not be sent: ${(e as Error).message}`] };
        }
        if (!this.disposed) {
          this.takeRead(ns, nodeIds, ping, sentAt, waitMs);
        }
      }),
    );
    this.options.onChange();
  }

  /**
   * Stores one namespace's WPING, placed on the nodes asked; nodes not asked (unreachable) keep what
   * they had. A read sent before the stored one, or listing a workload stopped since it was sent, is
   * not taken as it came.
   */
  private takeRead(ns: string, nodeIds: string[], ping: WorkloadPing, sentAt: number, waitMs: number): void {
    const previous = this.reads.get(ns);
    if (previous && previous.sentAt > sentAt) {
      return;
    }
    const answers = ping.answers.map((a) => ({ workloads: a.workloads.filter((w) => (this.stoppedWorkloads.get(w.id) ?? -1) < sentAt) }));
    const placed = attributeAnswers(answers, nodeIds);
    const read: NamespaceRead = { sentAt, byNode: new Map(), asked: new Set(nodeIds), unplaced: placed.unplaced.map((w) => readWorkload(w, ns)), untold: [] };
    for (const [nodeId, list] of placed.byNode) {
      read.byNode.set(nodeId, list.map((w) => readWorkload(w, ns, nodeId)));
    }
    for (const [nodeId, list] of previous?.byNode ?? []) {
      if (!read.asked.has(nodeId) && this.nodes.has(nodeId)) {
        read.byNode.set(nodeId, list);
        read.asked.add(nodeId);
      }
    }
    if (read.unplaced.length > 0) {
      read.untold = placed.unattributedNodes;
    }
    const words = ping.problems.map((p) => (/failed to publish query workloads request/.test(p) ? `${p} (0.4.1 answers so when no nexlet is registered with the node)` : p));
    const missing = nodeIds.length - ping.answers.length - ping.problems.length;
    if (missing > 0) {
      words.push(`${missing} of ${nodeIds.length} Nex 0.4 node(s) did not answer ${control04.workloadPing(ns)} within ${inSeconds(waitMs)}`);
    }
    for (const nodeId of nodeIds) {
      this.nodeWorkloadProblems.delete(`${ns}/${nodeId}`);
    }
    if (nodeIds.length === 1 && words.length > 0) {
      // With one node, what went wrong is that node's.
      this.nodeWorkloadProblems.set(`${ns}/${nodeIds[0]}`, words.join('; '));
      this.workloadProblems.set(ns, []);
    } else {
      this.workloadProblems.set(ns, words);
    }
    this.reads.set(ns, read);
  }

  /** Reads a namespace's workloads again soon: what is asked for within REREAD_COALESCE_MS makes one WPING per namespace, one round after another. */
  private reread(ns: string): Promise<void> {
    if (!this.batch) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      const batch = { namespaces: new Set<string>(), done, resolve, timer: setTimeout(() => this.runBatch(batch), REREAD_COALESCE_MS) };
      this.batch = batch;
    }
    this.batch.namespaces.add(ns);
    return this.batch.done;
  }

  private runBatch(batch: RereadBatch): void {
    if (this.batch === batch) {
      this.batch = undefined;
    }
    this.rereads = this.rereads
      .then(() => (this.disposed ? undefined : this.readWorkloads([...batch.namespaces])))
      .catch(() => undefined)
      .finally(batch.resolve);
  }

  /** Takes a workload out of every read; whether it was there. */
  private forget(workloadId: string): boolean {
    const now = Date.now();
    this.stoppedWorkloads.set(workloadId, now);
    for (const [id, at] of this.stoppedWorkloads) {
      if (now - at > STOPPED_MEMORY_MS) {
        this.stoppedWorkloads.delete(id);
      }
    }
    let found = false;
    for (const read of this.reads.values()) {
      for (const [nodeId, list] of read.byNode) {
        if (list.some((w) => w.id === workloadId)) {
          read.byNode.set(nodeId, list.filter((w) => w.id !== workloadId));
          found = true;
        }
      }
      if (read.unplaced.some((w) => w.id === workloadId)) {
        read.unplaced = read.unplaced.filter((w) => w.id !== workloadId);
        found = true;
      }
    }
    return found;
  }

  // ---- live

  /** `$NEX.SVC.system.control.HEARTBEAT.<node>`: the node is alive; an unknown one makes a refresh, a changed list of nexlets an INFO. */
  private onHeartbeat(subject: string, body: unknown): void {
    const id = subject.split('.').pop();
    if (!isToken(id)) {
      return;
    }
    const node = this.nodes.get(id);
    if (!node) {
      // A node not known yet (started since, or missed by the last PING): read everything, at most once per heartbeat interval for it.
      this.stoppedAt.delete(id);
      const last = this.unknownHeard.get(id) ?? 0;
      if (this.options.connected() && Date.now() - last >= this.heartbeatMs) {
        this.unknownHeard.set(id, Date.now());
        void this.refresh();
      }
      return;
    }
    this.unknownHeard.delete(id);
    const registrations = asString(asObject(body)?.registrations);
    const changed = registrations !== undefined && node.registrations !== undefined && registrations !== node.registrations;
    node.registrations = registrations ?? node.registrations;
    const wasReachable = node.reachable;
    this.heardFrom(node);
    if (changed) {
      void this.readInfo(id).then(() => this.options.onChange());
    } else if (!wasReachable) {
      this.options.onChange();
    }
  }

  /** `$NEX.FEED.<from>.events.<TYPE>`: node events (from = node id) and workload events (from = namespace). */
  private onEvent(subject: string, body: unknown): void {
    const tokens = subject.split('.');
    const from = tokens[2];
    const type = tokens.slice(4).join('.');
    const data = asObject(body) ?? {};
    const nodeId = [data.id, from].find(isToken);
    switch (type) {
      case 'NODESTARTED':
        if (nodeId) {
          this.stoppedAt.delete(nodeId);
        }
        void this.refresh();
        return;
      case 'NODESTOPPED':
        if (nodeId) {
          this.stoppedAt.set(nodeId, Date.now());
          if (this.nodes.has(nodeId)) {
            this.removeNode(nodeId);
            this.options.onChange();
          }
        }
        return;
      case 'NODELAMEDUCKSET': {
        const node = nodeId ? this.nodes.get(nodeId) : undefined;
        if (!node) {
          void this.refresh();
          return;
        }
        node.state = 'lameduck';
        node.tags = { ...node.tags, 'nex.lameduck': 'true' };
        node.stopsAt = asString(data.time);
        this.heardFrom(node);
        this.options.onChange();
        return;
      }
      case 'WORKLOADSTARTED':
      case 'WORKLOADSTOPPED':
        this.onWorkloadEvent(type, from, data);
        return;
    }
  }

  /** A workload came or went: a stop goes at once; its namespace is read again, and its node's nexlet counts. */
  private onWorkloadEvent(type: string, from: string, data: Record<string, unknown>): void {
    const id = asString(data.id);
    if (type === 'WORKLOADSTOPPED' && id && this.forget(id)) {
      this.options.onChange();
    }
    const ns = [data.namespace, from].find(isToken) ?? SYSTEM_NAMESPACE;
    void this.reread(this.namespaces.includes(ns) ? ns : SYSTEM_NAMESPACE);
    const nodeId = asString(stringEntries(data.metadata)?.node);
    if (nodeId && this.nodes.has(nodeId)) {
      void this.readInfo(nodeId).then(() => this.options.onChange());
    }
  }

  /** Marks the nodes whose heartbeats stopped; not while the connection is down (they could not arrive). */
  private sweep(): void {
    if (!this.options.connected() || this.disposed) {
      return;
    }
    const now = Date.now();
    let marked = false;
    for (const node of this.nodes.values()) {
      const silentFor = now - Math.max(node.lastSeen, this.options.connectedSince());
      if (node.reachable && silentFor > this.silenceLimitMs) {
        node.reachable = false;
        node.stateReason = `it missed ${this.options.missedHeartbeats} heartbeats (nothing heard for ${Math.round(silentFor / 1000)} s)`;
        marked = true;
      }
    }
    if (marked) {
      this.options.onChange();
    }
  }

  // ---- views

  private nodeView(n: NodeState, order: readonly string[]): Node04View {
    const seen = new Set<string>();
    let known = false;
    const workloads: Workload04View[] = [];
    const problems = n.infoProblem ? [n.infoProblem] : [];
    for (const ns of order) {
      const read = this.reads.get(ns);
      if (!read?.asked.has(n.id)) {
        continue;
      }
      known = true;
      for (const w of read.byNode.get(n.id) ?? []) {
        if (!seen.has(w.id)) {
          seen.add(w.id);
          workloads.push(w);
        }
      }
      const own = this.nodeWorkloadProblems.get(`${ns}/${n.id}`);
      if (own) {
        problems.push(own);
      } else if (read.untold.includes(n.id)) {
        problems.push(`its workloads in ${ns} cannot be told from other nodes' (its WPING answer does not name it): they are listed with the unplaced ones`);
      }
    }
    const view: Node04View = {
      id: n.id,
      ...(n.tags['nex.node'] ?? n.tags.node_name ? { name: n.tags['nex.node'] ?? n.tags.node_name } : {}),
      version: n.version,
      state: n.state,
      startedAt: n.startedAt,
      tags: { ...n.tags },
      agentCount: n.agentCount,
      ...(n.xkey ? { xkey: n.xkey } : {}),
      ...(n.nexlets ? { nexlets: n.nexlets.map((a) => ({ ...a })) } : {}),
      ...(known ? { workloads: sortWorkloads(workloads) } : {}),
      ...(problems.length > 0 ? { problem: problems.join('; ') } : {}),
      ...(n.reachable ? {} : { unreachable: true, stateReason: n.stateReason }),
      lastSeenAt: new Date(n.lastSeen).toISOString(),
      ...(n.stopsAt ? { stopsAt: n.stopsAt } : {}),
    };
    return view;
  }
}

function sortWorkloads(list: Workload04View[]): Workload04View[] {
  return list.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}
