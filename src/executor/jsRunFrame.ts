/**
 * The frame of one JavaScript function run, the same on both engines (QuickJS in the worker,
 * quickjsEngine.ts; V8 in a child process, v8Engine.ts): the profile's source-size rule, the run's
 * deadline and host-service context, the console lines, host calls and fidelity hints it collects,
 * the order of its steps (evaluate the script, check that it ends in a function, call it, turn its
 * return value into reply bytes per profile), and the errors a user sees for each way it can fail.
 * An engine supplies only what it does differently: how it evaluates, calls and reads values, how
 * it describes what was thrown, and what it cleans up.
 */
import { utf8 } from '../core/bytes';
import { CompatProfile, DEFAULT_COMPAT, NODE_JS_SOURCE_LIMIT } from '../core/compat';
import { HostCallRecord } from '../hostservices/types';
import { noHostService } from './executor';
import { apiMismatchHint, CONSOLE_DISCARDED, FidelityWarning, functionStartLine, ReplyKind, replyWarning, sourceSizeWarning } from './fidelity';
import { HostApiContext, SyncHostCaller } from './hostCalls';
import { locate } from './stackFrames';
import { FunctionError, FunctionLogLine, JsRunRequest, LogLevel, RunOutcome } from './types';
import { DEFAULT_NAMESPACE } from '../core/subject';

const MAX_LOG_LINES = 5000;
const MAX_LOG_LINE_CHARS = 10000;

export interface JsRunContext {
  /** Serves host-service calls; without one, every call fails as a node without that service. */
  host?: SyncHostCaller;
  /** The run's deadline (Date.now() ms), when the caller's host calls use one: the run and its calls then end together. */
  deadline?: number;
}

/** A step that failed: the error, and the message of what the function threw when it may be a host API of another profile. */
export interface StepFailure {
  error: FunctionError;
  thrownMessage?: string;
}

/** What an engine does in one run, step by step; the frame decides what follows each step. */
export interface JsEngineRun<F> {
  /** Compiles and evaluates the script: its completion value and what kind of value it is ('null' for null, else typeof). */
  evaluate(): { fn: F; type: string } | StepFailure;
  /** Calls the function with the request's subject and payload: its reply (see convertReply), or what went wrong. */
  call(fn: F): { reply: ConvertedReply } | StepFailure;
  /** An error the engine itself threw during a step, as the run's error; without this, such an error propagates. */
  internalError?(e: unknown): FunctionError;
  /** Ends the run, whatever happened; `completed` when the function ran to a reply (or, checking only, was found). */
  close(completed: boolean): void;
}

/** One run's collected state and the outcome it makes. */
export class JsRunFrame {
  readonly profile: CompatProfile;
  readonly logs: FunctionLogLine[] = [];
  readonly hostCalls: HostCallRecord[] = [];
  readonly warnings: FidelityWarning[] = [];
  /** What the host API of either engine needs of the run. */
  readonly host: HostApiContext;
  /** The run's deadline (Date.now() ms), set once the run starts. */
  deadline = 0;
  private readonly started = performance.now();

  constructor(
    readonly req: JsRunRequest,
    readonly runCtx: JsRunContext,
  ) {
    this.profile = req.profile ?? DEFAULT_COMPAT;
    this.host = {
      profile: this.profile,
      namespace: req.namespace ?? DEFAULT_NAMESPACE,
      workload: req.workload ?? 'function',
      fileName: req.fileName,
      caller: runCtx.host ?? noHostService,
      calls: this.hostCalls,
      warn: this.warn,
    };
  }

  /** Adds a hint, once per code. */
  readonly warn = (code: string, message: string, line?: number): void => {
    if (!this.warnings.some((w) => w.code === code)) {
      this.warnings.push({ code, message, line });
    }
  };

  /** Records a console line, up to the run's limit of lines and characters; a `text` to make is made only for a line that is kept. */
  readonly log = (level: LogLevel, text: string | (() => string)): void => {
    if (this.logs.length === MAX_LOG_LINES) {
      this.logs.push({ level: 'warn', text: `more than ${MAX_LOG_LINES} console lines: the rest of this run's output is dropped` });
    }
    if (this.logs.length > MAX_LOG_LINES) {
      return;
    }
    const line = typeof text === 'string' ? text : text();
    this.logs.push({ level, text: line.length > MAX_LOG_LINE_CHARS ? `${line.slice(0, MAX_LOG_LINE_CHARS)}… (${line.length} chars)` : line });
  };

  /** The run's outcome. */
  done(reply: Uint8Array | null, error?: FunctionError, replyKind?: ReplyKind): RunOutcome {
    if (this.logs.length > 0 && this.profile !== 'docs') {
      this.warn(CONSOLE_DISCARDED.code, CONSOLE_DISCARDED.message);
    }
    return { ok: !error, reply: error ? null : reply, logs: this.logs, durationMs: performance.now() - this.started, error, profile: this.profile, replyKind, hostCalls: this.hostCalls, warnings: this.warnings };
  }

  /** The outcome of a failed step, with the hint for a host API of another profile. */
  failed(failure: StepFailure): RunOutcome {
    const mismatch = failure.thrownMessage === undefined ? undefined : apiMismatchHint(this.profile, failure.thrownMessage);
    if (mismatch) {
      this.warn('api-mismatch', mismatch, failure.error.line);
    }
    return this.done(null, failure.error);
  }

  /** The outcome of a function that returned, with the hints its reply calls for. */
  replied(reply: ConvertedReply): RunOutcome {
    const hint = replyWarning(this.profile, reply.kind, reply.preview);
    if (hint) {
      this.warn(hint.code, hint.message, functionStartLine(this.req.source));
    }
    if (reply.kind === 'unserializable') {
      this.logs.push({ level: 'warn', text: `the function returned a ${reply.preview}, which has no JSON form: no reply is sent` });
    }
    return this.done(reply.bytes, undefined, reply.kind);
  }

  /** The line of the host call that failed with `thrown`: host services throw plain strings, without a stack. */
  hostCallLine(thrown: string | undefined): number | undefined {
    return [...this.hostCalls].reverse().find((c) => !c.ok && c.result.endsWith(`throws ${JSON.stringify(thrown)}`))?.line;
  }
}

/**
 * Runs one JavaScript function: the frame's steps around the engine's. `open` prepares the engine
 * for the run (after the source passed the profile's size rule, with the deadline set).
 */
export function runJs<F>(req: JsRunRequest, runCtx: JsRunContext, open: (frame: JsRunFrame) => JsEngineRun<F>): RunOutcome {
  const frame = new JsRunFrame(req, runCtx);
  const sourceBytes = Buffer.byteLength(req.source, 'utf8');
  if (frame.profile !== 'docs' && sourceBytes > NODE_JS_SOURCE_LIMIT) {
    return frame.done(null, {
      kind: 'invalidInput',
      message: `the source is ${sourceBytes} bytes, over the ${NODE_JS_SOURCE_LIMIT}-byte limit of Nex nodes: a ${frame.profile} node refuses to deploy it`,
    });
  }
  const sizeHint = sourceSizeWarning(frame.profile, sourceBytes);
  if (sizeHint) {
    frame.warn(sizeHint.code, sizeHint.message, 1);
  }
  frame.deadline = runCtx.deadline ?? Date.now() + req.limits.timeoutMs;

  const run = open(frame);
  let completed = false;
  try {
    const evaluated = run.evaluate();
    if ('error' in evaluated) {
      return frame.failed(evaluated);
    }
    if (evaluated.type !== 'function') {
      return frame.done(null, {
        kind: 'notAFunction',
        message: `the script's last expression must be a function (subject, payload) => reply, but it evaluated to ${evaluated.type}. End the file with the function, e.g. "(subject, payload) => payload;", and do not use export or an IIFE bundle`,
      });
    }
    if (req.checkOnly) {
      completed = true;
      return frame.done(null);
    }
    const called = run.call(evaluated.fn);
    if ('error' in called) {
      return frame.failed(called);
    }
    completed = true;
    return frame.replied(called.reply);
  } catch (e) {
    if (!run.internalError) {
      throw e;
    }
    return frame.done(null, run.internalError(e));
  } finally {
    run.close(completed);
  }
}

export interface ConvertedReply {
  kind: ReplyKind;
  bytes: Uint8Array | null;
  preview: string;
}

/** What the function returned, as an engine reads it. */
export interface ReturnedValue {
  kind: Exclude<ReplyKind, 'unserializable'>;
  /** typeof the value: named when it has no JSON form. */
  type: string;
  /** JSON.stringify(value), made in the function's own realm (undefined when that gives no text); read only where `needsJson`. */
  json: string | undefined;
  /** The text of a string. */
  text(): string;
  /** The bytes of a byte value. */
  bytes(): Uint8Array;
}

/** Whether the reply of a value of `kind` is made from its JSON text: always on a node, for objects under the documented contract. */
export function needsJson(profile: CompatProfile, kind: ReturnedValue['kind']): boolean {
  return profile !== 'docs' || kind === 'json';
}

/**
 * Turns the function's return value into reply bytes, per profile: nodes send
 * JSON.stringify(value); the documented contract sends bytes as-is, strings as UTF-8 and nothing
 * for undefined/null.
 */
export function convertReply(profile: CompatProfile, value: ReturnedValue): ConvertedReply {
  const { kind, json } = value;
  if (profile !== 'docs') {
    const text = json ?? (kind === 'undefined' ? 'undefined' : undefined);
    return { kind, bytes: text === undefined ? null : utf8(text), preview: json ?? String(text) };
  }
  switch (kind) {
    case 'undefined':
    case 'null':
      return { kind, bytes: null, preview: kind };
    case 'string': {
      const text = value.text();
      return { kind, bytes: utf8(text), preview: JSON.stringify(text) };
    }
    case 'bytes': {
      const bytes = value.bytes();
      const head = [...bytes.subarray(0, 4)].map((b, i) => `"${i}":${b}`).join(',');
      return { kind, bytes, preview: `{${head}${bytes.length > 4 ? ',…' : ''}}` };
    }
    default:
      return json === undefined ? { kind: 'unserializable', bytes: null, preview: value.type } : { kind, bytes: utf8(json), preview: json };
  }
}

/** A run stopped at its time limit inside the engine. */
export function timedOut(req: JsRunRequest): FunctionError {
  return { kind: 'timeout', message: `the function did not finish within ${req.limits.timeoutMs} ms and was stopped (an endless loop?)` };
}

export function outOfMemory(req: JsRunRequest): FunctionError {
  return { kind: 'memory', message: `the function ran out of memory (limit ${Math.round(req.limits.memoryLimitBytes / 1048576)} MiB)` };
}

/** An error object the function threw, located by the first frame of its stack in the user's file. */
export function thrownError(name: string, message: string, stack: string | undefined, fileName: string): FunctionError {
  return { kind: 'exception', name, message: `${name}: ${message}`, ...locate(stack, fileName), stack };
}
