/**
 * Runs one JavaScript Nex function on QuickJS, in-process. This is what the worker does; nothing
 * here knows about threads. The contract ("docs" profile): a classic script whose completion value
 * is a function `(subject, payload) => reply`; `payload` is a Uint8Array; a returned
 * Uint8Array/ArrayBuffer is the reply as-is, a string its UTF-8 bytes, undefined/null no reply,
 * anything else its JSON.
 */
import * as fs from 'fs';
import * as path from 'path';
import { newQuickJSWASMModuleFromVariant, newVariant, QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core';
import releaseSyncVariant from '@jitl/quickjs-wasmfile-release-sync';
import { utf8 } from '../core/bytes';
import { CompatProfile, DEFAULT_COMPAT, NODE_JS_SOURCE_LIMIT } from '../core/compat';
import { HostCallRecord } from '../hostservices/types';
import { apiMismatchHint, CONSOLE_DISCARDED, FidelityWarning, functionStartLine, ReplyKind, replyWarning, sourceSizeWarning } from './fidelity';
import { installHostApi, SyncHostCaller } from './hostApi';
import { newUint8Array, viewBytes } from './vmValues';
import { collapseStack, locate } from './stackFrames';
import { FunctionError, FunctionLogLine, JsRunRequest, LogLevel, RunOutcome } from './types';
import { WASM_PAGE_BYTES } from './wasmModule';

/** QuickJS's own stack guard; larger values let deep recursion overflow the wasm stack first. */
const MAX_STACK_BYTES = 256 * 1024;
const MAX_LOG_LINES = 5000;
const MAX_LOG_LINE_CHARS = 10000;
const WASM_FILE = 'quickjs.wasm';
/** How often, at most, a running function's memory is measured (measuring walks the whole heap). */
const MEMORY_CHECK_MS = 20;
/** Measuring takes at most 1/this of a run: the next measurement waits this many times as long as the last one took. */
const MEMORY_CHECK_SHARE = 20;

/**
 * Finds the QuickJS wasm file: next to the bundle (dist/quickjs.wasm) or in node_modules when
 * running from compiled sources.
 */
export function locateQuickJSWasm(fromDir: string = __dirname): string {
  const beside = path.join(fromDir, WASM_FILE);
  if (fs.existsSync(beside)) {
    return beside;
  }
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', '@jitl', 'quickjs-wasmfile-release-sync', 'dist', 'emscripten-module.wasm');
    if (fs.existsSync(candidate)) {
      return candidate;
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`QuickJS runtime not found: expected ${beside} (is the extension installed completely?)`);
    }
  }
}

export async function loadQuickJS(wasmPath: string = locateQuickJSWasm()): Promise<QuickJSWASMModule> {
  const bytes = fs.readFileSync(wasmPath);
  const wasmBinary = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return newQuickJSWASMModuleFromVariant(newVariant(releaseSyncVariant, { wasmBinary }));
}

export interface RunContext {
  /** Serves host-service calls; without one, every call fails as a node without that service. */
  host?: SyncHostCaller;
  /** The run's deadline (Date.now() ms), when the caller's host calls use one: the run and its calls then end together. */
  deadline?: number;
}

export function runJsFunction(qjs: QuickJSWASMModule, req: JsRunRequest, runCtx: RunContext = {}): RunOutcome {
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
  let timedOut = false;
  // One runtime per engine, reused: each run still gets a fresh context (fresh globals), as a node
  // gives each trigger. A run that fails discards the runtime, in case it left it damaged.
  let runtime = runtimes.get(qjs);
  if (!runtime) {
    runtime = qjs.newRuntime();
    runtime.setMaxStackSize(MAX_STACK_BYTES);
    runtimes.set(qjs, runtime);
  }
  runtime.setMemoryLimit(req.limits.memoryLimitBytes);
  const memory = watchMemory(qjs, runtime, req.limits.memoryLimitBytes);
  runtime.setInterruptHandler(() => {
    if (memory.reached) {
      return true;
    }
    const now = Date.now();
    if (now >= memory.nextCheck && memory.check(now)) {
      return true;
    }
    if (now > deadline) {
      // A function that slowed down at the memory limit ran out of memory, not out of time.
      timedOut = !memory.check(now, true);
      return true;
    }
    return false;
  });
  const vm = runtime.newContext();
  let keepRuntime = false;
  let releaseHostApi: (() => void) | undefined;
  const failure = (handle: QuickJSHandle, phase: 'compile' | 'call'): RunOutcome => {
    const dumped = vm.dump(handle);
    handle.dispose();
    // QuickJS throws null when it cannot even allocate its "out of memory" error. A host call cut
    // short by the deadline throws before the interrupt handler runs.
    const stopped = memory.reached || (memory.growthRefused && dumped === null) ? 'memory' : timedOut || Date.now() >= deadline ? 'timeout' : undefined;
    const error = describeError(dumped, phase, stopped, req);
    if (typeof dumped === 'string' && error.line === undefined) {
      // Host services throw plain strings, without a stack: point at the call that threw it.
      const source = [...hostCalls].reverse().find((c) => !c.ok && c.result.endsWith(`throws ${JSON.stringify(dumped)}`));
      error.line = source?.line;
    }
    const mismatch = apiMismatchHint(profile, dumped?.message ?? '');
    if (mismatch) {
      warn('api-mismatch', mismatch, error.line);
    }
    return done(null, error);
  };
  try {
    installConsole(vm, logs);
    releaseHostApi = installHostApi(vm, {
      profile,
      namespace: req.namespace ?? 'default',
      workload: req.workload ?? 'function',
      fileName: req.fileName,
      caller: runCtx.host ?? ((call) => ({ ok: false, code: 404, reason: 'unavailable', message: `No such host service: ${call.service}` })),
      calls: hostCalls,
      warn,
    });
    {
      const evaluated = vm.evalCode(req.source, req.fileName, { type: 'global' });
      if (evaluated.error) {
        return failure(evaluated.error, 'compile');
      }
      const fn = evaluated.value;
      try {
        const kind = vm.typeof(fn);
        if (kind !== 'function') {
          return done(null, {
            kind: 'notAFunction',
            message: `the script's last expression must be a function (subject, payload) => reply, but it evaluated to ${kind === 'object' && vm.dump(fn) === null ? 'null' : kind}. End the file with the function, e.g. "(subject, payload) => payload;", and do not use export or an IIFE bundle`,
          });
        }
        if (req.checkOnly) {
          keepRuntime = true;
          return done(null);
        }
        const payloadArr = newUint8Array(vm, req.payload);
        const subject = vm.newString(req.subject);
        const called = vm.callFunction(fn, vm.global, subject, payloadArr);
        subject.dispose();
        payloadArr.dispose();
        if (called.error) {
          return failure(called.error, 'call');
        }
        const converted = convertReply(vm, called.value, profile);
        called.value.dispose();
        if ('error' in converted) {
          return failure(converted.error, 'call');
        }
        const reply = converted.reply;
        const hint = replyWarning(profile, reply.kind, reply.preview);
        if (hint) {
          warn(hint.code, hint.message, functionStartLine(req.source));
        }
        if (reply.kind === 'unserializable') {
          logs.push({ level: 'warn', text: `the function returned a ${reply.preview}, which has no JSON form: no reply is sent` });
        }
        keepRuntime = true;
        return done(reply.bytes, undefined, reply.kind);
      } finally {
        fn.dispose();
      }
    }
  } catch (e) {
    // An error from QuickJS itself (e.g. out of memory while building a value).
    const message = (e as Error).message ?? String(e);
    return done(null, memory.reached || /memory/i.test(message) ? outOfMemory(req) : { kind: 'exception', message });
  } finally {
    memory.end();
    releaseHostApi?.();
    vm.dispose();
    if (!keepRuntime) {
      runtimes.delete(qjs);
      runtime.dispose();
    }
  }
}

const runtimes = new WeakMap<QuickJSWASMModule, QuickJSRuntime>();

/**
 * The engine's linear memory, with growth bounded during a run. Emscripten grows its heap from
 * JavaScript (memory.grow, when malloc needs more): growth refused here makes malloc fail, and
 * QuickJS throw "out of memory".
 */
interface EngineMemory {
  memory: WebAssembly.Memory;
  /** The size before the first run: the engine's data, stack and first heap. */
  initialBytes: number;
  /** The most the memory may grow to; Infinity between runs. */
  ceiling: number;
  /** The guard of the run in progress, told when growth is refused. */
  watch?: MemoryWatch;
}

const engineMemories = new WeakMap<QuickJSWASMModule, EngineMemory | null>();

function engineMemory(qjs: QuickJSWASMModule): EngineMemory | null {
  let engine = engineMemories.get(qjs);
  if (engine === undefined) {
    engine = null;
    try {
      const memory = qjs.getWasmMemory();
      const grow = memory.grow.bind(memory);
      const bounded: EngineMemory = { memory, initialBytes: memory.buffer.byteLength, ceiling: Infinity };
      memory.grow = (pages: number) => {
        if (memory.buffer.byteLength + pages * WASM_PAGE_BYTES > bounded.ceiling) {
          if (bounded.watch) {
            bounded.watch.growthRefused = true;
            bounded.watch.nextCheck = 0; // measure at the next interrupt
          }
          throw new RangeError(`the function's memory may not grow past ${bounded.ceiling} bytes`);
        }
        return grow(pages);
      };
      engine = bounded;
    } catch {
      // A variant that does not expose its memory: the interrupt-time checks still apply.
    }
    engineMemories.set(qjs, engine);
  }
  return engine;
}

/** One run's memory guard; `check` runs from the interrupt handler. */
interface MemoryWatch {
  /** Whether the run reached its memory limit (it is then stopped). */
  reached: boolean;
  /** Whether the engine's memory could not grow (malloc failed) during the run. */
  growthRefused: boolean;
  /** When the next measurement is due (Date.now() time). */
  nextCheck: number;
  /** Measures the heap when a measurement is due (or `force`d); true when it is at the limit. */
  check(now: number, force?: boolean): boolean;
  /** Lifts the run's bound on the engine's memory. */
  end(): void;
}

/**
 * Guards a run's memory. QuickJS's own limit counts 8 bytes per allocation in this build (it
 * cannot ask emscripten's malloc for block sizes), so it refuses a single allocation over the limit
 * but lets a function allocate gigabytes in small pieces, slower and slower, until the engine's
 * 2 GiB address space is full. Two guards bound what a run really holds:
 * - every MEMORY_CHECK_MS (or longer, for large heaps) the heap's live bytes are measured and the
 *   run is stopped at the limit; this is skipped while the engine's whole linear memory is within
 *   the limit, so runs that stay small never pay for a measurement;
 * - the linear memory may grow only to its initial size plus the limit, which stops loops whose
 *   allocations are so large that the limit is passed between two interrupts.
 */
function watchMemory(qjs: QuickJSWASMModule, runtime: QuickJSRuntime, limitBytes: number): MemoryWatch {
  const engine = engineMemory(qjs);
  const watch: MemoryWatch = {
    reached: false,
    growthRefused: false,
    nextCheck: Date.now() + MEMORY_CHECK_MS,
    check(now, force = false) {
      if (!force && now < watch.nextCheck) {
        return false;
      }
      watch.nextCheck = now + MEMORY_CHECK_MS;
      if (engine && engine.memory.buffer.byteLength <= limitBytes) {
        return false; // the heap cannot hold more than the memory it lives in
      }
      const started = performance.now();
      const used = heapBytes(runtime);
      watch.nextCheck = now + Math.max(MEMORY_CHECK_MS, (performance.now() - started) * MEMORY_CHECK_SHARE);
      watch.reached = used === undefined || used >= limitBytes;
      return watch.reached;
    },
    end() {
      if (engine) {
        engine.ceiling = Infinity;
        engine.watch = undefined;
      }
    },
  };
  if (engine) {
    engine.ceiling = Math.max(engine.memory.buffer.byteLength, engine.initialBytes + limitBytes);
    engine.watch = watch;
  }
  return watch;
}

/** The bytes QuickJS holds (objects, strings, buffers, code), or undefined when it cannot even allocate the answer. */
function heapBytes(runtime: QuickJSRuntime): number | undefined {
  try {
    const usage = runtime.computeMemoryUsage();
    try {
      // computeMemoryUsage builds its answer in the runtime's own context.
      const ctx = runtime.context!;
      return ctx.getProp(usage, 'memory_used_size').consume((n) => ctx.getNumber(n));
    } finally {
      usage.dispose();
    }
  } catch {
    return undefined;
  }
}

function outOfMemory(req: JsRunRequest): FunctionError {
  return { kind: 'memory', message: `the function ran out of memory (limit ${Math.round(req.limits.memoryLimitBytes / 1048576)} MiB)` };
}

interface ConvertedReply {
  kind: ReplyKind;
  bytes: Uint8Array | null;
  preview: string;
}

/**
 * Turns the function's return value into reply bytes, per profile: nodes send
 * JSON.stringify(value); the documented contract sends bytes as-is, strings as UTF-8 and nothing
 * for undefined/null. JSON.stringify runs inside the VM, so its errors are the function's errors.
 */
function convertReply(vm: QuickJSContext, value: QuickJSHandle, profile: CompatProfile): { reply: ConvertedReply } | { error: QuickJSHandle } {
  const type = vm.typeof(value);
  const isNull = type === 'object' && vm.sameValue(value, vm.null);
  const bytes = type === 'object' && !isNull ? viewBytes(vm, value) : undefined;
  const kind: ReplyKind = type === 'undefined' ? 'undefined' : isNull ? 'null' : type === 'string' ? 'string' : bytes ? 'bytes' : 'json';
  const json = (): { text?: string } | { error: QuickJSHandle } => {
    const JSONh = vm.getProp(vm.global, 'JSON');
    const stringify = vm.getProp(JSONh, 'stringify');
    const result = vm.callFunction(stringify, JSONh, value);
    stringify.dispose();
    JSONh.dispose();
    if (result.error) {
      return { error: result.error };
    }
    const text = vm.typeof(result.value) === 'string' ? vm.getString(result.value) : undefined;
    result.value.dispose();
    return { text };
  };
  if (profile !== 'docs') {
    const j = json();
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
    case 'string': {
      const text = vm.getString(value);
      return { reply: { kind, bytes: utf8(text), preview: JSON.stringify(text) } };
    }
    case 'bytes': {
      const head = [...bytes!.subarray(0, 4)].map((b, i) => `"${i}":${b}`).join(',');
      return { reply: { kind, bytes: bytes!, preview: `{${head}${bytes!.length > 4 ? ',…' : ''}}` } };
    }
    default: {
      const j = json();
      if ('error' in j) {
        return j;
      }
      return j.text === undefined ? { reply: { kind: 'unserializable', bytes: null, preview: type } } : { reply: { kind, bytes: utf8(j.text), preview: j.text } };
    }
  }
}

function installConsole(vm: QuickJSContext, logs: FunctionLogLine[]): void {
  const consoleObj = vm.newObject();
  const levels: Array<[string, LogLevel]> = [
    ['log', 'info'],
    ['info', 'info'],
    ['debug', 'debug'],
    ['warn', 'warn'],
    ['error', 'error'],
  ];
  for (const [method, level] of levels) {
    vm.newFunction(method, (...args) => {
      if (logs.length === MAX_LOG_LINES) {
        logs.push({ level: 'warn', text: `more than ${MAX_LOG_LINES} console lines: the rest of this run's output is dropped` });
      }
      if (logs.length > MAX_LOG_LINES) {
        return;
      }
      const text = args.map((a) => formatLogArg(vm, a)).join(' ');
      logs.push({ level, text: text.length > MAX_LOG_LINE_CHARS ? `${text.slice(0, MAX_LOG_LINE_CHARS)}… (${text.length} chars)` : text });
    }).consume((fn) => vm.setProp(consoleObj, method, fn));
  }
  vm.setProp(vm.global, 'console', consoleObj);
  consoleObj.dispose();
}

function formatLogArg(vm: QuickJSContext, handle: QuickJSHandle): string {
  const type = vm.typeof(handle);
  if (type === 'string') {
    return vm.getString(handle);
  }
  if (type === 'function') {
    return '[Function]';
  }
  const value = vm.dump(handle);
  if (value && typeof value === 'object' && 'name' in value && 'message' in value && 'stack' in value) {
    return `${value.name}: ${value.message}`;
  }
  if (type === 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

interface DumpedError {
  name?: string;
  message?: string;
  stack?: string;
  lineNumber?: number;
}

/**
 * The error a failed run reports. `stopped` says why the run was interrupted, if it was: a run at
 * its memory limit is reported as out of memory even when the time limit passed too.
 */
function describeError(dumped: unknown, phase: 'compile' | 'call', stopped: 'memory' | 'timeout' | undefined, req: JsRunRequest): FunctionError {
  const timeout: FunctionError = { kind: 'timeout', message: `the function did not finish within ${req.limits.timeoutMs} ms and was stopped (an endless loop?)` };
  if (typeof dumped !== 'object' || dumped === null) {
    // A thrown non-Error value, e.g. the plain strings host services throw.
    if (stopped) {
      return stopped === 'memory' ? outOfMemory(req) : timeout;
    }
    return { kind: 'exception', message: typeof dumped === 'string' ? JSON.stringify(dumped) : String(dumped) };
  }
  const err = dumped as DumpedError;
  const name = err.name ?? 'Error';
  const message = err.message ?? String(dumped);
  const stack = typeof err.stack === 'string' ? collapseStack(err.stack) : undefined;
  const where = locate(stack, req.fileName);
  if (stopped === 'memory' || (name === 'InternalError' && /out of memory/i.test(message))) {
    return { ...outOfMemory(req), name, ...where, stack };
  }
  if (stopped === 'timeout') {
    return timeout;
  }
  if (phase === 'compile' && name === 'SyntaxError') {
    return { kind: 'syntax', name, message: `SyntaxError: ${message}`, ...where, line: where.line ?? err.lineNumber, stack };
  }
  return { kind: 'exception', name, message: `${name}: ${message}`, ...where, stack };
}
