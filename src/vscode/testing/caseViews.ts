/**
 * What the editor shows of the trigger cases and their last local results: the status bar (never
 * green while something is broken, each problem linked in its tooltip), diagnostics on failing cases
 * and at the line a case's run threw, trigger-file problems at their lines, the inline result next
 * to each case, and each function's summary for the Functions view. It follows the case model, the
 * results and the failed builds.
 */
import * as path from 'path';
import { Disposable, Event, EventEmitter, languages as Languages, MarkdownString, StatusBarAlignment, TextEditorDecorationType, ThemeColor, window as Window } from 'vscode';
import type { FunctionDefinition } from '../../core/manifest';
import type { CaseProblem, TriggerCaseModel } from '../../triggers/caseModel';
import { CaseResults, FunctionCaseSummary, inlineResults } from '../../triggers/caseResults';
import { caseId } from '../../triggers/triggerCases';
import { diagnostic, JsonFileDiagnostics, publishByFile } from '../diagnostics';
import type { RunReporter } from '../runReporter';
import { errorLocation } from './caseLocations';

/** What the views follow. */
export interface CaseViewsDeps {
  readonly cases: TriggerCaseModel;
  readonly caseResults: CaseResults;
  /** The functions whose last build failed, and when that changes. */
  readonly reporter: Pick<RunReporter, 'failedBuildList' | 'onDidChangeFailedBuilds'>;
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|"<>]/g, (c) => `\\${c}`);
}

export class CaseViews implements Disposable {
  private readonly statusBar = Window.createStatusBarItem('nex.tests', StatusBarAlignment.Left, 50);
  private readonly diagnostics = Languages.createDiagnosticCollection('nex-cases');
  /** Problems of trigger files (JSON, schema, a subject no trigger matches), at their lines. */
  private readonly fileDiagnostics = new JsonFileDiagnostics('nex-trigger-files', 'nex triggers', true);
  private readonly passDecoration: TextEditorDecorationType;
  private readonly failDecoration: TextEditorDecorationType;
  /** What the status bar lists now. */
  private shownProblems: CaseProblem[] = [];
  /** The inline result texts last drawn per file, one per decorated line (for the test API). */
  readonly decorations = new Map<string, string[]>();
  private readonly casesChanged = new EventEmitter<void>();
  /** Fires when cases, their files or their results change (the Functions view's summaries). */
  readonly onDidChangeCases: Event<void> = this.casesChanged.event;
  private readonly disposables: Disposable[];

  constructor(private readonly deps: CaseViewsDeps) {
    this.passDecoration = Window.createTextEditorDecorationType({ after: { color: new ThemeColor('testing.iconPassed'), margin: '0 0 0 2em' } });
    this.failDecoration = Window.createTextEditorDecorationType({ after: { color: new ThemeColor('testing.iconFailed'), margin: '0 0 0 2em' } });
    this.statusBar.name = 'Nex Trigger Cases';
    this.statusBar.command = 'workbench.view.testing.focus';
    this.disposables = [this.statusBar, this.diagnostics, this.fileDiagnostics, this.passDecoration, this.failDecoration, this.casesChanged];
    this.disposables.push(
      deps.cases.onDidChange(() => {
        this.fileDiagnostics.publish([...deps.cases.fileProblems]);
        this.publish();
      }),
      deps.caseResults.onDidChange(() => this.publish()),
      deps.reporter.onDidChangeFailedBuilds(() => this.publish()),
      Window.onDidChangeVisibleTextEditors(() => this.decorate()),
    );
    this.fileDiagnostics.publish([...deps.cases.fileProblems]);
    this.publish();
  }

  /** A function's trigger files and their cases' last results, for the Functions view; undefined when it has none. */
  functionCases(def: FunctionDefinition): FunctionCaseSummary | undefined {
    return this.deps.caseResults.functionSummary(def);
  }

  /** Cases run now that the user did not start (on save). */
  showRunning(): void {
    this.statusBar.text = '$(sync~spin) Nex: running trigger cases…';
    this.statusBar.show();
  }

  /** The status bar, the diagnostics of failing cases and the inline results, as the results stand. */
  private publish(): void {
    const { cases, caseResults, reporter } = this.deps;
    const status = caseResults.status(reporter.failedBuildList);
    this.shownProblems = status.problems;
    this.statusBar.text = status.text;
    const tooltip = new MarkdownString(undefined, true);
    tooltip.isTrusted = { enabledCommands: ['nex.openLocation', 'workbench.view.testing.focus'] };
    if (status.bad) {
      tooltip.appendMarkdown('**What is wrong**\n\n');
      for (const p of status.problems.slice(0, 15)) {
        const args = encodeURIComponent(JSON.stringify([p.file, p.line ?? 1]));
        tooltip.appendMarkdown(`- [${escapeMarkdown(p.what)}](command:nex.openLocation?${args} "${escapeMarkdown(path.basename(p.file))}${p.line ? `:${p.line}` : ''}"): `);
        tooltip.appendText(p.message.length > 160 ? `${p.message.slice(0, 160)}…` : p.message);
        tooltip.appendMarkdown('\n');
      }
      if (status.problems.length > 15) {
        tooltip.appendMarkdown(`- and ${status.problems.length - 15} more\n`);
      }
    } else {
      tooltip.appendText(status.ran ? 'All trigger cases passed.' : 'No trigger case has run yet.');
    }
    tooltip.appendMarkdown('\n\n[Open the Test Explorer](command:workbench.view.testing.focus)');
    this.statusBar.tooltip = tooltip;
    this.statusBar.backgroundColor = status.bad ? new ThemeColor('statusBarItem.errorBackground') : undefined;
    if (cases.size > 0 || status.bad) {
      this.statusBar.show();
    } else {
      this.statusBar.hide();
    }
    const failed = caseResults.failing();
    publishByFile(this.diagnostics, [
      ...failed.map((r) => ({
        file: r.case.file,
        diagnostic: diagnostic({ line: r.case.line, message: `Trigger case "${r.case.name}" failed: ${r.failures.join('; ')}`, source: 'nex test', toLineEnd: true }),
      })),
      // The error a case's run threw, at the throwing line of the function's source.
      ...failed.flatMap((r) => {
        const def = cases.case(caseId(r.case))?.def;
        const at = def && errorLocation(def, r);
        const error = r.run?.outcome.error;
        return at && error ? [{ file: at.uri.fsPath, diagnostic: diagnostic({ line: at.range.start.line + 1, column: at.range.start.character + 1, message: `Trigger case "${r.case.name}": ${error.message}`, source: 'nex test', code: error.kind, toLineEnd: true }) }] : [];
      }),
    ]);
    this.decorate();
    this.casesChanged.fire();
  }

  private decorate(): void {
    for (const editor of Window.visibleTextEditors) {
      const file = editor.document.uri.fsPath;
      const shown = inlineResults(this.deps.caseResults.ofFile(file), editor.document.lineCount);
      const decoration = (r: (typeof shown)[number]) => ({ range: editor.document.lineAt(r.line).range, renderOptions: { after: { contentText: r.text } } });
      const fail = shown.filter((r) => r.failed);
      const pass = shown.filter((r) => !r.failed);
      this.decorations.set(file, [...fail, ...pass].map((r) => r.text));
      editor.setDecorations(this.passDecoration, pass.map(decoration));
      editor.setDecorations(this.failDecoration, fail.map(decoration));
    }
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

  get statusText(): string {
    return this.statusBar.text;
  }

  dispose(): void {
    Disposable.from(...this.disposables).dispose();
  }
}
