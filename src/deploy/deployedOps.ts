/**
 * Working with functions once they are deployed: stop them (by name or workload id, signed by the
 * deploy's issuer), trigger them (a request on a concrete subject), follow their logs and the
 * nodes' events (reference §2), and record the traffic on a subject as trigger cases.
 */
import * as path from 'path';
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/nats-core';
import { tryDecodeUtf8 } from '../core/bytes';
import { concreteSubjectProblem, DEFAULT_NAMESPACE, subjectMatches } from '../core/subject';
import { type FidelityWarning, replyWarning } from '../executor/fidelity';
import { eventSubject, eventSubjects, type NexEvent, parseEvent } from '../nex/events';
import { LogBody, logLevelName, type WorkloadLogLine } from '../nex/logs';
import { controlSubjects, NodeError } from '../nex/controlApi';
import { NexControlClient } from '../nex/controlClient';
import { feed04 } from '../nex04/subjects';
import type { NexProtocolVersion, StopRequest, StopResponse } from '../nex/controlTypes';
import { encodeWorkloadJwt } from '../nex/workloadJwt';
import { deleteDeployRecord } from './deployRecords';
import { subscribeAll, type Watch } from '../nats/watch';
import { findWorkloads04, FUNCTION_TRIGGERED, reply04, watchEvents04, watchLogs04 } from './feeds04';
import { nodeProtocol, withHint } from './nodeReplies';
import { ISSUER_KEY_FILE, type PublisherKeys } from './publisherKeys';
import type { RunningWorkload } from './runningWorkload';

/** These live where both generations' followers share them (the events in src/nex/events.ts); kept here for the importers of this module. */
export type { NexEvent, RunningWorkload, Watch, WorkloadLogLine };

/** The Nex namespace when none is given (the `nex` CLI's default): core/subject.ts's, for this module's importers. */
export { DEFAULT_NAMESPACE };

/** A node refuses a stop whose JWT shares the deploy's `iat` second; the retry waits this long. */
const SAME_SECOND_RETRY_MS = 1000;

/** Waits `ms`, or rejects with the signal's reason when it is aborted first. */
function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The workloads named `nameOrId` (case-insensitively, as nodes match names) or with that workload
 * id, in the namespace, from every node that answers WPING within the window (only `nodeId`'s when
 * given).
 */
export async function findWorkloads(client: NexControlClient, namespace: string, nameOrId: string, options: { nodeId?: string; windowMs?: number } = {}): Promise<RunningWorkload[]> {
  const answers = await client.workloadPing(namespace, nameOrId, options.windowMs);
  return answers.flatMap((answer) =>
    answer.ok && (!options.nodeId || answer.value.node_id === options.nodeId)
      ? answer.value.running_machines.map((m) => ({ nodeId: answer.value.node_id, nodeVersion: answer.value.version, namespace: m.namespace, workloadId: m.id, name: m.name }))
      : [],
  );
}

/** The stop body of the node's format, with a fresh JWT (0.2: `sub` = name; 0.3: `sub` = workload id). */
function stopRequest(workload: RunningWorkload, keys: PublisherKeys, protocol: NexProtocolVersion): StopRequest {
  const jwt = encodeWorkloadJwt(keys.issuer, { name: workload.name, hash: '', requestId: workload.workloadId }, protocol);
  return protocol === '0.2'
    ? { workload_id: workload.workloadId, workload_jwt: jwt, target_node: workload.nodeId }
    : { node_id: workload.nodeId, workload_id: workload.workloadId, workload_jwt: jwt };
}

export interface StopOptions {
  keys: PublisherKeys;
  /** Which format the node takes, when its version does not tell (a source build). */
  nexVersion?: NexProtocolVersion;
  /** The JetStream domain of the deploy records (deployRecords.ts), when not the account's default. */
  jsDomain?: string;
  signal?: AbortSignal;
}

/** Sends a stop; when the node says its claims share the deploy's second, sends a fresh one a second later. */
async function sendStop(send: () => Promise<StopResponse>, signal?: AbortSignal): Promise<StopResponse> {
  try {
    return await send();
  } catch (e) {
    if (!(e instanceof NodeError && /cloned or captured/.test(e.nodeMessage))) {
      throw e;
    }
    await abortableDelay(SAME_SECOND_RETRY_MS, signal);
    return send();
  }
}

/**
 * Stops one workload, signed with the issuer key (a second after its deploy when it must be, see
 * sendStop). A refusal comes back as NodeRefusal with the node's text, plus a hint when only the
 * deploy's issuer may stop it.
 */
export async function stopWorkload(client: NexControlClient, workload: RunningWorkload, options: StopOptions): Promise<StopResponse> {
  const protocol = nodeProtocol(workload.nodeVersion, workload.nodeId, options.nexVersion);
  let response: StopResponse;
  try {
    response = await sendStop(() => client.stop(workload.namespace, workload.nodeId, stopRequest(workload, options.keys, protocol)), options.signal);
  } catch (e) {
    throw withHint(e, { nodeId: workload.nodeId, issuer: options.keys.issuerPublicKey, issuerFile: path.join(options.keys.dir, ISSUER_KEY_FILE) });
  }
  await deleteDeployRecord(client.nc, workload.workloadId, { jsDomain: options.jsDomain });
  return response;
}

/**
 * Stops every workload named `nameOrId` or with that id in the namespace (on `nodeId` only, when
 * given). Throws when none runs, naming what was looked for and where.
 */
export async function stopWorkloads(client: NexControlClient, nameOrId: string, options: StopOptions & { namespace?: string; nodeId?: string; windowMs?: number }): Promise<RunningWorkload[]> {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const found = await findWorkloads(client, namespace, nameOrId, options);
  if (found.length === 0) {
    throw new Error(`no workload named "${nameOrId}" or with that id runs in the namespace "${namespace}"${options.nodeId ? ` on node ${options.nodeId}` : ''}: no node answered ${controlSubjects.workloadPing(namespace, nameOrId)}`);
  }
  for (const workload of found) {
    options.signal?.throwIfAborted();
    await stopWorkload(client, workload, options);
  }
  return found;
}

/** The answer of a triggered function. */
export interface TriggerResult {
  subject: string;
  reply: Uint8Array;
  /** Reply bytes. */
  size: number;
  /** From sending the request to receiving the reply. */
  roundTripMs: number;
  /** A Nex 0.4 function's reply says which workload answered (its `workload_id` header) and in which namespace. */
  workloadId?: string;
  namespace?: string;
}

/** A node waits this long for a function's answer before it gives up (reference §3.3). */
export const NODE_TRIGGER_TIMEOUT_MS = 10000;

/**
 * After our own wait ends, how long a failure the node reports is still taken: a node gives up on
 * a function after NODE_TRIGGER_TIMEOUT_MS and then publishes function_exec_failed, so with the
 * default wait its event arrives just after ours ends.
 */
const LATE_FAILURE_GRACE_MS = 1000;

/** Whether a request failed because nobody subscribes to its subject. */
function isNoResponders(e: unknown): boolean {
  const error = e as Error & { isNoResponders?: () => boolean };
  return error.isNoResponders?.() === true || error.name === 'NoRespondersError' || /no responders/i.test(error.message ?? '');
}

/** No reply came within the time: a node sends none for a function that fails. (Named as a plain Error, as users see it.) */
export class NoReplyError extends Error {}

/**
 * The node reported the triggered function failing (its function_exec_failed event): the node sends
 * no reply then. `nodeError` is the event's `error`, verbatim.
 */
export class FunctionFailedError extends Error {
  constructor(
    readonly nodeError: string,
    readonly event: NexEvent,
    /** When the event arrived, from sending the request. */
    readonly afterMs: number,
  ) {
    super(
      event.generation === '0.4'
        ? `${event.workloadName ?? 'the function'} failed (workload ${event.workloadId ?? '?'} in the namespace ${event.namespace}, on ${typeof event.data.subject === 'string' ? event.data.subject : 'its trigger'}): ${nodeError}`
        : `${typeof event.data.workload_name === 'string' ? event.data.workload_name : 'the function'} failed on node ${event.nodeId} (function_exec_failed on ${typeof event.data.trigger_subject === 'string' ? event.data.trigger_subject : 'its trigger'}): ${nodeError}`,
    );
  }
}

export interface TriggerOptions {
  /** How long to wait for the reply (default NODE_TRIGGER_TIMEOUT_MS). */
  timeoutMs?: number;
  /** The namespace whose function_exec_failed events tell that the function failed (default "default"). */
  namespace?: string;
  /** Only the failures of the workloads of this name count (default: any whose trigger matches the subject). */
  workloadName?: string;
}

/** Whether a function_exec_failed event is about a request on `subject` (to a workload named `name`, when given). */
function failureMatches(event: NexEvent, subject: string, name: string | undefined): boolean {
  const trigger = event.data.trigger_subject;
  const workload = event.data.workload_name;
  if (event.type !== 'function_exec_failed' || typeof trigger !== 'string' || !subjectMatches(trigger, subject)) {
    return false;
  }
  return name === undefined || (typeof workload === 'string' && workload.toLowerCase() === name.toLowerCase());
}

/**
 * Sends `payload` to a concrete subject as a request, as a client of a deployed function does, and
 * returns the reply. A 0.2/0.3 node sends no reply for a function that fails, but reports the failure
 * in its namespace's events: those are followed from before the request is sent, so the node's
 * failure ends the wait as soon as it arrives (FunctionFailedError, with the node's error text). A
 * Nex 0.4 function replies at once, with headers naming its workload and, when it failed, its
 * `error` (FunctionFailedError too). Says so clearly when no function is subscribed there, and what a
 * missing reply usually means.
 */
export async function triggerFunction(nc: NatsConnection, subject: string, payload: Uint8Array, options: TriggerOptions = {}): Promise<TriggerResult> {
  const problem = concreteSubjectProblem(subject);
  if (problem) {
    throw new Error(`subject "${subject}": ${problem}`);
  }
  const timeoutMs = options.timeoutMs ?? NODE_TRIGGER_TIMEOUT_MS;
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  let started = 0;
  let failed!: (e: FunctionFailedError) => void;
  const failure = new Promise<never>((_resolve, reject) => (failed = reject));
  failure.catch(() => undefined);
  const failures = nc.subscribe(eventSubject(namespace, 'function_exec_failed'), {
    callback: (err, msg) => {
      const event = err ? undefined : parseEvent(msg);
      if (event && failureMatches(event, subject, options.workloadName)) {
        failed(new FunctionFailedError(typeof event.data.error === 'string' ? event.data.error : JSON.stringify(event.data.error ?? null), event, performance.now() - started));
      }
    },
  });
  try {
    await nc.flush();
    started = performance.now();
    const request = nc.request(subject, payload, { timeout: timeoutMs });
    request.catch(() => undefined);
    let reply: Msg;
    try {
      reply = await Promise.race([request, failure]);
    } catch (e) {
      if (e instanceof FunctionFailedError) {
        throw e;
      }
      if (isNoResponders(e)) {
        throw new Error(`no function is subscribed to ${subject} on ${nc.getServer()}: no deployed workload has a trigger that matches it (deploy one, or check the namespace's workloads and their triggers)`);
      }
      if ((e as Error).name === 'TimeoutError' || /timeout/i.test((e as Error).message)) {
        if (timeoutMs >= NODE_TRIGGER_TIMEOUT_MS) {
          // The node gives up at the same time: its failure, if it reports one, is just behind.
          await Promise.race([failure, new Promise((resolve) => setTimeout(resolve, LATE_FAILURE_GRACE_MS))]);
        }
        throw new NoReplyError(
          `no reply on ${subject} within ${timeoutMs} ms, and no node reported the function failing (function_exec_failed in the namespace ${namespace}): a function that answers too late, or a node that does not report (another namespace), looks like this`,
        );
      }
      throw e;
    }
    const roundTripMs = performance.now() - started;
    const from04 = reply04(reply);
    if (from04?.error !== undefined) {
      throw failed04(subject, from04, options.workloadName, namespace, roundTripMs);
    }
    return { subject, reply: reply.data, size: reply.data.length, roundTripMs, ...(from04 ? { workloadId: from04.workloadId, ...(from04.namespace ? { namespace: from04.namespace } : {}) } : {}) };
  } finally {
    failures.unsubscribe();
  }
}

/** A 0.4 function's failure, from its reply's headers, as the event the nexlet publishes for it (FUNCTIONTRIGGERED) says it. */
function failed04(subject: string, reply: { workloadId: string; namespace?: string; error?: string }, name: string | undefined, namespace: string, afterMs: number): FunctionFailedError {
  const ns = reply.namespace ?? namespace;
  const error = reply.error || 'the function failed (its reply has an empty error header)';
  const event: NexEvent = {
    subject: feed04.event(ns, FUNCTION_TRIGGERED),
    namespace: ns,
    type: FUNCTION_TRIGGERED,
    source: reply.workloadId,
    nodeId: '',
    workloadId: reply.workloadId,
    data: { id: reply.workloadId, namespace: ns, subject, error },
    generation: '0.4',
    ...(name ? { workloadName: name } : {}),
    failed: true,
  };
  return new FunctionFailedError(error, event, afterMs);
}

/** The node version's profile: what a reply from it has been through (0.2 and 0.3 nodes JSON-stringify what a function returns). */
function nodeProfile(nodeVersion: string | undefined): '0.2' | '0.3' | undefined {
  return nodeVersion?.startsWith('0.2.') ? '0.2' : nodeVersion?.startsWith('0.3.') ? '0.3' : undefined;
}

/**
 * The fidelity hint a reply from a deployed function earns, as a local run gives it: a reply that
 * is a JSON object of indices {"0":104,"1":101,…} with byte values is what a 0.2/0.3 node makes of
 * a returned Uint8Array (reply-bytes). `nodeVersion` picks the wording when the node is known.
 */
export function remoteReplyHints(reply: Uint8Array, nodeVersion?: string): FidelityWarning[] {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(reply));
  } catch {
    return [];
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return [];
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const bytes = entries.every(([k, v], i) => k === String(i) && typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255);
  if (entries.length === 0 || !bytes) {
    return [];
  }
  const raw = new Uint8Array(entries.map(([, v]) => v as number));
  const text = tryDecodeUtf8(raw);
  const returned = text !== undefined && /^[\t\n\r\x20-\x7e\u00a0-\uffff]*$/.test(text) ? `the ${raw.length} bytes of ${JSON.stringify(text)}` : `${raw.length} bytes`;
  const json = new TextDecoder().decode(reply);
  const preview = json.length > 60 ? `${json.slice(0, 57)}…` : json;
  const profile = nodeProfile(nodeVersion);
  const hint = profile
    ? replyWarning(profile, 'bytes', preview)!
    : { code: 'reply-bytes', message: `a Nex 0.2/0.3 node JSON-stringifies the return value: the Uint8Array reached you as ${preview} (an object of indices), not raw bytes; return a string or an object to get the same reply everywhere` };
  return [{ code: hint.code, message: `the function probably returned a Uint8Array (${returned}): ${hint.message}` }];
}

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
export interface RecordedMessage {
  subject: string;
  payload: Uint8Array;
  headers?: Record<string, string>;
  /** Where the sender wanted the reply; absent for a plain publish. */
  replySubject?: string;
  reply?: Uint8Array;
}

export interface RecordOptions {
  /** Stop after this many messages. */
  count?: number;
  /** Stop after this many seconds. */
  seconds?: number;
  /**
   * Replies are captured by a subscription to `<prefix>.>` made before recording starts, so a reply
   * is seen however fast the function answers. Only requests whose reply subject is under this
   * prefix get their reply (default "_INBOX", what NATS clients use unless told otherwise).
   */
  replyPrefix?: string;
  /** After the last message, how long to wait for replies still due (default 2 s). */
  replyWaitMs?: number;
  /** Ends the recording early (Ctrl-C); what was recorded is kept. */
  until?: Promise<unknown>;
  /** Called once the server has the subscriptions: messages published from then on are recorded. */
  onReady?: () => void;
  onMessage?: (message: RecordedMessage) => void;
}

export interface Recording {
  messages: RecordedMessage[];
  /** Why replies could not be captured (e.g. no permission to subscribe to the inbox prefix); absent when they could. */
  replyCaptureProblem?: string;
}

/** A message's headers as a case writes them (the first value of each). */
function headerRecord(headers: MsgHdrs | undefined): Record<string, string> | undefined {
  const keys = headers?.keys() ?? [];
  return keys.length > 0 ? Object.fromEntries(keys.map((k) => [k, headers!.get(k)])) : undefined;
}

/** How many replies to keep while recording, so a busy inbox prefix cannot grow memory without end. */
const MAX_KEPT_REPLIES = 10000;

/**
 * Records the messages on `subject` (wildcards allowed) until `count` messages or `seconds` pass,
 * whichever comes first, or `until` resolves. Replies to recorded requests are captured through a
 * subscription to the inbox prefix made beforehand (see RecordOptions.replyPrefix); a reply sent
 * to another prefix is not captured.
 */
export async function recordSubject(nc: NatsConnection, subject: string, options: RecordOptions): Promise<Recording> {
  if (!options.count && !options.seconds) {
    throw new Error('say when recording ends: a message count, a number of seconds, or both');
  }
  const messages: RecordedMessage[] = [];
  const replies = new Map<string, Uint8Array>();
  let replyCaptureProblem: string | undefined;
  const prefix = options.replyPrefix ?? '_INBOX';
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const replySub = nc.subscribe(`${prefix}.>`, {
    callback: (err, msg) => {
      if (err) {
        replyCaptureProblem = `cannot subscribe to ${prefix}.> to see replies: ${err.message}`;
      } else if (!replies.has(msg.subject) && replies.size < MAX_KEPT_REPLIES) {
        replies.set(msg.subject, msg.data);
      }
    },
  });
  const sub = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) {
        finish();
        return;
      }
      const message: RecordedMessage = { subject: msg.subject, payload: msg.data, headers: headerRecord(msg.headers), ...(msg.reply ? { replySubject: msg.reply } : {}) };
      messages.push(message);
      options.onMessage?.(message);
      if (options.count && messages.length >= options.count) {
        finish();
      }
    },
  });
  await nc.flush();
  options.onReady?.();
  const timer = options.seconds ? setTimeout(finish, options.seconds * 1000) : undefined;
  void options.until?.then(finish, finish);
  await finished;
  clearTimeout(timer);
  sub.unsubscribe();
  await waitForReplies(messages, replies, options.replyWaitMs ?? 2000);
  replySub.unsubscribe();
  for (const message of messages) {
    const reply = message.replySubject && replies.get(message.replySubject);
    if (reply) {
      message.reply = reply;
    }
  }
  return { messages, ...(replyCaptureProblem ? { replyCaptureProblem } : {}) };
}

/** Waits until every recorded request has its reply, or `ms` pass. */
async function waitForReplies(messages: RecordedMessage[], replies: Map<string, Uint8Array>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && messages.some((m) => m.replySubject && !replies.has(m.replySubject))) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
