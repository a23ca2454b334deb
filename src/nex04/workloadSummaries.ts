/**
 * Nex 0.4 workloads as WPING lists them (reference nex-0.4-protocol.md): a summary read defensively
 * (only strings where strings belong; anything else left out, never thrown), and which node a WPING
 * answer belongs to. The explorer (explorer/workloadReads04.ts) and the followers
 * (deploy/feeds04.ts) both read them here.
 *
 * A WPING answer is one node's merged list but does not say which node it is. The functions nexlet
 * names its node in each workload's `metadata.node`, so an answer holding one of its workloads is
 * placed by that; with a single 0.4 node every answer is its; when exactly one answer and one node
 * are left over, they go together; anything else cannot be told apart ("unplaced").
 */
import { asObject, asString, isToken, stringEntries } from '../core/jsonValues';
import type { WorkloadSummary } from './types';

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

/** The nexlet types whose workloads are functions of ours (the functions nexlet registers these). */
export const FUNCTION_TYPES: readonly string[] = ['v8', 'wasm'];

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
