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
import { type DeployRecord, DeployRecordReader } from '../deploy/deployRecords';
import { ConnectionStatus } from '../nats/connectionStatus';
import { DEFAULT_NAMESPACE, namespaceProblem } from '../core/subject';
import { DISCOVERY_WINDOW_MS, REQUEST_TIMEOUT_MS } from '../nex/controlClient';
import { WORKLOAD_PING_WAIT_MS } from '../nex04/client04';
import type { ConnectionState, DeployedListener, DeployedSnapshot, Disposable } from './deployedViews';
import { Nex02Tracker } from './nodes02';
import { DEFAULT_HEARTBEAT04_INTERVAL_MS, Nex04Tracker } from './nodes04';
import { RefreshBackoff, ReconnectGrace, SnapshotNotifier } from './modelTimers';

/** The views the model makes (deployedViews.ts), for the importers of this module. */
export * from './deployedViews';

/** Where the model learns what workloads were deployed with (DeployRecordReader; tests may give their own). */
export interface DeployRecordSource {
  get(workloadId: string): DeployRecord | undefined;
  load(workloadIds: readonly string[]): Promise<void>;
  close(): void;
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

export class DeployedModel {
  /** The connection's namespace. */
  readonly namespace: string;
  /** The others read too, besides the connection's. */
  private extraNamespaces: string[] = [];
  private readonly records: DeployRecordSource;
  private readonly status: ConnectionStatus;
  /** Whether `status` is this model's own (and so disposed with it). */
  private readonly ownsStatus: boolean;
  private statusListener?: Disposable;
  /** The Nex 0.2/0.3 nodes and their workloads (nodes02.ts). */
  private readonly tracker02: Nex02Tracker;
  /** The Nex 0.4 nodes, nexlets and workloads (nodes04.ts). */
  private readonly tracker04: Nex04Tracker;
  private readonly backoff: RefreshBackoff;
  private readonly grace: ReconnectGrace;
  private readonly notifier: SnapshotNotifier<DeployedSnapshot>;
  private refreshedAt?: number;

  private live = false;
  private disposed = false;
  private refreshRun?: Promise<DeployedSnapshot>;
  private refreshQueued = false;

  constructor(options: DeployedModelOptions) {
    this.namespace = options.namespace ?? DEFAULT_NAMESPACE;
    const problem = namespaceProblem(this.namespace);
    if (problem) {
      throw new Error(problem);
    }
    this.records = options.records ?? new DeployRecordReader(options.nc, { jsDomain: options.jsDomain, onRecord: () => this.changed() });
    this.ownsStatus = options.status === undefined;
    this.status = options.status ?? new ConnectionStatus(options.nc);
    const timing: Required<Omit<DeployedModelOptions, 'nc' | 'namespace' | 'namespaces' | 'inboxPrefix' | 'records' | 'status' | 'jsDomain'>> = {
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
    const shared = {
      nc: options.nc,
      inboxPrefix: options.inboxPrefix,
      namespaces: () => this.namespaces,
      connected: () => this.connection === 'connected',
      connectedSince: () => this.status.connectedSince,
      onChange: () => this.changed(),
      discoveryWindowMs: timing.discoveryWindowMs,
      infoTimeoutMs: timing.infoTimeoutMs,
      missedHeartbeats: timing.missedHeartbeats,
    };
    this.notifier = new SnapshotNotifier(() => this.buildSnapshot(), timing.coalesceMs);
    this.backoff = new RefreshBackoff(timing, { live: () => this.live, closed: () => this.connection === 'closed', refreshing: () => this.refreshRun !== undefined }, () => void this.refresh());
    this.grace = new ReconnectGrace(timing, () => !this.disposed && this.connection === 'connected' && this.tracker02.waitingAfterReconnect(), () => this.refresh());
    this.tracker02 = new Nex02Tracker({ ...shared, records: this.records, heartbeatIntervalMs: timing.heartbeatIntervalMs, inReconnectGrace: () => this.grace.active });
    this.tracker04 = new Nex04Tracker({ ...shared, heartbeatIntervalMs: timing.heartbeat04IntervalMs, workloadWaitMs: timing.workload04WaitMs, inReconnectGrace: () => this.grace.active });
    this.setNamespaces(options.namespaces ?? []);
  }

  private get connection(): ConnectionState {
    return this.status.state;
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
    this.tracker02.keepNamespaces();
    this.tracker04.keepNamespaces();
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
    this.tracker02.workloadStopped(nodeId, workloadId);
  }

  /** A deploy the node confirmed: its node is read again now. */
  workloadDeployed(nodeId: string): Promise<void> {
    return this.tracker02.readInfo(nodeId);
  }

  /** A Nex 0.4 UNDEPLOY that said `stopped: true`: the workload goes at once (its WORKLOADSTOPPED event does the same when it arrives). */
  workloadStopped04(workloadId: string): void {
    this.tracker04.workloadStopped(workloadId);
  }

  /** A Nex 0.4 ADEPLOY that answered: the namespace's workloads are read again now (resolves when they are). */
  workloadDeployed04(namespace: string): Promise<void> {
    return this.tracker04.workloadDeployed(namespace);
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
      await this.tracker02.start();
      if (this.disposed) {
        return this.snapshot();
      }
      await this.tracker04.start();
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
    return this.notifier.snapshot();
  }

  /** Calls `listener` with the new state after changes, at most once per `coalesceMs`. */
  onDidChange(listener: DeployedListener): Disposable {
    return this.notifier.onDidChange(listener);
  }

  /** Unsubscribes, stops every timer and forgets the listeners; answers still under way are ignored. */
  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.live = false;
    this.tracker02.dispose();
    this.tracker04.dispose();
    this.statusListener?.dispose();
    if (this.ownsStatus) {
      this.status.dispose();
    }
    this.records.close();
    this.backoff.stop();
    this.grace.stop();
    this.notifier.dispose();
  }

  private async refreshLoop(): Promise<DeployedSnapshot> {
    do {
      this.refreshQueued = false;
      await this.refreshOnce();
    } while (this.refreshQueued && !this.disposed);
    this.backoff.afterRefresh();
    return this.snapshot();
  }

  private async refreshOnce(): Promise<void> {
    if (this.connection !== 'connected') {
      this.tracker02.problems = [`the NATS connection is ${this.connection === 'closed' ? 'closed' : 'down (reconnecting)'}: the nodes are shown as they were last seen`];
      this.changed();
      return;
    }
    // The 0.4 nodes are read alongside: they report their nodes and nexlets before their workloads.
    const read04 = this.tracker04.refresh();
    await this.tracker02.refresh();
    await read04;
    this.refreshedAt = Date.now();
    this.changed();
  }

  /**
   * Follows the connection (the one ConnectionStatus, the editor's when it gave one): says at once
   * when it goes down, and when it comes back reads everything again at once, then quickly within
   * the reconnect grace (modelTimers.ts); stops the timers when it closes.
   */
  private watchConnection(): void {
    this.statusListener = this.status.onDidChange(({ state }) => {
      if (this.disposed) {
        return;
      }
      if (state === 'connected') {
        this.grace.begin();
        this.changed();
        void this.refresh().then(() => this.grace.poll());
      } else if (state === 'closed') {
        this.tracker02.stopSweeping();
        this.backoff.stop();
        this.grace.stop();
        this.changed();
      } else {
        this.changed();
      }
    });
  }

  /** Something changed: listeners hear about it (coalesced), and a structural change restarts the backoff. */
  private changed(): void {
    if (this.disposed) {
      return;
    }
    this.notifier.invalidate();
    this.backoff.noteStructure(`${this.tracker02.structureKey()}#${this.tracker04.structureKey()}`);
    this.notifier.schedule();
  }

  private buildSnapshot(): DeployedSnapshot {
    const v04 = this.tracker04.views();
    return {
      namespace: this.namespace,
      namespaces: [...this.namespaces],
      connection: this.connection,
      ...(this.refreshedAt !== undefined ? { refreshedAt: new Date(this.refreshedAt).toISOString() } : {}),
      nodes: this.tracker02.views(),
      nodes04: v04.nodes04,
      ...(v04.workloads04Unplaced.length > 0 ? { workloads04Unplaced: v04.workloads04Unplaced } : {}),
      problems: [...this.tracker02.problems, ...v04.problems],
    };
  }
}
