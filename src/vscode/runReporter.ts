/**
 * Run reporting in one place: what a run, a build or a batch of trigger cases did goes to the
 * output channel, diagnostics, the status bar and, for runs the user asked for, a message.
 */
import { Diagnostic, Disposable, EventEmitter, languages as Languages, LogOutputChannel, Range, Uri, window as Window, workspace as Workspace } from 'vscode';
import { ValidFunction } from '../core/manifest';
import { FunctionRunResult, RunSink } from '../run/functionRun';
import { hintSeverity } from '../executor/fidelity';
import { BuildFailedError } from '../toolchain/buildRunner';
import { formatMs, formatRunReport } from '../run/runReport';
import { caseSummary, formatCaseResults } from '../triggers/caseReport';
import { CaseResult } from '../triggers/caseRunner';
import { diagnostic, publishByFile } from './diagnostics';
import { FunctionCatalog } from './functionCatalog';
import { DisposableObject } from './lifecycle';
import { MockStates } from './mockStates';
import { UserInterface } from './ui';

const RECENT_LINES = 500;

/** A function whose last build failed, for the status bar. */
export interface FailedBuild {
  functionName: string;
  /** Where to look: the first compiler problem, else the manifest (its build command). */
  file: string;
  line?: number;
  message: string;
}

export interface RunReporterDeps {
  log: LogOutputChannel;
  catalog: FunctionCatalog;
  mocks: MockStates;
  /** The current UI port (tests swap it). */
  ui: () => UserInterface;
}

export class RunReporter extends DisposableObject {
  private readonly runDiagnostics = this.register(Languages.createDiagnosticCollection('nex-run'));
  private readonly buildDiagnostics = this.register(Languages.createDiagnosticCollection('nex-build'));
  private readonly recentLines: string[] = [];
  private statusMessage?: Disposable;
  private readonly failedBuilds = new Map<string, FailedBuild>();
  /** The build failure last notified per function folder: a save that fails the same way again does not notify again. */
  private readonly notifiedBuildFailures = new Map<string, string>();
  private readonly buildsChanged = this.register(new EventEmitter<void>());
  /** Fires when a function's build fails, or builds again after a failure. */
  readonly onDidChangeFailedBuilds = this.buildsChanged.event;

  constructor(private readonly deps: RunReporterDeps) {
    super();
    this.register({ dispose: () => this.clearStatusMessage() });
  }

  /** The functions whose last build failed. */
  get failedBuildList(): readonly FailedBuild[] {
    return [...this.failedBuilds.values()];
  }

  /** Output lines of recent runs, newest last (for the test API). */
  get recentOutput(): readonly string[] {
    return this.recentLines;
  }

  /** Writes a line to the output channel, and keeps it for the test API. */
  output(level: 'debug' | 'info' | 'warn' | 'error', text: string): void {
    this.deps.log[level](text);
    this.recentLines.push(text);
    if (this.recentLines.length > RECENT_LINES) {
      this.recentLines.splice(0, this.recentLines.length - RECENT_LINES);
    }
  }

  /** A sink for the run pipeline: build output in the log, compiler errors as diagnostics. */
  buildSink(options: { reveal?: boolean } = {}): RunSink {
    return {
      buildStarted: (fn) => {
        this.output('info', `▶ building ${fn.manifest.name}`);
        if (options.reveal !== false) {
          this.deps.log.show(true);
        }
      },
      buildOutput: (line) => this.output('info', `  ${line}`),
      buildFinished: (fn, result) => {
        publishByFile(
          this.buildDiagnostics,
          result.problems.map((p) => ({ file: p.file, diagnostic: diagnostic({ ...p, source: 'nex build' }) })),
        );
        const hadFailed = this.failedBuilds.delete(fn.dir);
        if (result.ok) {
          this.notifiedBuildFailures.delete(fn.dir);
        } else {
          const first = result.problems[0];
          this.failedBuilds.set(fn.dir, {
            functionName: fn.manifest.name,
            file: first?.file ?? fn.manifestPath,
            line: first?.line,
            message: result.missingToolchain ?? first?.message ?? `"${result.command}" failed${result.exitCode !== null ? ` with exit code ${result.exitCode}` : ''}`,
          });
        }
        if (hadFailed || !result.ok) {
          this.buildsChanged.fire();
        }
        if (result.ok) {
          this.output('info', `✔ built ${fn.manifest.artifact} in ${formatMs(result.durationMs)}`);
        } else {
          this.output('error', `✖ build failed${result.exitCode !== null ? ` with exit code ${result.exitCode}` : ''} in ${formatMs(result.durationMs)}`);
        }
      },
    };
  }

  /**
   * Reports a run: its lines in the output, its error and fidelity hints as diagnostics on the
   * source, its host calls to the function's mock state. A run the user asked for (`interactive`)
   * also shows the output, and says how it ended (a message with Go to Error for a failure, the
   * status bar for a success).
   */
  reportRun(fn: ValidFunction, result: FunctionRunResult, options: { interactive?: boolean } = {}): void {
    if (fn.manifest.type === 'v8' && !fn.bare) {
      this.deps.mocks.recordRun(fn, result);
    }
    if (fn.manifest.type === 'v8') {
      this.runDiagnostics.set(Uri.file(result.entryPath), runDiagnostics(result));
    }
    for (const line of formatRunReport(result)) {
      this.output(line.level, line.text);
    }
    if (result.outcome.hostCalls.length > 0 && !fn.bare) {
      this.output('info', '  see and shape these host services: Nex: Show Host Services');
    }
    if (!options.interactive) {
      return;
    }
    this.clearStatusMessage();
    this.deps.log.show(true);
    const name = fn.manifest.name;
    const error = result.outcome.error;
    if (error && error.kind !== 'cancelled') {
      const actions = error.line !== undefined && fn.sourcePath ? ['Go to Error', 'Show Output'] : ['Show Output'];
      const where = error.line !== undefined ? ` (line ${error.line})` : '';
      void this.deps
        .ui()
        .error(`${name}: ${error.message}${where}`, ...actions)
        .then(async (choice) => {
          if (choice === 'Go to Error') {
            await openAt(fn.sourcePath!, error.line, error.column);
          } else if (choice === 'Show Output') {
            this.deps.log.show();
          }
        });
    } else if (!error) {
      const reply = result.outcome.reply;
      this.showStatusMessage(`$(check) Nex: ${name} ${reply === null ? 'sent no reply' : `replied ${reply.length} bytes`} in ${formatMs(result.outcome.durationMs)}`);
    }
  }

  /**
   * Tells the user that a build the editor started on its own (on save) failed, with the same
   * text as a manual run (the install hint for a missing toolchain) and a way to the problem.
   * Once per failure: the same failure on the next save only keeps the status bar red.
   */
  notifyBuildFailure(fn: ValidFunction, error: BuildFailedError): void {
    if (this.notifiedBuildFailures.get(fn.dir) === error.message) {
      return;
    }
    this.notifiedBuildFailures.set(fn.dir, error.message);
    const first = error.result.problems.find((p) => p.severity === 'error');
    const goTo = first?.field === 'build.command' ? 'Open Manifest' : first ? 'Go to Problem' : undefined;
    void this.deps
      .ui()
      .error(`Nex: ${error.message}`, ...(goTo ? [goTo] : []), 'Show Output')
      .then(async (choice) => {
        if (choice === goTo && first) {
          await openAt(first.file, first.line, first.column);
        } else if (choice === 'Show Output') {
          this.deps.log.show();
        }
      });
  }

  /** Reports trigger case results run by a command: lines, the summary, and a message when some failed. */
  reportCases(title: string, results: readonly CaseResult[]): void {
    for (const line of formatCaseResults(results)) {
      this.output(line.level, line.text);
    }
    const summary = caseSummary(results);
    const text = `${title}: ${summary.text}`;
    this.output(summary.failed > 0 ? 'error' : 'info', text);
    if (summary.failed > 0) {
      void this.deps
        .ui()
        .error(text, 'Show Output')
        .then((c) => c && this.deps.log.show());
    } else {
      this.showStatusMessage(`$(check) Nex: ${text}`);
    }
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
}

/** The last run's error and fidelity hints, as diagnostics on the function's source. */
function runDiagnostics(result: FunctionRunResult): Diagnostic[] {
  const list: Diagnostic[] = [];
  const { error, warnings, profile } = result.outcome;
  if (error && error.kind !== 'cancelled') {
    list.push(diagnostic({ line: error.line, column: error.column, message: `Run on "${result.subject}": ${error.message}`, source: 'nex run', code: error.kind, toLineEnd: true }));
  }
  for (const w of warnings) {
    list.push(diagnostic({ line: w.line, message: `${w.message} (profile ${profile})`, severity: hintSeverity(w.code, profile), source: 'nex fidelity', code: w.code, toLineEnd: true }));
  }
  return list;
}

/** Opens a file with the cursor at a 1-based line and column. */
export async function openAt(file: string, line?: number, column?: number): Promise<void> {
  const doc = await Workspace.openTextDocument(Uri.file(file));
  const l = Math.max(0, (line ?? 1) - 1);
  const c = Math.max(0, (column ?? 1) - 1);
  await Window.showTextDocument(doc, { selection: new Range(l, c, l, c) });
}
