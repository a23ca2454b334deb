/**
 * Runs trigger cases with the same engine as every other run, and checks their expectations.
 * Each case gets fresh host-service mocks: the function's mocks file, then the case's own mocks.
 * A case can also run against a deployed instance: its payload goes as a request on its subject
 * and the same checks apply to what comes back, as far as a node lets them be seen.
 */
import { isDeepStrictEqual } from 'util';
import * as path from 'path';
import type { NatsConnection } from '@nats-io/nats-core';
import { deployNamespace, ValidFunction } from '../core/manifest';
import { tryDecodeUtf8 } from '../core/bytes';
import { decodeValue } from '../core/valueCodec';
import { FunctionExecutor } from '../executor/executor';
import { FunctionRunResult, freshMocks, LimitSources, runFunction, RunSink } from '../run/functionRun';
import { MockHostServices } from '../hostservices/mockBackend';
import { findWorkloads } from '../deploy/stopWorkloads';
import { FunctionFailedError, NODE_TRIGGER_TIMEOUT_MS, NoReplyError, remoteReplyHints, triggerFunction } from '../deploy/triggerFunction';
import { type RunningWorkload } from '../deploy/runningWorkload';
import { findWorkloads04 } from '../deploy/feeds04';
import type { DeployedTriggers } from '../explorer/deployedModel';
import { whichHandles } from '../explorer/subjectRouting';
import type { NexControlClient } from '../nex/controlClient';
import type { FunctionError, FunctionLogLine } from '../executor/types';
import type { HostCallRecord } from '../hostservices/types';
import { CaseExpectation, TriggerCase } from './triggerCases';

/** A skipped case did not run (e.g. its function is not deployed): it neither passes nor fails. */
export type CaseStatus = 'passed' | 'failed' | 'skipped';

export interface CaseResult {
  case: TriggerCase;
  status: CaseStatus;
  /** Why it failed, one line each. */
  failures: string[];
  /** For a failed comparison: what was expected and what came, as text (for diffs). */
  expected?: string;
  actual?: string;
  /** Soft problems (e.g. over maxMs): they do not fail the case. */
  warnings: string[];
  /** Why a skipped case did not run. */
  skipReason?: string;
  run?: FunctionRunResult;
  /** For a case run against a deployed instance: what the node sent back. */
  remote?: RemoteCaseRun;
  durationMs: number;
}

/** A request a case sent to a deployed instance, and its answer. */
export interface RemoteCaseRun {
  /** The NATS server the request went through. */
  server: string;
  subject: string;
  /** The reply; null when none came (the function failed, or nothing came within the timeout). */
  reply: Uint8Array | null;
  /** The node's error text when it reported the function failing (function_exec_failed), verbatim. */
  error?: string;
  /** From sending the request to the reply (or to giving up). */
  roundTripMs: number;
}

export interface CaseRunOptions {
  limits?: LimitSources;
  signal?: AbortSignal;
  /** Build a WebAssembly function first when needed (default true); a failed build throws BuildFailedError. */
  build?: boolean;
  sink?: RunSink;
}

/**
 * Runs one case through the run pipeline and checks its expectations. A build failure is thrown
 * (BuildFailedError: it concerns the function, not the case); anything else that keeps the case
 * from running (unreadable payload file, broken mocks) fails the case with the reason.
 */
export async function runTriggerCase(executor: FunctionExecutor, fn: ValidFunction, tc: TriggerCase, options: CaseRunOptions = {}): Promise<CaseResult> {
  const started = performance.now();
  const failures: string[] = [];
  const warnings: string[] = [];
  let mock: MockHostServices | undefined;
  let run: FunctionRunResult;
  try {
    const payload = decodeValue(tc.payload, { where: `${path.basename(tc.file)}: case "${tc.name}" payload`, baseDir: path.dirname(tc.file) });
    if (fn.manifest.type === 'v8') {
      mock = freshMocks(fn, { extra: tc.mocks, extraSource: `${path.basename(tc.file)}: case "${tc.name}" mocks` });
    }
    run = await runFunction(executor, fn, { subject: tc.subject, payload, limits: options.limits, hostServices: mock, build: options.build, signal: options.signal }, options.sink);
  } catch (e) {
    if ((e as Error).name === 'BuildFailedError') {
      throw e;
    }
    return { case: tc, status: 'failed', failures: [(e as Error).message], warnings, durationMs: performance.now() - started };
  }
  const result: CaseResult = { case: tc, status: 'passed', failures, warnings, run, durationMs: performance.now() - started };
  const o = run.outcome;
  check(tc.expect ?? {}, { reply: o.reply, error: o.error, logs: o.logs, hostCalls: o.hostCalls, mock, durationMs: o.durationMs }, result);
  result.status = failures.length > 0 ? 'failed' : 'passed';
  return result;
}

export interface RemoteCaseOptions {
  /** How long to wait for the reply (default NODE_TRIGGER_TIMEOUT_MS, what a node waits for a function). */
  timeoutMs?: number;
  /** Stops waiting: the run then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Where the function is deployed: its function_exec_failed events end the wait (default "default"). */
  namespace?: string;
  /** The function's (manifest) name: only its workloads' failures count (default: any whose trigger matches). */
  workloadName?: string;
  /** The Nex version of the node it runs on, for the fidelity hints on its reply. */
  nodeVersion?: string;
}

/** `promise`, or the signal's reason as soon as it aborts (the promise is left to settle on its own). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) {
    return promise;
  }
  promise.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Runs one case against a deployed instance: sends its payload as a request on its subject over
 * `nc` (triggerFunction) and checks the case's expectations on what comes back. A node sends no
 * reply for a failing function but reports the failure (function_exec_failed): the case ends as
 * soon as that event arrives, and an error expectation is checked against the node's error text.
 * Without either within the timeout, an error expectation passes (its message cannot be seen).
 * Logs, host calls and KV state cannot be seen from outside and are reported as skipped warnings,
 * as are the case's mocks (a node uses its real host services). Nobody subscribed to the subject,
 * or an unreadable payload, fails the case. A reply that is a byte array as a 0.2/0.3 node
 * JSON-stringifies it gets the fidelity hint a local run gives.
 */
export async function runTriggerCaseRemote(nc: NatsConnection, tc: TriggerCase, options: RemoteCaseOptions = {}): Promise<CaseResult> {
  const started = performance.now();
  const failures: string[] = [];
  const warnings: string[] = [];
  const timeoutMs = options.timeoutMs ?? NODE_TRIGGER_TIMEOUT_MS;
  options.signal?.throwIfAborted();
  let reply: Uint8Array | null;
  let nodeFailure: FunctionFailedError | undefined;
  try {
    const payload = decodeValue(tc.payload, { where: `${path.basename(tc.file)}: case "${tc.name}" payload`, baseDir: path.dirname(tc.file) });
    reply = (await abortable(triggerFunction(nc, tc.subject, payload, { timeoutMs, namespace: options.namespace, workloadName: options.workloadName }), options.signal)).reply;
  } catch (e) {
    if (options.signal?.aborted) {
      throw e;
    }
    if (e instanceof FunctionFailedError) {
      nodeFailure = e;
    } else if (!(e instanceof NoReplyError)) {
      return { case: tc, status: 'failed', failures: [(e as Error).message], warnings, durationMs: performance.now() - started };
    }
    reply = null;
  }
  const durationMs = performance.now() - started;
  const result: CaseResult = {
    case: tc,
    status: 'passed',
    failures,
    warnings,
    remote: { server: nc.getServer(), subject: tc.subject, reply, ...(nodeFailure ? { error: nodeFailure.nodeError } : {}), roundTripMs: durationMs },
    durationMs,
  };
  if (tc.mocks) {
    warnings.push("the case's mocks do not apply to a deployed function: it uses the node's real host services");
  }
  check(tc.expect ?? {}, { reply, durationMs, remote: { timeoutMs, failure: nodeFailure } }, result);
  if (reply) {
    warnings.push(...remoteReplyHints(reply, options.nodeVersion).map((h) => h.message));
  }
  result.status = failures.length > 0 ? 'failed' : 'passed';
  return result;
}

/** A case that did not run, and why. */
export function skippedCase(tc: TriggerCase, reason: string): CaseResult {
  return { case: tc, status: 'skipped', skipReason: reason, failures: [], warnings: [], durationMs: 0 };
}

/**
 * Where a function's remote cases can run: its own deployed workloads, named as its manifest says,
 * in `namespace` (WPING by name, on 0.2/0.3 nodes and on Nex 0.4 nodes alike). Undefined with the
 * reason to skip its cases when none runs.
 */
export async function deployedTarget(client: NexControlClient, fn: ValidFunction, namespace: string = deployNamespace(fn)): Promise<{ workloads: RunningWorkload[] } | { skip: string }> {
  const name = fn.manifest.name;
  const found = await Promise.all([findWorkloads(client, namespace, name), findWorkloads04(client.nc, namespace, name, { inboxPrefix: client.inboxPrefix })]);
  const workloads = found.flat().filter((w) => w.name.toLowerCase() === name.toLowerCase());
  return workloads.length > 0 ? { workloads } : { skip: `not deployed in namespace ${namespace}: no node runs a workload named ${name} there` };
}

/** Where a function's remote case runs (its namespace, and its node's version for the reply's hints), or why it is skipped. */
export type RemoteCaseTarget = { namespace: string; nodeVersion?: string } | { skip: string };

/**
 * Decides, for `nexfn test --remote` and the Test Explorer's Run on Node alike, where each remote
 * case runs: only against its function's own deployed workloads (looked up once per function), and
 * not when another deployed workload also serves the case's subject (sharedSubjectSkip).
 */
export class RemoteCaseTargets {
  private readonly found = new Map<string, ReturnType<typeof deployedTarget>>();

  constructor(
    private readonly client: NexControlClient,
    /** The namespace a function's cases look in. */
    private readonly namespaceOf: (fn: ValidFunction) => string,
    /** The workloads deployed in a namespace, with the triggers they were deployed with. */
    private readonly deployedIn: (namespace: string) => Promise<readonly DeployedTriggers[]>,
  ) {}

  async of(fn: ValidFunction, subject: string): Promise<RemoteCaseTarget> {
    const namespace = this.namespaceOf(fn);
    let found = this.found.get(fn.dir);
    if (!found) {
      found = deployedTarget(this.client, fn, namespace);
      this.found.set(fn.dir, found);
    }
    const target = await found;
    if ('skip' in target) {
      return target;
    }
    const shared = sharedSubjectSkip(subject, fn.manifest.name, await this.deployedIn(namespace));
    return shared ? { skip: shared } : { namespace, nodeVersion: target.workloads[0].nodeVersion };
  }
}

/**
 * Why a remote case on `subject` cannot tell its function's answer apart: another deployed workload
 * (of another name) subscribes to it too, with the triggers it was deployed with, so its reply could
 * be the one that arrives first. Undefined when only the function's own workloads serve it.
 */
export function sharedSubjectSkip(subject: string, functionName: string, deployed: readonly DeployedTriggers[]): string | undefined {
  const others = whichHandles(subject, deployed, []).deployed.filter((h) => h.fn.name.toLowerCase() !== functionName.toLowerCase());
  if (others.length === 0) {
    return undefined;
  }
  const names = [...new Set(others.map((h) => `${h.fn.name} (via ${h.trigger} on ${h.fn.nodeName ?? h.fn.node})`))];
  return `another deployed workload also serves ${subject}: ${names.join(', ')}; its reply could be the one that arrives, so the case would not test ${functionName}`;
}

/**
 * What the checks see of a run: a local run's outcome, or what a deployed instance sent back
 * (`remote`), where logs, host calls and mocks are not there to see.
 */
interface Observed {
  /** The reply bytes; null when none came. */
  reply: Uint8Array | null;
  /** The function's error (a local run only: a node sends nothing for a failing function). */
  error?: FunctionError;
  logs?: readonly FunctionLogLine[];
  hostCalls?: readonly HostCallRecord[];
  mock?: MockHostServices;
  durationMs: number;
  /** Set for a deployed instance: no reply means the node reported `failure`, or none came within `timeoutMs`. */
  remote?: { timeoutMs: number; failure?: FunctionFailedError };
}

function check(expect: CaseExpectation, o: Observed, result: CaseResult): void {
  const { failures } = result;
  const compare = (expected: string, actual: string, message: string) => {
    failures.push(message);
    result.expected ??= expected;
    result.actual ??= actual;
  };
  const who = o.remote ? 'the deployed function' : 'the function';
  const waited = o.remote ? ` within ${o.remote.timeoutMs} ms` : '';
  const skipped = (what: string, why: string) => result.warnings.push(`expect.${what} skipped on a deployed function: ${why}`);
  if (o.error) {
    if (expect.error !== undefined) {
      if (!new RegExp(expect.error).test(o.error.message)) {
        compare(expect.error, o.error.message, `the error does not match /${expect.error}/: ${o.error.message}`);
      }
    } else {
      failures.push(`the function failed: ${o.error.message}${o.error.line ? ` (line ${o.error.line})` : ''}`);
    }
    return;
  }
  const failure = o.remote?.failure;
  if (failure) {
    // The node said the function failed (function_exec_failed), in its own words: checked as a local error is.
    if (expect.error !== undefined) {
      if (!new RegExp(expect.error).test(failure.nodeError)) {
        compare(expect.error, failure.nodeError, `the node's error does not match /${expect.error}/: ${failure.nodeError}`);
      }
    } else if (expect.noReply === true) {
      result.warnings.push(`no reply, as expected: the node sends none because it reports the function failing: ${failure.nodeError}`);
    } else if (expect.reply !== undefined) {
      const spec = expect.reply;
      compare(typeof spec === 'string' ? spec : JSON.stringify(spec), '(no reply)', `expected a reply, but the node reported the function failing: ${failure.message}`);
    } else {
      failures.push(`the node reported the function failing: ${failure.message}`);
    }
    return;
  }
  // A node sends no reply for a failing function: on a node, silence is what an error looks like.
  const silent = o.remote !== undefined && o.reply === null;
  if (expect.error !== undefined) {
    if (silent) {
      result.warnings.push(`expect.error passed on no reply${waited}, as a node sends none for a failing function; no node reported the failure, so /${expect.error}/ is checked only locally`);
    } else {
      failures.push(`expected an error matching /${expect.error}/, but ${who} ${o.reply === null ? 'sent no reply' : 'replied'}`);
    }
  } else if (silent && expect.noReply === undefined && expect.reply === undefined) {
    result.warnings.push(`no reply came${waited}: a node sends none when the function fails, nor when it has nothing to say, so this case cannot tell them apart`);
  }
  const replyText = o.reply === null ? undefined : tryDecodeUtf8(o.reply);
  const shownReply = o.reply === null ? '(no reply)' : (replyText ?? `(${o.reply.length} binary bytes) ${Buffer.from(o.reply).toString('base64')}`);
  if (expect.noReply === true && o.reply !== null) {
    compare('(no reply)', shownReply, `expected no reply, but ${who} replied`);
  }
  if (expect.noReply === false && o.reply === null) {
    failures.push(`expected a reply, but ${who} sent none${waited}`);
  }
  const spec = expect.reply;
  if (spec !== undefined) {
    if (o.reply === null) {
      compare(typeof spec === 'string' ? spec : JSON.stringify(spec), '(no reply)', `expected a reply, but ${who} sent none${waited}${silent ? ' (a node sends none when the function fails: see its logs and function_exec_failed events)' : ''}`);
    } else if (typeof spec === 'string') {
      if (replyText !== spec) {
        compare(spec, shownReply, 'the reply differs from the expected text');
      }
    } else if ('json' in spec) {
      let actual: unknown;
      try {
        actual = JSON.parse(replyText ?? '');
      } catch {
        compare(JSON.stringify(spec.json, null, 2), shownReply, 'the reply is not JSON');
        actual = undefined;
      }
      if (actual !== undefined && !isDeepStrictEqual(actual, spec.json)) {
        compare(JSON.stringify(spec.json, null, 2), JSON.stringify(actual, null, 2), 'the reply JSON differs from the expected JSON');
      }
    } else if ('base64' in spec) {
      const actual = Buffer.from(o.reply).toString('base64');
      if (actual !== spec.base64) {
        compare(spec.base64, actual, 'the reply bytes differ (base64)');
      }
    } else if (!new RegExp(spec.regex).test(replyText ?? '')) {
      compare(`/${spec.regex}/`, shownReply, `the reply does not match /${spec.regex}/`);
    }
  }
  const logs = o.logs ?? [];
  if (!o.logs && expect.logs?.length) {
    skipped('logs', 'its log lines cannot be tied to one request from outside the node');
  }
  for (const pattern of o.logs ? (expect.logs ?? []) : []) {
    const re = new RegExp(pattern);
    if (!logs.some((l) => re.test(l.text))) {
      failures.push(`no log line matches /${pattern}/ (${logs.length} lines${logs.length ? `: ${logs.map((l) => JSON.stringify(l.text)).join(', ')}` : ''})`);
    }
  }
  const hostCalls = o.hostCalls ?? [];
  if (!o.hostCalls && expect.hostCalls?.length) {
    skipped('hostCalls', 'a node does not report the host calls a function makes');
  }
  for (const call of o.hostCalls ? (expect.hostCalls ?? []) : []) {
    const found = hostCalls.some(
      (c) => c.service === call.service && c.method === call.method && (call.subject === undefined || c.args.subject === call.subject) && (call.key === undefined || c.args.key === call.key),
    );
    if (!found) {
      const made = hostCalls.map((c) => `${c.service}.${c.method}(${Object.entries(c.args).filter(([k]) => k !== 'value' && k !== 'bucket').map(([k, v]) => `${k}=${v}`).join(' ')})`);
      failures.push(`expected a host call ${call.service}.${call.method}${call.subject ? ` on "${call.subject}"` : ''}${call.key ? ` for key "${call.key}"` : ''}; calls made: ${made.join(', ') || 'none'}`);
    }
  }
  const mock = o.mock;
  if (expect.kv && o.remote) {
    skipped('kv', "it uses the node's real buckets, which a case does not read");
  }
  if (expect.kv && mock) {
    const bucket = mock.kv.get(mock.defaultKvBucket);
    for (const [key, value] of Object.entries(expect.kv)) {
      const entry = bucket?.get(key);
      if (value === null) {
        if (entry) {
          failures.push(`expected key "${key}" to be absent after the run, but it holds ${JSON.stringify(tryDecodeUtf8(entry.value) ?? '(binary)')}`);
        }
        continue;
      }
      const expected = decodeValue(value, { where: `expect.kv "${key}"` });
      if (!entry) {
        failures.push(`expected key "${key}" after the run, but it does not exist`);
      } else if (Buffer.compare(Buffer.from(entry.value), Buffer.from(expected)) !== 0) {
        compare(tryDecodeUtf8(expected) ?? '(binary)', tryDecodeUtf8(entry.value) ?? '(binary)', `key "${key}" holds another value after the run`);
      }
    }
  }
  if (expect.maxMs !== undefined && !silent && o.durationMs > expect.maxMs) {
    result.warnings.push(`took ${o.durationMs.toFixed(1)} ms${o.remote ? ' (the round trip)' : ''}, over maxMs ${expect.maxMs}`);
  }
}
