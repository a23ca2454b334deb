/**
 * Trigger cases in the Test Explorer: functions → trigger files → cases, a run profile with
 * continuous run, results with expected/actual diffs at the case's line, and a "Run on Node"
 * profile that sends the cases to the deployed functions over the current connection. Also the run-on-save
 * loop: saving a function's source, manifest, mocks or trigger file re-runs its cases (a newer
 * run cancels a stale one), with a status bar summary, inline results and diagnostics.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  CancellationToken,
  CancellationTokenSource,
  Diagnostic,
  Disposable,
  Event,
  EventEmitter,
  languages as Languages,
  Location,
  MarkdownString,
  Position,
  Range,
  StatusBarAlignment,
  TestController,
  TestItem,
  TestMessage,
  TestRunProfileKind,
  TestRunRequest,
  tests as Tests,
  TextDocument,
  TextEditorDecorationType,
  ThemeColor,
  Uri,
  window as Window,
  workspace as Workspace,
} from 'vscode';
import { FunctionDefinition, isValid, ValidFunction } from '../../core/manifest';
import { FileProblem, formatProblem } from '../../core/problems';
import { formatMs } from '../../run/runReport';
import { BuildFailedError } from '../../toolchain/buildRunner';
import { CaseResult, RemoteCaseTargets, runTriggerCase, runTriggerCaseRemote } from '../../triggers/caseRunner';
import { deployedFunctions, type DeployedSnapshot } from '../../explorer/deployedModel';
import { NexControlClient } from '../../nex/controlClient';
import { affectsFunction, caseId, loadTriggerFiles, TRIGGERS_DIR, TriggerCase } from '../../triggers/triggerCases';
import { diagnostic, JsonFileDiagnostics, publishByFile } from '../diagnostics';
import type { FunctionExecutor } from '../../executor/executor';
import type { FunctionRunner } from '../../executor/functionRunner';
import type { Config } from '../config';
import type { FunctionCatalog } from '../functionCatalog';
import type { RunReporter } from '../runReporter';
import type { ConnectionManager, NexConnection } from '../connections/connectionManager';
import { currentConnection } from '../connections/currentConnection';

/** What the Test Explorer integration needs from the context. */
export interface TriggerTestsDeps {
  readonly catalog: FunctionCatalog;
  readonly runner: FunctionRunner;
  /** Runs JavaScript functions under the debugger (the Debug profile). */
  readonly debugRunner: FunctionExecutor;
  readonly config: Config;
  readonly reporter: RunReporter;
  readonly connections: ConnectionManager;
  /** What the Deployed view knows (the triggers workloads were deployed with), for Run on Node's skips. */
  readonly deployed: { readonly snapshot: DeployedSnapshot | undefined };
}

export interface CaseRunOptions {
  /** Send the cases to the deployed functions over the current connection (the local node when none). */
  remote?: boolean;
  /** Run JavaScript cases under the debugger, on V8 (breakpoints stop them). */
  debug?: boolean;
  /** The editor started the run on its own (on save): a failed build also gets a notification. */
  unasked?: boolean;
}

/** Something that keeps cases from running, shown in the status bar's tooltip with a link. */
interface WorkspaceProblem {
  what: string;
  file: string;
  line?: number;
  message: string;
}

/** Where in the function's own source a case's run failed, when the engine says. */
function errorLocation(def: ValidFunction, result: CaseResult): Location | undefined {
  const error = result.run?.outcome.error;
  const source = def.sourcePath ?? result.run?.entryPath;
  if (!error || error.line === undefined || !source || def.manifest.type !== 'v8') {
    return undefined;
  }
  return new Location(Uri.file(source), new Position(error.line - 1, Math.max(0, (error.column ?? 1) - 1)));
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|"<>]/g, (c) => `\\${c}`);
}

interface CaseRef {
  def: ValidFunction;
  tc: TriggerCase;
}

/** How a trigger file of a function stands: its cases and their last local results. */
export interface TriggerFileSummary {
  file: string;
  cases: number;
  passed: number;
  failed: number;
  /** Problems of the file itself (JSON, schema, a subject no trigger matches). */
  problems: number;
}

/** A function's trigger cases at a glance, for the Functions view. */
export interface FunctionCaseSummary {
  files: TriggerFileSummary[];
  cases: number;
  passed: number;
  failed: number;
  problems: number;
}

export interface CaseRunSummary {
  passed: number;
  failed: number;
  results: CaseResult[];
  cancelled: boolean;
}

export class TriggerTests implements Disposable {
  readonly controller: TestController;
  private readonly cases = new Map<string, CaseRef>();
  private readonly disposables: Disposable[] = [];
  private readonly diagnostics = Languages.createDiagnosticCollection('nex-cases');
  /** Problems of trigger files (JSON, schema, a subject no trigger matches), at their lines. */
  private readonly fileDiagnostics = new JsonFileDiagnostics('nex-trigger-files', 'nex triggers', true);
  /** What keeps the workspace's cases from running: invalid manifests, unreadable trigger files. */
  private problems: WorkspaceProblem[] = [];
  /** What the status bar lists now. */
  private shownProblems: WorkspaceProblem[] = [];
  private readonly statusBar = Window.createStatusBarItem('nex.tests', StatusBarAlignment.Left, 50);
  private readonly passDecoration: TextEditorDecorationType;
  private readonly failDecoration: TextEditorDecorationType;
  private readonly lastResults = new Map<string, CaseResult>();
  /** The inline result texts last drawn per file, one per decorated line (for the test API). */
  readonly decorations = new Map<string, string[]>();
  /** When each result was recorded (Date.now()), to tell stale results from fresh ones. */
  private readonly resultTimes = new Map<string, number>();
  private saveRun?: CancellationTokenSource;
  /** How many runs on save have finished (for tests). */
  saveRuns = 0;
  private readonly continuous = new Set<{ include?: readonly TestItem[]; token: CancellationToken }>();
  /** The trigger files of each function folder, as the last rebuild read them. */
  private filesByFunction = new Map<string, Array<{ file: string; caseIds: string[]; problems: number }>>();
  private readonly casesChanged = new EventEmitter<void>();
  /** Fires when cases, their files or their results change (the Functions view's summaries). */
  readonly onDidChangeCases: Event<void> = this.casesChanged.event;

  constructor(private readonly ext: TriggerTestsDeps) {
    this.controller = Tests.createTestController('nex.triggerCases', 'Nex Trigger Cases');
    this.controller.refreshHandler = () => this.ext.catalog.refresh().then(() => this.rebuild());
    this.controller.createRunProfile('Run', TestRunProfileKind.Run, (request, token) => this.runRequest(request, token), true, undefined, true);
    this.controller.createRunProfile('Debug', TestRunProfileKind.Debug, (request, token) => this.execute(request, token, { debug: true }).then(() => undefined), true);
    this.controller.createRunProfile('Run on Node', TestRunProfileKind.Run, (request, token) => this.execute(request, token, { remote: true }).then(() => undefined), false);
    this.passDecoration = Window.createTextEditorDecorationType({ after: { color: new ThemeColor('testing.iconPassed'), margin: '0 0 0 2em' } });
    this.failDecoration = Window.createTextEditorDecorationType({ after: { color: new ThemeColor('testing.iconFailed'), margin: '0 0 0 2em' } });
    this.statusBar.name = 'Nex Trigger Cases';
    this.statusBar.command = 'workbench.view.testing.focus';
    this.disposables.push(this.controller, this.diagnostics, this.fileDiagnostics, this.statusBar, this.passDecoration, this.failDecoration, this.casesChanged);
    this.disposables.push(ext.catalog.onDidChange(() => this.rebuild()));
    this.disposables.push(ext.reporter.onDidChangeFailedBuilds(() => this.publish()));
    const watcher = Workspace.createFileSystemWatcher(`**/${TRIGGERS_DIR}/*.json`);
    // A trigger file that changed makes its cases' results stale (they may no longer be its cases).
    const changed = (uri: Uri) => {
      this.forgetResultsOf(uri.fsPath);
      this.rebuild();
    };
    this.disposables.push(watcher, watcher.onDidCreate(() => this.rebuild()), watcher.onDidChange(changed), watcher.onDidDelete(changed));
    this.disposables.push(Workspace.onDidSaveTextDocument((doc) => void this.onSave(doc)));
    this.disposables.push(Window.onDidChangeVisibleTextEditors(() => this.decorate()));
    this.rebuild();
  }

  /**
   * Rebuilds the tree: functions → trigger files → cases. A function whose manifest is invalid, and
   * a trigger file that cannot be read, stay in the tree as errored items with the reason, count
   * as problems in the status bar, and (trigger files) get diagnostics at their lines.
   */
  rebuild(): void {
    this.cases.clear();
    const filesByFunction = new Map<string, Array<{ file: string; caseIds: string[]; problems: number }>>();
    const items: TestItem[] = [];
    const problems: WorkspaceProblem[] = [];
    const fileProblems: FileProblem[] = [];
    for (const def of this.ext.catalog.functions) {
      const name = def.manifest?.name ?? path.basename(def.dir);
      if (!isValid(def)) {
        const fnItem = this.controller.createTestItem(def.dir, name, Uri.file(def.manifestPath));
        fnItem.description = 'invalid manifest';
        fnItem.error = def.problems.map((p) => formatProblem(p)).join('\n');
        items.push(fnItem);
        const first = def.problems[0];
        problems.push({ what: `${name}: invalid ${path.basename(def.manifestPath)}`, file: first?.file ?? def.manifestPath, line: first?.line, message: first ? `${first.field ? `"${first.field}": ` : ''}${first.message}` : 'the manifest is not valid' });
        continue;
      }
      const files = loadTriggerFiles(def);
      filesByFunction.set(def.dir, files.map((f) => ({ file: f.file, caseIds: f.cases.map(caseId), problems: f.problems.length })));
      if (files.length === 0) {
        continue;
      }
      const fnItem = this.controller.createTestItem(def.dir, def.manifest.name, Uri.file(def.manifestPath));
      fnItem.description = def.manifest.type === 'v8' ? 'JavaScript' : 'WebAssembly';
      for (const file of files) {
        const fileItem = this.controller.createTestItem(file.file, path.basename(file.file), Uri.file(file.file));
        if (file.problems.length > 0) {
          fileItem.error = file.problems.map((p) => formatProblem(p)).join('\n');
          const first = file.problems[0];
          problems.push({
            what: `${name}: ${path.basename(file.file)} has ${file.problems.length === 1 ? 'a problem' : `${file.problems.length} problems`}`,
            file: first.file,
            line: first.line,
            message: `${first.field ? `"${first.field}": ` : ''}${first.message}`,
          });
          fileProblems.push(...file.problems);
        }
        for (const tc of file.cases) {
          const id = caseId(tc);
          const caseItem = this.controller.createTestItem(id, tc.name, Uri.file(file.file));
          caseItem.range = new Range(tc.line - 1, 0, tc.line - 1, 0);
          caseItem.description = tc.subject;
          fileItem.children.add(caseItem);
          this.cases.set(id, { def, tc });
        }
        fnItem.children.add(fileItem);
      }
      items.push(fnItem);
    }
    this.controller.items.replace(items);
    this.filesByFunction = filesByFunction;
    this.problems = problems;
    this.fileDiagnostics.publish(fileProblems);
    this.publish();
  }

  /**
   * Drops the results of a trigger file's cases that are older than its last change (it changed or
   * went away). A run on save of the same change records its results after the file was written, so
   * they stay, whenever the watcher's event arrives.
   */
  private forgetResultsOf(file: string): void {
    let changedAt = Date.now();
    try {
      changedAt = fs.statSync(file).mtimeMs;
    } catch {
      // deleted: every result of it is stale
    }
    for (const [id, result] of this.lastResults) {
      if (result.case.file === file && (this.resultTimes.get(id) ?? 0) < changedAt) {
        this.lastResults.delete(id);
        this.resultTimes.delete(id);
      }
    }
  }

  /** A function's trigger files with their cases' last local results; undefined when it has none. */
  functionCases(def: FunctionDefinition): FunctionCaseSummary | undefined {
    const files = this.filesByFunction.get(def.dir);
    if (!files || files.length === 0) {
      return undefined;
    }
    const summaries = files.map((f): TriggerFileSummary => {
      const results = f.caseIds.map((id) => this.lastResults.get(id)).filter((r): r is CaseResult => r !== undefined);
      const failed = results.filter((r) => r.status !== 'passed').length;
      return { file: f.file, cases: f.caseIds.length, passed: results.length - failed, failed, problems: f.problems };
    });
    const sum = (key: 'cases' | 'passed' | 'failed' | 'problems') => summaries.reduce((n, f) => n + f[key], 0);
    return { files: summaries, cases: sum('cases'), passed: sum('passed'), failed: sum('failed'), problems: sum('problems') };
  }

  /** The ids of the cases of a function (or of every function). */
  caseIds(def?: FunctionDefinition): string[] {
    return [...this.cases.entries()].filter(([, ref]) => !def || ref.def.dir === def.dir).map(([id]) => id);
  }

  /** Runs cases by id (all when none given), here or on the node (`remote`), reporting to the Test Explorer. */
  async runCases(ids: string[] = this.caseIds(), token?: CancellationToken, options: CaseRunOptions = {}): Promise<CaseRunSummary> {
    const items = ids.map((id) => this.findItem(id)).filter((i): i is TestItem => i !== undefined);
    return this.execute(new TestRunRequest(items), token ?? new CancellationTokenSource().token, options);
  }

  private async runRequest(request: TestRunRequest, token: CancellationToken): Promise<void> {
    if (request.continuous) {
      // Continuous run: re-run these cases whenever their functions change (see onSave).
      const entry = { include: request.include, token };
      this.continuous.add(entry);
      token.onCancellationRequested(() => this.continuous.delete(entry));
      return;
    }
    await this.execute(request, token);
  }

  private leafIds(request: TestRunRequest): string[] {
    const excluded = new Set((request.exclude ?? []).map((i) => i.id));
    const ids: string[] = [];
    const visit = (item: TestItem) => {
      if (excluded.has(item.id)) {
        return;
      }
      if (this.cases.has(item.id)) {
        ids.push(item.id);
      }
      item.children.forEach(visit);
    };
    if (request.include) {
      request.include.forEach(visit);
    } else {
      this.controller.items.forEach(visit);
    }
    return ids;
  }

  /**
   * Runs the request's cases and reports them. Locally they update the status bar, diagnostics and
   * inline results; on the node (`remote`) they show in the Test Explorer only, since they test the
   * deployed function rather than the workspace's.
   */
  private async execute(request: TestRunRequest, token: CancellationToken, options: CaseRunOptions = {}): Promise<CaseRunSummary> {
    const ids = this.leafIds(request);
    const run = this.controller.createTestRun(request, options.remote ? 'Nex trigger cases on the node' : undefined, true);
    const summary: CaseRunSummary = { passed: 0, failed: 0, results: [], cancelled: false };
    if (!Workspace.isTrusted) {
      for (const id of ids) {
        run.skipped(this.findItem(id)!);
      }
      run.appendOutput('Nex functions run only in a trusted workspace.\r\n');
      run.end();
      return summary;
    }
    // A function whose build failed is not built again for each of its cases.
    const buildFailures = new Map<string, BuildFailedError>();
    const sink = this.ext.reporter.buildSink();
    for (const id of ids) {
      const item = this.findItem(id)!;
      run.enqueued(item);
    }
    let conn: NexConnection | undefined;
    if (options.remote) {
      try {
        conn = await currentConnection(this.ext.connections);
      } catch (e) {
        for (const id of ids) {
          run.errored(this.findItem(id)!, new TestMessage(`cannot run the cases on a node: ${(e as Error).message}`));
          summary.failed++;
        }
        run.end();
        return summary;
      }
      run.appendOutput(`Sending the cases to the deployed functions on ${conn.label} (${conn.nc.getServer()}).\r\n`);
    }
    const remoteTargets =
      conn &&
      new RemoteCaseTargets(
        new NexControlClient(conn.nc, conn.profile.inboxPrefix),
        (def) => def.manifest.deploy?.namespace ?? conn.namespace,
        // What the Deployed view knows: the triggers the workloads were deployed with.
        async (namespace) => {
          const snapshot = this.ext.deployed.snapshot;
          return snapshot ? deployedFunctions(snapshot).filter((d) => d.namespace === namespace) : [];
        },
      );
    for (const id of ids) {
      const item = this.findItem(id)!;
      const ref = this.cases.get(id)!;
      if (token.isCancellationRequested) {
        summary.cancelled = true;
        run.skipped(item);
        continue;
      }
      run.started(item);
      if (options.debug && ref.def.manifest.type === 'wasm') {
        run.errored(item, new TestMessage(`${ref.def.manifest.name} is a WebAssembly function: debugging with breakpoints is for JavaScript functions; run the case instead`));
        summary.failed++;
        continue;
      }
      const buildFailure = buildFailures.get(ref.def.dir);
      if (buildFailure) {
        run.errored(item, new TestMessage(buildFailure.message));
        summary.failed++;
        continue;
      }
      const remote = remoteTargets ? await remoteTargets.of(ref.def, ref.tc.subject) : undefined;
      if (remote && 'skip' in remote) {
        run.appendOutput(`${ref.def.manifest.name} › ${ref.tc.name}: skipped: ${remote.skip}\r\n`, new Location(Uri.file(ref.tc.file), new Position(ref.tc.line - 1, 0)), item);
        run.skipped(item);
        continue;
      }
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      let result: CaseResult;
      try {
        result = conn
          ? await runTriggerCaseRemote(conn.nc, ref.tc, { signal: abort.signal, namespace: remote?.namespace, workloadName: ref.def.manifest.name, nodeVersion: remote?.nodeVersion })
          : await runTriggerCase(options.debug ? this.ext.debugRunner : this.ext.runner, ref.def, ref.tc, { signal: abort.signal, limits: this.ext.config.runLimits, sink });
      } catch (e) {
        if (conn && token.isCancellationRequested) {
          summary.cancelled = true;
          run.skipped(item);
          continue;
        }
        // Only a failed build gets here: runTriggerCase turns every other problem into a failed case.
        if (e instanceof BuildFailedError) {
          buildFailures.set(ref.def.dir, e);
          if (options.unasked) {
            this.ext.reporter.notifyBuildFailure(ref.def, e);
          }
        }
        run.errored(item, new TestMessage((e as Error).message));
        summary.failed++;
        continue;
      } finally {
        sub.dispose();
      }
      if (result.run?.outcome.error?.kind === 'cancelled') {
        summary.cancelled = true;
        run.skipped(item);
        continue;
      }
      summary.results.push(result);
      if (!conn) {
        this.lastResults.set(id, result);
        this.resultTimes.set(id, Date.now());
      }
      const location = new Location(Uri.file(ref.tc.file), new Position(ref.tc.line - 1, 0));
      if (result.run || result.remote) {
        run.appendOutput(`${ref.def.manifest.name} › ${ref.tc.name}: ${result.status} in ${formatMs(result.durationMs)}${conn ? ` on ${conn.label}` : ''}\r\n`, location, item);
      }
      for (const warning of result.warnings) {
        run.appendOutput(`  ⚠ ${warning}\r\n`, location, item);
      }
      if (result.status === 'passed') {
        summary.passed++;
        run.passed(item, result.durationMs);
      } else {
        summary.failed++;
        const messages = result.failures.map((f, i) => {
          const m = i === 0 && result.expected !== undefined ? TestMessage.diff(f, result.expected, result.actual ?? '') : new TestMessage(f);
          m.location = location;
          return m;
        });
        // An error the function threw also points at its line in the function's own source.
        const thrownAt = errorLocation(ref.def, result);
        if (thrownAt) {
          const m = new TestMessage(`${result.run!.outcome.error!.message} (${path.basename(thrownAt.uri.fsPath)}:${thrownAt.range.start.line + 1})`);
          m.location = thrownAt;
          messages.push(m);
        }
        run.failed(item, messages, result.durationMs);
      }
    }
    run.end();
    if (!conn) {
      this.publish();
    }
    return summary;
  }

  private findItem(id: string): TestItem | undefined {
    const ref = this.cases.get(id);
    if (!ref) {
      return undefined;
    }
    return this.controller.items.get(ref.def.dir)?.children.get(ref.tc.file)?.children.get(id);
  }

  /** Saving a function's source, manifest, mocks or trigger file re-runs its cases. */
  async onSave(doc: TextDocument): Promise<CaseRunSummary | undefined> {
    if (doc.uri.scheme !== 'file' || !Workspace.isTrusted) {
      return undefined;
    }
    const def = this.ext.catalog.findFor(doc.uri.fsPath);
    const continuous = [...this.continuous].filter((c) => !c.token.isCancellationRequested);
    const mode = this.ext.config.runOnSave;
    if (!isValid(def) || (mode === 'off' && continuous.length === 0) || !affectsFunction(def, doc.uri.fsPath)) {
      return undefined;
    }
    if (path.basename(doc.uri.fsPath) === 'nexfunction.json' || doc.uri.fsPath.includes(`${path.sep}${TRIGGERS_DIR}${path.sep}`)) {
      await this.ext.catalog.refresh();
      this.rebuild();
    }
    const found = this.ext.catalog.findFor(doc.uri.fsPath);
    const fresh = isValid(found) ? found : def;
    const ids = mode === 'all' ? this.caseIds() : this.caseIds(fresh);
    if (ids.length === 0) {
      return undefined;
    }
    // A newer save cancels the run of an older one: no backlog.
    this.saveRun?.cancel();
    const source = new CancellationTokenSource();
    this.saveRun = source;
    this.statusBar.text = '$(sync~spin) Nex: running trigger cases…';
    this.statusBar.show();
    const summary = await this.runCases(ids, source.token, { unasked: true });
    this.saveRuns++;
    if (this.saveRun === source) {
      this.saveRun = undefined;
    }
    source.dispose();
    return summary;
  }

  /**
   * The status bar sums up the workspace: failing cases, and whatever keeps cases from running (an
   * invalid manifest, a trigger file with problems, a failed build) turn it to its error state,
   * with each item linked in the tooltip. Never green while something is broken.
   */
  private publish(): void {
    const results = [...this.lastResults.values()].filter((r) => this.cases.has(caseId(r.case)));
    const failed = results.filter((r) => r.status !== 'passed');
    const builds = this.ext.reporter.failedBuildList;
    const problems: WorkspaceProblem[] = [
      ...failed.map((r) => ({ what: `${r.case.name} failed`, file: r.case.file, line: r.case.line, message: r.failures[0] ?? 'failed' })),
      ...this.problems,
      ...builds.map((b) => ({ what: `${b.functionName}: build failed`, file: b.file, line: b.line, message: b.message })),
    ];
    this.shownProblems = problems;
    const broken = problems.length - failed.length;
    const parts: string[] = [];
    if (failed.length > 0) {
      parts.push(`${failed.length} failed`);
    }
    if (results.length > 0) {
      parts.push(`${results.length - failed.length} passed`);
    } else if (failed.length === 0) {
      parts.push(`${this.cases.size} ${this.cases.size === 1 ? 'case' : 'cases'}`);
    }
    if (broken > 0) {
      parts.push(`${broken} ${broken === 1 ? 'problem' : 'problems'}`);
    }
    const bad = problems.length > 0;
    this.statusBar.text = `${bad ? '$(error)' : results.length > 0 ? '$(pass)' : '$(beaker)'} Nex: ${parts.join(', ')}`;
    const tooltip = new MarkdownString(undefined, true);
    tooltip.isTrusted = { enabledCommands: ['nex.openLocation', 'workbench.view.testing.focus'] };
    if (bad) {
      tooltip.appendMarkdown('**What is wrong**\n\n');
      for (const p of problems.slice(0, 15)) {
        const args = encodeURIComponent(JSON.stringify([p.file, p.line ?? 1]));
        tooltip.appendMarkdown(`- [${escapeMarkdown(p.what)}](command:nex.openLocation?${args} "${escapeMarkdown(path.basename(p.file))}${p.line ? `:${p.line}` : ''}"): `);
        tooltip.appendText(p.message.length > 160 ? `${p.message.slice(0, 160)}…` : p.message);
        tooltip.appendMarkdown('\n');
      }
      if (problems.length > 15) {
        tooltip.appendMarkdown(`- and ${problems.length - 15} more\n`);
      }
    } else {
      tooltip.appendText(results.length > 0 ? 'All trigger cases passed.' : 'No trigger case has run yet.');
    }
    tooltip.appendMarkdown('\n\n[Open the Test Explorer](command:workbench.view.testing.focus)');
    this.statusBar.tooltip = tooltip;
    this.statusBar.backgroundColor = bad ? new ThemeColor('statusBarItem.errorBackground') : undefined;
    if (this.cases.size > 0 || bad) {
      this.statusBar.show();
    } else {
      this.statusBar.hide();
    }
    publishByFile(this.diagnostics, [
      ...failed.map((r) => ({
        file: r.case.file,
        diagnostic: diagnostic({ line: r.case.line, message: `Trigger case "${r.case.name}" failed: ${r.failures.join('; ')}`, source: 'nex test', toLineEnd: true }),
      })),
      // The error a case's run threw, at the throwing line of the function's source.
      ...failed.flatMap((r) => {
        const def = this.cases.get(caseId(r.case))?.def;
        const at = def && errorLocation(def, r);
        const error = r.run?.outcome.error;
        return at && error ? [{ file: at.uri.fsPath, diagnostic: diagnostic({ line: at.range.start.line + 1, column: at.range.start.character + 1, message: `Trigger case "${r.case.name}": ${error.message}`, source: 'nex test', code: error.kind, toLineEnd: true }) }] : [];
      }),
    ]);
    this.decorate();
    this.casesChanged.fire();
  }

  /** What the status bar's tooltip lists, as plain lines "what (file:line): message", for the test API. */
  get statusProblems(): string[] {
    return this.shownProblems.map((p) => `${p.what} (${path.basename(p.file)}${p.line ? `:${p.line}` : ''}): ${p.message}`);
  }

  /** The status bar's tooltip (markdown), for the test API. */
  get statusTooltip(): string {
    const tooltip = this.statusBar.tooltip;
    return typeof tooltip === 'string' ? tooltip : (tooltip?.value ?? '');
  }

  private decorate(): void {
    for (const editor of Window.visibleTextEditors) {
      const file = editor.document.uri.fsPath;
      // One decoration per line: cases that share a line share it, failures first, so that two
      // results never overlap.
      const byLine = new Map<number, CaseResult[]>();
      for (const r of this.lastResults.values()) {
        if (r.case.file === file) {
          const line = Math.min(r.case.line - 1, editor.document.lineCount - 1);
          byLine.set(line, [...(byLine.get(line) ?? []), r]);
        }
      }
      const pass: Array<{ range: Range; renderOptions: { after: { contentText: string } } }> = [];
      const fail: typeof pass = [];
      for (const [line, results] of byLine) {
        const texts = [...results.filter((r) => r.status !== 'passed'), ...results.filter((r) => r.status === 'passed')].map((r) => {
          const reply = r.run?.outcome.reply;
          const replyText = reply ? Buffer.from(reply).toString('utf8').replace(/\s+/g, ' ').slice(0, 60) : 'no reply';
          const text = r.status === 'passed' ? `✔ ${formatMs(r.durationMs)} → ${replyText}` : `✖ ${r.failures[0]}`;
          return results.length > 1 ? `${r.case.name}: ${text}` : text;
        });
        const failed = results.some((r) => r.status !== 'passed');
        (failed ? fail : pass).push({ range: editor.document.lineAt(line).range, renderOptions: { after: { contentText: texts.join('   ·   ') } } });
      }
      this.decorations.set(file, [...fail, ...pass].map((d) => d.renderOptions.after.contentText));
      editor.setDecorations(this.passDecoration, pass);
      editor.setDecorations(this.failDecoration, fail);
    }
  }

  /** Latest result per case id, for the test API. */
  get results(): ReadonlyMap<string, CaseResult> {
    return this.lastResults;
  }

  get statusText(): string {
    return this.statusBar.text;
  }

  dispose(): void {
    this.saveRun?.cancel();
    Disposable.from(...this.disposables).dispose();
  }
}
