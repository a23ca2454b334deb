/**
 * `nexfn nodes --json`: one model for both generations of Nex, made from the deployed model's
 * snapshot. Every node is in one list, with `generation` ("0.2/0.3" or "0.4"), the fields both have
 * under the same names (id, name, version, state, lameDuck, startedAt, tags, workloads…), and what
 * only one generation has under its own name (0.2/0.3: uptime, nexus, runningCount, supportedTypes,
 * memory; 0.4: nodeState, agentCount, nexlets, stopsAt). Workloads likewise (0.2/0.3: hash,
 * description, uptime; 0.4: lifecycle, state, metadata). The README documents the shape.
 */
import type { MemoryStat } from '../nex/controlTypes';
import type { ConnectionState, DeployedSnapshot, NodeView, WorkloadView } from './deployedModel';
import type { Nexlet04View, Node04View, Workload04View } from './workloads04';

export type NexGenerationName = '0.2/0.3' | '0.4';

export interface WorkloadJson {
  id: string;
  name: string;
  namespace: string;
  /** `v8`, `wasm`, `native`… */
  type: string;
  /** Its node; absent for a 0.4 workload whose node could not be told. */
  nodeId?: string;
  /** ISO 8601. */
  startedAt?: string;
  runtime: string;
  /** A function: JavaScript or WebAssembly, triggered by subjects. */
  isFunction: boolean;
  /** Its trigger subjects: from its deploy record (0.2/0.3) or its nexlet (0.4); absent when unknown. */
  triggers?: string[];
  /** 0.2/0.3: the artifact's SHA-256, the description, the uptime as the node said. */
  hash?: string;
  description?: string;
  uptime?: string;
  /** 0.4: `function`, `service` or `job`; `running`, `warm`…; what its nexlet reports in metadata. */
  lifecycle?: string;
  state?: string;
  metadata?: Record<string, string>;
}

export interface NodeJson {
  generation: NexGenerationName;
  id: string;
  name?: string;
  version: string;
  /** `unreachable`: it missed its heartbeats or did not answer the last PING (stateReason says which). */
  state: 'up' | 'unreachable';
  stateReason?: string;
  lameDuck: boolean;
  /** ISO 8601. */
  startedAt?: string;
  lastSeenAt?: string;
  tags: Record<string, string>;
  xkey?: string;
  /** Why its details or workloads could not be read, in the node's words. */
  problem?: string;
  /** Its workloads in the namespaces read (0.4: plus `system`); null while a 0.4 node's were not read yet. */
  workloads: WorkloadJson[] | null;
  /** 0.2/0.3 only. */
  uptime?: string;
  nexus?: string;
  runningCount?: number;
  supportedTypes?: string[];
  memory?: MemoryStat;
  /** 0.4 only: the node's own state word (`running`, `lameduck`, `stopping`), its nexlet count (PING), its nexlets (INFO), when a lame duck stops. */
  nodeState?: string;
  agentCount?: number;
  nexlets?: Nexlet04View[];
  stopsAt?: string;
}

export interface NodesJson {
  namespace: string;
  namespaces: string[];
  connection: ConnectionState;
  refreshedAt?: string;
  /** Sorted by generation (0.2/0.3 first), then name, then id. */
  nodes: NodeJson[];
  /** 0.4 workloads whose node could not be told (several 0.4 nodes, WPING answers that do not name theirs). */
  unplacedWorkloads: WorkloadJson[];
  problems: string[];
}

/** Leaves out the keys whose value is undefined, so the JSON has no holes. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function workload02(w: WorkloadView): WorkloadJson {
  return defined({
    id: w.id,
    name: w.name,
    namespace: w.namespace,
    type: w.type,
    nodeId: w.nodeId,
    startedAt: w.startedAt,
    runtime: w.runtime,
    isFunction: w.type === 'v8' || w.type === 'wasm',
    triggers: w.triggers && [...w.triggers],
    hash: w.hash,
    description: w.description,
    uptime: w.uptime,
  });
}

function workload04(w: Workload04View): WorkloadJson {
  return defined({
    id: w.id,
    name: w.name,
    namespace: w.namespace,
    type: w.type,
    nodeId: w.nodeId,
    startedAt: w.startedAt || undefined,
    runtime: w.runtime,
    isFunction: w.isFunction,
    triggers: w.triggers && [...w.triggers],
    lifecycle: w.lifecycle,
    state: w.state,
    metadata: { ...w.metadata },
  });
}

function node02(n: NodeView): NodeJson {
  return defined({
    generation: '0.2/0.3' as const,
    id: n.id,
    name: n.name,
    version: n.version,
    state: n.state,
    stateReason: n.stateReason,
    lameDuck: n.lameDuck,
    startedAt: n.startedAt,
    lastSeenAt: n.lastSeenAt,
    tags: { ...n.tags },
    xkey: n.xkey,
    problem: n.problem,
    workloads: n.workloads.map(workload02),
    uptime: n.uptime,
    nexus: n.nexus,
    runningCount: n.runningCount,
    supportedTypes: n.supportedTypes && [...n.supportedTypes],
    memory: n.memory && { ...n.memory },
  });
}

function node04(n: Node04View): NodeJson {
  return defined({
    generation: '0.4' as const,
    id: n.id,
    name: n.name,
    version: n.version,
    state: n.unreachable ? ('unreachable' as const) : ('up' as const),
    stateReason: n.stateReason,
    lameDuck: n.state === 'lameduck' || n.tags['nex.lameduck'] === 'true',
    startedAt: n.startedAt || undefined,
    lastSeenAt: n.lastSeenAt,
    tags: { ...n.tags },
    xkey: n.xkey,
    problem: n.problem,
    workloads: n.workloads ? n.workloads.map(workload04) : null,
    nodeState: n.state,
    agentCount: n.agentCount,
    nexlets: n.nexlets?.map((a) => ({ ...a })),
    stopsAt: n.stopsAt,
  });
}

/** The snapshot as one model for both generations. */
export function nodesJson(snapshot: DeployedSnapshot): NodesJson {
  return defined({
    namespace: snapshot.namespace,
    namespaces: [...snapshot.namespaces],
    connection: snapshot.connection,
    refreshedAt: snapshot.refreshedAt,
    nodes: [...snapshot.nodes.map(node02), ...snapshot.nodes04.map(node04)],
    unplacedWorkloads: (snapshot.workloads04Unplaced ?? []).map(workload04),
    problems: [...snapshot.problems],
  });
}
