/**
 * The editor's (or CLI's) side of the V8 engine: JavaScript functions run in a child Node process
 * (v8Runner.js), on V8 as real nodes run them. `V8Link` is one child's connection: a local socket
 * the child connects back to, the run requests, and the host-service calls it makes, served here
 * by the run's backend (the same mock state the editor shows). `V8ProcessExecutor` keeps one such
 * child warm for the `"engine": "v8"` setting; a debug run (VS Code layer) lets the debugger start
 * the child with `V8Link.launchSpec` instead.
 */
import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { answerHostCall, cancelled, checkRunStart, failed, FunctionExecutor, RunOptions as ExecutorOptions } from './executor';
import { outOfMemory } from './jsRunFrame';
import { JsRunRequest, RunOutcome, RunRequest } from './types';
import { decodeLine, encodeLine, FromChild, lineReader, ToChild, V8_SOCKET_ENV, V8_TOKEN_ENV } from './v8Wire';

/** V8 heap the child may use beyond the function's own memory limit (Node itself, the runner). */
const CHILD_BASE_HEAP_MIB = 32;
/** Extra time the child gets beyond the function's own limit before it is killed. */
const KILL_GRACE_MS = 1000;
const CONNECT_TIMEOUT_MS = 15000;

/** How to start the child: what a `node` debug configuration or `spawn` needs. */
export interface V8LaunchSpec {
  /** The Node binary: this process's own (Electron's runs as Node with ELECTRON_RUN_AS_NODE). */
  runtimeExecutable: string;
  runtimeArgs: string[];
  program: string;
  env: Record<string, string>;
}

/** The runner script beside this file (true in dist/ and in out/). */
export function defaultV8RunnerScript(): string {
  return path.join(__dirname, 'v8Runner.js');
}

/**
 * Node flags of the child: with --experimental-vm-modules, Node hands an `import()` in a function to
 * the runner's callback, which refuses it with an error of the function's own realm (without it,
 * Node's refusal is an error of the runner's realm; see v8Engine.ts).
 */
export const V8_CHILD_FLAGS = ['--experimental-vm-modules'];

/** The child's V8 heap limit for a function memory limit. */
export function childHeapArgs(memoryLimitBytes: number): string[] {
  return [`--max-old-space-size=${Math.ceil(memoryLimitBytes / 1048576) + CHILD_BASE_HEAP_MIB}`];
}

/** One child process's connection: listen, wait for the child, run requests, serve its host calls. */
export class V8Link {
  private socket?: net.Socket;
  private readonly pending = new Map<number, { resolve: (o: RunOutcome) => void; options: ExecutorOptions; request: JsRunRequest }>();
  private nextId = 1;
  private closedReason?: string;
  private readonly connectedPromise: Promise<void>;
  private readonly closeListeners: Array<(reason: string) => void> = [];
  /** The child's process id, once it said hello. */
  pid?: number;

  private constructor(
    private readonly server: net.Server,
    readonly socketPath: string,
    private readonly token: string,
  ) {
    this.connectedPromise = new Promise<void>((resolve, reject) => {
      server.on('connection', (socket) => {
        if (this.socket) {
          socket.destroy(); // only one child per link
          return;
        }
        let proven = false;
        socket.on(
          'data',
          lineReader((line) => {
            let msg: FromChild;
            try {
              msg = decodeLine<FromChild>(line);
            } catch {
              socket.destroy();
              return;
            }
            if (!proven) {
              if (msg.type !== 'hello' || msg.token !== this.token) {
                socket.destroy();
                return;
              }
              proven = true;
              this.socket = socket;
              this.pid = msg.pid;
              server.close(); // nobody else may connect
              resolve();
              return;
            }
            this.onMessage(msg);
          }),
        );
        socket.on('close', () => {
          if (this.socket === socket) {
            this.closed('the V8 process ended');
          }
        });
        socket.on('error', () => undefined);
      });
      this.onClose((reason) => reject(new Error(reason)));
    });
    this.connectedPromise.catch(() => undefined);
  }

  static async listen(): Promise<V8Link> {
    const id = `nex-v8-${process.pid}-${randomBytes(6).toString('hex')}`;
    const socketPath = process.platform === 'win32' ? `\\\\.\\pipe\\${id}` : path.join(os.tmpdir(), `${id}.sock`);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    server.unref();
    if (process.platform !== 'win32') {
      fs.chmodSync(socketPath, 0o600);
    }
    return new V8Link(server, socketPath, randomBytes(24).toString('hex'));
  }

  /** What a child of this link needs in its environment. */
  get env(): Record<string, string> {
    return { [V8_SOCKET_ENV]: this.socketPath, [V8_TOKEN_ENV]: this.token, ELECTRON_RUN_AS_NODE: '1' };
  }

  launchSpec(memoryLimitBytes: number, program = defaultV8RunnerScript()): V8LaunchSpec {
    return { runtimeExecutable: process.execPath, runtimeArgs: [...childHeapArgs(memoryLimitBytes), ...V8_CHILD_FLAGS], program, env: this.env };
  }

  /** Resolves when the child connected; rejects when the link closes first or `timeoutMs` passes. */
  connected(timeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      this.connectedPromise,
      new Promise<void>((_r, reject) => (timer = setTimeout(() => reject(new Error(`the V8 process did not start within ${timeoutMs / 1000} s`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closedReason !== undefined) {
      listener(this.closedReason);
    } else {
      this.closeListeners.push(listener);
    }
  }

  /** Sends one run; the outcome comes when the child answers, or a crash outcome when the link closes first. */
  run(request: JsRunRequest, options: ExecutorOptions & { debugging?: boolean; last?: boolean } = {}): Promise<RunOutcome> {
    if (!this.socket || this.closedReason !== undefined) {
      return Promise.resolve(failed(request, { kind: 'crash', message: this.closedReason ?? 'the V8 process is not connected' }));
    }
    const id = this.nextId++;
    return new Promise<RunOutcome>((resolve) => {
      this.pending.set(id, { resolve, options, request });
      this.send({ type: 'run', id, request, debugging: options.debugging ?? false, last: options.last ?? false });
    });
  }

  /** Closes the link: the child ends itself when its socket closes. Pending runs end with `reason`. */
  close(reason = 'the run was stopped'): void {
    this.closed(reason);
  }

  private closed(reason: string): void {
    if (this.closedReason !== undefined) {
      return;
    }
    this.closedReason = reason;
    this.socket?.destroy();
    this.server.close();
    if (process.platform !== 'win32') {
      fs.rmSync(this.socketPath, { force: true });
    }
    for (const [id, run] of this.pending) {
      this.pending.delete(id);
      run.resolve(failed(run.request, { kind: reason.includes('cancel') ? 'cancelled' : 'crash', message: reason }));
    }
    for (const listener of this.closeListeners.splice(0)) {
      listener(reason);
    }
  }

  private send(msg: ToChild): void {
    this.socket?.write(encodeLine(msg));
  }

  private onMessage(msg: FromChild): void {
    if (msg.type === 'host') {
      const run = this.pending.get(msg.runId);
      void answerHostCall(run?.options.hostServices, msg.call).then((result) => this.send({ type: 'hostReply', seq: msg.seq, result }));
    } else if (msg.type === 'outcome') {
      const run = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      run?.resolve(msg.outcome);
    }
  }
}

interface LiveChild {
  link: V8Link;
  child: ChildProcess;
  memoryLimitBytes: number;
  /** The end of the child's stderr, to tell out-of-memory from other deaths. */
  stderrTail: string;
}

/**
 * Runs JavaScript functions on V8 in one warm child process (the `"engine": "v8"` choice), with
 * the same limits as the worker: the time limit inside the child (and the child killed shortly after
 * it, for a function stuck outside JavaScript), the memory limit as the child's V8 heap (a child that
 * runs out is reported as out of memory and replaced). Runs are serial, as on a node.
 */
export class V8ProcessExecutor implements FunctionExecutor {
  private live?: Promise<LiveChild>;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;
  /** How many children this runner has started. */
  childrenStarted = 0;

  constructor(private readonly script: string = defaultV8RunnerScript()) {}

  run(request: RunRequest, options: ExecutorOptions = {}): Promise<RunOutcome> {
    const next = this.queue.then(() => this.runNow(request, options));
    this.queue = next.catch(() => undefined);
    return next;
  }

  dispose(): void {
    this.disposed = true;
    void this.stopChild();
  }

  private async runNow(requested: RunRequest, options: ExecutorOptions): Promise<RunOutcome> {
    const start = checkRunStart(requested, options, 'the V8 engine runs JavaScript functions only');
    if (start.refused) {
      return start.refused;
    }
    const request = start.request;
    let live: LiveChild;
    try {
      live = await this.getChild(request.limits.memoryLimitBytes);
    } catch (e) {
      return failed(request, { kind: 'crash', message: `the V8 process could not start: ${(e as Error).message}` });
    }
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stoppedFor: 'time' | 'cancel' | undefined;
    const onAbort = () => {
      stoppedFor = 'cancel';
      void this.stopChild();
    };
    options.signal?.addEventListener('abort', onAbort);
    try {
      const outcome = await Promise.race([
        live.link.run(request, options),
        new Promise<RunOutcome>((resolve) => {
          timer = setTimeout(() => {
            stoppedFor = 'time';
            void this.stopChild();
            resolve({
              ...failed(request, { kind: 'timeout', message: `the function did not finish within ${request.limits.timeoutMs} ms and its V8 process stopped responding, so it was stopped (stuck in a host call?)` }),
              durationMs: performance.now() - started,
            });
          }, request.limits.timeoutMs + KILL_GRACE_MS);
        }),
      ]);
      if (outcome.error?.kind === 'crash') {
        this.forget(live);
        if (stoppedFor === 'cancel') {
          return cancelled(request);
        }
        const exited = await exitOf(live.child);
        if (/heap out of memory|Reached heap limit/i.test(live.stderrTail)) {
          return { ...outcome, error: outOfMemory(request) };
        }
        return { ...outcome, error: { kind: 'crash', message: `the function's V8 process ended (${exited}) before it replied${live.stderrTail ? `: ${lastLine(live.stderrTail)}` : ''}` } };
      }
      return outcome;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  private getChild(memoryLimitBytes: number): Promise<LiveChild> {
    if (this.disposed) {
      return Promise.reject(new Error('the V8 runner was disposed'));
    }
    const current = this.live;
    const fresh = async (): Promise<LiveChild> => {
      if (current) {
        const old = await current.catch(() => undefined);
        if (old && !old.link.isClosed && old.memoryLimitBytes === memoryLimitBytes) {
          return old;
        }
        await this.stopChild();
      }
      if (!fs.existsSync(this.script)) {
        throw new Error(`the V8 runner script ${this.script} is missing (is the extension installed completely?)`);
      }
      const link = await V8Link.listen();
      const spec = link.launchSpec(memoryLimitBytes, this.script);
      const child = spawn(spec.runtimeExecutable, [...spec.runtimeArgs, spec.program], { env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
      this.childrenStarted++;
      const live: LiveChild = { link, child, memoryLimitBytes, stderrTail: '' };
      // Anything the runtime itself prints goes to stderr: stdout may be the CLI's reply channel.
      child.stdout?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
      child.stderr?.on('data', (chunk: Buffer) => {
        live.stderrTail = (live.stderrTail + chunk.toString()).slice(-4000);
      });
      child.on('exit', (code, signal) => link.close(`the V8 process exited with ${signal ?? `code ${code}`}`));
      child.on('error', (e) => link.close(`the V8 process could not start: ${e.message}`));
      child.unref();
      (child.stdout as net.Socket | null)?.unref?.();
      (child.stderr as net.Socket | null)?.unref?.();
      await link.connected();
      return live;
    };
    const next = fresh();
    this.live = next;
    next.catch(() => {
      if (this.live === next) {
        this.live = undefined;
      }
    });
    return next;
  }

  private forget(live: LiveChild): void {
    void this.live?.then((l) => {
      if (l === live) {
        this.live = undefined;
      }
    });
  }

  private async stopChild(): Promise<void> {
    const current = this.live;
    this.live = undefined;
    const live = await current?.catch(() => undefined);
    if (live) {
      live.link.close('the V8 process was stopped');
      live.child.kill('SIGKILL');
    }
  }
}

function exitOf(child: ChildProcess): Promise<string> {
  const describe = () => (child.signalCode ? `signal ${child.signalCode}` : `exit code ${child.exitCode}`);
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(describe());
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('still running'), 2000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(describe());
    });
  });
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter((l) => l.trim() !== '');
  return lines.find((l) => /FATAL ERROR|Error:/.test(l)) ?? lines[lines.length - 1] ?? '';
}
