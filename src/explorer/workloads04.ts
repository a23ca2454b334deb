/**
 * What the explorer makes of Nex 0.4 answers (reference nex-0.4-protocol.md): the views of a node,
 * its nexlets (INFO's agent summaries) and its workloads (WPING's summaries), and which node a
 * WPING answer belongs to. Answers are read defensively: only strings where strings belong, lists
 * where lists belong; anything else is left out, never thrown.
 *
 * A WPING answer is one node's merged list but does not say which node it is. The functions nexlet
 * names its node in each workload's `metadata.node`, so an answer holding one of its workloads is
 * placed by that; with a single 0.4 node every answer is its; when exactly one answer and one node
 * are left over, they go together; anything else cannot be told apart ("unplaced").
 */
import { asObject, asString, isToken, stringEntries } from '../core/jsonValues';
import type { WorkloadSummary } from '../nex04/types';

/** A nexlet (agent) registered with a 0.4 node, from the node's INFO (its agent summaries). */
export interface Nexlet04View {
  agentId: string;
  /** Its service name, e.g. `nexfn-functions`, `native`. */
  name: string;
  /** The workload type it registered (`v8`, `wasm`, `native`…). */
  type: string;
  version: string;
  /** As the node rates it: `healthy`, `degraded`, `offline`, `shutting down`, `unknown`. */
  health: string;
  /** What its last heartbeat said: `running`, `lameduck`… */
  state: string;
  workloadCount: number;
  /** When the node last heard its heartbeat (ISO 8601); absent before the first one. */
  lastHeartbeatAt?: string;
}

/** A workload on a 0.4 node, as WPING lists it: functions, services and jobs alike. */
export interface Workload04View {
  id: string;
  name: string;
  namespace: string;
  /** The nexlet type that runs it: `v8`, `wasm`, `native`… */
  type: string;
  /** `function`, `service` or `job`. */
  lifecycle: string;
  /** `starting`, `running`, `warm`, `stopping`, `stopped`, `error`. */
  state: string;
  /** A Go duration, as the nexlet reports it. */
  runtime: string;
  /** ISO 8601, as the nexlet said. */
  startedAt: string;
  /** The node it runs on; absent when the WPING answer could not be told apart (several 0.4 nodes, none naming itself). */
  nodeId?: string;
  /** A function's trigger subjects, as its nexlet reports them (the functions nexlet's `metadata.triggers`); absent when unknown. */
  triggers?: readonly string[];
  /** Whether the editor can stop, clone and follow it as a function of ours (the functions nexlet's types). */
  isFunction: boolean;
  metadata: Readonly<Record<string, string>>;
}

/**
 * A Nex 0.4 node that answers the connection's 0.4 PING (`$NEX.SVC.system.control.PING`), with its
 * nexlets from INFO and its workloads from WPING, per namespace the model reads plus `system` (where
 * the `nex` CLI deploys by default).
 */
export interface Node04View {
  id: string;
  name?: string;
  version: string;
  /** `running`, `lameduck` or `stopping`, as the node last said (NODELAMEDUCKSET makes it `lameduck`). */
  state: string;
  /** ISO 8601, as the node said. */
  startedAt: string;
  tags: Readonly<Record<string, string>>;
  /** The nexlets registered with it (PING's count). */
  agentCount: number;
  /** Its xkey, from PING. */
  xkey?: string;
  /** From its INFO; absent until read. */
  nexlets?: readonly Nexlet04View[];
  /** Its workloads in the namespaces read; absent while WPING has not answered yet (it takes about 2 s on 0.4.1). */
  workloads?: readonly Workload04View[];
  /** Why its INFO or workloads could not be read: the node's words. */
  problem?: string;
  /** It missed heartbeats, or did not answer the last PING. */
  unreachable?: boolean;
  /** Why it is unreachable. */
  stateReason?: string;
  /** When it was last heard from (ISO 8601): a PING answer, a heartbeat, INFO, an event. */
  lastSeenAt?: string;
  /** In lame duck mode: when it said it shuts down (NODELAMEDUCKSET's `time`, ISO 8601). */
  stopsAt?: string;
}

/** The nexlet types whose workloads are functions of ours (the functions nexlet registers these). */
export const FUNCTION_TYPES: readonly string[] = ['v8', 'wasm'];

/** Go's zero time: what INFO says for an agent that never sent a heartbeat. */
const GO_ZERO_TIME = /^0001-01-01T00:00:00/;

/** Reading untrusted JSON: src/core/jsonValues.ts (kept here for the 0.4 readers that import them from this module). */
export { asObject, asString, isToken, stringEntries };

/** The nexlets of an INFO answer (`node_agent_summaries`), sorted by type, name and id; entries without an agent id are left out. */
export function readNexlets(info: unknown): Nexlet04View[] {
  const summaries = asObject(info)?.node_agent_summaries;
  if (!Array.isArray(summaries)) {
    return [];
  }
  const nexlets: Nexlet04View[] = [];
  for (const entry of summaries.map(asObject)) {
    const agentId = asString(entry?.agent_id);
    if (!entry || !agentId) {
      continue;
    }
    const summary = asObject(entry.agent_summary) ?? {};
    const heartbeat = asString(entry.agent_last_heartbeat_time);
    const count = summary.workload_count;
    nexlets.push({
      agentId,
      name: asString(summary.name) ?? '',
      type: asString(summary.type) ?? '',
      version: asString(summary.version) ?? '',
      health: asString(entry.agent_health) ?? '',
      state: asString(summary.state) ?? '',
      workloadCount: typeof count === 'number' && Number.isFinite(count) && count >= 0 ? count : 0,
      ...(heartbeat && !GO_ZERO_TIME.test(heartbeat) ? { lastHeartbeatAt: heartbeat } : {}),
    });
  }
  return nexlets.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name) || a.agentId.localeCompare(b.agentId));
}

/**
 * A workload summary as the view shows it. Its namespace is `metadata.namespace` when the nexlet
 * says (a `system` WPING lists every namespace's), else the namespace asked. A function of ours (a
 * v8 or wasm workload whose nexlet reports `metadata.triggers`) gets its triggers.
 */
export function readWorkload(summary: WorkloadSummary, askedNamespace: string, nodeId?: string): Workload04View {
  const s = summary as unknown as Record<string, unknown>;
  const metadata = stringEntries(s.metadata) ?? {};
  const type = asString(s.workload_type) ?? '';
  const triggerText = metadata.triggers;
  const isFunction = FUNCTION_TYPES.includes(type) && triggerText !== undefined;
  const triggers = isFunction
    ? triggerText
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '')
    : undefined;
  return {
    id: String(s.id),
    name: String(s.name),
    namespace: metadata.namespace && isToken(metadata.namespace) ? metadata.namespace : askedNamespace,
    type,
    lifecycle: asString(s.workload_lifecycle) ?? '',
    state: asString(s.workload_state) ?? '',
    runtime: asString(s.runtime) ?? '',
    startedAt: asString(s.start_time) ?? '',
    ...(nodeId !== undefined ? { nodeId } : {}),
    ...(triggers ? { triggers } : {}),
    isFunction,
    metadata,
  };
}

/** One node's WPING answer: the summaries it listed (the client keeps only ones with a string id and name). */
export interface WorkloadAnswer {
  workloads: readonly WorkloadSummary[];
}

export interface Attribution {
  /** The answers placed on a node, by node id (several answers of one node are merged). */
  byNode: Map<string, WorkloadSummary[]>;
  /** The workloads of the answers that could not be placed. */
  unplaced: WorkloadSummary[];
  /** The nodes no answer was placed on. */
  unattributedNodes: string[];
}

/**
 * Which node each WPING answer came from: an answer holding a workload whose `metadata.node` names
 * a known node is that node's; with one known node, every answer is its; when exactly one answer
 * and one node are left, they belong together; the rest is unplaced.
 */
export function attributeAnswers(answers: readonly WorkloadAnswer[], nodeIds: readonly string[]): Attribution {
  const known = new Set(nodeIds);
  const byNode = new Map<string, WorkloadSummary[]>();
  const place = (nodeId: string, workloads: readonly WorkloadSummary[]) => byNode.set(nodeId, [...(byNode.get(nodeId) ?? []), ...workloads]);
  const unplaced: WorkloadSummary[] = [];
  const anonymous: WorkloadAnswer[] = [];
  for (const answer of answers) {
    const named = answer.workloads.map((w) => asString(asObject((w as unknown as Record<string, unknown>).metadata)?.node)).find(isToken);
    if (named !== undefined && known.has(named)) {
      place(named, answer.workloads);
    } else if (named !== undefined) {
      // A node that did not answer PING: not one of the known ones, whatever the other rules say.
      unplaced.push(...answer.workloads);
    } else if (known.size === 1) {
      place(nodeIds[0], answer.workloads);
    } else {
      anonymous.push(answer);
    }
  }
  let unattributedNodes = nodeIds.filter((id) => !byNode.has(id));
  if (anonymous.length === 1 && unattributedNodes.length === 1) {
    place(unattributedNodes[0], anonymous[0].workloads);
    anonymous.length = 0;
    unattributedNodes = [];
  }
  unplaced.push(...anonymous.flatMap((a) => a.workloads));
  return { byNode, unplaced, unattributedNodes };
}
