/**
 * Runs one JavaScript Nex function on QuickJS, in-process. This is what the worker does; nothing
 * here knows about threads. The contract ("docs" profile): a classic script whose completion value
 * is a function `(subject, payload) => reply`; `payload` is a Uint8Array; a returned
 * Uint8Array/ArrayBuffer is the reply as-is, a string its UTF-8 bytes, undefined/null no reply,
 * anything else its JSON.
 */
import * as fs from 'fs';
import * as path from 'path';
import { newQuickJSWASMModuleFromVariant, newVariant, QuickJSContext, QuickJSHandle, QuickJSWASMModule } from 'quickjs-emscripten-core';
import releaseSyncVariant from '@jitl/quickjs-wasmfile-release-sync';
import { utf8 } from '../core/bytes';
import { FunctionError, FunctionLogLine, JsRunRequest, LogLevel, RunOutcome } from './types';

/** QuickJS's own stack guard; larger values let deep recursion overflow the wasm stack first. */
const MAX_STACK_BYTES = 256 * 1024;
const MAX_LOG_LINES = 5000;
const MAX_LOG_LINE_CHARS = 10000;
const WASM_FILE = 'quickjs.wasm';

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

/** Helpers evaluated in each context under a name of their own, so user errors never point at them. */
const RUNTIME_HELPERS = `({
  toBytes: (buf) => new Uint8Array(buf),
  toReply: (v) => {
    if (v === undefined || v === null) return { kind: 'none' };
    if (typeof v === 'string') return { kind: 'string', value: v };
    if (v instanceof ArrayBuffer) return { kind: 'bytes', value: v };
    if (ArrayBuffer.isView(v)) return { kind: 'bytes', value: v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) };
    const json = JSON.stringify(v);
    return json === undefined ? { kind: 'none', unserializable: typeof v } : { kind: 'string', value: json };
  },
})`;

export function runJsFunction(qjs: QuickJSWASMModule, req: JsRunRequest): RunOutcome {
  const logs: FunctionLogLine[] = [];
  const started = performance.now();
  const deadline = Date.now() + req.limits.timeoutMs;
  let timedOut = false;
  const runtime = qjs.newRuntime();
  runtime.setMemoryLimit(req.limits.memoryLimitBytes);
  runtime.setMaxStackSize(MAX_STACK_BYTES);
  runtime.setInterruptHandler(() => {
    if (Date.now() > deadline) {
      timedOut = true;
      return true;
    }
    return false;
  });
  const vm = runtime.newContext();
  const done = (reply: Uint8Array | null, error?: FunctionError): RunOutcome => ({
    ok: !error,
    reply: error ? null : reply,
    logs,
    durationMs: performance.now() - started,
    error,
  });
  const failure = (handle: QuickJSHandle, phase: 'compile' | 'call'): RunOutcome => {
    const dumped = vm.dump(handle);
    handle.dispose();
    return done(null, describeError(dumped, phase, timedOut, req));
  };
  try {
    installConsole(vm, logs);
    const helpers = vm.unwrapResult(vm.evalCode(RUNTIME_HELPERS, '<nex-runtime>', { type: 'global' }));
    try {
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
        const payloadBuf = vm.newArrayBuffer(req.payload.slice().buffer as ArrayBuffer);
        const toBytes = vm.getProp(helpers, 'toBytes');
        const payloadArr = vm.unwrapResult(vm.callFunction(toBytes, vm.undefined, payloadBuf));
        toBytes.dispose();
        payloadBuf.dispose();
        const subject = vm.newString(req.subject);
        const called = vm.callFunction(fn, vm.global, subject, payloadArr);
        subject.dispose();
        payloadArr.dispose();
        if (called.error) {
          return failure(called.error, 'call');
        }
        const toReply = vm.getProp(helpers, 'toReply');
        const converted = vm.callFunction(toReply, vm.undefined, called.value);
        toReply.dispose();
        called.value.dispose();
        if (converted.error) {
          return failure(converted.error, 'call');
        }
        return done(readReply(vm, converted.value, logs));
      } finally {
        fn.dispose();
      }
    } finally {
      helpers.dispose();
    }
  } catch (e) {
    // An error from QuickJS itself (e.g. out of memory while building a value).
    const message = (e as Error).message ?? String(e);
    return done(null, { kind: /memory/i.test(message) ? 'memory' : 'exception', message });
  } finally {
    vm.dispose();
    runtime.dispose();
  }
}

function readReply(vm: QuickJSContext, converted: QuickJSHandle, logs: FunctionLogLine[]): Uint8Array | null {
  try {
    const kind = vm.getProp(converted, 'kind').consume((h) => vm.getString(h));
    if (kind === 'none') {
      const unserializable = vm.getProp(converted, 'unserializable').consume((h) => vm.dump(h));
      if (unserializable) {
        logs.push({ level: 'warn', text: `the function returned a ${unserializable}, which has no JSON form: no reply is sent` });
      }
      return null;
    }
    return vm.getProp(converted, 'value').consume((value) => {
      if (kind === 'string') {
        return utf8(vm.getString(value));
      }
      return vm.getArrayBuffer(value).consume((view) => new Uint8Array(view.value));
    });
  } finally {
    converted.dispose();
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

function describeError(dumped: unknown, phase: 'compile' | 'call', timedOut: boolean, req: JsRunRequest): FunctionError {
  const err: DumpedError = dumped && typeof dumped === 'object' ? (dumped as DumpedError) : { message: String(dumped) };
  const name = err.name ?? 'Error';
  const message = err.message ?? String(dumped);
  const stack = typeof err.stack === 'string' ? collapseStack(err.stack) : undefined;
  const where = locate(stack, req.fileName);
  if (timedOut) {
    return { kind: 'timeout', message: `the function did not finish within ${req.limits.timeoutMs} ms and was stopped (an endless loop?)` };
  }
  if (name === 'InternalError' && /out of memory/i.test(message)) {
    return { kind: 'memory', message: `the function ran out of memory (limit ${Math.round(req.limits.memoryLimitBytes / 1048576)} MiB)`, name, ...where, stack };
  }
  if (phase === 'compile' && name === 'SyntaxError') {
    return { kind: 'syntax', name, message: `SyntaxError: ${message}`, ...where, line: where.line ?? err.lineNumber, stack };
  }
  return { kind: 'exception', name, message: `${name}: ${message}`, ...where, stack };
}

/** The first stack frame in the user's file gives the error location. */
function locate(stack: string | undefined, fileName: string): { line?: number; column?: number } {
  if (!stack) {
    return {};
  }
  for (const frame of stack.split('\n')) {
    const idx = frame.lastIndexOf(fileName + ':');
    if (idx >= 0) {
      const m = /^:(\d+)(?::(\d+))?/.exec(frame.slice(idx + fileName.length));
      if (m) {
        return { line: Number(m[1]), column: m[2] ? Number(m[2]) : undefined };
      }
    }
  }
  return {};
}

/** Collapses runs of identical frames (deep recursion) into one line with a count. */
export function collapseStack(stack: string): string {
  const out: string[] = [];
  const frames = stack.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i < frames.length; ) {
    let j = i;
    while (j + 1 < frames.length && frames[j + 1] === frames[i]) {
      j++;
    }
    out.push(j > i ? `${frames[i]} (repeated ${j - i + 1} times)` : frames[i]);
    i = j + 1;
  }
  return out.slice(0, 30).join('\n');
}
