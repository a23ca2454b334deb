/**
 * Runs one JavaScript Nex function on QuickJS, in-process. This is what the worker does; nothing
 * here knows about threads. The contract ("docs" profile): a classic script whose completion value
 * is a function `(subject, payload) => reply`; `payload` is a Uint8Array; a returned
 * Uint8Array/ArrayBuffer is the reply as-is, a string its UTF-8 bytes, undefined/null no reply,
 * anything else its JSON. The run's frame (those rules, limits, hints and errors) is jsRunFrame.ts,
 * shared with the V8 engine; what is here is QuickJS's own: its runtime, memory guard and values.
 */
import * as fs from 'fs';
import * as path from 'path';
import { newQuickJSWASMModuleFromVariant, newVariant, QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core';
import releaseSyncVariant from '@jitl/quickjs-wasmfile-release-sync';
import { CompatProfile } from '../core/compat';
import { installHostApi } from './hostApi';
import { ConvertedReply, convertReply, JsEngineRun, JsRunContext, JsRunFrame, needsJson, outOfMemory, runJs, StepFailure, thrownError, timedOut } from './jsRunFrame';
import { callGlobal, newUint8Array, viewBytes } from './vmValues';
import { collapseStack, locate } from './stackFrames';
import { FunctionError, JsRunRequest, LogLevel, RunOutcome } from './types';
import { WASM_PAGE_BYTES } from './wasmModule';

/** QuickJS's own stack guard; larger values let deep recursion overflow the wasm stack first. */
const MAX_STACK_BYTES = 256 * 1024;
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

export type RunContext = JsRunContext;

export function runJsFunction(qjs: QuickJSWASMModule, req: JsRunRequest, runCtx: RunContext = {}): RunOutcome {
  return runJs(req, runCtx, (frame) => openRun(qjs, frame));
}

/** One run's QuickJS side: a fresh context (fresh globals, as a node gives each trigger) in the engine's runtime. */
function openRun(qjs: QuickJSWASMModule, frame: JsRunFrame): JsEngineRun<QuickJSHandle> {
  const { req, profile } = frame;
  let timedOutHere = false;
  // One runtime per engine, reused: each run still gets a fresh context. A run that does not
  // complete discards the runtime, in case it left it damaged.
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
    if (now > frame.deadline) {
      // A function that slowed down at the memory limit ran out of memory, not out of time.
      timedOutHere = !memory.check(now, true);
      return true;
    }
    return false;
  });
  const vm = runtime.newContext();
  let releaseHostApi: (() => void) | undefined;
  let fnHandle: QuickJSHandle | undefined;
  const failure = (handle: QuickJSHandle, phase: 'compile' | 'call'): StepFailure => {
    const dumped = vm.dump(handle);
    handle.dispose();
    // QuickJS throws null when it cannot even allocate its "out of memory" error. A host call cut
    // short by the deadline throws before the interrupt handler runs.
    const stopped = memory.reached || (memory.growthRefused && dumped === null) ? 'memory' : timedOutHere || Date.now() >= frame.deadline ? 'timeout' : undefined;
    const error = describeError(dumped, phase, stopped, req);
    if (typeof dumped === 'string' && error.line === undefined) {
      error.line = frame.hostCallLine(dumped);
    }
    return { error, thrownMessage: String(dumped?.message ?? '') };
  };
  return {
    evaluate() {
      installConsole(vm, frame.log);
      releaseHostApi = installHostApi(vm, frame.host);
      const evaluated = vm.evalCode(req.source, req.fileName, { type: 'global' });
      if (evaluated.error) {
        return failure(evaluated.error, 'compile');
      }
      const fn = (fnHandle = evaluated.value);
      const type = vm.typeof(fn);
      return { fn, type: type === 'object' && vm.dump(fn) === null ? 'null' : type };
    },
    call(fn) {
      const payloadArr = newUint8Array(vm, req.payload);
      const subject = vm.newString(req.subject);
      const called = vm.callFunction(fn, vm.global, subject, payloadArr);
      subject.dispose();
      payloadArr.dispose();
      if (called.error) {
        return failure(called.error, 'call');
      }
      const converted = replyOf(vm, called.value, profile);
      called.value.dispose();
      return 'error' in converted ? failure(converted.error, 'call') : converted;
    },
    internalError(e) {
      // An error from QuickJS itself (e.g. out of memory while building a value).
      const message = (e as Error).message ?? String(e);
      return memory.reached || /memory/i.test(message) ? outOfMemory(req) : { kind: 'exception', message };
    },
    close(completed) {
      fnHandle?.dispose();
      memory.end();
      releaseHostApi?.();
      vm.dispose();
      if (!completed) {
        runtimes.delete(qjs);
        runtime.dispose();
      }
    },
  };
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

/**
 * The reply of the function's return value (see convertReply). JSON.stringify runs inside the VM,
 * so its errors are the function's errors.
 */
function replyOf(vm: QuickJSContext, value: QuickJSHandle, profile: CompatProfile): { reply: ConvertedReply } | { error: QuickJSHandle } {
  const type = vm.typeof(value);
  const isNull = type === 'object' && vm.sameValue(value, vm.null);
  const bytes = type === 'object' && !isNull ? viewBytes(vm, value) : undefined;
  const kind = type === 'undefined' ? 'undefined' : isNull ? 'null' : type === 'string' ? 'string' : bytes ? 'bytes' : 'json';
  let json: string | undefined;
  if (needsJson(profile, kind)) {
    const result = callGlobal(vm, 'JSON', 'stringify', value);
    if (result.error) {
      return { error: result.error };
    }
    json = vm.typeof(result.value) === 'string' ? vm.getString(result.value) : undefined;
    result.value.dispose();
  }
  return { reply: convertReply(profile, { kind, type, json, text: () => vm.getString(value), bytes: () => bytes! }) };
}

function installConsole(vm: QuickJSContext, log: JsRunFrame['log']): void {
  const consoleObj = vm.newObject();
  const levels: Array<[string, LogLevel]> = [
    ['log', 'info'],
    ['info', 'info'],
    ['debug', 'debug'],
    ['warn', 'warn'],
    ['error', 'error'],
  ];
  for (const [method, level] of levels) {
    vm.newFunction(method, (...args) => log(level, () => args.map((a) => formatLogArg(vm, a)).join(' '))).consume((fn) => vm.setProp(consoleObj, method, fn));
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
  if (typeof dumped !== 'object' || dumped === null) {
    // A thrown non-Error value, e.g. the plain strings host services throw.
    if (stopped) {
      return stopped === 'memory' ? outOfMemory(req) : timedOut(req);
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
    return timedOut(req);
  }
  if (phase === 'compile' && name === 'SyntaxError') {
    return { kind: 'syntax', name, message: `SyntaxError: ${message}`, ...where, line: where.line ?? err.lineNumber, stack };
  }
  return thrownError(name, message, stack, req.fileName);
}
