/**
 * What runs a function: the QuickJS worker (FunctionRunner), the V8 child process
 * (V8ProcessRunner), or a debug session (the VS Code layer). The run pipeline takes any of them.
 */
import { plural } from '../core/bytes';
import { DEFAULT_COMPAT } from '../core/compat';
import { concreteSubjectProblem } from '../core/subject';
import { HostServicesBackend } from '../hostservices/types';
import { FunctionError, RunOutcome, RunRequest } from './types';

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

/** A request refused before it reaches any engine (a subject that is not concrete, a payload over the limit). */
export function checkRequest(request: RunRequest): RunOutcome | undefined {
  const subjectProblem = concreteSubjectProblem(request.subject);
  if (subjectProblem) {
    return failed(request, { kind: 'invalidInput', message: `invalid trigger subject "${request.subject}": ${subjectProblem}` });
  }
  if (request.payload.length > request.limits.maxPayloadBytes) {
    return failed(request, {
      kind: 'invalidInput',
      message: `the payload is ${plural(request.payload.length, 'byte')}, over the limit of ${plural(request.limits.maxPayloadBytes, 'byte')} (NATS refuses messages over its max_payload, 1 MiB by default)`,
    });
  }
  return undefined;
}
