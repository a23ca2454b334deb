/**
 * Following deployed functions: their workloads' logs and the nodes' events (reference §2), on both
 * generations, and one follower per function that keeps up with its redeploys.
 */
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { DEFAULT_NAMESPACE } from '../core/subject';
import { eventSubjects, type NexEvent, parseEvent } from '../nex/events';
import { LogBody, logLevelName, type WorkloadLogLine } from '../nex/logs';
import { controlSubjects } from '../nex/controlApi';
import { NexControlClient } from '../nex/controlClient';
import { subscribeAll, type Watch } from '../nats/watch';
import { findWorkloads04, watchEvents04, watchLogs04 } from './feeds04';
import type { RunningWorkload } from './runningWorkload';
import { findWorkloads } from './stopWorkloads';

/** A log body `{text, level, id}`, or undefined when the message is not one. */
function parseLogBody(data: Uint8Array): LogBody | undefined {
  try {
    const body = JSON.parse(new TextDecoder().decode(data)) as { text?: unknown; level?: unknown; id?: unknown };
    return typeof body.text === 'string' && typeof body.level === 'number' && typeof body.id === 'string' ? { text: body.text, level: body.level, id: body.id } : undefined;
  } catch {
    return undefined;
  }
}

/** A log message as a line of its workload: the node from the subject, the workload and level from the body. */
function logLineOf(msg: Msg, body: LogBody): WorkloadLogLine {
  return { subject: msg.subject, nodeId: msg.subject.split('.')[3], workloadId: body.id, level: logLevelName(msg.subject, body.level, body.id), rawLevel: body.level, text: body.text };
}

/**
 * Follows `$NEX.logs.<ns>.>` (both 0.2/0.3 layouts) and Nex 0.4's `$NEX.FEED.<ns>.logs.>`, and passes
 * on the messages of the given workload ids (every workload's when none are given), keyed on the
 * body's `id` as the reference recommends (0.4: the subject's).
 */
export async function watchLogs(nc: NatsConnection, options: { namespace?: string; workloadIds?: readonly string[]; onLine: (line: WorkloadLogLine) => void }): Promise<Watch> {
  const ids = options.workloadIds && new Set(options.workloadIds);
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const watches = await Promise.all([
    subscribeAll(nc, [controlSubjects.logs(namespace)], (msg) => {
      const body = parseLogBody(msg.data);
      if (!body || (ids && !ids.has(body.id))) {
        return;
      }
      options.onLine(logLineOf(msg, body));
    }),
    watchLogs04(nc, namespace, (line) => (!ids || ids.has(line.workloadId) ? options.onLine(line) : undefined)),
  ]);
  return { stop: () => watches.forEach((w) => w.stop()) };
}

/**
 * Follows `$NEX.events.<ns>.*` and `$NEX.events.system.*`, as `nex events` does (unless `nex02` is
 * false), and (unless `nex04` is false) the Nex 0.4 feeds: the namespace's workload events and the
 * nodes' own (feeds04.ts); namespace `*` follows every namespace's.
 */
export async function watchEvents(nc: NatsConnection, options: { namespace?: string; nex02?: boolean; nex04?: boolean; onEvent: (event: NexEvent) => void }): Promise<Watch> {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const watches = await Promise.all([
    ...(options.nex02 === false
      ? []
      : [
          subscribeAll(nc, eventSubjects(namespace), (msg) => {
            const event = parseEvent(msg);
            if (event) {
              options.onEvent(event);
            }
          }),
        ]),
    ...(options.nex04 === false ? [] : [watchEvents04(nc, { namespace, onEvent: options.onEvent })]),
  ]);
  return { stop: () => watches.forEach((w) => w.stop()) };
}

/** A workload of a followed function: where it runs. */
export interface FollowedWorkload {
  workloadId: string;
  nodeId: string;
}

export interface FollowFunctionOptions {
  /** Default "default". */
  namespace?: string;
  /** The function's name (a workload id works too: the name is then taken from the node's answer). */
  name: string;
  /** Only this node's workloads. */
  nodeId?: string;
  /** Whom to ask for the workloads running at start (WPING); without it, only the ones seen later are followed. */
  client?: NexControlClient;
  /** How long WPING waits for nodes (default the discovery window). */
  windowMs?: number;
  onLine: (line: WorkloadLogLine) => void;
  /** A new workload of the function appeared after the start (a redeploy, or another node took it). */
  onRedeployed?: (workload: FollowedWorkload, name: string) => void;
  /** The namespace's events about the function (deploys, undeploys, each execution's success or failure). */
  onEvent?: (event: NexEvent) => void;
  /** Only one generation's workloads and feeds (default both): `0.2/0.3` (`$NEX.WPING`, `$NEX.logs`, `$NEX.events`) or `0.4` (WPING on 0.4 nodes, `$NEX.FEED`). */
  generation?: '0.2/0.3' | '0.4';
}

/** A function followed by name: its workloads change as it is redeployed. */
export interface FunctionLogFollower extends Watch {
  /** The function's name as its node reports it (the name given when none runs). */
  readonly name: string;
  readonly namespace: string;
  /** Every workload followed so far: the ones running at start first. */
  readonly workloads: readonly FollowedWorkload[];
  /** The ones running at start (WPING). */
  readonly initial: readonly RunningWorkload[];
}

/**
 * The workload a 0.2.x log subject names for the function, from its name token: agent lines are
 * `$NEX.logs.<ns>.<node>.<workloadId>.<name>`, node lines `….<node>.<name>.<workloadId>`.
 */
function workloadOfLogSubject(subject: string, names: ReadonlySet<string>): FollowedWorkload | undefined {
  const tokens = subject.split('.');
  if (tokens.length !== 6) {
    return undefined;
  }
  const [, , , nodeId, fourth, fifth] = tokens;
  return names.has(fifth.toLowerCase()) ? { nodeId, workloadId: fourth } : names.has(fourth.toLowerCase()) ? { nodeId, workloadId: fifth } : undefined;
}

/**
 * Follows a function's logs by name and namespace, across redeploys, on both generations: the
 * workloads WPING finds at start (0.2/0.3 `$NEX.WPING`, and Nex 0.4's WPING on the 0.4 nodes that
 * answer PING), and every new one of that name learnt later, from its workload_deployed event (0.2.7
 * `{workload_name}` with the id in the source "<nodeId>-<workloadId>"; 0.3 `workload_id`), its 0.4
 * WORKLOADSTARTED event (the functions nexlet's `metadata.name` and `metadata.node`) or from a 0.2.x
 * log subject that carries the name. 0.4 lines come from `$NEX.FEED.<ns>.logs.<id>.stdout|stderr`.
 * A new workload is announced (onRedeployed) before its first line. The subscriptions are made
 * before WPING is asked, so nothing published meanwhile is missed; lines that arrive before WPING
 * answers are passed on once it has.
 */
export async function followFunctionLogs(nc: NatsConnection, options: FollowFunctionOptions): Promise<FunctionLogFollower> {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const names = new Set([options.name.toLowerCase()]);
  let displayName = options.name;
  const workloads: FollowedWorkload[] = [];
  const known = new Set<string>();
  let ready = false;
  const pending: Array<() => void> = [];
  const later = (action: () => void) => (ready ? action() : pending.push(action));
  /** Adds a workload; announces it when it is new and the start is over. */
  const learn = (w: FollowedWorkload, announce: boolean) => {
    if (known.has(w.workloadId) || (options.nodeId && w.nodeId !== options.nodeId)) {
      return;
    }
    known.add(w.workloadId);
    workloads.push(w);
    if (announce) {
      options.onRedeployed?.(w, displayName);
    }
  };
  const onLog = (msg: Msg) => {
    const body = parseLogBody(msg.data);
    if (!body) {
      return;
    }
    const named = workloadOfLogSubject(msg.subject, names);
    if (named && named.workloadId === body.id) {
      learn(named, true);
    }
    if (known.has(body.id)) {
      options.onLine(logLineOf(msg, body));
    }
  };
  /** The node a followed workload runs on ("" when not known: a 0.4 workload whose node could not be told). */
  const nodeOf = (workloadId: string | undefined) => workloads.find((w) => w.workloadId === workloadId)?.nodeId ?? '';
  const onEvent = (event: NexEvent) => {
    const name = event.workloadName ?? [event.data.workload_name, event.data.name].find((v): v is string => typeof v === 'string');
    const ours = name !== undefined ? names.has(name.toLowerCase()) : event.workloadId !== undefined && known.has(event.workloadId);
    if (!ours) {
      return;
    }
    if ((event.type === 'workload_deployed' || (event.generation === '0.4' && event.type === 'WORKLOADSTARTED')) && event.workloadId) {
      learn({ workloadId: event.workloadId, nodeId: event.nodeId }, true);
    }
    const on = event.nodeId || nodeOf(event.workloadId);
    if (!options.nodeId || on === options.nodeId) {
      options.onEvent?.(event.nodeId || !on ? event : { ...event, nodeId: on });
    }
  };
  const laterEvent = (event: NexEvent) => later(() => onEvent(event));
  const v02 = options.generation !== '0.4';
  const v04 = options.generation !== '0.2/0.3';
  const watches = await Promise.all([
    ...(v02
      ? [
          subscribeAll(nc, [controlSubjects.logs(namespace)], (msg) => later(() => onLog(msg))),
          subscribeAll(nc, [controlSubjects.events(namespace)], (msg) => {
            const event = parseEvent(msg);
            if (event) {
              laterEvent(event);
            }
          }),
        ]
      : []),
    ...(v04
      ? [
          watchLogs04(nc, namespace, (line) => later(() => known.has(line.workloadId) && options.onLine({ ...line, nodeId: nodeOf(line.workloadId) }))),
          watchEvents04(nc, { namespace, nodeEvents: false, onEvent: laterEvent }),
        ]
      : []),
  ]);
  const stop = () => watches.forEach((w) => w.stop());
  let initial: RunningWorkload[] = [];
  try {
    const client = options.client;
    const found = client
      ? await Promise.all([
          v02 ? findWorkloads(client, namespace, options.name, { nodeId: options.nodeId, windowMs: options.windowMs }) : [],
          v04 ? findWorkloads04(client.nc, namespace, options.name, { nodeId: options.nodeId, windowMs: options.windowMs, inboxPrefix: client.inboxPrefix }) : [],
        ])
      : [];
    initial = found.flat();
  } catch (e) {
    stop();
    throw e;
  }
  displayName = initial[0]?.name ?? options.name;
  for (const w of initial) {
    names.add(w.name.toLowerCase());
    learn(w, false);
  }
  ready = true;
  pending.splice(0).forEach((action) => action());
  return { name: displayName, namespace, workloads, initial, stop };
}

/** A message seen on a recorded subject, and the reply to it when one was captured. */
