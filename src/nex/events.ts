/**
 * Node events on `$NEX.events.<namespace>.<type>` (reference §2.1, §2.3, §2.4), for both sides as
 * `logs.ts` is for logs: the local node publishes them (devnode/nodeEvents.ts), the client follows
 * them (deploy/followLogs.ts and triggerFunction.ts, the explorer's deployed model). Their types, their subjects, the
 * CloudEvent envelope, and the reading of their bodies: whatever a node sends, reading never throws.
 * The Nex 0.4 feed events (deploy/feeds04.ts) come out in the same NexEvent shape.
 */
import { randomUUID } from 'crypto';
import { asNumber, asObject, asString, isToken, stringEntries } from '../core/jsonValues';
import { API_PREFIX, controlSubjects } from './controlApi';

/** Node lifecycle events go to this namespace. */
export const SYSTEM_NAMESPACE = 'system';

export type NodeEventType =
  | 'node_started'
  | 'node_stopped'
  | 'node_entered_lameduck'
  | 'heartbeat'
  | 'workload_deployed'
  | 'workload_undeployed'
  | 'function_exec_succeeded'
  | 'function_exec_failed';

/** A CloudEvent (sdk-go v1.2.0, structured JSON, specversion 1.0). */
export interface CloudEvent {
  data: Record<string, unknown>;
  datacontenttype: 'application/json';
  id: string;
  /** Top-level extension on events an agent raised and the node forwarded. */
  namespace?: string;
  source: string;
  specversion: '1.0';
  time: string;
  type: NodeEventType;
}

/**
 * A CloudEvent with its keys sorted, as sdk-go serialises it (a Go map). Events an agent raises
 * (workload_deployed) carry `source` "<nodeId>-<workloadId>" and the `namespace` extension.
 */
export function cloudEvent(type: NodeEventType, source: string, data: Record<string, unknown>, options: { namespace?: string; now?: Date } = {}): CloudEvent {
  const event: CloudEvent = {
    data: sortKeys(data),
    datacontenttype: 'application/json',
    id: randomUUID(),
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    source,
    specversion: '1.0',
    time: (options.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    type,
  };
  return event;
}

function sortKeys(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(data)
    .sort()
    .map((k) => [k, data[k]]));
}

/** The subject an event of `type` is published on. */
export function eventSubject(namespace: string, type: NodeEventType): string {
  return `${API_PREFIX}.events.${namespace}.${type}`;
}

/**
 * What to subscribe to follow a namespace's events: its own and the system's, as `nex events`
 * does; namespace `*` follows every namespace's (the system's among them).
 */
export function eventSubjects(namespace: string): string[] {
  return namespace === '*' ? [controlSubjects.events('*')] : [...new Set([controlSubjects.events(namespace), controlSubjects.events(SYSTEM_NAMESPACE)])];
}

/** A node's CloudEvent, with what it is about taken out of it. */
export interface NexEvent {
  subject: string;
  /** The namespace token of the subject ("system" for node lifecycle events). */
  namespace: string;
  type: string;
  /** The node id, or "<nodeId>-<workloadId>" for events a workload's agent raised. */
  source: string;
  nodeId: string;
  /** The workload the event is about, when it says (0.3 `workload_id`, 0.2.7 `vmid`, or the agent's source). */
  workloadId?: string;
  time?: string;
  data: Record<string, unknown>;
  /** `0.4` for a Nex 0.4 feed event (`type` is then the feed's: WORKLOADSTARTED, FUNCTIONTRIGGERED…); absent for 0.2/0.3 CloudEvents. */
  generation?: '0.4';
  /** The workload's name, when the event says (0.2/0.3 `workload_name`, 0.4 `name` or `metadata.name`). */
  workloadName?: string;
  /** A function failed (0.2/0.3 function_exec_failed, 0.4 FUNCTIONTRIGGERED with an `error`), or a 0.4 workload event carries an error. */
  failed?: boolean;
}

/** A CloudEvent message as a NexEvent, or undefined when it is not one. */
export function parseEvent(msg: { subject: string; data: Uint8Array }): NexEvent | undefined {
  let event: { type?: unknown; source?: unknown; time?: unknown; data?: unknown };
  try {
    event = JSON.parse(new TextDecoder().decode(msg.data));
  } catch {
    return undefined;
  }
  if (typeof event?.type !== 'string' || typeof event.source !== 'string') {
    return undefined;
  }
  const data = event.data && typeof event.data === 'object' ? (event.data as Record<string, unknown>) : {};
  const [nodeId, agent] = event.source.split('-');
  const workloadId = [data.workload_id, data.vmid, agent].find((v): v is string => typeof v === 'string' && v !== '');
  const workloadName = typeof data.workload_name === 'string' ? data.workload_name : undefined;
  return {
    subject: msg.subject,
    namespace: msg.subject.split('.')[2],
    type: event.type,
    source: event.source,
    nodeId,
    workloadId,
    time: typeof event.time === 'string' ? event.time : undefined,
    data,
    ...(workloadName !== undefined ? { workloadName } : {}),
    ...(event.type === 'function_exec_failed' ? { failed: true } : {}),
  };
}

/** What a heartbeat, a node_started event or a PING answer (the same fields) says about a node. */
export interface NodeSighting {
  id: string;
  version?: string;
  uptime?: string;
  nexus?: string;
  tags?: Record<string, string>;
  runningCount?: number;
  xkey?: string;
}

/**
 * A node as a PING answer (`node_id`, `target_xkey`), a heartbeat (`node_id`, `public_xkey` at
 * ec4c2b4) or node_started (`id`) describes it, or why it cannot be read.
 */
export function readNodeSighting(value: unknown, fallbackId?: string): NodeSighting | string {
  const o = asObject(value);
  if (!o) {
    return 'it is not a JSON object';
  }
  const id = [o.node_id, o.id, fallbackId].find(isToken);
  if (!id) {
    return 'it has no usable node_id';
  }
  return {
    id,
    version: asString(o.version),
    uptime: asString(o.uptime),
    nexus: asString(o.nexus),
    tags: stringEntries(o.tags),
    runningCount: asNumber(o.running_machines),
    xkey: asString(o.target_xkey) ?? asString(o.public_xkey),
  };
}

/** The node a node_stopped or node_entered_lameduck event is about (its `id`, else its source), when usable. */
export function eventNodeId(event: NexEvent): string | undefined {
  return [asObject(event.data)?.id, event.nodeId].find(isToken);
}
