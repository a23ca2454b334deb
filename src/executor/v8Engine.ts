/**
 * Runs one JavaScript Nex function on V8 (Node's `vm`), in-process: the engine a real node uses
 * (v8go), and the one the debugger can stop in. The function gets what it gets on QuickJS under the
 * same profile: a fresh context per run with the language's built-ins only (no `require`,
 * `process`, timers, `TextEncoder` or `fetch`), the payload as a Uint8Array of its own realm, the
 * profile's host-service API (served synchronously through `host`), and its return value turned
 * into reply bytes by the same rules: the run's frame (jsRunFrame.ts) and the host-API table
 * (hostApiTable.ts) are the ones QuickJS runs with. The script is compiled under the user's file
 * name, so breakpoints and stack frames map to the real file, line and column.
 *
 * Nothing here knows about processes: the child-process runner (v8Runner.ts) calls it.
 */
import { types as utilTypes } from 'util';
import * as vm from 'vm';
import { utf8 } from '../core/bytes';
import { CompatProfile, defaultBucket } from '../core/compat';
import { HostApiContext, performCall } from './hostCalls';
import { callArgs, HOST_API_JSON, hostMethod } from './hostApiTable';
import { ConvertedReply, convertReply, JsEngineRun, JsRunContext, JsRunFrame, outOfMemory, ReturnedValue, runJs, thrownError, timedOut } from './jsRunFrame';
import { V8_PRELUDE_FILE, V8_PRELUDE_SOURCE } from './v8Prelude';
import { collapseStack, locate } from './stackFrames';
import { FunctionError, JsRunRequest, LogLevel, RunOutcome } from './types';
/** The file name of the one-line script that calls the function (so the call runs under the time limit). */
const INVOKE_FILE = '<nex-invoke>';
/** The context global (read-only) through which that script reaches the prelude's runner. */
const RUN_GLOBAL = '__nexRun__';

/** The host's own typed-array intrinsics: they read and fill the function's arrays without running its code. */
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsic = (name: string) => Object.getOwnPropertyDescriptor(TypedArrayPrototype, name)!;
const TA_SET = intrinsic('set').value as (this: unknown, source: ArrayLike<number>) => void;
const TA_BUFFER = intrinsic('buffer').get as (this: unknown) => ArrayBufferLike;
const TA_BYTE_OFFSET = intrinsic('byteOffset').get as (this: unknown) => number;
const TA_BYTE_LENGTH = intrinsic('byteLength').get as (this: unknown) => number;

/** What the prelude (v8Prelude.ts) gives the host: values of the context's realm, made before the function's code runs. */
interface PreludeApi {
  globals: Record<string, unknown>;
  run: () => unknown;
  arm: (op: 'invoke' | 'describe', a: unknown, b?: unknown, c?: unknown) => void;
  Uint8Array: Uint8ArrayConstructor;
  makeError: (message: string) => unknown;
}
type PreludeFactory = (bridge: Bridge, profile: CompatProfile, hostApiJson: string, kvBucket: string, objBucket: string) => PreludeApi;
/** The prelude's box for an answer: written by the host with primitives or values of the context's realm. */
interface BridgeBox {
  error?: string;
  value?: unknown;
  json?: string;
}
type Bridge = (box: BridgeBox, op: string, ...args: unknown[]) => void;

/** A thrown value as the prelude describes it (primitives only), or a host error described the same way. */
interface ThrownDescription {
  primitive: boolean;
  isString?: boolean;
  text?: string;
  code?: string;
  name?: string;
  message?: string;
  stack?: string;
}

/** `import()` inside the function: refused with an error of the run's realm (see importModuleDynamically). */
let importRefusal: ((message: string) => unknown) | undefined;
const IMPORT_REFUSED = 'import() is not available in a Nex function';
const refuseImport = (): never => {
  throw importRefusal ? importRefusal(IMPORT_REFUSED) : IMPORT_REFUSED;
};
// Without a callback, Node rejects `import()` with an error of its own realm; with one (it needs
// --experimental-vm-modules, which the runner is started with), with what the callback throws.
const scriptOptions = { importModuleDynamically: refuseImport as unknown as vm.ScriptOptions['importModuleDynamically'] };
let preludeScript: vm.Script | undefined;
let invokeScript: vm.Script | undefined;

export interface V8RunContext extends JsRunContext {
  /** The run's deadline (Date.now() ms); ignored when `debugging`. */
  deadline?: number;
  /** Under a debugger: no time limit (a paused function would hit it), console lines echoed to the real console. */
  debugging?: boolean;
  /** Where console lines are echoed as well (the debug console), as the text the run records; default none. */
  echo?: (level: LogLevel, text: string) => void;
}

/**
 * Runs one function. The function gets nothing of this realm: its globals, host services, console,
 * payload, host-call results and errors are all made inside its context by the prelude
 * (v8Prelude.ts), and this side reads only primitives from it. This is what keeps a function from
 * reaching Node (`process`, `require`) through the constructor of something handed to it; it is
 * not a sandbox against a determined attacker (V8 and Node are shared with the runner): the V8
 * engine runs the user's own code, behind Workspace Trust. QuickJS is the sandbox.
 */
export function runJsOnV8(req: JsRunRequest, runCtx: V8RunContext = {}): RunOutcome {
  return runJs(req, runCtx, (frame) => openRun(frame, runCtx));
}

/** One run's V8 side: a fresh context with the prelude's world in it. */
function openRun(frame: JsRunFrame, runCtx: V8RunContext): JsEngineRun<unknown> {
  const { req, profile, host: hostCtx } = frame;
  const timeout = (): number | undefined => (runCtx.debugging ? undefined : Math.max(1, frame.deadline - Date.now()));
  // afterEvaluate: the function's promise jobs run inside its evaluations (and its time limit), never
  // later on the runner's own queue; jobs left when the run ends never run.
  const context = vm.createContext(Object.create(null), {
    name: `Nex function ${req.workload ?? ''}`.trim(),
    codeGeneration: { strings: true, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
  const define = (name: string, value: unknown, fixed = false) => Object.defineProperty(context, name, { value, configurable: !fixed, enumerable: false, writable: !fixed });
  preludeScript ??= new vm.Script(V8_PRELUDE_SOURCE, { filename: V8_PRELUDE_FILE, ...scriptOptions });
  invokeScript ??= new vm.Script(`'use strict'; this.${RUN_GLOBAL}();`, { filename: INVOKE_FILE, ...scriptOptions });
  const factory = preludeScript.runInContext(context, { displayErrors: false }) as PreludeFactory;
  let api!: PreludeApi;
  const bridge = makeBridge(hostCtx, () => api, frame.log, runCtx.echo);
  api = factory(bridge, profile, HOST_API_JSON, defaultBucket(hostCtx.namespace, hostCtx.workload, 'kv'), defaultBucket(hostCtx.namespace, hostCtx.workload, 'obj'));
  for (const name of Object.keys(api.globals)) {
    define(name, api.globals[name]);
  }
  define(RUN_GLOBAL, api.run, true);
  const payload = copyIn(api.Uint8Array, req.payload);
  importRefusal = api.makeError;
  // displayErrors: false, or Node decorates a thrown error's stack from this realm, which runs the
  // function's Error.prepareStackTrace with this realm's call sites.
  const runOptions = (): vm.RunningScriptOptions => ({ timeout: timeout(), breakOnSigint: false, displayErrors: false });
  /**
   * What a value thrown out of the context is: the time limit (Node's error, of the context's
   * realm), an error of this realm, or anything else, described inside the context (reading it
   * here could run the function's code, e.g. its Error.prepareStackTrace, with this realm's call
   * sites).
   */
  const thrownOut = (e: unknown, describeInside: boolean): FunctionError => {
    if (isTimeout(e)) {
      return describeThrown({ primitive: false, code: 'ERR_SCRIPT_EXECUTION_TIMEOUT' }, 'call', frame);
    }
    if (isHostError(e)) {
      return describeThrown(hostDescription(e), 'call', frame);
    }
    if (!describeInside) {
      return { kind: 'exception', message: 'the function broke the V8 runner (an exception escaped its handling)' };
    }
    api.arm('describe', e);
    const described = runArmed(false);
    return 'error' in described ? described.error : describeThrown(description(described.record.error), 'call', frame);
  };
  /** Runs the armed job in the context, under the time limit. */
  const runArmed = (describeInside: boolean): { record: Record<string, unknown> } | { error: FunctionError } => {
    try {
      const record = invokeScript!.runInContext(context, runOptions());
      return typeof record === 'object' && record !== null ? { record: record as Record<string, unknown> } : { error: { kind: 'exception', message: 'the function left no outcome (did it replace the runner?)' } };
    } catch (e) {
      return { error: thrownOut(e, describeInside) };
    }
  };

  return {
    evaluate() {
      let script: vm.Script;
      try {
        script = new vm.Script(req.source, { filename: req.fileName, ...scriptOptions });
      } catch (e) {
        return { error: describeThrown(hostDescription(e), 'compile', frame) };
      }
      let fn: unknown;
      try {
        fn = script.runInContext(context, runOptions());
      } catch (e) {
        return { error: thrownOut(e, true) };
      }
      return { fn, type: fn === null ? 'null' : typeof fn };
    },
    call(fn) {
      api.arm('invoke', fn, req.subject, payload);
      const ran = runArmed(true);
      if ('error' in ran) {
        return ran;
      }
      const record = ran.record;
      if (record.threw === true) {
        const thrown = description(record.error);
        return { error: describeThrown(thrown, 'call', frame), thrownMessage: thrown.primitive ? undefined : (thrown.message ?? '') };
      }
      return { reply: replyOf(record, profile) };
    },
    close() {
      importRefusal = undefined;
    },
  };
}

/**
 * The host end of the prelude's bridge. It never runs the function's code: arguments are primitives
 * or a value it only brand-checks and reads with its own intrinsics; answers are primitives or
 * arrays of the context's realm; nothing it throws reaches the function (the prelude throws its own
 * string instead).
 */
function makeBridge(ctx: HostApiContext, api: () => PreludeApi, log: (level: LogLevel, text: string) => void, echo?: (level: LogLevel, text: string) => void): Bridge {
  const callerLine = (): number | undefined => locate(new Error().stack, ctx.fileName).line;
  const body = (v: unknown, what: string, service: string, method: string, line?: number): Uint8Array | { error: string } => {
    if (utilTypes.isUint8Array(v)) {
      return copyOut(v);
    }
    const type = v === null ? 'null' : typeof v;
    if (ctx.profile === 'docs' && typeof v === 'string') {
      ctx.warn('string-argument', `a Nex node accepts only a Uint8Array for ${service}.${method}'s ${what} and throws "failed to marshal v8 value to []byte" for a string`, line);
      return utf8(v);
    }
    return { error: `failed to marshal v8 value to []byte: ${what} is ${type}; only Uint8[] is supported` };
  };
  const call = (box: BridgeBox, { spec, method }: NonNullable<ReturnType<typeof hostMethod>>, a: unknown, b: unknown, hasBody: unknown, value: unknown): void => {
    const line = callerLine();
    let bytes: Uint8Array | undefined;
    if (hasBody === true) {
      const checked = body(value, method.body?.name ?? 'value', spec.service, method.name, line);
      if (!(checked instanceof Uint8Array)) {
        box.error = checked.error;
        return;
      }
      bytes = checked;
    }
    const strings = [a, b].map((v) => (typeof v === 'string' ? v : ''));
    const outcome = performCall(ctx, spec.service, method.name, callArgs(spec, method, strings), bytes, line);
    if (outcome.error !== undefined) {
      box.error = outcome.error; // a plain string, as nodes throw it
    } else if (method.result === 'bytes' && outcome.bytes) {
      box.value = copyIn(api().Uint8Array, outcome.bytes);
    } else if (method.result === 'json' && outcome.json !== undefined) {
      box.json = JSON.stringify(outcome.json);
    }
  };
  return (box, op, ...args) => {
    try {
      let found: ReturnType<typeof hostMethod>;
      if (op === 'log' && LOG_LEVELS.has(args[0] as LogLevel) && typeof args[1] === 'string') {
        echo?.(args[0] as LogLevel, args[1]);
        log(args[0] as LogLevel, args[1]);
      } else if (op === 'isBytes') {
        box.value = utilTypes.isUint8Array(args[0]) || utilTypes.isArrayBuffer(args[0]);
      } else if (op === 'call' && (found = hostMethod(args[0], args[1]))) {
        call(box, found, args[2], args[3], args[4], args[5]);
      } else {
        box.error = 'the V8 runner got a host call it does not know';
      }
    } catch {
      box.error = 'the host-service call failed inside the V8 runner';
    }
  };
}

const LOG_LEVELS = new Set<LogLevel>(['debug', 'info', 'warn', 'error']);

/** A Uint8Array of the context's realm holding `bytes`, filled with the host's own intrinsic. */
function copyIn(ContextUint8Array: Uint8ArrayConstructor, bytes: Uint8Array): Uint8Array {
  const array = new ContextUint8Array(bytes.length);
  Reflect.apply(TA_SET, array, [bytes]);
  return array;
}

/** A copy of the bytes of a (brand-checked) Uint8Array of the context, read without its getters. */
function copyOut(view: Uint8Array): Uint8Array {
  const buffer = Reflect.apply(TA_BUFFER, view, []);
  return new Uint8Array(buffer, Reflect.apply(TA_BYTE_OFFSET, view, []), Reflect.apply(TA_BYTE_LENGTH, view, [])).slice();
}

/** Whether a thrown value is an error of this (the host's) realm: a time limit, a compile error. Runs none of the function's code. */
function isHostError(e: unknown): boolean {
  let o: unknown = e;
  for (let i = 0; i < 64 && typeof o === 'object' && o !== null; i++) {
    if (utilTypes.isProxy(o)) {
      return false;
    }
    if (o === Error.prototype) {
      return true;
    }
    o = Reflect.getPrototypeOf(o);
  }
  return false;
}

/** Node's time-limit error (made in the context's realm): a native error with its own data property `code`. Runs none of the function's code. */
function isTimeout(e: unknown): boolean {
  if (typeof e !== 'object' || e === null || utilTypes.isProxy(e) || !utilTypes.isNativeError(e)) {
    return false;
  }
  const code = Object.getOwnPropertyDescriptor(e, 'code');
  return code !== undefined && 'value' in code && code.value === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

/** A host error, described as the prelude describes the function's. */
function hostDescription(e: unknown): ThrownDescription {
  const err = e as { name?: unknown; message?: unknown; stack?: unknown; code?: unknown };
  return {
    primitive: false,
    code: typeof err.code === 'string' ? err.code : undefined,
    name: typeof err.name === 'string' ? err.name : undefined,
    message: typeof err.message === 'string' ? err.message : String(e),
    stack: typeof err.stack === 'string' ? err.stack : undefined,
  };
}

/** The prelude's description, read field by field as primitives. */
function description(value: unknown): ThrownDescription {
  const d = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { primitive: d.primitive === true, isString: d.isString === true, text: s(d.text), code: s(d.code), name: s(d.name), message: s(d.message), stack: s(d.stack) };
}

const REPLY_KINDS = new Set(['undefined', 'null', 'string', 'bytes', 'json']);

/** The reply of the prelude's record of a return value (see convertReply); the prelude made its JSON inside the context. */
function replyOf(record: Record<string, unknown>, profile: CompatProfile): ConvertedReply {
  return convertReply(profile, {
    kind: (REPLY_KINDS.has(record.kind as string) ? record.kind : 'json') as ReturnedValue['kind'],
    type: typeof record.type === 'string' ? record.type : 'object',
    json: typeof record.json === 'string' ? record.json : undefined,
    text: () => (typeof record.value === 'string' ? record.value : ''),
    bytes: () => {
      const value = record.value;
      return utilTypes.isUint8Array(value) ? copyOut(value) : utilTypes.isArrayBuffer(value) ? new Uint8Array(value).slice() : new Uint8Array();
    },
  });
}

/** The frames a user should see: those of the function's own code, not Node's or the runner's. */
function userStack(stack: string, head: string, fileName: string): string {
  const frames = stack.split('\n').filter((l) => /^\s+at /.test(l));
  const own = frames.filter((f) => f.includes(fileName) || (!/\(?node:|\(?internal\/|<nex-|v8Runner|v8Engine|jsRunFrame/.test(f) && !f.includes(__filename)));
  return collapseStack([head, ...own].join('\n'));
}

function describeThrown(d: ThrownDescription, phase: 'compile' | 'call', frame: JsRunFrame): FunctionError {
  const { req } = frame;
  if (d.primitive) {
    const message = d.isString ? JSON.stringify(d.text ?? '') : (d.text ?? 'a value');
    return { kind: 'exception', message, line: d.isString ? frame.hostCallLine(d.text) : undefined };
  }
  if (d.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
    return timedOut(req);
  }
  const name = d.name ?? 'Error';
  const message = d.message ?? '';
  if (phase === 'compile' && name === 'SyntaxError') {
    // V8 puts the location on the stack's first line: "<file>:<line>".
    const first = (d.stack ?? '').split('\n')[0];
    const line = first.startsWith(req.fileName + ':') ? Number(first.slice(req.fileName.length + 1)) : undefined;
    return { kind: 'syntax', name, message: `SyntaxError: ${message}`, line: Number.isFinite(line) ? line : undefined };
  }
  if (name === 'RangeError' && /allocation failed|array buffer allocation/i.test(message)) {
    return outOfMemory(req);
  }
  const stack = d.stack !== undefined ? userStack(d.stack, `${name}: ${message}`, req.fileName) : undefined;
  return thrownError(name, message, stack, req.fileName);
}
