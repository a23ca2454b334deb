/**
 * Runs one WebAssembly Nex function, a WASI command, on @wasmer/wasi, in-process (the worker
 * calls this; nothing here knows about threads). As on a node: argv = ["nexfunction", subject],
 * stdin = payload, stdout = reply (empty = no reply), stderr = log lines, non-zero exit = failure,
 * env from the manifest, no preopened directories. Profiles 0.2/0.3 reproduce what those nodes
 * really do: argv[1] is the node's internal subject, and only the last write to stdout is the reply.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { init, WASI } from '@wasmer/wasi';
import { CompatProfile, DEFAULT_COMPAT } from '../core/compat';
import { FidelityWarning } from './fidelity';
import { wasmTrap } from './stackFrames';
import { FunctionError, FunctionLogLine, RunOutcome, WasmRunRequest } from './types';
import { capMemory, isWasm, memoryLimits, REFUSED_GROW_EXPORT, WASM_PAGE_BYTES, watchMemoryGrow } from './wasmModule';

const WASI_MODULE = 'wasi_snapshot_preview1';
const MAX_LOG_LINES = 5000;
const ERRNO_BADF = 8;

let initialised: Promise<void> | undefined;

/** Loads @wasmer/wasi's own wasm (once per thread). */
export function loadWasi(): Promise<void> {
  initialised ??= init();
  return initialised;
}

interface CachedModule {
  module: WebAssembly.Module;
  /** The memory maximum the module declares itself, in pages, when it is below the limit. */
  ownMaxPages?: number;
}

/** Compiled modules by content hash and memory cap: a re-run costs an instantiation, not a compile. */
const compiled = new Map<string, CachedModule>();
/** Content hashes by path, size and mtime, so an unchanged artifact is not hashed again. */
const hashes = new Map<string, { size: number; mtimeMs: number; hash: string; bytes: Uint8Array }>();

/** The internal subject 0.2.2–0.3 nodes pass as argv[1] instead of the trigger subject. */
export function internalTriggerSubject(workload: string): string {
  return `agentint.${createHash('sha256').update(workload).digest('hex').slice(0, 20).toUpperCase()}.trigger`;
}

function readArtifact(path: string): { bytes: Uint8Array; hash: string } | FunctionError {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch {
    return { kind: 'invalidModule', message: `the artifact ${path} does not exist: build the function first (the manifest's "build" command runs before each run when sources are newer)` };
  }
  const known = hashes.get(path);
  if (known && known.size === stat.size && known.mtimeMs === stat.mtimeMs) {
    return known;
  }
  const bytes = new Uint8Array(fs.readFileSync(path));
  const hash = createHash('sha256').update(bytes).digest('hex');
  hashes.set(path, { size: stat.size, mtimeMs: stat.mtimeMs, hash, bytes });
  return { bytes, hash };
}

function prepare(req: WasmRunRequest, maxPages: number): CachedModule | FunctionError {
  const artifact = readArtifact(req.artifactPath);
  if ('kind' in artifact) {
    return artifact;
  }
  const { bytes, hash } = artifact;
  if (!isWasm(bytes)) {
    const head = Buffer.from(bytes.subarray(0, 4)).toString('hex').replace(/(..)/g, '$1 ').trim();
    return { kind: 'invalidModule', message: `${req.artifactPath} is not a WebAssembly module: it starts with ${head || 'nothing'}, not 00 61 73 6d ("\\0asm")` };
  }
  const key = `${hash}:${maxPages}`;
  const cached = compiled.get(key);
  if (cached) {
    return cached;
  }
  let limits;
  let module: WebAssembly.Module;
  try {
    limits = memoryLimits(bytes);
    if (limits && limits.min > maxPages) {
      return {
        kind: 'memory',
        message: `the module starts with ${Math.round((limits.min * WASM_PAGE_BYTES) / 1048576)} MiB of memory, over the limit of ${Math.round((maxPages * WASM_PAGE_BYTES) / 1048576)} MiB`,
      };
    }
    module = compileWatched(capMemory(bytes, maxPages));
  } catch (e) {
    return { kind: 'invalidModule', message: `the module does not compile: ${(e as Error).message}` };
  }
  const foreign = WebAssembly.Module.imports(module).filter((i) => i.module !== WASI_MODULE);
  if (foreign.length > 0) {
    return {
      kind: 'invalidModule',
      message: `the module imports ${foreign.map((i) => `${i.module}.${i.name}`).join(', ')}: a Nex node provides only ${WASI_MODULE} (build a WASI command, e.g. --target wasm32-wasi, without other host imports)`,
    };
  }
  if (!WebAssembly.Module.exports(module).some((e) => e.name === '_start' && e.kind === 'function')) {
    return {
      kind: 'invalidModule',
      message: 'the module exports no _start function: a Nex function is a WASI command (a program with main), not a library or reactor module',
    };
  }
  const entry: CachedModule = { module, ownMaxPages: limits?.max !== undefined && limits.max < maxPages ? limits.max : undefined };
  compiled.set(key, entry);
  return entry;
}

/**
 * Compiles the module with its memory.grow calls watched (see watchMemoryGrow), or as it is when
 * it cannot be watched: an error in the rewriting must not keep a valid module from running.
 */
function compileWatched(bytes: Uint8Array): WebAssembly.Module {
  const watched = watchMemoryGrow(bytes);
  if (watched) {
    try {
      return new WebAssembly.Module(watched as Uint8Array<ArrayBuffer>);
    } catch {
      // fall through to the module as it is, which reports its own compile errors
    }
  }
  return new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
}

/** The largest memory, in bytes, that a refused memory.grow asked for during the run; 0 when none was refused. */
function refusedGrowBytes(instance: WebAssembly.Instance): number {
  const global = instance.exports[REFUSED_GROW_EXPORT];
  return global instanceof WebAssembly.Global ? Number(global.value) * WASM_PAGE_BYTES : 0;
}

/**
 * "asked to grow its memory to 6.1 GiB, over the limit of 64 MiB": what a refused memory.grow
 * asked for, and the limit that refused it (the module's own maximum when that is lower).
 */
function refusedGrowth(askedBytes: number, prepared: CachedModule, maxPages: number): string {
  const own = prepared.ownMaxPages !== undefined;
  const limitBytes = (own ? prepared.ownMaxPages! : maxPages) * WASM_PAGE_BYTES;
  return `asked to grow its memory to ${formatMemory(askedBytes)}, over ${own ? "the module's own maximum" : 'the limit'} of ${formatMemory(limitBytes)}`;
}

/** A memory size for messages: MiB, or GiB from 1 GiB, to a tenth (so 8.1 MiB is not shown as the 8 MiB it exceeds). */
function formatMemory(bytes: number): string {
  const gib = 1024 * 1048576;
  return bytes >= gib ? `${Number((bytes / gib).toFixed(1))} GiB` : `${Number((bytes / 1048576).toFixed(1))} MiB`;
}

export function runWasiFunction(req: WasmRunRequest): RunOutcome {
  const profile: CompatProfile = req.profile ?? DEFAULT_COMPAT;
  const started = performance.now();
  const logs: FunctionLogLine[] = [];
  const warnings: FidelityWarning[] = [];
  const warn = (code: string, message: string) => {
    if (!warnings.some((w) => w.code === code)) {
      warnings.push({ code, message });
    }
  };
  const done = (reply: Uint8Array | null, error?: FunctionError): RunOutcome => ({
    ok: !error,
    reply: error ? null : reply,
    logs,
    durationMs: performance.now() - started,
    error,
    profile,
    hostCalls: [],
    warnings,
  });

  const maxPages = Math.max(1, Math.floor(req.limits.memoryLimitBytes / WASM_PAGE_BYTES));
  const prepared = prepare(req, maxPages);
  if ('kind' in prepared) {
    return done(null, prepared);
  }

  const argv1 = profile === 'docs' ? req.subject : internalTriggerSubject(req.workload ?? 'function');
  const wasi = new WASI({ args: ['nexfunction', argv1], env: req.env ?? {} });
  const stdoutWrites: Uint8Array[] = [];
  let stderr = '';
  let argsRead = false;
  let instance: WebAssembly.Instance | undefined;
  try {
    const usesWasi = WebAssembly.Module.imports(prepared.module).length > 0;
    const imports = (usesWasi ? wasi.getImports(prepared.module) : {}) as Record<string, Record<string, (...args: number[]) => number>>;
    const ns = imports[WASI_MODULE];
    if (ns) {
      // stdout/stderr writes and argv are served here, not by @wasmer/wasi: each write to stdout
      // is kept apart (nodes keep only the last), and reading argv is noticed (nodes pass the
      // wrong subject there).
      const memory = () => new DataView((instance!.exports.memory as WebAssembly.Memory).buffer);
      const argv = ['nexfunction', argv1].map((a) => Buffer.from(`${a}\0`, 'utf8'));
      ns.fd_write = (fd, iovs, iovsLen, nwritten) => {
        if (fd !== 1 && fd !== 2) {
          return ERRNO_BADF;
        }
        const view = memory();
        const parts: Uint8Array[] = [];
        for (let i = 0; i < iovsLen; i++) {
          const ptr = view.getUint32(iovs + i * 8, true);
          const len = view.getUint32(iovs + i * 8 + 4, true);
          parts.push(new Uint8Array(view.buffer, ptr, len).slice());
        }
        const chunk = Buffer.concat(parts);
        if (fd === 1) {
          if (chunk.length > 0) {
            stdoutWrites.push(new Uint8Array(chunk));
          }
        } else {
          stderr += chunk.toString('utf8');
        }
        view.setUint32(nwritten, chunk.length, true);
        return 0;
      };
      ns.args_sizes_get = (argcPtr, sizePtr) => {
        argsRead = true;
        const view = memory();
        view.setUint32(argcPtr, argv.length, true);
        view.setUint32(sizePtr, argv.reduce((n, a) => n + a.length, 0), true);
        return 0;
      };
      ns.args_get = (argvPtr, bufPtr) => {
        argsRead = true;
        const view = memory();
        let offset = bufPtr;
        argv.forEach((arg, i) => {
          view.setUint32(argvPtr + i * 4, offset, true);
          new Uint8Array(view.buffer, offset, arg.length).set(arg);
          offset += arg.length;
        });
        return 0;
      };
    }
    let exitCode: number;
    instance = new WebAssembly.Instance(prepared.module, imports);
    if (usesWasi) {
      wasi.setStdinBuffer(req.payload);
    }
    // A memory.grow refused at the limit is told apart from the module's own failures.
    const askedFor = (asked: number) => refusedGrowth(asked, prepared, maxPages);
    try {
      if (usesWasi) {
        exitCode = wasi.start(instance);
      } else {
        (instance.exports._start as () => void)();
        exitCode = 0;
      }
    } catch (e) {
      collectLogs(stderr, logs);
      const trap = wasmTrap(e);
      const fn = trap.functionName;
      const asked = refusedGrowBytes(instance);
      if (asked > 0) {
        return done(null, { kind: 'memory', message: `the module ran out of memory: it ${askedFor(asked)}, was refused, and then trapped${fn ? ` in ${fn}` : ''} (${trap.message})` });
      }
      const memory = instance.exports.memory as WebAssembly.Memory | undefined;
      // For a module whose grows are not watched: memory.grow past the cap fails and the module
      // traps soon after (Rust and C abort on a failed allocation), so a trap with memory within
      // 10% (at least 2 MiB) of the cap is taken for exhaustion.
      const cap = maxPages * WASM_PAGE_BYTES;
      const atCap = memory !== undefined && memory.buffer.byteLength >= cap - Math.max(cap * 0.1, 2 * 1048576);
      if (atCap) {
        return done(null, {
          kind: 'memory',
          message: `the module ran out of memory: it grew to the limit of ${Math.round(req.limits.memoryLimitBytes / 1048576)} MiB and trapped${fn ? ` in ${fn}` : ''} (${trap.message})`,
        });
      }
      return done(null, { kind: 'trap', message: `the module trapped${fn ? ` in ${fn}` : ''}: ${trap.message}`, name: fn, stack: trap.stack });
    }
    collectLogs(stderr, logs);
    const asked = refusedGrowBytes(instance);
    if (exitCode !== 0) {
      const last = logs.filter((l) => l.text.trim() !== '').pop()?.text;
      const exited = `exited with code ${exitCode}${last ? `; its last stderr line: ${last}` : ''}`;
      if (asked > 0) {
        return done(null, { kind: 'memory', message: `the module ran out of memory: it ${askedFor(asked)}, was refused, and then ${exited}` });
      }
      return done(null, { kind: 'exitCode', message: `the module ${exited}` });
    }
    if (asked > 0) {
      if (stdoutWrites.length === 0) {
        return done(null, { kind: 'memory', message: `the module ran out of memory: it ${askedFor(asked)}, was refused, and then ended without writing a reply` });
      }
      logs.push({ level: 'warn', text: `the module ${askedFor(asked)}, and was refused; it carried on` });
    }
  } catch (e) {
    return done(null, { kind: 'invalidModule', message: `the module could not be instantiated: ${(e as Error).message}` });
  } finally {
    wasi.free();
  }

  if (argsRead) {
    warn(
      'wasm-argv-subject',
      profile === 'docs'
        ? `Nex 0.2.2 to 0.3 nodes pass their internal subject (agentint.<workload id>.trigger) as argv[1], not the trigger subject: a function that reads argv[1] sees "${internalTriggerSubject(req.workload ?? 'function')}" there`
        : `argv[1] is the node's internal subject "${argv1}", not "${req.subject}": Nex ${profile} passes it by mistake (0.1 to 0.2.1 and the docs pass the trigger subject)`,
    );
  }
  if (stdoutWrites.length > 1) {
    const last = Buffer.from(stdoutWrites[stdoutWrites.length - 1]).toString('utf8');
    warn(
      'wasm-multiple-writes',
      profile === 'docs'
        ? `the reply was written to stdout in ${stdoutWrites.length} writes: a Nex node keeps only the last write, so its callers would get only ${JSON.stringify(last.length > 60 ? last.slice(0, 60) + '…' : last)}; write the reply at once (one write or one flush)`
        : `only the last of ${stdoutWrites.length} writes to stdout became the reply, as on a Nex ${profile} node; write the reply at once (one write or one flush)`,
    );
  }
  if (logs.length > 0 && profile !== 'docs') {
    warn('wasm-stderr', "a Nex node writes a WebAssembly function's stderr to the agent's own stderr, not to the workload's logs: these lines show only in local runs");
  }
  const reply = stdoutWrites.length === 0 ? null : profile === 'docs' ? new Uint8Array(Buffer.concat(stdoutWrites)) : stdoutWrites[stdoutWrites.length - 1];
  if (reply === null) {
    warn('wasm-empty-reply', 'nothing was written to stdout: a Nex node sends no reply, waits 10 s and records function_exec_failed for this trigger');
  }
  return done(reply);
}

function collectLogs(stderr: string, logs: FunctionLogLine[]): void {
  const lines = stderr.split('\n');
  if (lines[lines.length - 1] === '') {
    lines.pop();
  }
  for (const line of lines.slice(0, MAX_LOG_LINES)) {
    logs.push({ level: 'info', text: line, stream: 'stderr' });
  }
  if (lines.length > MAX_LOG_LINES) {
    logs.push({ level: 'warn', text: `${lines.length - MAX_LOG_LINES} more stderr lines dropped` });
  }
}
