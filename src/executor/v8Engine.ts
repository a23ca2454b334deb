/**
 * Runs one JavaScript Nex function on V8 (Node's `vm`), in-process: the engine a real node uses
 * (v8go), and the one the debugger can stop in. The function gets what it gets on QuickJS under the
 * same profile: a fresh context per run with the language's built-ins only (no `require`,
 * `process`, timers, `TextEncoder` or `fetch`), the payload as a Uint8Array of its own realm, the
 * profile's host-service API (served synchronously through `host`), and its return value turned
 * into reply bytes by the same rules. The script is compiled under the user's file name, so
 * breakpoints and stack frames map to the real file, line and column.
 *
 * Nothing here knows about processes: the child-process runner (v8Runner.ts) calls it.
 */
import { types as utilTypes } from 'util';
import * as vm from 'vm';
import { utf8 } from '../core/bytes';
import { CompatProfile, defaultBucket, DEFAULT_COMPAT, NODE_JS_SOURCE_LIMIT } from '../core/compat';
import { HostCallRecord, HostServiceName, HTTP_METHODS } from '../hostservices/types';
import { apiMismatchHint, CONSOLE_DISCARDED, FidelityWarning, functionStartLine, ReplyKind, replyWarning, sourceSizeWarning } from './fidelity';
import { CallOutcome, HostApiContext, performCall, SyncHostCaller } from './hostCalls';
import { collapseStack, locate } from './stackFrames';
import { FunctionError, FunctionLogLine, JsRunRequest, LogLevel, RunOutcome } from './types';

const MAX_LOG_LINES = 5000;
const MAX_LOG_LINE_CHARS = 10000;
/** The file name of the one-line script that calls the function (so the call runs under the time limit). */
const INVOKE_FILE = '<nex-invoke>';
const INVOKE_GLOBAL = '__nexInvoke__';

export interface V8RunContext {
  host?: SyncHostCaller;
  /** The run's deadline (Date.now() ms); ignored when `debugging`. */
  deadline?: number;
  /** Under a debugger: no time limit (a paused function would hit it), console lines echoed to the real console. */
  debugging?: boolean;
  /** Where console lines are echoed as well (the debug console); default none. */
  echo?: (level: LogLevel, args: unknown[]) => void;
}

export function runJsOnV8(req: JsRunRequest, runCtx: V8RunContext = {}): RunOutcome {
  const profile: CompatProfile = req.profile ?? DEFAULT_COMPAT;
  const logs: FunctionLogLine[] = [];
  const hostCalls: HostCallRecord[] = [];
  const warnings: FidelityWarning[] = [];
  const warn = (code: string, message: string, line?: number) => {
    if (!warnings.some((w) => w.code === code)) {
      warnings.push({ code, message, line });
    }
  };
  const started = performance.now();
  const done = (reply: Uint8Array | null, error?: FunctionError, replyKind?: ReplyKind): RunOutcome => {
    if (logs.length > 0 && profile !== 'docs') {
      warn(CONSOLE_DISCARDED.code, CONSOLE_DISCARDED.message);
    }
    return { ok: !error, reply: error ? null : reply, logs, durationMs: performance.now() - started, error, profile, replyKind, hostCalls, warnings };
  };

  const sourceBytes = Buffer.byteLength(req.source, 'utf8');
  if (profile !== 'docs' && sourceBytes > NODE_JS_SOURCE_LIMIT) {
    return done(null, {
      kind: 'invalidInput',
      message: `the source is ${sourceBytes} bytes, over the ${NODE_JS_SOURCE_LIMIT}-byte limit of Nex nodes: a ${profile} node refuses to deploy it`,
    });
  }
  const sizeHint = sourceSizeWarning(profile, sourceBytes);
  if (sizeHint) {
    warn(sizeHint.code, sizeHint.message, 1);
  }

  const deadline = runCtx.deadline ?? Date.now() + req.limits.timeoutMs;
  const timeout = (): number | undefined => (runCtx.debugging ? undefined : Math.max(1, deadline - Date.now()));
  const context = vm.createContext(Object.create(null), { name: `Nex function ${req.workload ?? ''}`.trim(), codeGeneration: { strings: true, wasm: false } });
  const realm = vm.runInContext('({ Uint8Array, JSON })', context) as { Uint8Array: Uint8ArrayConstructor; JSON: JSON };
  const define = (name: string, value: unknown) => Object.defineProperty(context, name, { value, configurable: true, enumerable: false, writable: true });
  define('console', makeConsole(logs, runCtx.echo));
  installV8HostApi(define, realm, {
    profile,
    namespace: req.namespace ?? 'default',
    workload: req.workload ?? 'function',
    fileName: req.fileName,
    caller: runCtx.host ?? ((call) => ({ ok: false, code: 404, reason: 'unavailable', message: `No such host service: ${call.service}` })),
    calls: hostCalls,
    warn,
  });

  let script: vm.Script;
  try {
    script = new vm.Script(req.source, { filename: req.fileName });
  } catch (e) {
    return done(null, describeV8Error(e, 'compile', req));
  }
  let fn: unknown;
  try {
    fn = script.runInContext(context, { timeout: timeout(), breakOnSigint: false });
  } catch (e) {
    return done(null, describeV8Error(e, 'call', req));
  }
  if (typeof fn !== 'function') {
    const kind = fn === null ? 'null' : typeof fn;
    return done(null, {
      kind: 'notAFunction',
      message: `the script's last expression must be a function (subject, payload) => reply, but it evaluated to ${kind}. End the file with the function, e.g. "(subject, payload) => payload;", and do not use export or an IIFE bundle`,
    });
  }
  if (req.checkOnly) {
    return done(null);
  }
  const payload = new realm.Uint8Array(req.payload.length);
  payload.set(req.payload);
  let value: unknown;
  try {
    define(INVOKE_GLOBAL, () => (fn as (s: string, p: Uint8Array) => unknown)(req.subject, payload));
    value = new vm.Script(`${INVOKE_GLOBAL}()`, { filename: INVOKE_FILE }).runInContext(context, { timeout: timeout(), breakOnSigint: false });
  } catch (e) {
    const error = describeV8Error(e, 'call', req, hostCalls);
    const mismatch = apiMismatchHint(profile, (e as { message?: string } | null)?.message ?? '');
    if (mismatch) {
      warn('api-mismatch', mismatch, error.line);
    }
    return done(null, error);
  } finally {
    delete (context as Record<string, unknown>)[INVOKE_GLOBAL];
  }
  const converted = convertV8Reply(value, profile, realm.JSON);
  if ('error' in converted) {
    return done(null, describeV8Error(converted.error, 'call', req));
  }
  const reply = converted.reply;
  const hint = replyWarning(profile, reply.kind, reply.preview);
  if (hint) {
    warn(hint.code, hint.message, functionStartLine(req.source));
  }
  if (reply.kind === 'unserializable') {
    logs.push({ level: 'warn', text: `the function returned a ${reply.preview}, which has no JSON form: no reply is sent` });
  }
  return done(reply.bytes, undefined, reply.kind);
}

/** The host-service globals of the profile, as plain functions of the outer realm; values cross as the function's own Uint8Arrays and JSON. */
function installV8HostApi(define: (name: string, value: unknown) => void, realm: { Uint8Array: Uint8ArrayConstructor; JSON: JSON }, ctx: HostApiContext): void {
  const callerLine = (): number | undefined => locate(new Error().stack, ctx.fileName).line;
  const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));
  const toValue = (outcome: CallOutcome, wants: 'bytes' | 'json' | 'none'): unknown => {
    if (outcome.error !== undefined) {
      throw outcome.error; // a plain string, as nodes throw it
    }
    if (wants === 'bytes' && outcome.bytes) {
      const bytes = new realm.Uint8Array(outcome.bytes.length);
      bytes.set(outcome.bytes);
      return bytes;
    }
    if (wants === 'json' && outcome.json !== undefined) {
      return realm.JSON.parse(JSON.stringify(outcome.json));
    }
    return undefined;
  };
  const body = (v: unknown, what: string, service: string, method: string, line?: number): Uint8Array => {
    if (utilTypes.isUint8Array(v)) {
      return new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
    }
    const type = v === null ? 'null' : typeof v;
    if (ctx.profile === 'docs' && typeof v === 'string') {
      ctx.warn('string-argument', `a Nex node accepts only a Uint8Array for ${service}.${method}'s ${what} and throws "failed to marshal v8 value to []byte" for a string`, line);
      return utf8(v);
    }
    throw `failed to marshal v8 value to []byte: ${what} is ${type}; only Uint8[] is supported`;
  };
  const call = (service: HostServiceName, method: string, args: Record<string, string>, line: number | undefined, wants: 'bytes' | 'json' | 'none', value?: Uint8Array) =>
    toValue(performCall(ctx, service, method, args, value, line), wants);

  const kvObject = (bucket: string) => ({
    get: (key: unknown) => call('kv', 'get', { bucket, key: str(key) }, callerLine(), 'bytes'),
    set: (key: unknown, value: unknown) => {
      const line = callerLine();
      return call('kv', 'set', { bucket, key: str(key) }, line, 'none', body(value, 'value', 'kv', 'set', line));
    },
    delete: (key: unknown) => call('kv', 'delete', { bucket, key: str(key) }, callerLine(), 'none'),
    keys: () => call('kv', 'keys', { bucket }, callerLine(), 'json'),
  });
  const objectStoreObject = (bucket: string) => ({
    get: (name: unknown) => call('objectStore', 'get', { bucket, name: str(name) }, callerLine(), 'bytes'),
    put: (name: unknown, value: unknown) => {
      const line = callerLine();
      return call('objectStore', 'put', { bucket, name: str(name) }, line, 'json', body(value, 'value', 'objectStore', 'put', line));
    },
    delete: (name: unknown) => call('objectStore', 'delete', { bucket, name: str(name) }, callerLine(), 'none'),
    list: () => call('objectStore', 'list', { bucket }, callerLine(), 'json'),
  });
  const messagingObject = () => ({
    publish: (subject: unknown, payload: unknown) => {
      const line = callerLine();
      return call('messaging', 'publish', { subject: str(subject) }, line, 'none', body(payload, 'payload', 'messaging', 'publish', line));
    },
    request: (subject: unknown, payload: unknown) => {
      const line = callerLine();
      return call('messaging', 'request', { subject: str(subject) }, line, 'bytes', body(payload, 'payload', 'messaging', 'request', line));
    },
    requestMany: (subject: unknown) => call('messaging', 'requestMany', { subject: str(subject) }, callerLine(), 'none'),
  });
  const httpObject = () =>
    Object.fromEntries(
      HTTP_METHODS.map((method) => [
        method,
        (url: unknown, payload?: unknown) => {
          const line = callerLine();
          const withBody = payload !== undefined && method !== 'get' && method !== 'head';
          return call('http', method, { url: str(url) }, line, 'json', withBody ? body(payload, 'body', 'http', method, line) : undefined);
        },
      ]),
    );
  const bucketFactory = (make: (bucket: string) => object) => (bucket: unknown) => {
    if (bucket === undefined || bucket === null || str(bucket) === '') {
      throw 'bucket name is required';
    }
    return make(str(bucket));
  };
  if (ctx.profile === '0.3') {
    define('http', httpObject());
    define('messaging', messagingObject());
    define('kv', bucketFactory(kvObject));
    define('objectStore', bucketFactory(objectStoreObject));
  } else {
    define('hostServices', {
      kv: kvObject(defaultBucket(ctx.namespace, ctx.workload, 'kv')),
      messaging: messagingObject(),
      objectStore: objectStoreObject(defaultBucket(ctx.namespace, ctx.workload, 'obj')),
      http: httpObject(),
    });
  }
}

function makeConsole(logs: FunctionLogLine[], echo?: (level: LogLevel, args: unknown[]) => void): Record<string, (...args: unknown[]) => void> {
  const levels: Array<[string, LogLevel]> = [
    ['log', 'info'],
    ['info', 'info'],
    ['debug', 'debug'],
    ['warn', 'warn'],
    ['error', 'error'],
  ];
  return Object.fromEntries(
    levels.map(([method, level]) => [
      method,
      (...args: unknown[]) => {
        echo?.(level, args);
        if (logs.length === MAX_LOG_LINES) {
          logs.push({ level: 'warn', text: `more than ${MAX_LOG_LINES} console lines: the rest of this run's output is dropped` });
        }
        if (logs.length > MAX_LOG_LINES) {
          return;
        }
        const text = args.map(formatLogValue).join(' ');
        logs.push({ level, text: text.length > MAX_LOG_LINE_CHARS ? `${text.slice(0, MAX_LOG_LINE_CHARS)}… (${text.length} chars)` : text });
      },
    ]),
  );
}

/** A console argument as the QuickJS engine shows it: text as-is, errors as "Name: message", other objects as JSON. */
function formatLogValue(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'function') {
    return '[Function]';
  }
  if (value && typeof value === 'object') {
    if (utilTypes.isNativeError(value) || ('name' in value && 'message' in value && 'stack' in value)) {
      const e = value as Error;
      return `${e.name}: ${e.message}`;
    }
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

interface ConvertedReply {
  kind: ReplyKind;
  bytes: Uint8Array | null;
  preview: string;
}

/** The same rules as the QuickJS engine's: nodes send JSON.stringify(value) (the function's own JSON, so its errors are the function's). */
function convertV8Reply(value: unknown, profile: CompatProfile, json: JSON): { reply: ConvertedReply } | { error: unknown } {
  const bytes = utilTypes.isUint8Array(value) ? value : utilTypes.isArrayBuffer(value) ? new Uint8Array(value) : undefined;
  const kind: ReplyKind = value === undefined ? 'undefined' : value === null ? 'null' : typeof value === 'string' ? 'string' : bytes ? 'bytes' : 'json';
  const stringify = (): { text?: string } | { error: unknown } => {
    try {
      const text: unknown = json.stringify(value);
      return { text: typeof text === 'string' ? text : undefined };
    } catch (e) {
      return { error: e };
    }
  };
  if (profile !== 'docs') {
    const j = stringify();
    if ('error' in j) {
      return j;
    }
    const text = j.text ?? (kind === 'undefined' ? 'undefined' : undefined);
    return { reply: { kind, bytes: text === undefined ? null : utf8(text), preview: j.text ?? String(text) } };
  }
  switch (kind) {
    case 'undefined':
    case 'null':
      return { reply: { kind, bytes: null, preview: kind } };
    case 'string':
      return { reply: { kind, bytes: utf8(value as string), preview: JSON.stringify(value) } };
    case 'bytes': {
      const copy = new Uint8Array(bytes!.buffer, bytes!.byteOffset, bytes!.byteLength).slice();
      const head = [...copy.subarray(0, 4)].map((b, i) => `"${i}":${b}`).join(',');
      return { reply: { kind, bytes: copy, preview: `{${head}${copy.length > 4 ? ',…' : ''}}` } };
    }
    default: {
      const j = stringify();
      if ('error' in j) {
        return j;
      }
      return j.text === undefined ? { reply: { kind: 'unserializable', bytes: null, preview: typeof value } } : { reply: { kind, bytes: utf8(j.text), preview: j.text } };
    }
  }
}

/** The frames a user should see: those of the function's own code, not Node's or the runner's. */
function userStack(stack: string, head: string, fileName: string): string {
  const frames = stack.split('\n').filter((l) => /^\s+at /.test(l));
  const own = frames.filter((f) => f.includes(fileName) || (!/\(?node:|\(?internal\/|<nex-|v8Runner|v8Engine/.test(f) && !f.includes(__filename)));
  return collapseStack([head, ...own].join('\n'));
}

function describeV8Error(e: unknown, phase: 'compile' | 'call', req: JsRunRequest, hostCalls: HostCallRecord[] = []): FunctionError {
  if (typeof e !== 'object' || e === null) {
    const message = typeof e === 'string' ? JSON.stringify(e) : String(e);
    // Host services throw plain strings, without a stack: point at the call that threw it.
    const source = typeof e === 'string' ? [...hostCalls].reverse().find((c) => !c.ok && c.result.endsWith(`throws ${JSON.stringify(e)}`)) : undefined;
    return { kind: 'exception', message, line: source?.line };
  }
  const err = e as { name?: string; message?: string; stack?: string; code?: string };
  if (err.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
    return { kind: 'timeout', message: `the function did not finish within ${req.limits.timeoutMs} ms and was stopped (an endless loop?)` };
  }
  const name = err.name ?? 'Error';
  const message = err.message ?? String(e);
  if (phase === 'compile' && name === 'SyntaxError') {
    // V8 puts the location on the stack's first line: "<file>:<line>".
    const first = (err.stack ?? '').split('\n')[0];
    const line = first.startsWith(req.fileName + ':') ? Number(first.slice(req.fileName.length + 1)) : undefined;
    return { kind: 'syntax', name, message: `SyntaxError: ${message}`, line: Number.isFinite(line) ? line : undefined };
  }
  if (name === 'RangeError' && /allocation failed|array buffer allocation/i.test(message)) {
    return { kind: 'memory', message: `the function ran out of memory (limit ${Math.round(req.limits.memoryLimitBytes / 1048576)} MiB)` };
  }
  const stack = typeof err.stack === 'string' ? userStack(err.stack, `${name}: ${message}`, req.fileName) : undefined;
  return { kind: 'exception', name, message: `${name}: ${message}`, ...locate(stack, req.fileName), stack };
}
