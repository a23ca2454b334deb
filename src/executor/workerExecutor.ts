/**
 * The executor of the editor, the CLI, the local node and the nexlet: it runs JavaScript (on QuickJS)
 * and WebAssembly functions behind a worker-thread boundary, with time and memory limits, so a
 * runaway function never blocks them, and hands JavaScript runs whose engine is V8 to a
 * V8ProcessExecutor (v8Process.ts: a child process, with the same limits). It keeps one warm worker
 * and runs on it one at a time, as a Nex node runs one invocation at a time per workload.
 * Host-service calls from the function are served here, on the caller's thread, by the backend
 * given for the run.
 */
import * as fs from 'fs';
import * as path from 'path';
import { MessageChannel, MessagePort, Worker } from 'worker_threads';
import { answerHostCall, cancelled, checkRunStart, failed, FunctionExecutor, RunOptions } from './executor';
import { V8ProcessExecutor } from './v8Process';
import type { HostReplyMessage, WorkerInit, WorkerRequest, WorkerResponse } from './workerMessages';
import { FunctionError, RunOutcome, RunRequest } from './types';

export { failed } from './executor';
export type { FunctionExecutor, RunOptions } from './executor';

/** Extra time the worker gets beyond the function's own limit before it is terminated. */
const TERMINATE_GRACE_MS = 1000;
/** V8 heap for the worker thread itself (QuickJS's heap is limited separately, inside it). */
const WORKER_HEAP_MB = 512;

export interface WorkerExecutorOptions {
  /** The worker script; defaults to functionWorker.js beside this file (true in dist/ and in out/). */
  workerScript?: string;
  /** QuickJS wasm file; defaults to the worker's own lookup. */
  wasmPath?: string;
  /** The V8 child-process script for `engine: "v8"` runs; defaults to v8Runner.js beside this file. */
  v8RunnerScript?: string;
}


interface LiveWorker {
  worker: Worker;
  signal: Int32Array;
  replies: MessagePort;
}

export class WorkerExecutor implements FunctionExecutor {
  private live?: LiveWorker;
  private ready?: Promise<LiveWorker>;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private v8?: V8ProcessExecutor;
  /** How many workers this runner has started (a new one after each timeout or crash). */
  workersStarted = 0;

  constructor(private readonly options: WorkerExecutorOptions = {}) {}

  /** Starts the worker ahead of the first run, so that run is warm. */
  warmUp(): Promise<void> {
    return this.getWorker().then(() => undefined);
  }

  run(request: RunRequest, options: RunOptions = {}): Promise<RunOutcome> {
    if (request.kind !== 'wasm' && request.engine === 'v8') {
      this.v8 ??= new V8ProcessExecutor(this.options.v8RunnerScript);
      return this.v8.run(request, options);
    }
    const next = this.queue.then(() => this.runNow(request, options));
    this.queue = next.catch(() => undefined);
    return next;
  }

  dispose(): void {
    this.disposed = true;
    this.stopWorker();
    this.v8?.dispose();
  }

  private async runNow(request: RunRequest, options: RunOptions): Promise<RunOutcome> {
    const start = checkRunStart(request, options);
    if (start.refused) {
      return start.refused;
    }
    let live: LiveWorker;
    try {
      live = await this.getWorker();
    } catch (e) {
      return failed(request, crash((e as Error).message));
    }
    const { worker } = live;
    const id = this.nextId++;
    const started = performance.now();
    return new Promise<RunOutcome>((resolve) => {
      const finish = (outcome: RunOutcome) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        options.signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const onMessage = (msg: WorkerResponse) => {
        if ('hostCall' in msg && msg.hostCall.runId === id) {
          const { seq, call } = msg.hostCall;
          void answerHostCall(options.hostServices, call).then((result) => {
            live.replies.postMessage({ seq, result } satisfies HostReplyMessage);
            Atomics.store(live.signal, 0, 1);
            Atomics.notify(live.signal, 0);
          });
        } else if ('id' in msg && msg.id === id) {
          finish(msg.outcome);
        }
      };
      const onError = (e: Error) => {
        this.forgetWorker(worker);
        finish(failed(request, crash(e.message)));
      };
      const onExit = (code: number) => {
        this.forgetWorker(worker);
        finish(failed(request, crash(`the worker exited with code ${code}`)));
      };
      const onAbort = () => {
        this.stopWorker();
        finish(cancelled(request));
      };
      const timer = setTimeout(() => {
        this.stopWorker();
        finish({ ...failed(request, stoppedForTime(request)), durationMs: performance.now() - started });
      }, request.limits.timeoutMs + TERMINATE_GRACE_MS);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      options.signal?.addEventListener('abort', onAbort);
      worker.postMessage({ id, request } satisfies WorkerRequest);
    });
  }

  private getWorker(): Promise<LiveWorker> {
    if (this.disposed) {
      return Promise.reject(new Error('the function runner was disposed'));
    }
    if (!this.ready) {
      const script = this.options.workerScript ?? path.join(__dirname, 'functionWorker.js');
      if (!fs.existsSync(script)) {
        return Promise.reject(new Error(`the worker script ${script} is missing (is the extension installed completely?)`));
      }
      const shared = new SharedArrayBuffer(4);
      const channel = new MessageChannel();
      const init: WorkerInit = { wasmPath: this.options.wasmPath, signal: shared, replies: channel.port2 };
      const worker = new Worker(script, {
        workerData: init,
        transferList: [channel.port2],
        resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
        stdout: true,
        stderr: true,
      });
      // Anything the runtime itself prints goes to stderr: stdout may be the CLI's reply channel.
      // Written chunk by chunk rather than piped: a node runs a runner (a worker) per workload, and
      // every pipe would add listeners to process.stderr.
      const forward = (chunk: Buffer) => process.stderr.write(chunk);
      worker.stdout.on('data', forward);
      worker.stderr.on('data', forward);
      worker.unref();
      channel.port1.unref();
      this.workersStarted++;
      const live: LiveWorker = { worker, signal: new Int32Array(shared), replies: channel.port1 };
      this.live = live;
      this.ready = new Promise<LiveWorker>((resolve, reject) => {
        const onMessage = (msg: WorkerResponse) => {
          if ('ready' in msg) {
            cleanup();
            resolve(live);
          } else if ('fatal' in msg) {
            cleanup();
            this.forgetWorker(worker);
            void worker.terminate();
            reject(new Error(msg.fatal));
          }
        };
        const onError = (e: Error) => {
          cleanup();
          this.forgetWorker(worker);
          reject(e);
        };
        const cleanup = () => {
          worker.off('message', onMessage);
          worker.off('error', onError);
        };
        worker.on('message', onMessage);
        worker.on('error', onError);
      });
    }
    return this.ready;
  }

  private forgetWorker(worker: Worker): void {
    if (this.live?.worker === worker) {
      this.live.replies.close();
      this.live = undefined;
      this.ready = undefined;
    }
  }

  private stopWorker(): void {
    const worker = this.live?.worker;
    if (worker) {
      this.forgetWorker(worker);
      worker.removeAllListeners();
      void worker.terminate();
    }
  }
}

/**
 * A run the runner stopped at its time limit by terminating the worker, worded per engine. A
 * WebAssembly module cannot be interrupted inside the worker, so this is how every one of its
 * endless loops ends. JavaScript is interrupted inside the worker at its limit, so when the runner
 * has to step in, the worker stopped responding outside the function's own code.
 */
function stoppedForTime(request: RunRequest): FunctionError {
  const limit = request.limits.timeoutMs;
  if (request.kind === 'wasm') {
    return { kind: 'timeout', message: `the WebAssembly module did not finish within ${limit} ms and was stopped (an endless loop?)` };
  }
  return { kind: 'timeout', message: `the function did not finish within ${limit} ms and its worker stopped responding, so it was stopped (stuck in a host call?)` };
}

function crash(message: string): FunctionError {
  return { kind: 'crash', message: `the function's worker crashed: ${message}` };
}
