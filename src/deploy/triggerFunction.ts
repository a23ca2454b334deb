/**
 * Triggering a deployed function from here: a request on a concrete subject, with the node's or the
 * nexlet's failure ending the wait as soon as it is reported, and hints about a reply a node changed.
 */
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { tryDecodeUtf8 } from '../core/bytes';
import { concreteSubjectProblem, DEFAULT_NAMESPACE, subjectMatches } from '../core/subject';
import { type FidelityWarning, replyWarning } from '../executor/fidelity';
import { eventSubject, type NexEvent, parseEvent } from '../nex/events';
import { feed04 } from '../nex04/subjects';
import { FUNCTION_TRIGGERED, reply04 } from './feeds04';

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
