/**
 * What the explorer makes of Nex 0.4 answers (reference nex-0.4-protocol.md): the views of a node
 * and its nexlets (INFO's agent summaries); its workloads (WPING's summaries) and which node a WPING
 * answer belongs to are read in src/nex04/workloadSummaries.ts, which deploy/feeds04.ts shares.
 * Answers are read defensively: only strings where strings belong, lists where lists belong;
 * anything else is left out, never thrown.
 */
import { asObject, asString } from '../core/jsonValues';
import type { Workload04View } from '../nex04/workloadSummaries';

/** The workloads' side (WPING) is read in src/nex04/workloadSummaries.ts: kept here for the importers of this module. */
export { type Attribution, attributeAnswers, FUNCTION_TYPES, readWorkload, type WorkloadAnswer, type Workload04View } from '../nex04/workloadSummaries';

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

/** Go's zero time: what INFO says for an agent that never sent a heartbeat. */
const GO_ZERO_TIME = /^0001-01-01T00:00:00/;

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

