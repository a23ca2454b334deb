/**
 * The one object that owns the extension's long-lived resources: the output channel, the function
 * runner (and its worker), the workspace catalog, the views and the commands. Disposing it
 * releases all of them.
 */
import {
  commands as Commands,
  Diagnostic,
  DiagnosticCollection,
  Disposable,
  ExtensionContext,
  languages as Languages,
  LogOutputChannel,
  TextDocument,
  Uri,
  window as Window,
  workspace as Workspace,
} from 'vscode';
import { formatProblem, ProblemError } from '../core/problems';
import { BuildFailedError, buildFunction, needsBuild } from '../toolchain/buildRunner';
import { formatMs, formatRunReport } from '../run/runReport';
import { checkJsSource, SourceProblem } from '../executor/sourceCheck';
import { FunctionRunResult } from '../run/functionRun';
import { FunctionRunner } from '../executor/functionRunner';
import { newFunctionCommand, NewFunctionAnswers } from './commands/newFunction';
import { runFunctionCommand } from './commands/runFunction';
import { runTriggerCaseCommand, runTriggerCasesCommand, runTriggerPickCommand, saveAsTriggerCaseCommand } from './commands/runTriggerCases';
import { TriggerCodeLensProvider } from './codeLens';
import { TriggerTests } from './testing/triggerTests';
import { HostServicesPanels } from './panels/hostServicesPanel';
import { diagnostic, publishByFile } from './diagnostics';
import { FunctionCatalog } from './functionCatalog';
import { UserInterface, vscodeUi } from './ui';
import { FunctionNode, FunctionsViewProvider } from './views/functionsView';
import { MockStates } from './mockStates';
import { FunctionDefinition } from '../core/manifest';

export const OUTPUT_CHANNEL_NAME = 'Nex Functions';
const RECENT_LINES = 500;

export class NexExtension implements Disposable {
  readonly log: LogOutputChannel;
  readonly runner: FunctionRunner;
  readonly catalog: FunctionCatalog;
  readonly mocks: MockStates;
  readonly triggerTests: TriggerTests;
  readonly panels: HostServicesPanels;
  private readonly runDiagnostics: DiagnosticCollection;
  private readonly buildDiagnostics: DiagnosticCollection;
  private readonly checkDiagnostics: DiagnosticCollection;
  ui: UserInterface = vscodeUi;
  private readonly disposables: Disposable[] = [];
  private lastRun?: FunctionRunResult;
  private readonly recentLines: string[] = [];
  private statusMessage?: Disposable;
  private warmedUp = false;

  constructor(readonly context: ExtensionContext) {
    this.log = this.own(Window.createOutputChannel(OUTPUT_CHANNEL_NAME, { log: true }));
    this.runner = new FunctionRunner({ workerScript: context.asAbsolutePath('dist/functionWorker.js'), wasmPath: context.asAbsolutePath('dist/quickjs.wasm') });
    this.own({ dispose: () => this.runner.dispose() });
    this.catalog = this.own(new FunctionCatalog());
    this.mocks = new MockStates(context.workspaceState);
    this.runDiagnostics = this.own(Languages.createDiagnosticCollection('nex-run'));
    this.buildDiagnostics = this.own(Languages.createDiagnosticCollection('nex-build'));
    this.checkDiagnostics = this.own(Languages.createDiagnosticCollection('nex-check'));
    this.own(Workspace.onDidSaveTextDocument((doc) => void this.checkOnSave(doc)));
    this.own(
      this.catalog.onDidChange(() => {
        this.updateContextKeys();
        this.warmUpWhenUseful();
      }),
    );
    this.own(Workspace.onDidGrantWorkspaceTrust(() => this.warmUpWhenUseful()));
    this.own({ dispose: () => this.clearStatusMessage() });
    const view = this.own(Window.createTreeView('nex.functions', { treeDataProvider: new FunctionsViewProvider(this.catalog), showCollapseAll: false }));
    // In Restricted Mode the view says why nothing runs (an empty view shows its welcome instead).
    const explainTrust = () => {
      view.message =
        Workspace.isTrusted || this.catalog.functions.length === 0
          ? undefined
          : 'Restricted Mode: functions are listed but do not run, on save or otherwise, until you trust this workspace (Manage Workspace Trust in the Command Palette).';
    };
    this.own(Workspace.onDidGrantWorkspaceTrust(explainTrust));
    this.own(this.catalog.onDidChange(explainTrust));

    this.command('nex.runFunction', (arg) => runFunctionCommand(this, arg));
    this.command('nex.refreshFunctions', () => this.catalog.refresh());
    this.triggerTests = this.own(new TriggerTests(this));
    this.own(Languages.registerCodeLensProvider([{ scheme: 'file', pattern: '**/triggers/*.json' }, { scheme: 'file', language: 'javascript' }], new TriggerCodeLensProvider(this.catalog)));
    this.command('nex.runTriggerCases', (arg) => runTriggerCasesCommand(this, arg));
    this.command('nex.runTriggerCase', (id: string) => runTriggerCaseCommand(this, id));
    this.command('nex.runTriggerPick', (arg: { function: string }) => runTriggerPickCommand(this, arg));
    this.command('nex.saveAsTriggerCase', () => saveAsTriggerCaseCommand(this));
    this.panels = this.own(new HostServicesPanels(this));
    this.command('nex.showHostServices', async (arg?: FunctionNode | { function: string }) => {
      const def = arg && !(arg instanceof FunctionNode) ? this.catalog.findFor(arg.function) : await this.functionFor(arg, 'Show the host services of which function?');
      if (!def?.manifest) {
        return undefined;
      }
      if (def.manifest.type !== 'v8') {
        void this.ui.info(`${def.manifest.name} is a WebAssembly function: no released Nex version gives WebAssembly functions host services.`);
        return undefined;
      }
      return this.panels.open(def);
    });
    this.command('nex.newFunction', (preset?: Partial<NewFunctionAnswers>) => newFunctionCommand(this, preset));
    this.command('nex.showOutput', () => this.log.show());
    this.command('nex.resetMocks', async (arg?: FunctionNode) => {
      const def = await this.functionFor(arg, 'Reset the host-service mocks of which function?');
      if (def) {
        this.mocks.reset(def);
        this.log.info(`host-service mocks of ${def.manifest!.name} reset${def.manifest!.mocks ? ` to ${def.manifest!.mocks}` : ' (empty)'}`);
        void this.ui.info(`The next run of ${def.manifest!.name} starts from ${def.manifest!.mocks ?? 'empty host services'}.`);
      }
    });
    this.command('nex.saveMocks', async (arg?: FunctionNode) => {
      const def = await this.functionFor(arg, 'Save the host-service state of which function?');
      if (def) {
        const file = this.mocks.save(def);
        this.log.info(`host-service state of ${def.manifest!.name} saved to ${file}`);
        void this.ui.info(`Saved the host-service state of ${def.manifest!.name} to ${Workspace.asRelativePath(file)}.`);
      }
    });

    void this.catalog.refresh();
  }

  get lastResult(): FunctionRunResult | undefined {
    return this.lastRun;
  }

  /** Output lines of recent runs, newest last (for the test API). */
  get recentOutput(): readonly string[] {
    return this.recentLines;
  }

  /**
   * Writes a run's report to the output channel, shows its error and fidelity hints as
   * diagnostics on the function's source, and remembers it as the last run.
   */
  reportRun(result: FunctionRunResult): void {
    this.lastRun = result;
    const def = this.catalog.findFor(result.entryPath);
    if (def?.manifest?.type === 'v8') {
      this.mocks.recordRun(def, result);
    }
    if (!result.entryPath.endsWith('.wasm')) {
      this.runDiagnostics.set(Uri.file(result.entryPath), runDiagnostics(result));
    }
    for (const line of formatRunReport(result)) {
      this.output(line.level, line.text);
    }
    if (result.outcome.hostCalls.length > 0) {
      this.output('info', '  see and shape these host services: Nex: Show Host Services');
    }
  }

  /** Writes a line to the output channel, and keeps it for the test API. */
  output(level: 'debug' | 'info' | 'warn' | 'error', text: string): void {
    this.log[level](text);
    this.recentLines.push(text);
    if (this.recentLines.length > RECENT_LINES) {
      this.recentLines.splice(0, this.recentLines.length - RECENT_LINES);
    }
  }

  /**
   * On save of a JavaScript function's source: diagnostics for what a node would refuse (module
   * syntax, syntax errors, no function at the end, too large). Evaluates the script's top level,
   * so only in a trusted workspace.
   */
  async checkOnSave(doc: TextDocument): Promise<SourceProblem[] | undefined> {
    if (!Workspace.isTrusted || doc.uri.scheme !== 'file') {
      return undefined;
    }
    const def = this.catalog.findFor(doc.uri.fsPath);
    if (!def?.sourcePath || def.sourcePath !== doc.uri.fsPath) {
      return undefined;
    }
    const problems = await checkJsSource(this.runner, doc.getText(), doc.uri.fsPath, def.manifest!.compat);
    this.checkDiagnostics.set(
      doc.uri,
      problems.map((p) => diagnostic({ ...p, source: 'nex', toLineEnd: true })),
    );
    return problems;
  }

  /**
   * Builds a WebAssembly function first when its sources changed: output in the log, compiler
   * errors as diagnostics. Throws BuildFailedError (shown by the command wrapper) when it fails.
   */
  async buildIfNeeded(def: FunctionDefinition, signal?: AbortSignal): Promise<void> {
    if (!needsBuild(def)) {
      return;
    }
    this.output('info', `▶ building ${def.manifest!.name}`);
    this.log.show(true);
    const result = await buildFunction(def, { onOutput: (line) => this.output('info', `  ${line}`), signal });
    publishByFile(
      this.buildDiagnostics,
      result.problems.map((p) => ({ file: p.file, diagnostic: diagnostic({ ...p, source: 'nex build' }) })),
    );
    if (!result.ok) {
      this.output('error', `✖ build failed${result.exitCode !== null ? ` with exit code ${result.exitCode}` : ''} in ${formatMs(result.durationMs)}`);
      throw new BuildFailedError(def.manifest!.name, result);
    }
    this.output('info', `✔ built ${def.manifest!.artifact} in ${formatMs(result.durationMs)}`);
  }

  /** The function a command applies to: the tree node, the active editor's function, or a pick. */
  async functionFor(arg: FunctionNode | undefined, title: string): Promise<FunctionDefinition | undefined> {
    if (arg instanceof FunctionNode) {
      return arg.definition.manifest ? arg.definition : undefined;
    }
    if (!this.catalog.loaded) {
      await this.catalog.refresh();
    }
    const valid = this.catalog.functions.filter((f) => f.problems.length === 0);
    const active = Window.activeTextEditor?.document.uri;
    const current = active?.scheme === 'file' ? this.catalog.findFor(active.fsPath) : undefined;
    if (current && current.problems.length === 0) {
      return current;
    }
    if (valid.length === 0) {
      void this.ui.info('There are no valid Nex functions in this workspace.');
      return undefined;
    }
    return this.ui.pick(
      valid.map((f) => ({ label: f.manifest!.name, description: f.manifest!.mocks ?? 'no mocks file', value: f })),
      { title },
    );
  }

  /** True in a trusted workspace; otherwise explains why nothing runs and offers to manage trust. */
  async requireTrust(): Promise<boolean> {
    if (Workspace.isTrusted) {
      return true;
    }
    const choice = await this.ui.warn('Nex functions run only in a trusted workspace: running one executes code from this workspace.', 'Manage Workspace Trust');
    if (choice) {
      await Commands.executeCommand('workbench.trust.manage');
    }
    return false;
  }

  /** Shows a transient status bar message, replacing the previous one. */
  showStatusMessage(text: string): void {
    this.clearStatusMessage();
    this.statusMessage = Window.setStatusBarMessage(text, 10000);
  }

  clearStatusMessage(): void {
    this.statusMessage?.dispose();
    this.statusMessage = undefined;
  }

  /** Starts the function worker ahead of the first run, once there is something it may run. */
  private warmUpWhenUseful(): void {
    if (this.warmedUp || !Workspace.isTrusted || !this.catalog.functions.some((f) => f.manifest?.type === 'v8')) {
      return;
    }
    this.warmedUp = true;
    this.runner.warmUp().catch((e: Error) => this.log.warn(`could not start the JavaScript runtime ahead of time: ${e.message}`));
  }

  /** Registers a command whose failures become one clear message plus a log line with detail. */
  private command(id: string, handler: (...args: any[]) => unknown): void {
    this.own(
      Commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await handler(...args);
        } catch (e) {
          if (e instanceof BuildFailedError) {
            void this.ui.error(`Nex: ${e.message}`, 'Show Output').then((c) => c && this.log.show());
          } else if (e instanceof ProblemError) {
            for (const p of e.problems) {
              this.log.error(formatProblem(p));
            }
            void this.ui.error(e.problems.map(formatProblem).join('; '));
          } else {
            this.log.error(`${id} failed: ${(e as Error)?.stack ?? String(e)}`);
            void this.ui.error(`Nex: ${(e as Error)?.message ?? String(e)}`, 'Show Output').then((c) => c && this.log.show());
          }
          return undefined;
        }
      }),
    );
  }

  private updateContextKeys(): void {
    void Commands.executeCommand('setContext', 'nex.functionsLoaded', this.catalog.loaded);
    void Commands.executeCommand('setContext', 'nex.functionCount', this.catalog.functions.length);
  }

  private own<T extends Disposable>(d: T): T {
    this.disposables.push(d);
    return d;
  }

  dispose(): void {
    for (const d of this.disposables.reverse()) {
      d.dispose();
    }
    this.disposables.length = 0;
  }
}

/** The last run's error and fidelity hints, as diagnostics on the function's source. */
function runDiagnostics(result: FunctionRunResult): Diagnostic[] {
  const list: Diagnostic[] = [];
  const { error, warnings, profile } = result.outcome;
  if (error && error.kind !== 'cancelled') {
    list.push(diagnostic({ line: error.line, column: error.column, message: `Run on "${result.subject}": ${error.message}`, source: 'nex run', code: error.kind, toLineEnd: true }));
  }
  for (const w of warnings) {
    list.push(diagnostic({ line: w.line, message: `${w.message} (profile ${profile})`, severity: 'warning', source: 'nex fidelity', code: w.code, toLineEnd: true }));
  }
  return list;
}
