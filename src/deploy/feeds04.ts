/**
 * Following deployed workloads on Nex 0.4 nodes (reference nex-0.4-protocol.md, "Events"): their
 * events on `$NEX.FEED.<from>.events.<TYPE>` (node events from the node id, workload events from the
 * namespace), their logs on `$NEX.FEED.<ns>.logs.<id>.stdout|stderr` (plain text), the workloads of a
 * name (WPING, placed on nodes as the explorer places them), and what a function's reply headers say
 * (`workload_id`, `namespace`, `error`). Everything comes out in the shapes the 0.2/0.3 followers use
 * (NexEvent, WorkloadLogLine, RunningWorkload), so followLogs.ts and triggerFunction.ts follow both generations at once.
 */
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { asObject, asString, isToken, stringEntries } from '../core/jsonValues';
import { attributeAnswers, readWorkload } from '../nex04/workloadSummaries';
import type { NexEvent } from '../nex/events';
import { SLOG_LEVELS, type WorkloadLogLine } from '../nex/logs';
import { Nex04Client } from '../nex04/client04';
import { feed04 } from '../nex04/subjects';
import { subscribeAll, type Watch } from '../nats/watch';
import type { RunningWorkload } from './runningWorkload';

/** The node's own events (`<from>` = its id); every other type is a workload's (`<from>` = its namespace). */
export const NODE_EVENT_TYPES: readonly string[] = ['NODESTARTED', 'NODESTOPPED', 'NODELAMEDUCKSET', 'AGENTLAMEDUCKSET'];

/** The functions nexlet's event for each trigger (0.4.1 itself cannot publish WorkloadTriggeredEvent). */
export const FUNCTION_TRIGGERED = 'FUNCTIONTRIGGERED';

/**
 * A 0.4 feed event as a NexEvent: `namespace` is `system` for node events, `nodeId` the node's id
 * (for a workload event, the functions nexlet's `metadata.node`, else ""), `workloadId` the body's
 * `id`, `workloadName` the body's `name` or `metadata.name`, and `failed` set for a function that
 * failed (FUNCTIONTRIGGERED with an `error`) or a workload event carrying one. Undefined for a
 * message that is not one (not a JSON object, not an events subject).
 */
export function parseEvent04(msg: Pick<Msg, 'subject' | 'data'>): NexEvent | undefined {
  const tokens = msg.subject.split('.');
  if (tokens.length < 5 || tokens[3] !== 'events') {
    return undefined;
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(msg.data));
  } catch {
    return undefined;
  }
  const data = asObject(body);
  if (!data) {
    return undefined;
  }
  const from = tokens[2];
  const type = tokens.slice(4).join('.');
  const node = NODE_EVENT_TYPES.includes(type);
  const metadata = stringEntries(data.metadata) ?? {};
  const id = asString(data.id);
  const nodeId = node ? ([data.id, from].find(isToken) ?? from) : (metadata.node ?? '');
  const workloadName = asString(data.name) ?? metadata.name;
  const error = data.error;
  const failed = (typeof error === 'string' && error !== '') || (error !== undefined && error !== null && typeof error !== 'string');
  return {
    subject: msg.subject,
    namespace: node ? 'system' : ([data.namespace, from].find(isToken) ?? from),
    type,
    // As a 0.2 agent's event names its source "<node>-<workload>".
    source: node ? from : nodeId && id ? `${nodeId}-${id}` : (id ?? from),
    nodeId,
    ...(!node && id ? { workloadId: id } : {}),
    data,
    generation: '0.4',
    ...(workloadName !== undefined ? { workloadName } : {}),
    ...(failed ? { failed: true } : {}),
  };
}

/**
 * Follows a namespace's 0.4 workload events (every namespace's for `*`) and, unless `nodeEvents` is
 * false, the nodes' own events (as `nex events` shows the system's besides the namespace's).
 */
export function watchEvents04(nc: NatsConnection, options: { namespace: string; nodeEvents?: boolean; onEvent: (event: NexEvent) => void }): Promise<Watch> {
  const all = options.namespace === '*';
  const subjects = all ? [feed04.allEvents()] : [`${feed04.event(options.namespace, '>')}`, ...(options.nodeEvents === false ? [] : NODE_EVENT_TYPES.map((t) => feed04.event('*', t)))];
  return subscribeAll(nc, subjects, (msg) => {
    const event = parseEvent04(msg);
    if (event && (all || options.nodeEvents !== false || !NODE_EVENT_TYPES.includes(event.type))) {
      options.onEvent(event);
    }
  });
}

/** A 0.4 log message as a line of its workload: stdout is `info`, stderr `error` (the functions nexlet writes errors and failures there). */
export function logLine04(msg: Pick<Msg, 'subject' | 'data'>, nodeId = ''): WorkloadLogLine | undefined {
  const tokens = msg.subject.split('.');
  const stream = tokens[5];
  if (tokens.length !== 6 || tokens[3] !== 'logs' || (stream !== 'stdout' && stream !== 'stderr')) {
    return undefined;
  }
  const level = stream === 'stderr' ? 'error' : 'info';
  return { subject: msg.subject, nodeId, workloadId: tokens[4], level, rawLevel: SLOG_LEVELS[level], text: new TextDecoder().decode(msg.data), stream };
}

/** Follows a namespace's 0.4 logs (`$NEX.FEED.<ns>.logs.>`), every workload's. */
export function watchLogs04(nc: NatsConnection, namespace: string, onLine: (line: WorkloadLogLine) => void): Promise<Watch> {
  return subscribeAll(nc, [feed04.namespaceLogs(namespace)], (msg) => {
    const line = logLine04(msg);
    if (line) {
      onLine(line);
    }
  });
}

/**
 * The 0.4 workloads named `nameOrId` (case-insensitively) or with that id in `namespace`: PING for
 * the 0.4 nodes (none: nothing more is asked), then WPING, each answer placed on its node as the
 * explorer places it (a workload whose node cannot be told has the node id ""). A `system` WPING
 * on the functions nexlet lists every namespace: only the asked one's are kept.
 */
export async function findWorkloads04(nc: NatsConnection, namespace: string, nameOrId: string, options: { inboxPrefix?: string; windowMs?: number; nodeId?: string } = {}): Promise<RunningWorkload[]> {
  const client = new Nex04Client(nc, options.inboxPrefix);
  const found = await client.discover(options.windowMs ?? 750);
  const nodes = found.nodes.filter((n) => isToken(n.node_id));
  if (nodes.length === 0) {
    return [];
  }
  const version = (id: string) => asString(nodes.find((n) => n.node_id === id)?.version) ?? '';
  const ping = await client.workloads(namespace, { expectedAnswers: nodes.length });
  const placed = attributeAnswers(ping.answers, nodes.map((n) => n.node_id));
  const wanted = nameOrId.toLowerCase();
  const out: RunningWorkload[] = [];
  const take = (nodeId: string, summaries: Parameters<typeof readWorkload>[0][]) => {
    for (const s of summaries) {
      const w = readWorkload(s, namespace, nodeId);
      if ((w.name.toLowerCase() === wanted || w.id === nameOrId) && w.namespace === namespace && (!options.nodeId || nodeId === options.nodeId)) {
        out.push({ nodeId, nodeVersion: nodeId ? version(nodeId) : version(nodes[0].node_id), namespace: w.namespace, workloadId: w.id, name: w.name });
      }
    }
  };
  for (const [nodeId, list] of placed.byNode) {
    take(nodeId, list);
  }
  take('', placed.unplaced);
  return out;
}

/** What a 0.4 function's reply headers say: the workload that answered, its namespace, and its error when it failed. */
export interface Reply04 {
  workloadId: string;
  namespace?: string;
  error?: string;
}

/** The 0.4 runner's reply headers (`workload_id`, `namespace`, `error`), or undefined for a reply without them (a 0.2/0.3 node's). */
export function reply04(msg: Pick<Msg, 'headers'>): Reply04 | undefined {
  const workloadId = msg.headers?.get('workload_id');
  if (!workloadId) {
    return undefined;
  }
  const namespace = msg.headers?.get('namespace');
  const error = msg.headers?.has('error') ? msg.headers.get('error') : undefined;
  return { workloadId, ...(namespace ? { namespace } : {}), ...(error !== undefined ? { error } : {}) };
}
