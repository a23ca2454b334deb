/**
 * Runs a JavaScript function under VS Code's JavaScript debugger: each run is a `node` debug
 * session (js-debug) of the V8 runner (dist/v8Runner.js), which connects back to a V8Link here.
 * The function's source is compiled under its real path, so breakpoints, stepping, variables and the
 * call stack are the user's file; its host calls reach the backend given for the run (the
 * host-services panel's mock state), synchronously, as in the worker. The runner's own frames are
 * skipped when stepping. There is no time limit while debugging (a paused function would hit it);
 * stopping the session ends the process.
 */
import * as path from 'path';
import { debug as Debug, DebugConfiguration, DebugSession, Disposable, WorkspaceFolder } from 'vscode';
import { checkRunStart, failed, FunctionExecutor, RunOptions } from '../../executor/executor';
import { RunOutcome, RunRequest } from '../../executor/types';
import { V8Link } from '../../executor/v8Process';

/** Marks our sessions' configurations, so a session can be matched to its run. */
const RUN_KEY = '__nexDebugRun';

export interface DebugSessionRunnerDeps {
  /** The extension's folder (dist/v8Runner.js is in it). */
  extensionPath: string;
  /** The workspace folder a session belongs to. */
  folder: (request: RunRequest) => WorkspaceFolder | undefined;
}

export class DebugSessionExecutor implements FunctionExecutor {
  /** The number of the next run, for its session's id. */
  private nextRun = 1;
  /** The session of the run in progress, if any. */
  current?: DebugSession;

  constructor(private readonly deps: DebugSessionRunnerDeps) {}

  /** The `node` launch configuration of one debug run. */
  configuration(request: RunRequest, link: V8Link, runId: string): DebugConfiguration {
    const dist = path.join(this.deps.extensionPath, 'dist');
    const spec = link.launchSpec(request.limits.memoryLimitBytes, path.join(dist, 'v8Runner.js'));
    return {
      type: 'node',
      request: 'launch',
      name: `Nex: ${request.workload ?? 'function'} on ${request.subject}`,
      runtimeExecutable: spec.runtimeExecutable,
      runtimeArgs: spec.runtimeArgs,
      program: spec.program,
      env: spec.env,
      console: 'internalConsole',
      internalConsoleOptions: 'openOnSessionStart',
      skipFiles: ['<node_internals>/**', path.join(dist, '**')],
      // The runner ships without its source maps: js-debug must not look for them (it says so in red).
      resolveSourceMapLocations: ['**', `!${path.join(dist, '**').replace(/\\/g, '/')}`],
      autoAttachChildProcesses: false,
      [RUN_KEY]: runId,
    };
  }

  async run(request: RunRequest, options: RunOptions = {}): Promise<RunOutcome> {
    const start = checkRunStart(request, options, 'debugging is for JavaScript functions: run a WebAssembly function instead');
    if (start.refused) {
      return start.refused;
    }
    const link = await V8Link.listen();
    const runId = `nex-debug-${process.pid}-${this.nextRun++}`;
    const subscriptions: Disposable[] = [];
    let session: DebugSession | undefined;
    let ended = false;
    const stopped = 'the debug session ended before the function returned';
    subscriptions.push(
      Debug.onDidStartDebugSession((s) => {
        if (s.configuration[RUN_KEY] === runId && !session) {
          session = s;
          this.current = s;
        }
      }),
      Debug.onDidTerminateDebugSession((s) => {
        if (s === session) {
          ended = true;
          link.close(stopped);
        }
      }),
    );
    const onAbort = () => (session ? void Debug.stopDebugging(session) : link.close('the run was cancelled'));
    options.signal?.addEventListener('abort', onAbort);
    try {
      const started = await Debug.startDebugging(this.deps.folder(request), this.configuration(request, link, runId));
      if (!started) {
        return failed(request, { kind: 'crash', message: 'the JavaScript debugger did not start (is the built-in "JavaScript Debugger" extension enabled?)' });
      }
      try {
        await link.connected();
      } catch (e) {
        return failed(request, { kind: ended ? 'cancelled' : 'crash', message: ended ? stopped : `the function's V8 process did not connect: ${(e as Error).message}` });
      }
      const outcome = await link.run(start.request, { ...options, debugging: true, last: true });
      if (outcome.error?.kind === 'crash' && (ended || link.isClosed)) {
        // The process went away mid-run: stopped from the debug toolbar, or it died (out of memory, say).
        return { ...outcome, error: { kind: 'cancelled', message: `${stopped} (stopped from the debug toolbar, or the process died: see the Debug Console)` } };
      }
      return outcome;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      subscriptions.forEach((d) => d.dispose());
      link.close('the debug run is over');
      if (this.current === session) {
        this.current = undefined;
      }
    }
  }
}
