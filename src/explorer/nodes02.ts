/**
 * The Nex 0.2/0.3 side of the deployed model: the nodes that answer `$NEX.PING`, their INFO in every
 * namespace the model reads (with the deploy records of their workloads), followed live from their
 * events (reference §2, read by src/nex/events.ts): heartbeats, node and workload events. Nodes that
 * miss their heartbeats become unreachable; a node that said node_stopped never comes back (node ids
 * are never reused). DeployedModel composes it, as it does Nex04Tracker (nodes04.ts); it never
 * throws on what a node says.
 */
import { controlSubjects } from '../nex/controlApi';
import { NexControlClient } from '../nex/controlClient';
import { eventNodeId, eventSubjects, type NexEvent, parseEvent, readNodeSighting, type NodeSighting } from '../nex/events';
import { asString, isToken } from '../core/jsonValues';
import { subscribeAll, type Watch } from '../nats/watch';
import type { DeployRecord } from '../deploy/deployRecords';
import type { NodeView } from './deployedViews';
import { readAllInfo } from './infoReads02';
import { heardFrom, inWords, newNodeState, node02View, type NodeState, takeInfo, takeSighting } from './nodeState02';
import { markUnreachable, missedHeartbeats, silentAfterPing, type SilenceRules } from './silence';
import type { TrackerOptions } from './tracker';

/** Where the tracker learns what workloads were deployed with. */
export interface RecordLookup {
  get(workloadId: string): DeployRecord | undefined;
  load(workloadIds: readonly string[]): Promise<void>;
}

export interface Nex02TrackerOptions extends TrackerOptions {
  records: RecordLookup;
  /** How often 0.2/0.3 nodes heartbeat (30 s on a real node). */
  heartbeatIntervalMs: number;
}

export class Nex02Tracker {
  private readonly client: NexControlClient;
  private readonly nodes = new Map<string, NodeState>();
  /** Nodes that said node_stopped: a late answer must not bring them back (node ids are never reused). */
  private readonly stoppedIds = new Set<string>();
  /** Problems of the last PING not tied to a node. */
  private pingProblems: string[] = [];
  private readonly infoRuns = new Map<string, { again: boolean; done: Promise<void> }>();
  private events?: Watch;
  private sweepTimer?: ReturnType<typeof setInterval>;
  private disposed = false;

  constructor(private readonly options: Nex02TrackerOptions) {
    this.client = new NexControlClient(options.nc, options.inboxPrefix);
  }

  /** When a silent node counts as unreachable, and when it is forgotten (silence.ts). */
  private get silence(): SilenceRules {
    return { connectedSince: this.options.connectedSince, inReconnectGrace: this.options.inReconnectGrace, silenceLimitMs: this.options.heartbeatIntervalMs * this.options.missedHeartbeats };
  }

  /** Follows every namespace's events (the model reads several, and the user may add more later) and checks for silent nodes every heartbeat interval. */
  async start(): Promise<void> {
    if (this.disposed || this.events) {
      return;
    }
    const events = await subscribeAll(this.options.nc, eventSubjects('*'), (msg) => {
      const event = parseEvent(msg);
      if (event) {
        this.onEvent(event);
      }
    });
    if (this.disposed) {
      events.stop();
      return;
    }
    this.events = events;
    this.sweepTimer = setInterval(() => this.sweep(), this.options.heartbeatIntervalMs);
    this.sweepTimer.unref?.();
  }

  /** Stops following; answers still under way are ignored. */
  dispose(): void {
    this.disposed = true;
    this.events?.stop();
    clearInterval(this.sweepTimer);
  }

  /** Stops the heartbeat checks (the connection closed for good). */
  stopSweeping(): void {
    clearInterval(this.sweepTimer);
  }

  /** The problems of the last PING, or `problems` instead (the connection is down). */
  get problems(): readonly string[] {
    return this.pingProblems;
  }

  set problems(problems: readonly string[]) {
    this.pingProblems = [...problems];
  }

  /** Namespaces no longer read lose their workloads at once. */
  keepNamespaces(): void {
    const kept = new Set(this.options.namespaces());
    for (const node of this.nodes.values()) {
      node.workloads = node.workloads.filter((w) => kept.has(w.namespace));
    }
  }

  /** A stop the node confirmed: the workload goes at once (a 0.2.7 node publishes no event for it). */
  workloadStopped(nodeId: string, workloadId: string): void {
    const node = this.nodes.get(nodeId);
    if (node && node.workloads.some((w) => w.id === workloadId)) {
      node.workloads = node.workloads.filter((w) => w.id !== workloadId);
      if (node.runningCount !== undefined) {
        node.runningCount = Math.max(0, node.runningCount - 1);
      }
      this.options.onChange();
    }
  }

  /** The nodes, sorted by name, then id. */
  views(): NodeView[] {
    const nodes = [...this.nodes.values()].map((n) => node02View(n, (id) => this.options.records.get(id)));
    nodes.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.id.localeCompare(b.id));
    return nodes;
  }

  /** What restarts the model's refresh backoff: nodes, their reachability and lame duck state, and workload ids. */
  structureKey(): string {
    return [...this.nodes.values()]
      .map((n) => `${n.id}:${n.reachable}:${n.lameDuck}:${n.workloads.map((w) => w.id).sort().join(',')}`)
      .sort()
      .join('|');
  }

  /** Whether a node known from before the connection came back has not been heard from since. */
  waitingAfterReconnect(): boolean {
    return [...this.nodes.values()].some((n) => n.lastSeen < this.options.connectedSince());
  }

  // ---- reading

  /** PING, then INFO of each node that answered. */
  async refresh(): Promise<void> {
    const pingSentAt = Date.now();
    let answers;
    try {
      answers = await this.client.ping(this.options.discoveryWindowMs);
    } catch (e) {
      this.pingProblems = [`${controlSubjects.pingAll()} could not be sent: ${(e as Error).message}`];
      this.options.onChange();
      return;
    }
    if (this.disposed) {
      return;
    }
    const problems: string[] = [];
    const answered = new Set<string>();
    for (const answer of answers) {
      const sighting = answer.ok ? readNodeSighting(answer.value) : answer.error;
      if (typeof sighting === 'string') {
        problems.push(`an answer to ${controlSubjects.pingAll()} could not be used: ${sighting}`);
      } else if (this.see(sighting)) {
        answered.add(sighting.id);
      }
    }
    this.dropSilentNodes(answered, pingSentAt);
    this.pingProblems = problems;
    await Promise.all([...answered].map((id) => this.readInfo(id)));
  }

  /**
   * Nodes that did not answer the PING and were not heard from since it went out: unreachable
   * while they were heard from within the heartbeat limit, forgotten after that (a restarted node
   * comes back under a new id, so the old one would stay forever).
   */
  private dropSilentNodes(answered: Set<string>, pingSentAt: number): void {
    const { forget, unreachable } = silentAfterPing([...this.nodes.values()], answered, pingSentAt, this.silence);
    forget.forEach((node) => this.nodes.delete(node.id));
    unreachable.forEach((node) => markUnreachable(node, `it did not answer ${controlSubjects.pingAll()} within ${inWords(this.options.discoveryWindowMs)}`));
  }

  /** Reads a node's INFO; while one is under way, one more follows it so the latest state is read. */
  readInfo(nodeId: string): Promise<void> {
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

  /** One INFO: the node's workloads and details, or its problem. A node known only from an event is added here. */
  private async readNodeInfo(nodeId: string): Promise<void> {
    const reading = await readAllInfo(this.client, nodeId, this.options.namespaces(), { timeoutMs: this.options.infoTimeoutMs, loadRecords: (ids) => this.options.records.load(ids) });
    if (this.disposed) {
      return;
    }
    let node = this.nodes.get(nodeId);
    if (typeof reading === 'string') {
      // While the connection is down nothing can answer: that is the connection's problem, not the node's.
      if (node && this.options.connected()) {
        node.problem = reading;
        this.options.onChange();
      }
      return;
    }
    node ??= this.addNode(nodeId);
    if (!node) {
      return;
    }
    takeInfo(node, reading);
    this.options.onChange();
  }

  /** A new node entry, unless the node said it stopped. */
  private addNode(id: string): NodeState | undefined {
    if (this.stoppedIds.has(id)) {
      return undefined;
    }
    const node = newNodeState(id);
    this.nodes.set(id, node);
    return node;
  }

  /**
   * Takes in what a PING answer, heartbeat or node_started says about a node (adding it when new).
   * Returns the node, with whether it is new and whether its running count changed, or undefined
   * for a node that stopped.
   */
  private see(s: NodeSighting): { node: NodeState; isNew: boolean; countChanged: boolean } | undefined {
    const known = this.nodes.get(s.id);
    const node = known ?? this.addNode(s.id);
    if (!node) {
      return undefined;
    }
    const countChanged = takeSighting(node, s);
    return { node, isNew: !known, countChanged };
  }

  // ---- following

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
    const sighting = readNodeSighting(event.data, event.nodeId);
    const seen = typeof sighting === 'string' ? undefined : this.see(sighting);
    if (!seen) {
      return;
    }
    if (seen.isNew || seen.countChanged) {
      void this.readInfo(seen.node.id);
    }
    this.options.onChange();
  }

  private onNodeStarted(event: NexEvent): void {
    const sighting = readNodeSighting(event.data, event.nodeId);
    const seen = typeof sighting === 'string' ? undefined : this.see(sighting);
    if (seen) {
      void this.readInfo(seen.node.id);
      this.options.onChange();
    }
  }

  private onNodeStopped(event: NexEvent): void {
    const id = eventNodeId(event);
    if (id) {
      this.stoppedIds.add(id);
      this.nodes.delete(id);
      this.options.onChange();
    }
  }

  private onLameDuck(event: NexEvent): void {
    const id = eventNodeId(event);
    const node = id ? this.nodes.get(id) : undefined;
    if (node) {
      node.lameDuck = true;
      heardFrom(node);
      this.options.onChange();
    } else if (id) {
      void this.readInfo(id);
    }
  }

  /** Whether the model reads that namespace. */
  private reads(namespace: string): boolean {
    return this.options.namespaces().includes(namespace);
  }

  /** A workload of a namespace the model reads came or went on a node: read that node's INFO (adding the node when new). */
  private onWorkloadEvent(event: NexEvent): void {
    if (!this.reads(event.namespace) || !isToken(event.nodeId)) {
      return;
    }
    void this.readInfo(event.nodeId);
  }

  /** A function ran: the node is alive; a workload the model does not know means it missed a deploy. */
  private onFunctionEvent(event: NexEvent): void {
    if (!this.reads(event.namespace) || !isToken(event.nodeId)) {
      return;
    }
    const node = this.nodes.get(event.nodeId);
    const name = asString(event.data.workload_name);
    const known = node?.workloads.some((w) => w.id === event.workloadId || w.name === name);
    if (node) {
      heardFrom(node);
      this.options.onChange();
    }
    if (!known) {
      void this.readInfo(event.nodeId);
    }
  }

  /** Marks the nodes that missed their heartbeats; not while the connection is down (they could not arrive). */
  private sweep(): void {
    if (!this.options.connected()) {
      return;
    }
    const silent = missedHeartbeats(this.nodes.values(), this.silence);
    silent.forEach(({ node, silentFor }) => markUnreachable(node, `it missed ${this.options.missedHeartbeats} heartbeats (nothing heard for ${inWords(silentFor)})`));
    if (silent.length > 0) {
      this.options.onChange();
    }
  }
}
