/** What crosses the boundary between the editor/CLI and the worker that runs user code. */
import type { CompatProfile, JsEngine } from '../core/compat';
import type { HostCallRecord } from '../hostservices/types';
import type { FidelityWarning, ReplyKind } from './fidelity';

export interface RunLimits {
  /** Wall-clock limit for one invocation, in ms (a Nex node gives JavaScript 5 s). */
  timeoutMs: number;
  /** Heap limit for the JavaScript runtime, in bytes. */
  memoryLimitBytes: number;
  /** Largest trigger payload accepted, in bytes (NATS' default max_payload is 1 MiB). */
  maxPayloadBytes: number;
}

export const DEFAULT_LIMITS: RunLimits = {
  timeoutMs: 5000,
  memoryLimitBytes: 64 * 1024 * 1024,
  maxPayloadBytes: 1024 * 1024,
};

/** What every run request carries. */
interface RunRequestBase {
  subject: string;
  payload: Uint8Array;
  limits: RunLimits;
  /** Which Nex behaviour to reproduce (default "docs"). */
  profile?: CompatProfile;
  /** Workload name and namespace: they name the buckets a 0.2 node provisions. */
  workload?: string;
  namespace?: string;
}

export interface JsRunRequest extends RunRequestBase {
  kind?: 'js';
  /** The script text. */
  source: string;
  /** Shown in stack traces and error locations; usually the absolute source path. */
  fileName: string;
  /** Only evaluate the script and check that it ends in a function; do not call it. */
  checkOnly?: boolean;
  /** Which JavaScript engine runs it: QuickJS in the worker (the default) or V8 in a child process. */
  engine?: JsEngine;
}

/** A WebAssembly (WASI command) function run. */
export interface WasmRunRequest extends RunRequestBase {
  kind: 'wasm';
  /** The .wasm file; compiled once per content. */
  artifactPath: string;
  /** Environment variables (the manifest's env). */
  env?: Record<string, string>;
}

export type RunRequest = JsRunRequest | WasmRunRequest;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface FunctionLogLine {
  level: LogLevel;
  text: string;
  /** Where the line came from: console.* (JavaScript) or stderr (WebAssembly). */
  stream?: 'console' | 'stderr';
}

export type FunctionErrorKind =
  | 'syntax' // the script does not compile
  | 'notAFunction' // the script's completion value is not a function
  | 'exception' // the function threw
  | 'timeout' // the time limit was hit
  | 'memory' // the memory limit was hit
  | 'invalidInput' // the request was refused before running (e.g. payload too large)
  | 'cancelled' // the caller cancelled the run
  | 'invalidModule' // not wasm, no _start, foreign imports, does not compile
  | 'trap' // the wasm module trapped
  | 'exitCode' // the wasm module exited with a non-zero code
  | 'crash'; // the worker died

export interface FunctionError {
  kind: FunctionErrorKind;
  /** One line a user can act on. */
  message: string;
  /** e.g. "TypeError", for exceptions. */
  name?: string;
  /** Where the error happened in the user's source, 1-based. */
  line?: number;
  column?: number;
  /** The JavaScript stack, trimmed of repeated frames. */
  stack?: string;
}

export interface RunOutcome {
  ok: boolean;
  /** The reply bytes; null when the function returned nothing (no reply is sent). */
  reply: Uint8Array | null;
  logs: FunctionLogLine[];
  /** Time spent compiling and running the function inside the runtime. */
  durationMs: number;
  error?: FunctionError;
  profile: CompatProfile;
  /** What the function returned, before it became reply bytes. */
  replyKind?: ReplyKind;
  hostCalls: HostCallRecord[];
  /** Where a real node of another version would behave differently. */
  warnings: FidelityWarning[];
}
