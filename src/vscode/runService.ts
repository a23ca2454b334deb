/**
 * One way to run a function from the editor. The invoke panel, Quick Run, Debug, the Test Explorer
 * (and the commands that run cases through it) and Save as Trigger Case come here: the service
 * chooses the executor, the host services (a JavaScript function of the workspace gets its mock
 * state, the one the host-services panel shows), the limits (the settings, under the manifest's),
 * how a run is reported and whether it shows progress; it keeps the last run, and the subject and
 * payload each function last ran with by hand.
 */
import * as path from 'path';
import { ExtensionContext, Uri, window as Window } from 'vscode';
import { entryPath, isValid, ValidFunction } from '../core/manifest';
import type { FunctionExecutor } from '../executor/executor';
import type { HostServicesBackend } from '../hostservices/types';
import { FunctionRunResult, runFunction } from '../run/functionRun';
import type { InvokePayload } from '../run/invokeModel';
import { BuildFailedError } from '../toolchain/buildRunner';
import { addCases, caseNames, RECORDED_FILE, runCase } from '../triggers/caseFiles';
import type { CaseRef } from '../triggers/caseModel';
import { CaseResult, runTriggerCase } from '../triggers/caseRunner';
import { TRIGGERS_DIR } from '../triggers/triggerCases';
import type { Config } from './config';
import type { FunctionCatalog } from './functionCatalog';
import type { MockStates } from './mockStates';
import type { RunReporter } from './runReporter';
import type { EditorUi } from './ui';

/**
 * How a run by hand is made and shown:
 * - `quick`: asked for in the quick input (or scripted); the output shows, a failure gets a message,
 *   a run that takes a while a progress notification with Cancel.
 * - `debug`: on V8 under the debugger (breakpoints stop it, no time limit), reported as `quick`; the
 *   debug toolbar stops it.
 * - `panel`: from the invoke panel, which shows the response: reported to the output quietly.
 */
export type RunMode = 'quick' | 'debug' | 'panel';

/** The subject and payload a function last ran with by hand. */
export interface LastInput {
  subject: string;
  payload: InvokePayload;
}

/** Runs shorter than this show no progress notification. */
const PROGRESS_DELAY_MS = 400;

/** What the service needs from the context. */
export interface RunServiceDeps {
  readonly context: ExtensionContext;
  /** Runs functions: QuickJS in a worker, V8 in a child process. */
  readonly executor: FunctionExecutor;
  /** Runs JavaScript functions on V8 under VS Code's JavaScript debugger. */
  readonly debugExecutor: FunctionExecutor;
  readonly config: Config;
  readonly catalog: FunctionCatalog;
  readonly mocks: MockStates;
  readonly reporter: RunReporter;
  readonly ui: EditorUi;
}

export class RunService {
  private last?: FunctionRunResult;

  constructor(private readonly deps: RunServiceDeps) {}

  /** The host services a run of `fn` gets: its mock state for a JavaScript function of the workspace; a bare file's run seeds its own. */
  hostServicesFor(fn: ValidFunction): HostServicesBackend | undefined {
    return fn.manifest.type === 'v8' && !fn.bare ? this.deps.mocks.for(fn) : undefined;
  }

  /** Runs `fn` by hand and reports it; the run becomes the last run. Throws what the pipeline throws (a failed build, an unreadable source). */
  async run(fn: ValidFunction, subject: string, payload: Uint8Array, mode: RunMode): Promise<FunctionRunResult> {
    const { config, reporter } = this.deps;
    const asked = mode !== 'panel';
    if (asked) {
      reporter.clearStatusMessage();
    }
    if (mode === 'debug') {
      reporter.output('info', `Debugging ${fn.manifest.name} on V8 with subject "${subject}": breakpoints in ${path.basename(fn.sourcePath!)} stop it; no time limit while debugging`);
    }
    const executor = mode === 'debug' ? this.deps.debugExecutor : this.deps.executor;
    const hostServices = this.hostServicesFor(fn);
    const start = (signal?: AbortSignal) => runFunction(executor, fn, { subject, payload, limits: config.runLimits, hostServices, signal }, reporter.buildSink({ reveal: asked }));
    const result = await (mode === 'quick' ? this.deps.ui.progress(`Running ${fn.manifest.name}…`, (_report, signal) => start(signal), { delayMs: PROGRESS_DELAY_MS }) : start());
    reporter.reportRun(fn, result, { interactive: asked });
    this.last = result;
    return result;
  }

  /**
   * Runs a trigger case here (under the debugger with `debug`) with the settings' limits. A failed
   * build throws; when the editor started the run on its own (`unasked`, on save) it is notified too.
   */
  async runCase(ref: CaseRef, options: { debug?: boolean; signal?: AbortSignal; unasked?: boolean } = {}): Promise<CaseResult> {
    const { config, reporter } = this.deps;
    try {
      return await runTriggerCase(options.debug ? this.deps.debugExecutor : this.deps.executor, ref.def, ref.tc, { signal: options.signal, limits: config.runLimits, sink: reporter.buildSink() });
    } catch (e) {
      if (e instanceof BuildFailedError && options.unasked) {
        reporter.notifyBuildFailure(ref.def, e);
      }
      throw e;
    }
  }

  /** The last run the user made, here or on a node (for Save as Trigger Case and the test API). */
  get lastRun(): FunctionRunResult | undefined {
    return this.last;
  }

  /** Remembers a run made elsewhere (a request to a deployed function) as the last run. */
  remember(result: FunctionRunResult): void {
    this.last = result;
  }

  private inputKey(fn: ValidFunction): string {
    return `nex.invoke.last:${fn.bare ? entryPath(fn) : fn.dir}`;
  }

  /** The subject and payload `fn` last ran with by hand (the invoke panel and Quick Run share it): Run again replays it, the prompts start from it. */
  lastInput(fn: ValidFunction): LastInput | undefined {
    return this.deps.context.workspaceState.get<LastInput>(this.inputKey(fn));
  }

  rememberInput(fn: ValidFunction, input: LastInput): Thenable<void> {
    return this.deps.context.workspaceState.update(this.inputKey(fn), input);
  }

  /** Saves a run as a case in its function's triggers/recorded.json, under a name the user gives; returns the file. */
  async saveAsCase(run: FunctionRunResult | undefined): Promise<string | undefined> {
    const { catalog, reporter, ui } = this.deps;
    if (!run) {
      void ui.info('Run a function first (Nex: Run Function…): its subject, payload and reply become the case.');
      return undefined;
    }
    const def = catalog.findFor(run.entryPath);
    if (!isValid(def)) {
      void ui.info(`${path.basename(run.entryPath)} is not part of a function with a valid nexfunction.json: trigger cases live in a function's triggers/ folder.`);
      return undefined;
    }
    const file = path.join(def.dir, TRIGGERS_DIR, RECORDED_FILE);
    const taken = caseNames(file);
    const name = await ui.input({
      title: 'Save as Trigger Case: name',
      prompt: `A case in ${path.join(TRIGGERS_DIR, RECORDED_FILE)} with this run's subject, payload and ${run.outcome.error ? 'error' : 'reply'}`,
      value: `${run.subject} ${new Date().toISOString().slice(0, 19).replace('T', ' ')}`,
      validate: (v) => (v.trim() === '' ? 'give the case a name' : taken.has(v) ? 'another recorded case has this name' : undefined),
    });
    if (name === undefined) {
      return undefined;
    }
    addCases(file, () => [runCase(name, run)]);
    reporter.output('info', `saved trigger case "${name}" in ${file}`);
    await Window.showTextDocument(Uri.file(file), { preview: false });
    return file;
  }
}
