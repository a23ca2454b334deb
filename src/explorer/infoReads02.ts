/**
 * Reading a Nex 0.2/0.3 node's INFO (reference §1): in every namespace the model reads, merged, its
 * workloads' deploy records loaded; whatever the node answers, the reading comes back as data or
 * as the words of its problem, never thrown.
 */
import { asNumber, asObject, asString, stringEntries, stringList } from '../core/jsonValues';
import { NodeError } from '../nex/controlApi';
import { NoAnswerError, type NexControlClient } from '../nex/controlClient';
import type { MemoryStat } from '../nex/controlTypes';
import { parseUptime } from '../nex/uptime';
import type { WorkloadView } from './deployedViews';

/** A workload as the model keeps it; its triggers are looked up when a snapshot is made. */
export type WorkloadState = Omit<WorkloadView, 'triggers' | 'startedAt'> & { startedAt?: number };

/** When something that has been up for `uptime` (as the node printed it) started, in epoch ms. */
export function startOf(uptime: string | undefined, at = Date.now()): number | undefined {
  const ms = uptime === undefined ? undefined : parseUptime(uptime);
  return ms === undefined ? undefined : at - ms;
}

/** What an INFO answer says. */
export interface InfoReading {
  version?: string;
  uptime?: string;
  xkey?: string;
  tags?: Record<string, string>;
  memory?: MemoryStat;
  supportedTypes?: string[];
  workloads: WorkloadState[];
  /** Workloads listed without an id or a name. */
  unreadable: number;
}

/** An INFO answer's data, or why it cannot be read. Machines without an id or name are counted, not kept. */
export function readInfo(value: unknown, nodeId: string, namespace: string): InfoReading | string {
  const o = asObject(value);
  if (!o) {
    return 'it is not a JSON object';
  }
  if (o.machines !== undefined && o.machines !== null && !Array.isArray(o.machines)) {
    return '"machines" is not a list';
  }
  const machines = (o.machines ?? []) as unknown[];
  const workloads: WorkloadState[] = [];
  for (const m of machines.map(asObject)) {
    const w = asObject(m?.workload);
    const id = asString(m?.id);
    const name = asString(w?.name);
    if (!m || !w || !id || !name) {
      continue;
    }
    const uptime = asString(m.uptime) ?? asString(w.uptime) ?? '';
    workloads.push({
      id,
      name,
      type: asString(w.type) ?? '',
      hash: asString(w.hash) ?? '',
      runtime: asString(w.runtime) ?? '',
      description: asString(w.description) ?? '',
      namespace: asString(m.namespace) ?? namespace,
      uptime,
      startedAt: startOf(uptime),
      nodeId,
    });
  }
  const memory = asObject(o.memory);
  const total = asNumber(memory?.total);
  const free = asNumber(memory?.free);
  const available = asNumber(memory?.available);
  return {
    version: asString(o.version),
    uptime: asString(o.uptime),
    xkey: asString(o.public_xkey),
    tags: stringEntries(o.tags),
    memory: total !== undefined && free !== undefined && available !== undefined ? { total, free, available } : undefined,
    supportedTypes: stringList(o.supported_workload_types),
    workloads,
    unreadable: machines.length - workloads.length,
  };
}

/** What went wrong with an INFO, in words a user can act on. */
export function infoProblem(e: unknown): string {
  if (e instanceof NodeError) {
    return `it answered INFO with an error: ${e.nodeMessage}`;
  }
  if (e instanceof NoAnswerError) {
    return e.message;
  }
  return `its INFO answer cannot be read: ${(e as Error).message ?? String(e)}`;
}

/** INFO readings of one node in several namespaces as one: the details from the first, every workload once. */
export function mergeInfo(readings: readonly InfoReading[]): InfoReading {
  const [first, ...others] = readings;
  const seen = new Set(first.workloads.map((w) => w.id));
  const merged: InfoReading = { ...first, workloads: [...first.workloads] };
  for (const other of others) {
    merged.workloads.push(...other.workloads.filter((w) => !seen.has(w.id)));
    other.workloads.forEach((w) => seen.add(w.id));
    merged.unreadable += other.unreadable;
  }
  return merged;
}

/** A node's INFO in one namespace, read; or what went wrong, in words for the node's problem. */
async function fetchInfo(client: NexControlClient, nodeId: string, namespace: string, timeoutMs: number): Promise<InfoReading | string> {
  let answer: unknown;
  try {
    answer = await client.info(namespace, nodeId, timeoutMs);
  } catch (e) {
    return infoProblem(e);
  }
  const reading = readInfo(answer, nodeId, namespace);
  return typeof reading === 'string' ? `its INFO answer cannot be used: ${reading}` : reading;
}

/**
 * A node's INFO in every namespace, merged (the details from the first, the connection's), and the
 * deploy records of its workloads loaded; or the first problem, naming the namespace when it is not
 * the connection's.
 */
export async function readAllInfo(client: NexControlClient, nodeId: string, namespaces: readonly string[], options: { timeoutMs: number; loadRecords: (workloadIds: string[]) => Promise<void> }): Promise<InfoReading | string> {
  const readings = await Promise.all(namespaces.map((ns) => fetchInfo(client, nodeId, ns, options.timeoutMs)));
  const failed = readings.findIndex((r) => typeof r === 'string');
  if (failed >= 0) {
    const problem = readings[failed] as string;
    return failed === 0 ? problem : `in the namespace ${namespaces[failed]}: ${problem}`;
  }
  const merged = mergeInfo(readings as InfoReading[]);
  await options.loadRecords(merged.workloads.map((w) => w.id)).catch(() => undefined);
  return merged;
}
