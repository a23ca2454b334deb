/**
 * A Nex 0.2/0.3 node as the deployed model keeps it between answers, what a PING answer, a heartbeat
 * or an INFO answer (infoReads02.ts) changes in it, and the NodeView a snapshot shows of it.
 */
import type { MemoryStat } from '../nex/controlTypes';
import type { NodeSighting } from '../nex/events';
import type { DeployRecord } from '../deploy/deployRecords';
import type { NodeView, WorkloadView } from './deployedViews';
import { type InfoReading, startOf, type WorkloadState } from './infoReads02';

export type { WorkloadState };

/** A node as the model keeps it. */
export interface NodeState {
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

/** A duration in words for messages: "450 ms", "90 s". */
export const inWords = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`);

export function newNodeState(id: string): NodeState {
  return { id, version: '', uptime: '', tags: {}, lameDuck: false, reachable: true, lastSeen: Date.now(), workloads: [] };
}

/** The node was heard from now: reachable. */
export function heardFrom(node: NodeState): void {
  node.lastSeen = Date.now();
  node.reachable = true;
  node.stateReason = undefined;
}

/** What PING answers, heartbeats and INFO all say: the version, uptime, tags (lame duck among them) and xkey it names. */
function takeDetails(node: NodeState, d: { version?: string; uptime?: string; xkey?: string; tags?: Record<string, string> }): void {
  node.version = d.version ?? node.version;
  node.uptime = d.uptime ?? node.uptime;
  node.startedAt = startOf(d.uptime) ?? node.startedAt;
  node.xkey = d.xkey ?? node.xkey;
  node.tags = d.tags ?? node.tags;
  node.lameDuck ||= node.tags['nex.lameduck'] === 'true';
}

/** Takes in what a PING answer, heartbeat or node_started says; returns whether its running count changed. */
export function takeSighting(node: NodeState, s: NodeSighting): boolean {
  const countChanged = s.runningCount !== undefined && s.runningCount !== node.runningCount;
  takeDetails(node, s);
  node.nexus = s.nexus ?? node.nexus;
  node.runningCount = s.runningCount ?? node.runningCount;
  heardFrom(node);
  return countChanged;
}

/** Takes in an INFO answer: the node's details and workloads. */
export function takeInfo(node: NodeState, reading: InfoReading): void {
  takeDetails(node, reading);
  node.memory = reading.memory;
  node.supportedTypes = reading.supportedTypes;
  node.workloads = reading.workloads;
  node.problem = reading.unreadable > 0 ? `its INFO listed ${reading.unreadable} workload(s) without an id or a name; they are left out` : undefined;
  heardFrom(node);
}

/** What a snapshot shows of a node, its workloads' triggers from their deploy records. */
export function node02View(n: NodeState, recordOf: (workloadId: string) => DeployRecord | undefined): NodeView {
  const workloads = n.workloads.map((w): WorkloadView => {
    const record = recordOf(w.id);
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
