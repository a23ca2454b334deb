/**
 * Runs JavaScript functions behind a worker-thread boundary, with time and memory limits, so a
 * runaway function never blocks the editor or the CLI. One runner keeps one warm worker; runs are
 * serial, as on a Nex node (one invocation at a time per workload).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { plural } from '../core/bytes';
import { concreteSubjectProblem } from '../core/subject';
import type { WorkerRequest, WorkerResponse } from './jsWorker';
import { JsRunRequest, RunOutcome } from './types';

/** Extra time the worker gets beyond the function's own limit before it is terminated. */
const TERMINATE_GRACE_MS = 1000;
/** V8 heap for the worker thread itself (QuickJS's heap is limited separately, inside it). */
const WORKER_HEAP_MB = 512;

export interface JsRunnerOptions {
  /** The worker script; defaults to jsWorker.js beside this file (true in dist/ and in out/). */
  workerScript?: string;
  /** QuickJS wasm file; defaults to the worker's own lookup. */
  wasmPath?: string;
}

export interface RunOptions {
  signal?: AbortSignal;
}

export class JsFunctionRunner {
  private worker?: Worker;
  private ready?: Promise<Worker>;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  /** How many workers this runner has started (a new one after each timeout or crash). */
  workersStarted = 0;

  constructor(private readonly options: JsRunnerOptions = {}) {}

  /** Starts the worker ahead of the first run, so that run is warm. */
  warmUp(): Promise<void> {
    return this.getWorker().then(() => undefined);
  }

  run(request: JsRunRequest, options: RunOptions = {}): Promise<RunOutcome> {
    const next = this.queue.then(() => this.runNow(request, options));
    this.queue = next.catch(() => undefined);
    return next;
  }

  dispose(): void {
    this.disposed = true;
    this.stopWorker();
  }

  private async runNow(request: JsRunRequest, options: RunOptions): Promise<RunOutcome> {
    const refused = checkRequest(request);
    if (refused) {
      return refused;
    }
    if (options.signal?.aborted) {
      return cancelled();
    }
    let worker: Worker;
    try {
      worker = await this.getWorker();
    } catch (e) {
      return crashed((e as Error).message);
    }
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
        if ('id' in msg && msg.id === id) {
          finish(msg.outcome);
        }
      };
      const onError = (e: Error) => {
        this.forgetWorker(worker);
        finish(crashed(e.message));
      };
      const onExit = (code: number) => {
        this.forgetWorker(worker);
        finish(crashed(`the worker exited with code ${code}`));
      };
      const onAbort = () => {
        this.stopWorker();
        finish(cancelled());
      };
      const timer = setTimeout(() => {
        this.stopWorker();
        finish({
          ok: false,
          reply: null,
          logs: [],
          durationMs: performance.now() - started,
          error: {
            kind: 'timeout',
            message: `the function did not finish within ${request.limits.timeoutMs} ms and its worker was stopped (an endless loop in a host call?)`,
          },
        });
      }, request.limits.timeoutMs + TERMINATE_GRACE_MS);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      options.signal?.addEventListener('abort', onAbort);
      worker.postMessage({ id, request } satisfies WorkerRequest);
    });
  }

  private getWorker(): Promise<Worker> {
    if (this.disposed) {
      return Promise.reject(new Error('the function runner was disposed'));
    }
    if (!this.ready) {
      const script = this.options.workerScript ?? path.join(__dirname, 'jsWorker.js');
      if (!fs.existsSync(script)) {
        return Promise.reject(new Error(`the worker script ${script} is missing (is the extension installed completely?)`));
      }
      const worker = new Worker(script, {
        workerData: { wasmPath: this.options.wasmPath },
        resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
        stdout: true,
        stderr: true,
      });
      // Anything the runtime itself prints goes to stderr: stdout may be the CLI's reply channel.
      worker.stdout.pipe(process.stderr, { end: false });
      worker.stderr.pipe(process.stderr, { end: false });
      worker.unref();
      this.workersStarted++;
      this.worker = worker;
      this.ready = new Promise<Worker>((resolve, reject) => {
        const onMessage = (msg: WorkerResponse) => {
          if ('ready' in msg) {
            cleanup();
            resolve(worker);
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
    if (this.worker === worker) {
      this.worker = undefined;
      this.ready = undefined;
    }
  }

  private stopWorker(): void {
    const worker = this.worker;
    if (worker) {
      this.forgetWorker(worker);
      worker.removeAllListeners();
      void worker.terminate();
    }
  }
}

function checkRequest(request: JsRunRequest): RunOutcome | undefined {
  const refuse = (message: string): RunOutcome => ({ ok: false, reply: null, logs: [], durationMs: 0, error: { kind: 'invalidInput', message } });
  const subjectProblem = concreteSubjectProblem(request.subject);
  if (subjectProblem) {
    return refuse(`invalid trigger subject "${request.subject}": ${subjectProblem}`);
  }
  if (request.payload.length > request.limits.maxPayloadBytes) {
    return refuse(
      `the payload is ${plural(request.payload.length, 'byte')}, over the limit of ${plural(request.limits.maxPayloadBytes, 'byte')} (NATS refuses messages over its max_payload, 1 MiB by default)`,
    );
  }
  return undefined;
}

function crashed(message: string): RunOutcome {
  return { ok: false, reply: null, logs: [], durationMs: 0, error: { kind: 'crash', message: `the function's worker crashed: ${message}` } };
}

function cancelled(): RunOutcome {
  return { ok: false, reply: null, logs: [], durationMs: 0, error: { kind: 'cancelled', message: 'the run was cancelled' } };
}
