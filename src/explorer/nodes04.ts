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
import { Nex04Client, WORKLOAD_PING_WAIT_MS, type WorkloadPing } from '../nex04/client04';
import { control04, SYSTEM_NAMESPACE } from '../nex04/subjects';
import { followNodeFeeds04, type WorkloadEvent04 } from './nodeFeeds04';
import type { NodePingResponse } from '../nex04/types';
import { Rereads, WorkloadReads04 } from './workloadReads04';
import { heardFrom, newNodeState04, node04View, type NodeState04, takeInfo, takePing } from './nodeState04';
import { isToken } from '../core/jsonValues';
import type { Node04View, Workload04View } from './workloads04';
import { markUnreachable, missedHeartbeats, silentAfterPing, type SilenceRules } from './silence';
import type { TrackerOptions } from './tracker';

export const DEFAULT_HEARTBEAT04_INTERVAL_MS = 10000;
/** The model's namespaces are read with `system` besides them. */
export interface Nex04TrackerOptions extends TrackerOptions {
  /** How often 0.4 nodes heartbeat (10 s on 0.4.1). */
  heartbeatIntervalMs?: number;
  /** The longest a WPING waits for the nodes (default 3.5 s). */
  workloadWaitMs?: number;
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
  private readonly nodes = new Map<string, NodeState04>();
  /** Nodes that said NODESTOPPED (epoch ms): a PING sent before that does not bring them back. */
  private readonly stoppedAt = new Map<string, number>();
  private readonly reads = new WorkloadReads04();
  private pingProblems: string[] = [];
  private feeds?: { stop(): void };
  private sweepTimer?: ReturnType<typeof setInterval>;
  private disposed = false;

  private refreshRun?: Promise<void>;
  private refreshQueued = false;
  /** Event-driven re-reads of namespaces: coalesced, one round after another. */
  private readonly rereads = new Rereads((namespaces) => (this.disposed ? Promise.resolve() : this.readWorkloads(namespaces)));
  /** Unknown nodes whose heartbeat made a refresh (epoch ms). */
  private readonly unknownHeard = new Map<string, number>();

  private readonly heartbeatMs: number;

  constructor(private readonly options: Nex04TrackerOptions) {
    this.client = new Nex04Client(options.nc, options.inboxPrefix);
    this.heartbeatMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT04_INTERVAL_MS;
  }

  /** Every namespace WPING asks: the model's, then `system`. */
  get namespaces(): string[] {
    return [...new Set([...this.options.namespaces(), SYSTEM_NAMESPACE])];
  }

  /** When a silent node counts as unreachable, and when it is forgotten (silence.ts, as for 0.2/0.3 nodes). */
  private get silence(): SilenceRules {
    return { connectedSince: this.options.connectedSince, inReconnectGrace: this.options.inReconnectGrace, silenceLimitMs: this.heartbeatMs * this.options.missedHeartbeats };
  }

  /** Follows the heartbeats and the feeds' events from now on, and checks for silent nodes every heartbeat interval. */
  async start(): Promise<void> {
    if (this.disposed || this.feeds) {
      return;
    }
    this.feeds = await followNodeFeeds04(this.options.nc, {
      heartbeat: (id, registrations) => this.onHeartbeat(id, registrations),
      nodeStarted: (id) => this.onNodeStarted(id),
      nodeStopped: (id) => this.onNodeStopped(id),
      lameDuck: (id, stopsAt) => this.onLameDuck(id, stopsAt),
      workload: (event) => this.onWorkloadEvent(event),
    });
    if (this.disposed) {
      this.feeds.stop();
      return;
    }
    this.sweepTimer = setInterval(() => this.sweep(), this.heartbeatMs);
    this.sweepTimer.unref?.();
  }

  dispose(): void {
    this.disposed = true;
    this.feeds?.stop();
    clearInterval(this.sweepTimer);
    this.rereads.dispose();
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
    this.reads.keep(this.namespaces);
  }

  /** A workload a node said it stopped (UNDEPLOY `stopped: true`): it goes at once. */
  workloadStopped(workloadId: string): void {
    if (this.reads.forget(workloadId)) {
      this.options.onChange();
    }
  }

  /** A workload deployed into `namespace`: its workloads are read again (coalesced). */
  workloadDeployed(namespace: string): Promise<void> {
    return this.rereads.ask(this.namespaces.includes(namespace) ? namespace : SYSTEM_NAMESPACE);
  }

  /** The nodes, the workloads that could not be placed, and the problems of the last reads. */
  views(): Nex04Views {
    const order = this.namespaces;
    const nodes04 = [...this.nodes.values()].map((n) => node04View(n, this.reads.ofNode(n.id, order)));
    nodes04.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.id.localeCompare(b.id));
    const placed = new Set(nodes04.flatMap((n) => n.workloads ?? []).map((w) => w.id));
    return { nodes04, workloads04Unplaced: this.reads.unplaced(order, placed), problems: [...this.pingProblems, ...this.reads.problems(order)] };
  }

  /** What restarts the model's refresh backoff: nodes, their reachability and state, and workload ids. */
  structureKey(): string {
    const nodes = [...this.nodes.values()].map((n) => `${n.id}:${n.reachable}:${n.state}:${(n.nexlets ?? []).map((a) => a.agentId).join(',')}`);
    return `${nodes.sort().join('|')}#${this.reads.ids().join(',')}`;
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

  /** Takes in a PING answer, adding the node when new. */
  private see(id: string, answer: NodePingResponse): void {
    const node = this.nodes.get(id) ?? newNodeState04(id);
    this.nodes.set(id, node);
    takePing(node, answer);
  }

  /**
   * Nodes that did not answer the PING and were not heard from since it went out: unreachable while
   * they were heard from within the heartbeat limit, forgotten after that.
   */
  private dropSilentNodes(answered: Set<string>, sentAt: number): void {
    const { forget, unreachable } = silentAfterPing([...this.nodes.values()], answered, sentAt, this.silence);
    forget.forEach((node) => this.removeNode(node.id));
    unreachable.forEach((node) => markUnreachable(node, `it did not answer ${control04.ping()} within ${inSeconds(this.options.discoveryWindowMs)}`));
  }

  private removeNode(id: string): void {
    this.nodes.delete(id);
    this.reads.dropNode(id);
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
    takeInfo(node, info);
  }

  /**
   * WPING in each namespace at once, each answer placed on its node (attributeAnswers), with as
   * many answers expected as there are reachable nodes, so it ends as soon as all of them answered.
   */
  private async readWorkloads(namespaces: readonly string[]): Promise<void> {
    const nodeIds = [...this.nodes.values()].filter((n) => n.reachable).map((n) => n.id);
    if (nodeIds.length === 0 || this.disposed) {
      if (this.nodes.size === 0 && !this.reads.isEmpty) {
        this.reads.clear();
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
          this.reads.take(ns, nodeIds, ping, sentAt, waitMs, (id) => this.nodes.has(id));
        }
      }),
    );
    this.options.onChange();
  }

  // ---- live

  /** A heartbeat: the node is alive; an unknown one makes a refresh, a changed list of nexlets an INFO. */
  private onHeartbeat(id: string, registrations: string | undefined): void {
    if (this.disposed) {
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
    const changed = registrations !== undefined && node.registrations !== undefined && registrations !== node.registrations;
    node.registrations = registrations ?? node.registrations;
    const wasReachable = node.reachable;
    heardFrom(node);
    if (changed) {
      void this.readInfo(id).then(() => this.options.onChange());
    } else if (!wasReachable) {
      this.options.onChange();
    }
  }

  private onNodeStarted(id: string | undefined): void {
    if (id) {
      this.stoppedAt.delete(id);
    }
    if (!this.disposed) {
      void this.refresh();
    }
  }

  /** NODESTOPPED: the node goes (a PING sent before does not bring it back). */
  private onNodeStopped(id: string): void {
    this.stoppedAt.set(id, Date.now());
    if (this.nodes.has(id) && !this.disposed) {
      this.removeNode(id);
      this.options.onChange();
    }
  }

  private onLameDuck(id: string | undefined, stopsAt: string | undefined): void {
    const node = id ? this.nodes.get(id) : undefined;
    if (this.disposed) {
      return;
    }
    if (!node) {
      void this.refresh();
      return;
    }
    node.state = 'lameduck';
    node.tags = { ...node.tags, 'nex.lameduck': 'true' };
    node.stopsAt = stopsAt;
    heardFrom(node);
    this.options.onChange();
  }

  /** A workload came or went: a stop goes at once; its namespace is read again (`system` for one not read), and its node's nexlet counts. */
  private onWorkloadEvent(event: WorkloadEvent04): void {
    if (this.disposed) {
      return;
    }
    if (event.type === 'WORKLOADSTOPPED' && event.id && this.reads.forget(event.id)) {
      this.options.onChange();
    }
    void this.rereads.ask(this.namespaces.includes(event.namespace) ? event.namespace : SYSTEM_NAMESPACE);
    if (event.nodeId && this.nodes.has(event.nodeId)) {
      void this.readInfo(event.nodeId).then(() => this.options.onChange());
    }
  }

  /** Marks the nodes whose heartbeats stopped; not while the connection is down (they could not arrive). */
  private sweep(): void {
    if (!this.options.connected() || this.disposed) {
      return;
    }
    const silent = missedHeartbeats(this.nodes.values(), this.silence);
    silent.forEach(({ node, silentFor }) => markUnreachable(node, `it missed ${this.options.missedHeartbeats} heartbeats (nothing heard for ${Math.round(silentFor / 1000)} s)`));
    if (silent.length > 0) {
      this.options.onChange();
    }
  }

  // ---- views
}
