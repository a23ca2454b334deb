/**
 * What the deployed model shows, as plain data: the snapshot the "Deployed" tree and `nexfn nodes`
 * render, its nodes and workloads, and what is read off a snapshot (the deployed functions' triggers,
 * a node's label). DeployedModel (deployedModel.ts) builds it; every type here is re-exported there.
 */
import type { LinkState } from '../nats/connectionStatus';
import type { MemoryStat } from '../nex/controlTypes';
import type { DeployedFunction } from './subjectRouting';
import type { Node04View, Workload04View } from './workloads04';

export type { Nexlet04View, Node04View, Workload04View } from './workloads04';

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

/** Every Nex 0.4 workload of a snapshot: those placed on their node, then those whose node could not be told. */
export function workloads04Of(snapshot: DeployedSnapshot | undefined): Workload04View[] {
  return [...(snapshot?.nodes04 ?? []).flatMap((n) => n.workloads ?? []), ...(snapshot?.workloads04Unplaced ?? [])];
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
    ...workloads04Of(snapshot).flatMap(of04),
  ];
}

/** A listener registration; `dispose()` removes it (the shape VS Code's subscriptions take). */
export interface Disposable {
  dispose(): void;
}

export type DeployedListener = (snapshot: DeployedSnapshot) => void;
