/**
 * What a node publishes about itself and its workloads (reference §2): CloudEvents on
 * `$NEX.events.<namespace>.<type>` and log lines on `$NEX.logs.…`, with the subject layout, `data`
 * fields and level numbers of the emulated version.
 */
import { randomUUID } from 'crypto';
import { API_PREFIX } from '../nex/controlApi';
import { LogLevelName, logLevelNumber, LogOrigin } from '../nex/logs';
import { EmulatedVersion, protocolOf } from './nodeConfig';

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

export function eventSubject(namespace: string, type: NodeEventType): string {
  return `${API_PREFIX}.events.${namespace}.${type}`;
}

/** What wrote a line: the workload's output (stdout, stderr, the agent's own info lines) or the node. */
export type LogSource = 'workloadStdout' | 'workloadStderr' | 'workloadInfo' | 'node';

/** Where a line of `source` goes and its level number, in the emulated version's layout (src/nex/logs.ts). */
export function logLine(version: EmulatedVersion, source: LogSource, nodeLevel: LogLevelName = 'info'): { origin: LogOrigin; level: number } {
  const origin: LogOrigin = source === 'node' ? 'node' : 'agent';
  const level: LogLevelName = source === 'node' ? nodeLevel : source === 'workloadStderr' ? 'error' : 'info';
  return { origin, level: logLevelNumber(protocolOf(version), origin, level) };
}
