/**
 * What runs a function: the QuickJS worker (WorkerExecutor), the V8 child process
 * (V8ProcessExecutor), or a debug session (the VS Code layer). The run pipeline takes any of them.
 */
import { plural } from '../core/bytes';
import { DEFAULT_COMPAT } from '../core/compat';
import { concreteSubjectProblem } from '../core/subject';
import { HostCall, HostResult, HostServicesBackend } from '../hostservices/types';
import { FunctionError, JsRunRequest, RunOutcome, RunRequest } from './types';

export interface RunOptions {
  signal?: AbortSignal;
  /** Serves the function's host-service calls; without one, every call fails as "No such host service". */
  hostServices?: HostServicesBackend;
}

export interface FunctionExecutor {
  run(request: RunRequest, options?: RunOptions): Promise<RunOutcome>;
}

/** An outcome for a run that failed before or outside the function. */
export function failed(request: Pick<RunRequest, 'profile'>, error: FunctionError): RunOutcome {
  return { ok: false, reply: null, logs: [], durationMs: 0, error, profile: request.profile ?? DEFAULT_COMPAT, hostCalls: [], warnings: [] };
}

/** What a host-service call gets when the run has no backend: the answer of a node without that service. */
export function noHostService(call: HostCall): HostResult {
  return { ok: false, code: 404, reason: 'unavailable', message: `No such host service: ${call.service}` };
}

/** The backend's answer to a host-service call the function made from its worker or process; a backend that throws fails the call. */
export function answerHostCall(backend: HostServicesBackend | undefined, call: HostCall): Promise<HostResult> {
  return backend ? backend.call(call).catch((e: Error) => ({ ok: false, code: 500, reason: 'error', message: e.message }) as HostResult) : Promise.resolve(noHostService(call));
}

/** The outcome of a run cancelled by its caller. */
export function cancelled(request: Pick<RunRequest, 'profile'>): RunOutcome {
  return failed(request, { kind: 'cancelled', message: 'the run was cancelled' });
}

/** A run-start check: the run refused, or the request it may go on with. */
export type RunStart<R extends RunRequest> = { refused: RunOutcome; request?: undefined } | { refused?: undefined; request: R };

/**
 * The check every executor (the worker, the V8 process, a debug session) makes before a run
 * starts: a WebAssembly function where only JavaScript runs (refused with `wasmRefusal`), a subject
 * that is not concrete, a payload over the limit, a run cancelled before it began.
 */
export function checkRunStart(request: RunRequest, options: RunOptions): RunStart<RunRequest>;
export function checkRunStart(request: RunRequest, options: RunOptions, wasmRefusal: string): RunStart<JsRunRequest>;
export function checkRunStart(request: RunRequest, options: RunOptions, wasmRefusal?: string): RunStart<RunRequest> {
  if (request.kind === 'wasm' && wasmRefusal !== undefined) {
    return { refused: failed(request, { kind: 'invalidInput', message: wasmRefusal }) };
  }
  const subjectProblem = concreteSubjectProblem(request.subject);
  if (subjectProblem) {
    return { refused: failed(request, { kind: 'invalidInput', message: `invalid trigger subject "${request.subject}": ${subjectProblem}` }) };
  }
  if (request.payload.length > request.limits.maxPayloadBytes) {
    return {
      refused: failed(request, {
        kind: 'invalidInput',
        message: `the payload is ${plural(request.payload.length, 'byte')}, over the limit of ${plural(request.limits.maxPayloadBytes, 'byte')} (NATS refuses messages over its max_payload, 1 MiB by default)`,
      }),
    };
  }
  if (options.signal?.aborted) {
    return { refused: cancelled(request) };
  }
  return { request };
}
