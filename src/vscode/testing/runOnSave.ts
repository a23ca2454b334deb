/**
 * Run on save (`nex.runOnSave`, or a continuous run in the Test Explorer): saving a function's
 * source, manifest, mocks or trigger file re-runs its cases (every case with `all`), and a newer
 * save cancels the run of an older one, so there is no backlog.
 */
import * as path from 'path';
import { CancellationTokenSource, Disposable, TextDocument, workspace as Workspace } from 'vscode';
import { isValid, MANIFEST_FILE } from '../../core/manifest';
import type { TriggerCaseModel } from '../../triggers/caseModel';
import { affectsFunction } from '../../triggers/triggerCases';
import type { Config } from '../config';
import type { FunctionCatalog } from '../functionCatalog';
import type { CaseViews } from './caseViews';
import type { CaseRunSummary, TriggerTests } from './triggerTests';

/** What run on save needs from the context. */
export interface RunOnSaveDeps {
  readonly catalog: FunctionCatalog;
  readonly cases: TriggerCaseModel;
  readonly config: Config;
  readonly triggerTests: TriggerTests;
  readonly caseViews: CaseViews;
}

export class RunOnSave implements Disposable {
  private current?: CancellationTokenSource;
  /** How many runs on save have finished (for tests). */
  runs = 0;
  private readonly subscription: Disposable;

  constructor(private readonly deps: RunOnSaveDeps) {
    this.subscription = Workspace.onDidSaveTextDocument((doc) => void this.onSave(doc));
  }

  /** Runs the cases a save concerns; undefined when it concerns none (or run on save is off). */
  async onSave(doc: TextDocument): Promise<CaseRunSummary | undefined> {
    const { catalog, cases, config, triggerTests } = this.deps;
    if (doc.uri.scheme !== 'file' || !Workspace.isTrusted) {
      return undefined;
    }
    const file = doc.uri.fsPath;
    const def = catalog.findFor(file);
    const mode = config.runOnSave;
    if (!isValid(def) || (mode === 'off' && !triggerTests.hasContinuousRun) || !affectsFunction(def, file)) {
      return undefined;
    }
    if (path.basename(file) === MANIFEST_FILE) {
      await catalog.refresh(); // the case model follows the catalog
    }
    cases.sync(); // the saved trigger file (or one changed with it) is read now, once
    const found = catalog.findFor(file);
    const ids = mode === 'all' ? cases.caseIds() : cases.caseIds(isValid(found) ? found : def);
    if (ids.length === 0) {
      return undefined;
    }
    // A newer save cancels the run of an older one.
    this.current?.cancel();
    const source = new CancellationTokenSource();
    this.current = source;
    this.deps.caseViews.showRunning();
    const summary = await triggerTests.runCases(ids, source.token, { unasked: true });
    this.runs++;
    if (this.current === source) {
      this.current = undefined;
    }
    source.dispose();
    return summary;
  }

  dispose(): void {
    this.current?.cancel();
    this.subscription.dispose();
  }
}
