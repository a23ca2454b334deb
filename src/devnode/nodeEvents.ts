/**
 * What a node publishes about itself and its workloads (reference §2): CloudEvents on
 * `$NEX.events.<namespace>.<type>` and log lines on `$NEX.logs.…`, with the subject layout, `data`
 * fields and level numbers of the emulated version.
 */
import { randomUUID } from 'crypto';
import { API_PREFIX } from '../nex/controlApi';
import { EmulatedVersion } from './nodeConfig';

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

/** Log levels: 0.3 uses slog values everywhere; 0.2 agents their own enum, nodes slog values. */
export type LogSource = 'workloadStdout' | 'workloadStderr' | 'workloadInfo' | 'node';

export function logLevel(version: EmulatedVersion, source: LogSource, nodeLevel: 'debug' | 'info' | 'warn' | 'error' = 'info'): number {
  const slog = { debug: -4, info: 0, warn: 4, error: 8 }[nodeLevel];
  if (version === '0.3.0') {
    return source === 'workloadStderr' ? 8 : source === 'node' ? slog : 0;
  }
  // 0.2 agent enum: panic 0, fatal 1, error 2, warn 3, info 4, debug 5, trace 6.
  return source === 'workloadStderr' ? 2 : source === 'node' ? slog : 4;
}

/**
 * The subject of a log line. 0.2: agent-forwarded lines `…<ns>.<node>.<workloadId>.<name>`,
 * node-generated lines `…<ns>.<node>.<name>.<workloadId>` (the tokens swapped, as 0.2.7 does); 0.3:
 * `…<ns>.<node>.<workloadId>` for everything.
 */
export function logSubject(version: EmulatedVersion, source: LogSource, namespace: string, nodeId: string, workloadId: string, workloadName: string): string {
  if (version === '0.3.0') {
    return `${API_PREFIX}.logs.${namespace}.${nodeId}.${workloadId}`;
  }
  return source === 'node' ? `${API_PREFIX}.logs.${namespace}.${nodeId}.${workloadName}.${workloadId}` : `${API_PREFIX}.logs.${namespace}.${nodeId}.${workloadId}.${workloadName}`;
}

/** A log message body: `{text, level, id}` with id the workload id. */
export function logBody(text: string, level: number, workloadId: string): { text: string; level: number; id: string } {
  return { text, level, id: workloadId };
}
