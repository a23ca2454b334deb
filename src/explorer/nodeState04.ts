/**
 * A Nex 0.4 node as the explorer keeps it between answers, what a PING answer and an INFO answer
 * change in it (strings only where strings belong: a hostile `{"toString":1}` is no string), and
 * the Node04View a snapshot shows of it.
 */
import { asObject, asString, stringEntries } from '../core/jsonValues';
import { type Nexlet04View, type Node04View, readNexlets, type Workload04View } from './workloads04';

export interface NodeState04 {
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

export function newNodeState04(id: string): NodeState04 {
  return { id, version: '', state: '', startedAt: '', tags: {}, agentCount: 0, reachable: true, lastSeen: Date.now() };
}

/** The node was heard from now: reachable. */
export function heardFrom(node: NodeState04): void {
  node.lastSeen = Date.now();
  node.reachable = true;
  node.stateReason = undefined;
}

/** Takes in a PING answer. */
export function takePing(node: NodeState04, answer: unknown): void {
  const a = asObject(answer) ?? {};
  node.version = asString(a.version) ?? '';
  node.state = asString(a.state) ?? '';
  node.startedAt = asString(a.start_time) ?? '';
  node.tags = stringEntries(a.tags) ?? {};
  node.agentCount = typeof a.agent_count === 'number' && Number.isFinite(a.agent_count) ? a.agent_count : 0;
  node.xkey = asString(a.xkey);
  if (node.state !== 'lameduck') {
    node.stopsAt = undefined;
  }
  heardFrom(node);
}

/** Takes in an INFO answer (its nexlets and tags), or says why it cannot be used. */
export function takeInfo(node: NodeState04, info: unknown): void {
  const o = asObject(info);
  if (!o) {
    node.infoProblem = 'its INFO answer is not a JSON object';
    return;
  }
  node.infoProblem = undefined;
  node.nexlets = readNexlets(o);
  const tags = stringEntries(o.tags);
  if (tags && Object.keys(tags).length > 0) {
    node.tags = tags;
  }
  heardFrom(node);
}

/** What a snapshot shows of a node, with its workloads (undefined: not read yet) and what could not be read of them. */
export function node04View(n: NodeState04, read: { workloads?: Workload04View[]; problems: string[] }): Node04View {
  const problems = [...(n.infoProblem ? [n.infoProblem] : []), ...read.problems];
  const name = n.tags['nex.node'] ?? n.tags.node_name;
  return {
    id: n.id,
    ...(name ? { name } : {}),
    version: n.version,
    state: n.state,
    startedAt: n.startedAt,
    tags: { ...n.tags },
    agentCount: n.agentCount,
    ...(n.xkey ? { xkey: n.xkey } : {}),
    ...(n.nexlets ? { nexlets: n.nexlets.map((a) => ({ ...a })) } : {}),
    ...(read.workloads ? { workloads: read.workloads } : {}),
    ...(problems.length > 0 ? { problem: problems.join('; ') } : {}),
    ...(n.reachable ? {} : { unreachable: true, stateReason: n.stateReason }),
    lastSeenAt: new Date(n.lastSeen).toISOString(),
    ...(n.stopsAt ? { stopsAt: n.stopsAt } : {}),
  };
}
